"""Model outputs: objects with named fields, as a Hugging Face user expects.

    out = model(input_ids)
    out.logits            # attribute access
    out["logits"]         # dict-style access
    out.loss              # None unless labels / targets were given
    logits, = out.to_tuple()   # the fields that are set, in order

Fields that are None are skipped by keys(), items(), to_tuple() and integer indexing (as in
Hugging Face's ModelOutput).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional


@dataclass
class ModelOutput:
    def keys(self):
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def items(self):
        return [(k, getattr(self, k)) for k in self.keys()]

    def values(self):
        return [getattr(self, k) for k in self.keys()]

    def to_tuple(self) -> tuple:
        return tuple(self.values())

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in {f.name for f in fields(self)}:
                raise KeyError(f"{type(self).__name__} has no field {key!r}; fields: "
                               f"{[f.name for f in fields(self)]}")
            return getattr(self, key)
        return self.to_tuple()[key]

    def __contains__(self, key):
        return key in self.keys()

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())


@dataclass
class CausalLMOutput(ModelOutput):
    """GPT: logits (B, T, vocab); loss when targets were given; past_key_values when use_cache
    (one (k, v) pair per layer, each (B, nh, S, hs)); hidden_states (n_layer + 1 tensors
    (B, T, C), the embeddings first) and attentions (n_layer tensors (B, nh, T, S)) on request."""
    loss: Optional[Any] = None
    logits: Optional[Any] = None
    past_key_values: Optional[tuple] = None
    hidden_states: Optional[tuple] = None
    attentions: Optional[tuple] = None


@dataclass
class BaseModelOutputWithPooling(ModelOutput):
    """BertModel: last_hidden_state (B, T, H); pooler_output (B, H) = tanh(W h_[CLS] + b);
    hidden_states (num_hidden_layers + 1 tensors, embeddings first) and attentions
    (num_hidden_layers tensors (B, nh, T, T)) on request."""
    last_hidden_state: Optional[Any] = None
    pooler_output: Optional[Any] = None
    hidden_states: Optional[tuple] = None
    attentions: Optional[tuple] = None


@dataclass
class MaskedLMOutput(ModelOutput):
    """BertForMaskedLM: logits (B, T, vocab); loss when labels were given (-100 = ignored)."""
    loss: Optional[Any] = None
    logits: Optional[Any] = None
    hidden_states: Optional[tuple] = None
    attentions: Optional[tuple] = None


@dataclass
class SequenceClassifierOutput(ModelOutput):
    """BertForSequenceClassification: logits (B, num_labels); loss when labels were given."""
    loss: Optional[Any] = None
    logits: Optional[Any] = None
    hidden_states: Optional[tuple] = None
    attentions: Optional[tuple] = None


@dataclass
class BaseModelOutput(ModelOutput):
    """An encoder's output (MarianEncoder): last_hidden_state (B, S, d); hidden_states
    (layers + 1 tensors, the embeddings first) and attentions (layers tensors (B, nh, S, S))
    on request."""
    last_hidden_state: Optional[Any] = None
    hidden_states: Optional[tuple] = None
    attentions: Optional[tuple] = None


@dataclass
class Seq2SeqLMOutput(ModelOutput):
    """MarianMTModel (encoder–decoder, §3.1): logits (B, T, V) for the decoder positions; loss
    when labels were given (-100 = ignored); past_key_values when use_cache (one tuple per
    decoder layer: self-attention k, v (B, nh, T_past, hs), then cross-attention k, v
    (B, nh, S, hs), computed once from the encoder output).  On request: decoder_attentions
    (B, nh, T, T_past + T), cross_attentions (B, nh, T, S), encoder_attentions (B, nh, S, S),
    and the hidden states of both stacks; encoder_last_hidden_state (B, S, d) always."""
    loss: Optional[Any] = None
    logits: Optional[Any] = None
    past_key_values: Optional[tuple] = None
    decoder_hidden_states: Optional[tuple] = None
    decoder_attentions: Optional[tuple] = None
    cross_attentions: Optional[tuple] = None
    encoder_last_hidden_state: Optional[Any] = None
    encoder_hidden_states: Optional[tuple] = None
    encoder_attentions: Optional[tuple] = None
