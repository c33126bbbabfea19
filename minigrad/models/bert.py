"""BERT in one file (§3.1 Transformer 架构, §3.2 预训练, §3.3 微调, §5 项目实践).

    input_ids, token_type_ids (B, T)
      ──word + position + token-type embeddings, LayerNorm, dropout──► x (B, T, H)
      ──num_hidden_layers × BertLayer──► last_hidden_state (B, T, H)
      ──pooler: tanh(dense(h_[CLS]))──► pooler_output (B, H)

    BertLayer (post-LN):  x = LayerNorm(x + dense(SelfAttention(x)))     §4.1, no causal mask
                          x = LayerNorm(x + dense(GELU(dense(x))))       exact (erf) GELU

Parameter names follow Hugging Face's BertModel (embeddings.word_embeddings,
encoder.layer.{i}.attention.self.query, ...), and Linear weights are (out, in) as in PyTorch,
so HF checkpoints map by name without transposes.

Pre-training (§3.2) uses the masked-language-model head (`BertForMaskedLM`, `mask_tokens`);
fine-tuning (§3.3) adds a classifier on the pooled [CLS] vector
(`BertForSequenceClassification`), the model of the chapter's §5 example.

Masks follow Hugging Face: attention_mask (B, T) is 1 for real tokens and 0 for padding;
labels equal to -100 are ignored by the loss.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .. import random as _random
from ..autograd import is_grad_enabled
from ..checkpointing import GradientCheckpointing, checkpoint
from ..nn import functional as F
from ..nn import init
from ..nn.attention import merge_heads, scaled_dot_product_attention, split_heads
from ..nn.containers import ModuleList
from ..nn.layers import Dropout, Embedding, LayerNorm, Linear
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..nn.transformer import get_activation
from ..tensor import ShapeError, Tensor, as_tensor
from .outputs import BaseModelOutputWithPooling, MaskedLMOutput, SequenceClassifierOutput
from .pretrained import PreTrainedMixin   # from_pretrained(dir) / save_pretrained(dir)

IGNORE_INDEX = -100


@dataclass
class BertConfig:
    """BERT hyper-parameters with Hugging Face's field names (defaults: bert-base-uncased).

    from_dict accepts a Hugging Face config.json as a dict: keys that are not fields here
    (architectures, model_type, id2label, ...) are kept in `extra` and written back by to_dict.
    """
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    num_labels: int = 2
    classifier_dropout: float | None = None
    extra: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size", "num_labels"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"BertConfig: {name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(f"BertConfig: hidden_size ({self.hidden_size}) must be divisible by "
                             f"num_attention_heads ({self.num_attention_heads})")
        get_activation(self.hidden_act)                      # a clear error for an unknown name
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"BertConfig: {name} must be in [0, 1), got {getattr(self, name)}")

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**self.extra, **d}

    @classmethod
    def from_dict(cls, d: dict) -> "BertConfig":
        d = dict(d)
        if "num_labels" not in d and isinstance(d.get("id2label"), dict):
            d["num_labels"] = len(d["id2label"])             # HF stores num_labels as id2label
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in d.items() if k in names}
        extra = {k: v for k, v in d.items() if k not in names}
        return cls(**known, extra=extra)


# --- embeddings -----------------------------------------------------------------------------
class BertEmbeddings(Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        H = config.hidden_size
        self.word_embeddings = Embedding(config.vocab_size, H, padding_idx=config.pad_token_id)
        self.position_embeddings = Embedding(config.max_position_embeddings, H)
        self.token_type_embeddings = Embedding(config.type_vocab_size, H)
        self.LayerNorm = LayerNorm(H, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None):
        B, T = input_ids.shape
        if T > self.position_embeddings.num_embeddings:
            raise ShapeError(f"BertModel: sequence length {T} exceeds max_position_embeddings "
                             f"{self.position_embeddings.num_embeddings}")
        if token_type_ids is None:
            token_type_ids = np.zeros((B, T), dtype=np.int64)
        x = (self.word_embeddings(input_ids)                       # (B, T, H)
             + self.position_embeddings(np.arange(T))              # (T, H), broadcast over B
             + self.token_type_embeddings(token_type_ids))         # (B, T, H)
        return self.dropout(self.LayerNorm(x))                     # (B, T, H)


# --- one encoder layer ------------------------------------------------------------------------
class BertSelfAttention(Module):
    """Bidirectional multi-head self-attention (§4.1): every token sees every real token."""

    def __init__(self, config: BertConfig):
        super().__init__()
        H = config.hidden_size
        self.num_attention_heads = config.num_attention_heads
        self.query = Linear(H, H)
        self.key = Linear(H, H)
        self.value = Linear(H, H)
        self.dropout_p = config.attention_probs_dropout_prob

    def forward(self, x, keep_mask=None, output_attentions=False):
        nh = self.num_attention_heads
        q = split_heads(self.query(x), nh)                         # (B, nh, T, hs)
        k = split_heads(self.key(x), nh)                           # (B, nh, T, hs)
        v = split_heads(self.value(x), nh)                         # (B, nh, T, hs)
        result = scaled_dot_product_attention(
            q, k, v, attn_mask=keep_mask, dropout_p=self.dropout_p if self.training else 0.0,
            return_weights=output_attentions)                      # (B, nh, T, hs) [, (B, nh, T, T)]
        y, att = result if output_attentions else (result, None)
        return merge_heads(y), att                                 # (B, T, H)


class BertSelfOutput(Module):
    """dense, dropout, then the residual and LayerNorm (post-LN)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, h, residual):
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)   # (B, T, H)


