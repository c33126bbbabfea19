"""Attention (§4.1 自注意力机制): scaled dot-product attention and multi-head attention.

    Attention(Q, K, V) = softmax(QKᵀ / √d_k) V                              (§4.1)

`scaled_dot_product_attention` is the formula above, composed from the engine's primitive
ops (matmul, softmax, where), so it is differentiable to any order without a backward rule of
its own.  It is also the name a fused kernel (FlashAttention-style) can later sit behind:
keep the interface small, and this readable version is the reference such a kernel is
tested against.

`MultiHeadAttention` (§3.1 Transformer 架构) runs h attentions in parallel on learned
projections of the input and mixes their results:

    head_i = Attention(X W_i^Q, X W_i^K, X W_i^V),   MHA(X) = concat(head_1..head_h) W^O

Shapes use B = batch, T = query length, S = key length, nh = heads, hs = head size.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from .. import backends
from ..tensor import ShapeError, Tensor, as_tensor, cat, where
from . import functional as F
from .layers import Linear
from .module import Module

_NEG_INF = -np.inf


def _broadcast_ok(a: tuple, b: tuple) -> bool:
    if a == b:                    # the usual case, without np.broadcast_shapes' cost
        return True
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def causal_mask(T: int, S: int | None = None) -> np.ndarray:
    """The (T, S) boolean causal mask, True where query t may attend to key s.

    Aligned to the bottom-right: query t sits at position S - T + t of the keys, so it sees
    keys 0 .. S - T + t.  With T == S this is the usual lower triangle (PyTorch's is_causal);
    with T < S (new queries after a KV cache of S - T keys) it is what decoding needs.
    """
    S = T if S is None else S
    if S < T:
        raise ShapeError(f"causal_mask: {T} queries but only {S} keys; a causal mask needs S >= T")
    return np.tril(np.ones((T, S), dtype=bool), k=S - T)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask=None,
                                 is_causal: bool = False, dropout_p: float = 0.0,
                                 scale: float | None = None, return_weights: bool = False):
    """softmax(QKᵀ/√d_k + mask) V  (§4.1 自注意力机制).

    q: (..., T, d)   k: (..., S, d)   v: (..., S, dv)   ->   out: (..., T, dv)
    Leading dims (batch, heads) broadcast, so q (B, nh, T, hs) with k, v (B, nh, S, hs) is the
    usual call.

    attn_mask, broadcastable to (..., T, S), for example (B, 1, 1, S) for key padding:
      * bool:  True = the key takes part, False = masked out (PyTorch's convention);
      * float: added to the scores before softmax (0 = keep, -inf or a large negative = drop).
    is_causal: query t sees only keys up to its own position (see `causal_mask`: aligned to
      the bottom-right, which equals PyTorch's when T == S).  May be combined with attn_mask.
    dropout_p: dropout on the attention probabilities, applied whenever > 0 (as in PyTorch;
      modules pass 0.0 in eval mode).
    scale: defaults to 1/√d.
    return_weights: also return the attention probabilities (..., T, S), before dropout.

    A query whose keys are all masked gets probabilities 0 and output 0 (not NaN), and its
    gradients are 0.  (An additive mask of a large finite negative value, such as Hugging
    Face's finfo.min, gives a uniform row instead.)
    """
    q, k, v = as_tensor(q), as_tensor(k), as_tensor(v)
    _check_shapes(q, k, v)
    # On the numba and cuda backends one fused kernel runs instead (ops/attention.py:
    # FlashAttention-2's online softmax, no (T, S) matrix kept).  It cannot return the
    # weights or apply dropout to them, so those requests take the composite path below,
    # which is the formula as the chapter writes it.
    if not return_weights and dropout_p == 0.0 and backends.current_name() in ("numba", "cuda"):
        from ..ops.attention import fused_attention
        return fused_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    T, S, d = q.shape[-2], k.shape[-2], q.shape[-1]
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)

    # scores = Q Kᵀ / √d_k
    scores = (q @ k.mT) * scale                                  # (..., T, S)

    # masks: drop (bool False / causal) -> -inf, or add (float)
    keep = None
    if is_causal:
        keep = causal_mask(T, S)                                 # (T, S)
    if attn_mask is not None:
        mask = as_tensor(attn_mask)
        if not (_broadcast_ok(mask.shape, scores.shape)
                and np.broadcast_shapes(mask.shape, scores.shape) == scores.shape):
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {mask.shape} "
                             f"does not broadcast to the scores' shape {scores.shape} "
                             f"(..., T={T}, S={S})")
        if mask.dtype == np.bool_:
            keep = mask.data if keep is None else (keep & mask.data)
        elif mask.dtype.kind == "f":
            scores = scores + mask.to(scores.dtype)              # (..., T, S); a learned bias gets gradients
        else:
            raise TypeError(f"scaled_dot_product_attention: attn_mask must be bool (True = "
                            f"takes part) or float (additive), got {mask.dtype}")
    if keep is not None:
        neg_inf = Tensor(np.asarray(_NEG_INF, dtype=scores.dtype))
        scores = where(Tensor(keep), scores, neg_inf)            # (..., T, S)

    # softmax over the keys; an all -inf row gives zeros (backends/numpy_ref.py)
    weights = scores.softmax(dim=-1)                             # (..., T, S)
    probs = F.dropout(weights, dropout_p, training=True) if dropout_p > 0 else weights

    out = probs @ v                                              # (..., T, dv)
    return (out, weights) if return_weights else out


def _check_shapes(q: Tensor, k: Tensor, v: Tensor):
    op = "scaled_dot_product_attention"
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim < 2:
            raise ShapeError(f"{op}: {name} must have at least 2 dims (..., L, d), got shape {t.shape}")
        if t.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be floating point, got {t.dtype}")
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(f"{op}: q (..., T, d) and k (..., S, d) must share d; got q {q.shape} "
                         f"and k {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"{op}: k (..., S, d) and v (..., S, dv) must share S; got k {k.shape} "
                         f"and v {v.shape}")
    if not (_broadcast_ok(q.shape[:-2], k.shape[:-2]) and _broadcast_ok(k.shape[:-2], v.shape[:-2])):
        raise ShapeError(f"{op}: the leading (batch, head) dims of q {q.shape}, k {k.shape} and "
                         f"v {v.shape} do not broadcast")


# --- heads -------------------------------------------------------------------------------
def split_heads(x: Tensor, n_head: int) -> Tensor:
    """(B, T, C) -> (B, nh, T, hs) with hs = C / nh; head h owns columns h·hs .. (h+1)·hs."""
    B, T, C = x.shape
    return x.reshape(B, T, n_head, C // n_head).transpose(1, 2)   # (B, nh, T, hs)


def merge_heads(x: Tensor) -> Tensor:
    """(B, nh, T, hs) -> (B, T, nh·hs): the heads side by side again (concat)."""
    B, nh, T, hs = x.shape
    return x.transpose(1, 2).reshape(B, T, nh * hs)               # (B, T, C)


def padding_mask_to_keep(key_padding_mask) -> np.ndarray:
    """key_padding_mask (B, S), True = padding -> a bool (B, 1, 1, S) mask, True = takes part."""
    m = as_tensor(key_padding_mask)
    if m.dtype != np.bool_:
        raise TypeError(f"key_padding_mask must be bool (True = padding, as in PyTorch's "
                        f"nn.MultiheadAttention), got {m.dtype}; from a Hugging Face "
                        f"attention_mask (1 = real token) use `attention_mask == 0`")
    if m.ndim != 2:
        raise ShapeError(f"key_padding_mask must have shape (B, S), got {m.shape}")
    return ~m.data[:, None, None, :]                              # (B, 1, 1, S)


AttentionOutput = namedtuple("AttentionOutput", ["output", "attn_weights", "past_key_value"])


class MultiHeadAttention(Module):
    """Multi-head attention (§3.1, §4.1): self-attention, cross-attention, causal, KV cache.

        mha = nn.MultiHeadAttention(embed_dim=64, num_heads=4)
        out, weights, _ = mha(x, need_weights=True)          # self-attention
        out, _, _ = mha(x, memory, memory)                   # cross-attention (decoder → encoder)

    Projections q_proj, k_proj, v_proj (kdim / vdim for cross-attention) and out_proj are
    Linear layers.  forward returns AttentionOutput(output, attn_weights, past_key_value):
    attn_weights (B, nh, T, S) when need_weights else None; past_key_value (k, v), each
    (B, nh, S, hs), when use_cache else None.

    Masks: key_padding_mask (B, S) bool, True = padding (ignored key), as in PyTorch's
    nn.MultiheadAttention; attn_mask as in `scaled_dot_product_attention` (bool True = takes
    part, or additive float).  is_causal (default: the `causal` given at construction).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, causal: bool = False):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"MultiHeadAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.causal = dropout, causal
        self.q_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = Linear(kdim or embed_dim, embed_dim, bias=bias)
        self.v_proj = Linear(vdim or embed_dim, embed_dim, bias=bias)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key=None, value=None, key_padding_mask=None, attn_mask=None,
                is_causal: bool | None = None, need_weights: bool = False,
                past_key_value=None, use_cache: bool = False) -> AttentionOutput:
        key = query if key is None else key
        value = key if value is None else value
        if query.ndim != 3:
            raise ShapeError(f"MultiHeadAttention: query must be (B, T, C), got {query.shape}")
        nh = self.num_heads
        q = split_heads(self.q_proj(query), nh)                    # (B, nh, T, hs)
        k = split_heads(self.k_proj(key), nh)                      # (B, nh, S, hs)
        v = split_heads(self.v_proj(value), nh)                    # (B, nh, S, hs)
        if past_key_value is not None:                             # decoding: keys seen so far
            k = cat([past_key_value[0], k], dim=2)                 # (B, nh, S_past + S, hs)
            v = cat([past_key_value[1], v], dim=2)
        mask = attn_mask
        if key_padding_mask is not None:
            keep = padding_mask_to_keep(key_padding_mask)          # (B, 1, 1, S)
            if mask is None:
                mask = keep
            elif as_tensor(mask).dtype == np.bool_:
                mask = as_tensor(mask).data & keep
            else:
                mask = as_tensor(mask) + Tensor(np.where(keep, 0.0, -np.inf).astype(q.dtype))
        result = scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=self.causal if is_causal is None else is_causal,
            dropout_p=self.dropout if self.training else 0.0, return_weights=need_weights)
        y, w = result if need_weights else (result, None)
        y = self.out_proj(merge_heads(y))                          # (B, T, C)
        return AttentionOutput(y, w, (k, v) if use_cache else None)

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
                f"{', causal=True' if self.causal else ''}")
