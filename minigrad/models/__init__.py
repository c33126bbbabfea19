"""Models built from minigrad.nn, one readable file each (nanoGPT style):

    gpt.py   GPT-2 architecture: GPTConfig, GPT (decoder-only, causal; §3.1, §3.2)
    marian.py  the encoder–decoder Transformer with Hugging Face's MarianMTModel layout:
             MarianConfig, MarianMTModel (cross-attention; translation, §2.3, §6)
    generation.py  greedy and beam search with a KV cache, as Hugging Face's generate
    bert_to_marian.py  transfer (§2.3): a pretrained BERT as a translation model's encoder
    bert.py  BERT: BertConfig, BertModel, BertForMaskedLM, BertForSequenceClassification,
             mask_tokens (encoder-only, bidirectional; §3.2 预训练, §3.3 微调, §5)
    outputs.py  output objects with named fields (logits, loss, ...), as in Hugging Face
    pretrained.py  Hugging Face directories (config.json + model.safetensors): from_pretrained,
                   save_pretrained, checkpoint name variants; never downloads
    auto.py  AutoTokenizer, AutoModel, AutoModelForSequenceClassification, ... (§5's example)
    sentence.py  sentence embeddings: mean pooling, L2 normalisation, cosine similarity
"""
from .bert import (BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel,
                   mask_tokens)
from .gpt import GPT, GPTConfig
from .marian import MarianConfig, MarianMTModel
from .bert_to_marian import load_bert_into_marian_encoder, marian_config_for_bert
from .outputs import (BaseModelOutput, BaseModelOutputWithPooling, CausalLMOutput, MaskedLMOutput,
                      ModelOutput, Seq2SeqLMOutput, SequenceClassifierOutput)
from .pretrained import (NewlyInitializedWarning, PretrainedError, package_model_dir,
                         save_pretrained)
from .auto import (AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM,
                   AutoModelForSeq2SeqLM, AutoModelForSequenceClassification, AutoTokenizer)
from .sentence import SentenceEncoder, cos_sim
from ..tokenizers.marian import MarianTokenizer  # noqa: F401 (issue 13's name: minigrad.models.MarianTokenizer)