class BertAttention(Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, x, keep_mask=None, output_attentions=False):
        h, att = self.self(x, keep_mask, output_attentions)
        return self.output(h, x), att                              # (B, T, H)


class BertIntermediate(Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, x):
        return self.intermediate_act_fn(self.dense(x))             # (B, T, I)


class BertOutput(Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, h, residual):
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)   # (B, T, H)


class BertLayer(Module):
    """Post-LN encoder layer: attention sub-layer, then feed-forward sub-layer."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, x, keep_mask=None, output_attentions=False):
        a, att = self.attention(x, keep_mask, output_attentions)                      # (B, T, H)
        return self.output(self.intermediate(a), a), att           # (B, T, H)


class BertEncoder(Module):
    gradient_checkpointing = False   # layers under minigrad.checkpointing.checkpoint

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, x, keep_mask=None, output_attentions=False):
        """(B, T, H) -> (last hidden state, every layer's output, every layer's attention)."""
        hidden, atts = [], []
        recompute = (self.gradient_checkpointing and self.training and is_grad_enabled()
                     and not output_attentions)
        for layer in self.layer:
            if recompute:                                          # keep only the layer's input
                x, att = checkpoint(lambda h, m=layer: m(h, keep_mask)[0], x,
                                    params=layer.parameters()), None
            else:
                x, att = layer(x, keep_mask, output_attentions)                       # (B, T, H), (B, nh, T, T)
            hidden.append(x)
            atts.append(att)
        return x, hidden, atts


class BertPooler(Module):
    """tanh(dense(h_[CLS])): the sentence vector that classifiers read (§3.3)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states):
        return self.dense(hidden_states[:, 0]).tanh()              # (B, H)


def init_hf_weights(module: Module, std: float):
    """Hugging Face's init of BERT and Marian: N(0, std) Linear and Embedding weights, zero
    biases, LayerNorm 1/0, the padding row of an embedding zero."""
    for m in module.modules():
        if isinstance(m, Linear):
            init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, Embedding):
            init.normal_(m.weight, 0.0, std)
            if m.padding_idx is not None:
                m.weight.data[m.padding_idx] = 0.0
        elif isinstance(m, LayerNorm):
            init.ones_(m.weight)
            if m.bias is not None:
                init.zeros_(m.bias)


# --- the models -----------------------------------------------------------------------------
class BertModel(PreTrainedMixin, GradientCheckpointing, Module):
    """The BERT encoder: embeddings, post-LN layers, and (by default) the pooler."""
    model_type = "bert"

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        init_hf_weights(self, config.initializer_range)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False):
        """input_ids (B, T); attention_mask (B, T) 1 = real token, 0 = padding;
        token_type_ids (B, T) segment ids (0 = sentence A, 1 = sentence B; default 0).

        Returns BaseModelOutputWithPooling(last_hidden_state (B, T, H), pooler_output (B, H),
        hidden_states (L + 1 tensors, embeddings first), attentions (L tensors (B, nh, T, T))).
        Padded positions attend normally but are attended to by nobody; compare only the
        real positions' hidden states.
        """
        input_ids = as_tensor(input_ids)
        if input_ids.dtype.kind not in "iu":
            raise TypeError(f"BertModel: input_ids must hold integer token ids, got {input_ids.dtype}")
        if input_ids.ndim != 2:
            raise ShapeError(f"BertModel: input_ids must have shape (B, T), got {input_ids.shape}")
        keep = None
        if attention_mask is not None:
            m = np.asarray(as_tensor(attention_mask).data)
            if m.shape != input_ids.shape:
                raise ShapeError(f"BertModel: attention_mask {m.shape} must match input_ids "
                                 f"{input_ids.shape} (B, T)")
            keep = (m != 0)[:, None, None, :]                      # (B, 1, 1, T), True = real key
        if token_type_ids is not None:
            token_type_ids = as_tensor(token_type_ids)

        e = self.embeddings(input_ids, token_type_ids)             # (B, T, H)
        x, hidden, atts = self.encoder(e, keep, output_attentions)                    # (B, T, H)
        hidden = [e] + hidden
        pooled = self.pooler(x) if self.pooler is not None else None   # (B, H)
        return BaseModelOutputWithPooling(
            last_hidden_state=x, pooler_output=pooled,
            hidden_states=tuple(hidden) if output_hidden_states else None,
            attentions=tuple(atts) if output_attentions else None)


