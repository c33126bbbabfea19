"""The encoder–decoder Transformer (§3.1 Transformer 架构) with Hugging Face's MarianMTModel
names and layout: the original Transformer of "Attention Is All You Need" as the OPUS-MT
translation models use it (§2.3 下游任务, §6 机器翻译).

    source ids (B, S) ──embed·scale + PE──► encoder: N × [self-attention, FFN] ──► memory (B, S, d)
                                                                                  │ K, V
    target ids (B, T) ──embed·scale + PE──► decoder: N × [causal self-attention,  ▼
                                                          cross-attention(Q = decoder, K/V = memory),
                                                          FFN] ──► lm_head + final_logits_bias ──► logits (B, T, V)

Attention (§4.1) is softmax(QKᵀ/√d_k)V everywhere; the three kinds differ only in where Q, K
and V come from and in the mask:

    encoder self-attention   Q, K, V from the source          padding mask on the keys
    decoder self-attention   Q, K, V from the target so far   causal mask (t sees ≤ t)
    cross-attention          Q from the target, K, V from the encoder output  (source padding mask)

Each sub-layer sits in a residual connection with a LayerNorm, after it (post-LN, Marian and
the original Transformer: x = LN(x + f(x))) or before it (pre-LN, normalize_before=True:
x = x + f(LN(x)), plus one final LayerNorm per stack, as mBART does).

Hugging Face details kept here so that weights and outputs carry over:
* token embeddings are multiplied by √d_model when scale_embedding (OPUS-MT: true);
* the sinusoidal table has the sines in the first half of the columns and the cosines in the
  second half (not interleaved as in nn.positional); it is recomputed, never stored;
* logits = lm_head(h) + final_logits_bias, a (1, V) buffer that is saved but not trained;
* encoder, decoder and lm_head share one embedding matrix (share_encoder_decoder_embeddings,
  tie_word_embeddings), stored once as model.shared.weight;
* the decoder starts from decoder_start_token_id, which for Marian is the pad token.

Generation (greedy, beam search, the KV cache) is in generation.py.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from ..nn import init
from ..nn.attention import MultiHeadAttention, merge_heads, scaled_dot_product_attention, split_heads
from ..nn.containers import ModuleList
from ..nn.layers import Dropout, Embedding, LayerNorm, Linear
from ..nn.module import Module
from ..nn import functional as F
from ..nn.transformer import get_activation
from ..tensor import DEFAULT_DTYPE, ShapeError, Tensor, as_tensor, cat
from .bert import init_hf_weights
from .outputs import BaseModelOutput, Seq2SeqLMOutput
from .pretrained import PreTrainedMixin

IGNORE_INDEX = -100

__all__ = ["MarianConfig", "MarianMTModel", "MarianModel", "MarianEncoder", "MarianDecoder",
           "MarianAttention", "marian_sinusoidal_table", "shift_tokens_right"]


@dataclass
class MarianConfig:
    """Hyper-parameters, with Hugging Face's MarianConfig names (defaults: theirs).

    d_model: width;  encoder_layers / decoder_layers: blocks;  *_attention_heads: heads;
    *_ffn_dim: the feed-forward width;  max_position_embeddings: longest sequence;
    activation_function: "swish" (OPUS-MT), "gelu", "relu", ...;  dropout (embeddings and
    residual branches), attention_dropout (attention probabilities), activation_dropout
    (inside the FFN);  scale_embedding: multiply token embeddings by √d_model;
    share_encoder_decoder_embeddings: one matrix for source and target (decoder_vocab_size
    is then vocab_size);  tie_word_embeddings: lm_head is the decoder's embedding matrix;
    pad/eos/decoder_start/forced_eos_token_id: special tokens (Marian starts the decoder
    from pad).

    minigrad's additions (not in transformers; save_pretrained warns when they differ from
    Marian's): normalize_before (pre-LN), position_embedding_type ("sinusoidal" or "learned"),
    layernorm_embedding (a LayerNorm on embeddings + positions, as BART and BERT have: an encoder
    started from a BERT needs it, see models/bert_to_marian.py).

    For training from scratch, MarianConfig.small(vocab_size) gives a model that trains on a
    laptop CPU.
    """
    vocab_size: int = 58101
    decoder_vocab_size: int | None = None
    max_position_embeddings: int = 1024
    encoder_layers: int = 12
    encoder_ffn_dim: int = 4096
    encoder_attention_heads: int = 16
    decoder_layers: int = 12
    decoder_ffn_dim: int = 4096
    decoder_attention_heads: int = 16
    activation_function: str = "gelu"
    d_model: int = 1024
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    init_std: float = 0.02
    scale_embedding: bool = False
    pad_token_id: int = 58100
    eos_token_id: int = 0
    decoder_start_token_id: int = 58100
    forced_eos_token_id: int | None = 0
    share_encoder_decoder_embeddings: bool = True
    tie_word_embeddings: bool = True
    layer_norm_eps: float = 1e-5
    normalize_before: bool = False
    position_embedding_type: str = "sinusoidal"
    layernorm_embedding: bool = False

    def __post_init__(self):
        if self.decoder_vocab_size is None:
            self.decoder_vocab_size = self.vocab_size
        if self.share_encoder_decoder_embeddings and self.decoder_vocab_size != self.vocab_size:
            raise ValueError(f"MarianConfig: share_encoder_decoder_embeddings needs one vocabulary, "
                             f"but vocab_size is {self.vocab_size} and decoder_vocab_size "
                             f"{self.decoder_vocab_size}")
        for name in ("vocab_size", "decoder_vocab_size", "max_position_embeddings", "encoder_layers",
                     "encoder_ffn_dim", "encoder_attention_heads", "decoder_layers", "decoder_ffn_dim",
                     "decoder_attention_heads", "d_model"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"MarianConfig: {name} must be a positive integer, got {value!r}")
        for heads in ("encoder_attention_heads", "decoder_attention_heads"):
            if self.d_model % getattr(self, heads) != 0:
                raise ValueError(f"MarianConfig: d_model ({self.d_model}) must be divisible by "
                                 f"{heads} ({getattr(self, heads)})")
        for name in ("dropout", "attention_dropout", "activation_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"MarianConfig: {name} must be in [0, 1), got {getattr(self, name)}")
        if self.position_embedding_type not in ("sinusoidal", "learned"):
            raise ValueError(f"MarianConfig: position_embedding_type must be 'sinusoidal' or "
                             f"'learned', got {self.position_embedding_type!r}")
        get_activation(self.activation_function)            # a clear error for an unknown name
        for name in ("pad_token_id", "eos_token_id", "decoder_start_token_id"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not 0 <= value < self.decoder_vocab_size:
                raise ValueError(f"MarianConfig: {name} must be a token id in [0, "
                                 f"{self.decoder_vocab_size}), got {value!r}")
        if self.pad_token_id >= self.vocab_size:
            raise ValueError(f"MarianConfig: pad_token_id {self.pad_token_id} is not a source id "
                             f"(vocab_size {self.vocab_size})")

    @classmethod
    def small(cls, vocab_size: int, decoder_vocab_size: int | None = None, pad_token_id: int = 0,
              eos_token_id: int = 1, d_model: int = 128, layers: int = 2, heads: int = 4,
              **kw) -> "MarianConfig":
        """A small model to train from scratch (2+2 layers of width 128 by default, 0.9M
        parameters plus the embeddings), with pre-LN, which trains more stably than the
        original post-LN at small batch sizes.  Other fields as keywords."""
        shared = decoder_vocab_size is None or decoder_vocab_size == vocab_size
        d = dict(vocab_size=vocab_size, decoder_vocab_size=decoder_vocab_size,
                 share_encoder_decoder_embeddings=shared, d_model=d_model, encoder_layers=layers,
                 decoder_layers=layers, encoder_attention_heads=heads, decoder_attention_heads=heads,
                 encoder_ffn_dim=4 * d_model, decoder_ffn_dim=4 * d_model, max_position_embeddings=256,
                 activation_function="gelu", dropout=0.1, scale_embedding=True,
                 pad_token_id=pad_token_id, eos_token_id=eos_token_id,
                 decoder_start_token_id=pad_token_id, forced_eos_token_id=eos_token_id,
                 normalize_before=True)
        d.update(kw)
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MarianConfig":
        """Build from a dict (config.json's); keys that are not fields are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def shift_tokens_right(labels: np.ndarray, pad_token_id: int, decoder_start_token_id: int) -> np.ndarray:
    """Teacher forcing's decoder input: labels shifted one step right, the start token first,
    -100 (ignored positions) replaced by pad.  (B, T) -> (B, T)."""
    labels = np.asarray(labels)
    shifted = np.empty_like(labels)
    shifted[:, 1:] = labels[:, :-1]
    shifted[:, 0] = decoder_start_token_id
    return np.where(shifted == IGNORE_INDEX, pad_token_id, shifted)


# --- positions ----------------------------------------------------------------------------
def marian_sinusoidal_table(n_pos: int, dim: int) -> np.ndarray:
    """Marian's (n_pos, dim) sinusoidal table (§3.1): the same frequencies as the original
    Transformer, pos / 10000^(2i/dim), but with every sine in the first ⌈dim/2⌉ columns and
    every cosine in the rest (Hugging Face's layout), not interleaved.  float64."""
    pos = np.arange(n_pos, dtype=np.float64)[:, None]                       # (n_pos, 1)
    j = np.arange(dim)
    angle = pos / np.power(10000.0, 2 * (j // 2) / dim)                     # (n_pos, dim)
    half = (dim + 1) // 2
    table = np.empty((n_pos, dim))
    table[:, :half] = np.sin(angle[:, 0::2])
    table[:, half:] = np.cos(angle[:, 1::2])
    return table


class MarianSinusoidalPositionalEmbedding(Module):
    """The fixed table as a non-persistent buffer `weight` (recomputed, not saved, as Hugging
    Face's _keys_to_ignore_on_save).  forward(T, offset) -> rows offset..offset+T-1, (T, d)."""

    def __init__(self, num_positions: int, embedding_dim: int):
        super().__init__()
        self.num_positions = num_positions
        table = marian_sinusoidal_table(num_positions, embedding_dim)
        # float32 as Hugging Face rounds it (torch.FloatTensor of the float64 table)
        self.register_buffer("weight", Tensor(table.astype(np.dtype(DEFAULT_DTYPE))), persistent=False)

    def forward(self, T: int, offset: int = 0) -> Tensor:
        _check_positions(offset, T, self.num_positions)
        return self.weight[offset:offset + T]                                # (T, d)


class MarianLearnedPositionalEmbedding(Embedding):
    """Learned positions (GPT-2's wpe), a minigrad option: weight (max_positions, d)."""

    def forward(self, T: int, offset: int = 0) -> Tensor:
        _check_positions(offset, T, self.num_embeddings)
        return super().forward(np.arange(offset, offset + T))                # (T, d)


def _check_positions(offset: int, T: int, n: int):
    if offset + T > n:
        raise ShapeError(f"Marian: positions {offset}..{offset + T - 1} exceed "
                         f"max_position_embeddings {n} (shorten the input or max_new_tokens)")


def _positions(config: MarianConfig) -> Module:
    if config.position_embedding_type == "learned":
        return MarianLearnedPositionalEmbedding(config.max_position_embeddings, config.d_model)
    return MarianSinusoidalPositionalEmbedding(config.max_position_embeddings, config.d_model)


# --- attention ----------------------------------------------------------------------------
class MarianAttention(MultiHeadAttention):
    """Multi-head attention (§4.1) for the three places it is used (q_proj, k_proj, v_proj,
    out_proj as in Hugging Face).

        self-attention:   attn(x)                              Q, K, V from x (B, T, d)
        cross-attention:  attn(x, key_value_states=memory)     Q from x, K, V from memory (B, S, d)

    past_key_value:
      * self-attention (decoding): the keys and values of earlier positions; the new ones are
        appended (B, nh, T_past + T, hs);
      * cross-attention: the encoder's K and V computed at the first step, reused as they are
        (the encoder output does not change while decoding).
    Returns (output (B, T, d), weights (B, nh, T, S) or None, (k, v) or None).
    """

    def forward(self, hidden_states, key_value_states=None, attn_mask=None, past_key_value=None,
                use_cache: bool = False, output_attentions: bool = False):
        nh = self.num_heads
        q = split_heads(self.q_proj(hidden_states), nh)                      # (B, nh, T, hs)
        cross = key_value_states is not None
        if cross and past_key_value is not None:
            k, v = past_key_value                                            # (B, nh, S, hs), computed once
        else:
            source = key_value_states if cross else hidden_states
            k = split_heads(self.k_proj(source), nh)                         # (B, nh, S, hs)
            v = split_heads(self.v_proj(source), nh)                         # (B, nh, S, hs)
            if past_key_value is not None:                                   # decoder self-attention, cached
                k = cat([past_key_value[0], k], dim=2)                       # (B, nh, T_past + T, hs)
                v = cat([past_key_value[1], v], dim=2)
        result = scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, is_causal=self.causal and not cross,
            dropout_p=self.dropout if self.training else 0.0, return_weights=output_attentions)
        y, w = result if output_attentions else (result, None)
        y = self.out_proj(merge_heads(y))                                    # (B, T, d)
        return y, w, ((k, v) if use_cache else None)


# --- layers -------------------------------------------------------------------------------
class MarianEncoderLayer(Module):
    """Self-attention, then the FFN, each with a residual and a LayerNorm (post- or pre-LN)."""

    def __init__(self, config: MarianConfig):
        super().__init__()
        d, eps = config.d_model, config.layer_norm_eps
        self.normalize_before = config.normalize_before
        self.self_attn = MarianAttention(d, config.encoder_attention_heads, dropout=config.attention_dropout)
        self.self_attn_layer_norm = LayerNorm(d, eps=eps)
        self.activation_function = config.activation_function
        self._act = get_activation(config.activation_function)
        self.activation_dropout = Dropout(config.activation_dropout)
        self.fc1 = Linear(d, config.encoder_ffn_dim)
        self.fc2 = Linear(config.encoder_ffn_dim, d)
        self.final_layer_norm = LayerNorm(d, eps=eps)
        self.dropout = Dropout(config.dropout)

    def ffn(self, x):
        return self.fc2(self.activation_dropout(self._act(self.fc1(x))))    # (B, S, d)

    def forward(self, x, keep=None, output_attentions: bool = False):
        """x (B, S, d); keep (B, 1, 1, S) bool, True = a real source token."""
        if self.normalize_before:                                            # pre-LN
            h, att, _ = self.self_attn(self.self_attn_layer_norm(x), attn_mask=keep,
                                       output_attentions=output_attentions)
            x = x + self.dropout(h)
            x = x + self.dropout(self.ffn(self.final_layer_norm(x)))
        else:                                                                # post-LN (Marian)
            h, att, _ = self.self_attn(x, attn_mask=keep, output_attentions=output_attentions)
            x = self.self_attn_layer_norm(x + self.dropout(h))               # (B, S, d)
            x = self.final_layer_norm(x + self.dropout(self.ffn(x)))         # (B, S, d)
        return x, att


class MarianDecoderLayer(Module):
    """Causal self-attention, cross-attention to the encoder output, then the FFN."""

    def __init__(self, config: MarianConfig):
        super().__init__()
        d, eps, nh = config.d_model, config.layer_norm_eps, config.decoder_attention_heads
        self.normalize_before = config.normalize_before
        self.self_attn = MarianAttention(d, nh, dropout=config.attention_dropout, causal=True)
        self.self_attn_layer_norm = LayerNorm(d, eps=eps)
        self.encoder_attn = MarianAttention(d, nh, dropout=config.attention_dropout)
        self.encoder_attn_layer_norm = LayerNorm(d, eps=eps)
        self.activation_function = config.activation_function
        self._act = get_activation(config.activation_function)
        self.activation_dropout = Dropout(config.activation_dropout)
        self.fc1 = Linear(d, config.decoder_ffn_dim)
        self.fc2 = Linear(config.decoder_ffn_dim, d)
        self.final_layer_norm = LayerNorm(d, eps=eps)
        self.dropout = Dropout(config.dropout)

    def ffn(self, x):
        return self.fc2(self.activation_dropout(self._act(self.fc1(x))))    # (B, T, d)

    def forward(self, x, memory, memory_keep=None, self_keep=None, past_key_value=None,
                use_cache: bool = False, output_attentions: bool = False):
        """x (B, T, d) target positions; memory (B, S, d) the encoder output; memory_keep
        (B, 1, 1, S) source padding; self_keep (B, 1, 1, T_past + T) target padding (the causal
        mask is added inside); past_key_value (self k, self v, cross k, cross v) or None.
        Returns (x, self weights, cross weights, the new past_key_value or None)."""
        self_past = past_key_value[:2] if past_key_value is not None else None
        cross_past = past_key_value[2:] if past_key_value is not None else None

        def self_attention(h):
            return self.self_attn(h, attn_mask=self_keep, past_key_value=self_past,
                                  use_cache=use_cache, output_attentions=output_attentions)

        def cross_attention(h):                                              # Q = h, K = V = memory
            return self.encoder_attn(h, key_value_states=memory, attn_mask=memory_keep,
                                     past_key_value=cross_past, use_cache=use_cache,
                                     output_attentions=output_attentions)

        if self.normalize_before:                                            # pre-LN
            h, self_att, self_kv = self_attention(self.self_attn_layer_norm(x))
            x = x + self.dropout(h)
            h, cross_att, cross_kv = cross_attention(self.encoder_attn_layer_norm(x))
            x = x + self.dropout(h)
            x = x + self.dropout(self.ffn(self.final_layer_norm(x)))
        else:                                                                # post-LN (Marian)
            h, self_att, self_kv = self_attention(x)
            x = self.self_attn_layer_norm(x + self.dropout(h))               # (B, T, d)
            h, cross_att, cross_kv = cross_attention(x)
            x = self.encoder_attn_layer_norm(x + self.dropout(h))            # (B, T, d)
            x = self.final_layer_norm(x + self.dropout(self.ffn(x)))         # (B, T, d)
        present = (*self_kv, *cross_kv) if use_cache else None
        return x, self_att, cross_att, present


# --- the two stacks -----------------------------------------------------------------------
def _keep_mask(mask, shape, what: str):
    """A Hugging Face attention mask (B, L), 1 = real token -> bool (B, 1, 1, L), or None."""
    if mask is None:
        return None
    m = np.asarray(as_tensor(mask).data)
    if m.shape != tuple(shape):
        raise ShapeError(f"Marian: {what} has shape {m.shape} but the ids are {tuple(shape)} (B, L)")
    return (m != 0)[:, None, None, :]


def _check_ids(ids, what: str):
    ids = as_tensor(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"Marian: {what} must hold integer token ids, got {ids.dtype}")
    if ids.ndim != 2:
        raise ShapeError(f"Marian: {what} must have shape (B, L), got {ids.shape}")
    return ids


class MarianEncoder(Module):
    """Source ids (B, S) -> BaseModelOutput(last_hidden_state (B, S, d), ...)."""

    def __init__(self, config: MarianConfig):
        super().__init__()
        self.config = config
        self.embed_scale = math.sqrt(config.d_model) if config.scale_embedding else 1.0
        self.embed_tokens = Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
        self.embed_positions = _positions(config)
        self.dropout = Dropout(config.dropout)
        self.layernorm_embedding = (LayerNorm(config.d_model, eps=config.layer_norm_eps)
                                    if config.layernorm_embedding else None)
        self.layers = ModuleList([MarianEncoderLayer(config) for _ in range(config.encoder_layers)])
        self.layer_norm = LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.normalize_before else None

    def forward(self, input_ids, attention_mask=None, output_attentions: bool = False,
                output_hidden_states: bool = False) -> BaseModelOutput:
        input_ids = _check_ids(input_ids, "input_ids")
        B, S = input_ids.shape
        keep = _keep_mask(attention_mask, (B, S), "attention_mask")          # (B, 1, 1, S)
        x = self.embed_tokens(input_ids)                                     # (B, S, d)
        if self.embed_scale != 1.0:
            x = x * self.embed_scale                                         # × √d_model
        x = x + self.embed_positions(S).to(x.dtype)                          # (B, S, d)
        if self.layernorm_embedding is not None:
            x = self.layernorm_embedding(x)                                  # BART's / BERT's LN
        x = self.dropout(x)
        hidden, atts = [x], []
        for layer in self.layers:
            x, att = layer(x, keep, output_attentions)                       # (B, S, d)
            hidden.append(x)
            atts.append(att)
        if self.layer_norm is not None:                                      # pre-LN: one final LN
            x = self.layer_norm(x)
            hidden[-1] = x
        return BaseModelOutput(last_hidden_state=x,
                               hidden_states=tuple(hidden) if output_hidden_states else None,
                               attentions=tuple(atts) if output_attentions else None)


class MarianDecoder(Module):
    """Target ids (B, T) and the encoder output -> hidden states (B, T, d)."""

    def __init__(self, config: MarianConfig):
        super().__init__()
        self.config = config
        self.embed_scale = math.sqrt(config.d_model) if config.scale_embedding else 1.0
        self.embed_tokens = Embedding(config.decoder_vocab_size, config.d_model,
                                      padding_idx=config.pad_token_id)
        self.embed_positions = _positions(config)
        self.dropout = Dropout(config.dropout)
        self.layers = ModuleList([MarianDecoderLayer(config) for _ in range(config.decoder_layers)])
        self.layer_norm = LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.normalize_before else None

    def forward(self, input_ids, encoder_hidden_states, encoder_attention_mask=None,
                attention_mask=None, past_key_values=None, use_cache: bool = False,
                output_attentions: bool = False, output_hidden_states: bool = False):
        """Returns (x (B, T, d), presents, hidden states, self weights, cross weights).

        past_key_values: one (self k, self v, cross k, cross v) per layer from an earlier call;
        input_ids then hold only the new tokens, whose positions continue after the cached ones.
        attention_mask (B, T_past + T): target padding, 1 = real (default: all real)."""
        input_ids = _check_ids(input_ids, "decoder_input_ids")
        B, T = input_ids.shape
        past = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        memory = as_tensor(encoder_hidden_states)                            # (B, S, d)
        memory_keep = _keep_mask(encoder_attention_mask, memory.shape[:2], "attention_mask")
        self_keep = _keep_mask(attention_mask, (B, past + T), "decoder_attention_mask")
        x = self.embed_tokens(input_ids)                                     # (B, T, d)
        if self.embed_scale != 1.0:
            x = x * self.embed_scale
        x = self.dropout(x + self.embed_positions(T, offset=past).to(x.dtype))
        hidden, self_atts, cross_atts, presents = [x], [], [], []
        for i, layer in enumerate(self.layers):
            layer_past = None if past_key_values is None else past_key_values[i]
            x, sa, ca, present = layer(x, memory, memory_keep, self_keep, layer_past, use_cache,
                                       output_attentions)                    # (B, T, d)
            hidden.append(x)
            self_atts.append(sa)
            cross_atts.append(ca)
            presents.append(present)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
            hidden[-1] = x
        return x, presents, hidden, self_atts, cross_atts


class MarianModel(Module):
    """The bare encoder–decoder: shared (when share_encoder_decoder_embeddings), encoder, decoder.

    As in transformers 5, the encoder's and decoder's embed_tokens *are* shared.weight only
    when tie_word_embeddings is also true; with tie_word_embeddings false nothing is tied
    (each stack has its own matrix and `shared` is unused), which is how such a checkpoint
    is stored."""

    def __init__(self, config: MarianConfig):
        super().__init__()
        if config.share_encoder_decoder_embeddings:
            self.shared = Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
        self.encoder = MarianEncoder(config)
        self.decoder = MarianDecoder(config)
        if config.share_encoder_decoder_embeddings and config.tie_word_embeddings:
            self.encoder.embed_tokens.weight = self.shared.weight            # one Parameter, three names
            self.decoder.embed_tokens.weight = self.shared.weight


class MarianMTModel(PreTrainedMixin, Module):
    """The translation model: MarianModel, then lm_head (tied) + final_logits_bias.

        model = MarianMTModel(MarianConfig.small(vocab_size=8000))
        out = model(input_ids=src, attention_mask=mask, labels=tgt)    # out.loss, out.logits (B, T, V)
        ids = model.generate(src, attention_mask=mask, max_new_tokens=64, num_beams=4)
        MarianMTModel.from_pretrained(directory)   # a Hugging Face Marian directory (OPUS-MT)
    """
    model_type = "marian"

    def __init__(self, config: MarianConfig):
        super().__init__()
        self.config = config
        self.generation_config = {}           # generation_config.json's values (from_pretrained)
        self.model = MarianModel(config)
        V = config.decoder_vocab_size
        self.lm_head = Linear(config.d_model, V, bias=False)
        self.register_buffer("final_logits_bias", Tensor(np.zeros((1, V), dtype=np.dtype(DEFAULT_DTYPE))))
        init_hf_weights(self, config.init_std)   # (the sinusoidal table is fixed)
        if config.tie_word_embeddings:                                       # output layer = embeddings
            self.lm_head.weight = self.model.decoder.embed_tokens.weight

    def get_encoder(self) -> MarianEncoder:
        return self.model.encoder

    def get_decoder(self) -> MarianDecoder:
        return self.model.decoder

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None,
                decoder_attention_mask=None, encoder_outputs=None, past_key_values=None,
                labels=None, use_cache: bool = False, output_attentions: bool = False,
                output_hidden_states: bool = False, label_smoothing: float = 0.0) -> Seq2SeqLMOutput:
        """input_ids (B, S) source ids, attention_mask (B, S) 1 = real token;
        decoder_input_ids (B, T) (default: labels shifted right, the start token first);
        labels (B, T) the target ids, -100 = ignored: loss = cross-entropy (with label
        smoothing ε when given, §4.2) averaged over the non-ignored positions.
        encoder_outputs: a BaseModelOutput (or its tensor) from get_encoder(), to skip the encoder.
        """
        if labels is not None:
            labels = as_tensor(labels)
            if decoder_input_ids is None:
                decoder_input_ids = shift_tokens_right(labels.data, self.config.pad_token_id,
                                                       self.config.decoder_start_token_id)
        if decoder_input_ids is None:
            raise ValueError("MarianMTModel: pass decoder_input_ids or labels (the decoder needs "
                             "its input; generate() builds it for you)")
        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError("MarianMTModel: pass input_ids (or encoder_outputs)")
            encoder_outputs = self.model.encoder(input_ids, attention_mask, output_attentions,
                                                 output_hidden_states)
        elif not isinstance(encoder_outputs, BaseModelOutput):
            first = encoder_outputs[0] if isinstance(encoder_outputs, (tuple, list)) else encoder_outputs
            encoder_outputs = BaseModelOutput(last_hidden_state=as_tensor(first))
        memory = encoder_outputs.last_hidden_state                           # (B, S, d)
        x, presents, hidden, self_atts, cross_atts = self.model.decoder(
            decoder_input_ids, memory, attention_mask, decoder_attention_mask, past_key_values,
            use_cache, output_attentions, output_hidden_states)
        logits = self.lm_head(x) + self.final_logits_bias.to(x.dtype)       # (B, T, V)

        loss = None
        if labels is not None:
            V = logits.shape[-1]
            loss = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1),
                                   ignore_index=IGNORE_INDEX, label_smoothing=label_smoothing)
        return Seq2SeqLMOutput(
            loss=loss, logits=logits, past_key_values=tuple(presents) if use_cache else None,
            decoder_hidden_states=tuple(hidden) if output_hidden_states else None,
            decoder_attentions=tuple(self_atts) if output_attentions else None,
            cross_attentions=tuple(cross_atts) if output_attentions else None,
            encoder_last_hidden_state=memory,
            encoder_hidden_states=encoder_outputs.hidden_states,
            encoder_attentions=encoder_outputs.attentions)

    def generate(self, input_ids, attention_mask=None, max_new_tokens: int | None = None,
                 num_beams: int | None = None, length_penalty: float | None = None,
                 early_stopping: bool | str | None = None, **kwargs):
        """Translate: greedy (num_beams=1) or beam search; returns the ids (B, 1 + n) as a
        Tensor of int64, decoder_start_token_id first, as Hugging Face's generate.

        Defaults come from generation_config.json when the model was loaded from a directory
        that has one (OPUS-MT: num_beams 4, max_length 512, the pad token banned), else
        num_beams 1, length_penalty 1.0, early_stopping False, max_length 20.  More keywords:
        max_length, eos_token_id, pad_token_id, forced_eos_token_id, bad_words_ids, use_cache.
        See generation.py.
        """
        from .generation import generate_seq2seq
        return generate_seq2seq(self, input_ids, attention_mask=attention_mask,
                                max_new_tokens=max_new_tokens, num_beams=num_beams,
                                length_penalty=length_penalty, early_stopping=early_stopping, **kwargs)
