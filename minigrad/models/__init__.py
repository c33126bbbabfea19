"""Models built from minigrad.nn, one readable file each (nanoGPT style):

    gpt.py   GPT-2 architecture: GPTConfig, GPT (decoder-only, causal; §3.1, §3.2)
    bert.py  BERT: BertConfig, BertModel, BertForMaskedLM, BertForSequenceClassification,
             mask_tokens (encoder-only, bidirectional; §3.2 预训练, §3.3 微调, §5)
    outputs.py  output objects with named fields (logits, loss, ...), as in Hugging Face
"""
from .bert import (BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel,
                   mask_tokens)
from .gpt import GPT, GPTConfig
from .outputs import (BaseModelOutputWithPooling, CausalLMOutput, MaskedLMOutput, ModelOutput,
                      SequenceClassifierOutput)
