"""What users call as F: activations, losses, normalisation, dropout, embedding.

    import minigrad.nn.functional as F

Everything here is composed from the engine's primitive ops, so every function is
differentiable to any order without a backward rule of its own.  Two exceptions for speed,
gelu and layer_norm, run one fused op (ops/fused.py) when the backend has kernels for them;
their formulas as engine ops stay here as gelu_composite and layer_norm_composite.
"""
from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from ..ops import fused as _fused
from ..tensor import ShapeError, Tensor, as_tensor, normalize_dim, where


# --- activations ------------------------------------------------------------------------
def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU(x) = x·Φ(x), Φ the standard normal CDF (BERT uses the exact form).

        approximate="none":  x · ½ (1 + erf(x / √2))
        approximate="tanh":  x · ½ (1 + tanh(√(2/π) (x + 0.044715 x³)))   (GPT-2's "gelu_new")

    The formula as engine ops is `gelu_composite` below.  On a backend with GELU kernels
    (numpy, numba) this runs one fused op instead (ops/fused.py): same numbers, one pass.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    if x.dtype.kind == "f" and _fused.has_kernels("gelu", "gelu_backward"):
        return _fused.gelu(x, approximate)
    return gelu_composite(x, approximate)


def gelu_composite(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU from engine ops (the formulas above): the reference of the fused kernel, and
    what its backward differentiates when create_graph=True."""
    if approximate == "none":
        return x * 0.5 * (1.0 + (x * (1.0 / math.sqrt(2.0))).erf())
    if approximate == "tanh":
        inner = (x + 0.044715 * x * x * x) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (1.0 + inner.tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """softmax(x)ᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along `dim` (§4.1), computed stably."""
    return x.softmax(dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log softmax(x), computed as x - logsumexp(x) without forming softmax first (§4.2)."""
    return x.log_softmax(dim)


# --- losses -----------------------------------------------------------------------------
def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def cross_entropy(input: Tensor, target, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits and class indices (§4.2 损失函数).

        loss = -log softmax(z)[y] = -z_y + log Σ_c e^(z_c)

    input: logits (N, C), or (C,) for one example, or (N, C, d1, ...) as in PyTorch.
    target: class indices (N,) / () / (N, d1, ...); entries equal to `ignore_index` are
    skipped (and not counted in the mean).  With label smoothing ε the target distribution
    is (1-ε)·one_hot(y) + ε/C, so loss = (1-ε)·nll + ε·mean_c(-log p_c).
    """
    target = as_tensor(target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must hold integer class indices, got "
                        f"{target.dtype} (convert with .long())")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 1:                      # one example: (C,), target ()
        input, target = input.unsqueeze(0), target.reshape(1)
    elif input.ndim > 2:                     # (N, C, d...) -> (N·d..., C)
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, input.shape[1])
        target = target.reshape(-1)
    n, num_classes = input.shape
    if target.shape != (n,):
        raise ShapeError(f"cross_entropy: logits of shape {input.shape} need targets of shape "
                         f"({n},), got {target.shape}")
    labels = target.data
    keep = labels != ignore_index
    bad = keep & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        raise IndexError(f"cross_entropy: target {int(labels[bad][0])} is out of range for "
                         f"{num_classes} classes")
    log_p = input.log_softmax(dim=1)                                      # (N, C)
    safe_labels = np.where(keep, labels, 0)
    nll = -log_p[np.arange(n), safe_labels]                               # (N,)
    if label_smoothing > 0:
        nll = nll * (1.0 - label_smoothing) - log_p.mean(dim=1) * label_smoothing
    weight = Tensor(keep.astype(log_p.dtype))
    loss = nll * weight
    if reduction == "mean":
        return loss.sum() / float(keep.sum()) if keep.any() else loss.sum() * float("nan")
    return _reduce(loss.reshape(target.shape), reduction, "cross_entropy")


def nll_loss(log_probs: Tensor, target, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """-log_probs[i, y_i] averaged; use with log_softmax outputs."""
    target = as_tensor(target)
    keep = target.data != ignore_index
    picked = -log_probs[np.arange(log_probs.shape[0]), np.where(keep, target.data, 0)]
    loss = picked * Tensor(keep.astype(log_probs.dtype))
    if reduction == "mean":
        return loss.sum() / float(max(keep.sum(), 1))
    return _reduce(loss, reduction, "nll_loss")


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    diff = input - as_tensor(target, like=input)
    return _reduce(diff * diff, reduction, "mse_loss")


# --- layers as functions ----------------------------------------------------------------
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b with W of shape (out, in), as in PyTorch.

    With a bias and matching float dtypes this is one op (ops/fused.py: the bias is added
    into the product, and the backward gives ∂x, ∂W, ∂b directly); it computes the same as
    the composite below.
    """
    if x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input has {x.shape[-1]} features (shape {x.shape}) but the "
                         f"weight expects {weight.shape[1]} (weight shape {weight.shape})")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear: bias of shape {bias.shape} does not match the weight's "
                         f"{weight.shape[0]} outputs (weight shape {weight.shape})")
    if (bias is not None and x.ndim >= 2 and x.dtype.kind == "f"
            and x.dtype == weight.dtype == bias.dtype):
        return _fused.linear(x, weight, bias)
    if x.ndim > 2:   # (B, T, in) -> (B·T, in): one matrix product, and one for the weight's gradient
        y = (x.reshape(-1, x.shape[-1]) @ weight.mT).reshape(*x.shape[:-1], weight.shape[0])
    else:
        y = x @ weight.mT
    return y + bias if bias is not None else y


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """LayerNorm (§3.1): normalise over the last dims, then scale and shift.

        y = (x - μ) / √(σ² + ε) · γ + β,   μ, σ² the mean and (biased) variance over
                                            the normalised dims

    The formula as engine ops is `layer_norm_composite` below.  The usual case (one
    normalised dim, with γ and β, on a backend with LayerNorm kernels) runs one fused op
    instead (ops/fused.py): same numbers, one pass forward and one backward.
    """
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(x.shape[x.ndim - k:]) != normalized_shape:
        raise ShapeError(f"layer_norm: input shape {x.shape} does not end with normalized_shape "
                         f"{normalized_shape}")
    if (k == 1 and weight is not None and bias is not None and x.dtype.kind == "f"
            and weight.shape == normalized_shape and bias.shape == normalized_shape
            and _fused.has_kernels("layer_norm", "layer_norm_backward")):
        return _fused.layer_norm(x, weight, bias, eps)
    return layer_norm_composite(x, normalized_shape, weight, bias, eps)


def layer_norm_composite(x: Tensor, normalized_shape, weight: Tensor | None = None,
                         bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """LayerNorm from engine ops (the formula above): the reference of the fused kernel,
    and what its backward differentiates when create_graph=True."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    dims = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mu = x.mean(dims, keepdim=True)
    centered = x - mu
    var = (centered * centered).mean(dims, keepdim=True)
    y = centered * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout),
    so the expected value is unchanged and evaluation needs no rescaling."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = _random.dropout_keep_mask(x.shape, p)   # minigrad's generator (or per sample, random.py)
    return x * Tensor((keep / (1.0 - p)).astype(x.dtype))


def embedding(ids, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Row lookup: out[..., :] = weight[ids[...], :].  The gradient of a row sums over every
    position that used it (repeated ids accumulate)."""
    ids = as_tensor(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be integers, got {ids.dtype} (convert with .long())")
    if ids.data.size and (ids.data.min() < 0 or ids.data.max() >= weight.shape[0]):
        bad = ids.data[(ids.data < 0) | (ids.data >= weight.shape[0])][0]
        raise IndexError(f"embedding: id {int(bad)} is out of range for a table of "
                         f"{weight.shape[0]} rows")
    out = weight[ids.data]
    if padding_idx is not None and weight.requires_grad:
        is_pad = Tensor((ids.data == padding_idx)[..., None])
        out = where(is_pad, out.detach(), out)   # the padding row receives no gradient
    return out


def one_hot(ids, num_classes: int) -> Tensor:
    ids = as_tensor(ids)
    return Tensor(np.eye(num_classes, dtype=np.int64)[ids.data])


def normalize(x: Tensor, p: float = 2.0, dim: int = -1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along dim (used for sentence embeddings)."""
    dim = normalize_dim(dim, x.ndim, "normalize")
    norm = (x.abs() ** p).sum(dim, keepdim=True) ** (1.0 / p)
    return x / norm.clamp(min=eps)
from .attention import scaled_dot_product_attention  # noqa: E402,F401  (defined in attention.py)