class BertPredictionHeadTransform(Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = get_activation(config.hidden_act)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(self.transform_act_fn(self.dense(x)))   # (B, T, H)


class BertLMPredictionHead(Module):
    """transform, then scores against every word embedding (the decoder weight is tied to
    embeddings.word_embeddings.weight) plus a per-word bias (cls.predictions.bias, which is
    also decoder.bias)."""

    def __init__(self, config: BertConfig, word_embeddings: Embedding):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = Linear(config.hidden_size, config.vocab_size)
        self.decoder.weight = word_embeddings.weight               # tied: one Parameter
        self.bias = Parameter(np.zeros(config.vocab_size, dtype=word_embeddings.weight.dtype))
        self.decoder.bias = self.bias                              # one Parameter, two names

    def forward(self, x):
        return self.decoder(self.transform(x))                     # (B, T, V)


class BertOnlyMLMHead(Module):
    def __init__(self, config: BertConfig, word_embeddings: Embedding):
        super().__init__()
        self.predictions = BertLMPredictionHead(config, word_embeddings)


class BertForMaskedLM(PreTrainedMixin, GradientCheckpointing, Module):
    """BERT's pre-training objective (§3.2): predict the masked tokens.

        inputs, labels = mask_tokens(ids, mask_token_id=103, vocab_size=V, special_ids=[0, 101, 102])
        out = model(inputs, attention_mask, labels=labels)   # out.loss, out.logits (B, T, V)
    """
    model_type = "bert"

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config, self.bert.embeddings.word_embeddings)
        init_hf_weights(self.cls.predictions.transform, config.initializer_range)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None,
                output_attentions: bool = False, output_hidden_states: bool = False):
        out = self.bert(input_ids, attention_mask, token_type_ids,
                        output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        logits = self.cls.predictions(out.last_hidden_state)       # (B, T, V)
        loss = None
        if labels is not None:
            V = logits.shape[-1]
            loss = F.cross_entropy(logits.reshape(-1, V), as_tensor(labels).reshape(-1),
                                   ignore_index=IGNORE_INDEX)
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                              attentions=out.attentions)


class BertForSequenceClassification(PreTrainedMixin, GradientCheckpointing, Module):
    """Fine-tuning for classification (§3.3, §5): logits = classifier(dropout(pooler_output)).

    With labels: cross-entropy for num_labels > 1, mean squared error for num_labels == 1
    (regression), as in Hugging Face.
    """
    model_type = "bert"

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        p = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = Dropout(p)
        self.classifier = Linear(config.hidden_size, config.num_labels)
        init_hf_weights(self.classifier, config.initializer_range)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None,
                output_attentions: bool = False, output_hidden_states: bool = False):
        out = self.bert(input_ids, attention_mask, token_type_ids,
                        output_attentions=output_attentions, output_hidden_states=output_hidden_states)
        logits = self.classifier(self.dropout(out.pooler_output))  # (B, num_labels)
        loss = None
        if labels is not None:
            labels = as_tensor(labels)
            if self.num_labels == 1:
                loss = F.mse_loss(logits.reshape(-1), labels.reshape(-1).to(logits.dtype))
            else:
                loss = F.cross_entropy(logits, labels.reshape(-1), ignore_index=IGNORE_INDEX)
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                        attentions=out.attentions)


def mask_tokens(input_ids, mask_token_id: int, vocab_size: int, special_ids=(),
                mlm_probability: float = 0.15):
    """BERT's masking for masked-language-model pre-training (§3.2).

    Each token that is not special (special_ids: [CLS], [SEP], [PAD], ...) is selected with
    probability mlm_probability.  A selected token is replaced by [MASK] 80% of the time, by
    a random token 10% of the time, and kept 10% of the time; the model must predict the
    original at every selected position.

    Returns (inputs, labels), int64 Tensors of input_ids' shape: labels hold the original id
    at selected positions and -100 (ignored by the loss) elsewhere.  Randomness comes from
    minigrad's generator, so mg.manual_seed makes it reproducible.
    """
    if not 0.0 <= mlm_probability <= 1.0:
        raise ValueError(f"mask_tokens: mlm_probability must be in [0, 1], got {mlm_probability}")
    ids = np.array(as_tensor(input_ids).data, dtype=np.int64)    # a copy we may overwrite
    rng = _random.generator()
    special = np.isin(ids, np.asarray(list(special_ids), dtype=np.int64))
    selected = (rng.random(ids.shape) < mlm_probability) & ~special
    labels = np.where(selected, ids, IGNORE_INDEX)
    to_mask = selected & (rng.random(ids.shape) < 0.8)                        # 80%: [MASK]
    to_random = selected & ~to_mask & (rng.random(ids.shape) < 0.5)          # 10%: random token
    ids[to_mask] = mask_token_id
    ids[to_random] = rng.integers(0, vocab_size, size=int(to_random.sum()))
    return Tensor(ids), Tensor(labels.astype(np.int64))               # 10%: unchanged
