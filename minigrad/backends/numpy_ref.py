"""The NumPy reference backend: the readable version of every kernel, and the oracle that the
fast backends are tested against."""
from __future__ import annotations

import numpy as np
from scipy import special

NAME = "numpy"


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., n, k) @ (..., k, m) -> (..., n, m), batch dims broadcast."""
    return np.matmul(a, b)


def softmax(x: np.ndarray, dim: int) -> np.ndarray:
    """e^(x - max) / Σ e^(x - max) along `dim` (§4.1).

    A row that is all -inf (every key masked) gives zeros: its sum is exactly 0.  Only that
    row: a NaN anywhere in a row makes the sum NaN, and the whole row comes out NaN (NaN in,
    NaN out), as it does on every backend."""
    m = np.max(x, axis=dim, keepdims=True)                 # NaN if the row holds one
    m = np.where(np.isneginf(m), 0.0, m).astype(x.dtype, copy=False)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - m)
    s = np.sum(e, axis=dim, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s == 0, 0.0, e / np.where(s == 0, 1, s)).astype(x.dtype, copy=False)


def log_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    """x - max - log Σ e^(x - max) along `dim` (§4.2)."""
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)
    shifted = x - m
    with np.errstate(divide="ignore", invalid="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


def softmax_backward(y: np.ndarray, g: np.ndarray, dim: int) -> np.ndarray:
    """Given y = softmax(x) and g = ∂L/∂y:  ∂L/∂xᵢ = yᵢ (gᵢ - Σⱼ gⱼ yⱼ)."""
    return y * (g - np.sum(g * y, axis=dim, keepdims=True))


def log_softmax_backward(y: np.ndarray, g: np.ndarray, dim: int) -> np.ndarray:
    """Given y = log_softmax(x) and g = ∂L/∂y:  ∂L/∂xᵢ = gᵢ - e^(yᵢ) Σⱼ gⱼ."""
    return g - np.exp(y) * np.sum(g, axis=dim, keepdims=True)


def to_device(a):
    """CPU backends keep arrays where they are (the cuda backend copies to the GPU)."""
    return a


def to_host(a):
    return a


# --- attention (§4.1 自注意力机制): the unfused reference of the fused kernels -------------------
# Shapes: q (N, T, d), k (N, S, d), v (N, S, dv), N = batch·heads flattened.
# bias: None or an additive mask (Nb, Tb, S) with Nb in {1, N}, Tb in {1, T}; -inf = masked.
# causal: query t sees keys s <= t + S - T (bottom-right aligned; the usual triangle if T == S).
def _probabilities(q, k, bias, causal, scale, lse=None):
    """P = softmax(QKᵀ·scale + bias) (N, T, S) and the row logsumexp L (N, T).  Given L (the
    backward), P = e^(S - L) is recomputed from it; a row with every key masked has L = -inf
    and P = 0; a row with a NaN score has L = NaN and P = NaN."""
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * q.dtype.type(scale)        # (N, T, S)
    if bias is not None:
        s = s + bias
    if causal:
        T, S = s.shape[-2:]
        s = np.where(np.tril(np.ones((T, S), dtype=bool), k=S - T), s, -np.inf)
    if lse is None:
        m = np.max(s, axis=-1, keepdims=True)
        m = np.where(np.isneginf(m), 0.0, m).astype(s.dtype, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            lse = (m + np.log(np.sum(np.exp(s - m), axis=-1, keepdims=True)))[..., 0]
    masked = np.isneginf(lse)[..., None]       # every key masked: P = 0 (NaN rows stay NaN)
    safe = np.where(masked, 0.0, lse[..., None]).astype(s.dtype, copy=False)
    with np.errstate(invalid="ignore"):
        p = np.where(masked, 0.0, np.exp(s - safe)).astype(s.dtype, copy=False)
    return p, lse.astype(s.dtype, copy=False)


def attention_forward(q, k, v, bias=None, causal=False, scale=1.0):
    """O = softmax(QKᵀ·scale + bias) V and L = logsumexp of each score row.

    Returns out (N, T, dv) and lse (N, T).  This version keeps the whole (N, T, S) matrix P:
    O(T·S) memory, which the fused kernels avoid (numba_attention.py).
    """
    p, lse = _probabilities(q, k, bias, causal, scale)
    return np.matmul(p, v), lse


def attention_backward(q, k, v, bias, causal, scale, out, lse, dout):
    """Gradients of O = PV with P = softmax(S), S = QKᵀ·scale + bias (FlashAttention-2 Alg. 2):

        P  = e^(S - L)                  recomputed from the saved logsumexp L
        dV = Pᵀ dO,   dP = dO Vᵀ
        D  = rowsum(dO ∘ O)             (= Σ_j P_ij dP_ij)
        dS = P ∘ (dP - D)               the softmax Jacobian-vector product
        dQ = scale · dS K,   dK = scale · dSᵀ Q
    """
    p, _ = _probabilities(q, k, bias, causal, scale, lse=lse)
    dv = np.matmul(np.swapaxes(p, -1, -2), dout)
    dp = np.matmul(dout, np.swapaxes(v, -1, -2))
    D = np.sum(dout * out, axis=-1, keepdims=True)
    ds = p * (dp - D) * q.dtype.type(scale)
    return np.matmul(ds, k), np.matmul(np.swapaxes(ds, -1, -2), q), dv


# --- GELU and LayerNorm (§3.1): the element-wise work of every Transformer block ---------------
# Each forward formula with its derivative, so a fused op needs no graph of small ops.
_SQRT_2_OVER_PI = 0.7978845608028654          # √(2/π)
_INV_SQRT_2PI = 0.3989422804014327            # 1/√(2π)
_GELU_CUBIC = 0.044715
_INV_SQRT_2 = 0.7071067811865476                # 1/√2


def gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    """GELU(x) = x·Φ(x).  "none": Φ(x) = ½(1 + erf(x/√2));
    "tanh": Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715x³)))  (GPT-2)."""
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x)
        return (0.5 * x * (1.0 + np.tanh(u))).astype(x.dtype, copy=False)
    return (0.5 * x * (1.0 + special.erf(x * _INV_SQRT_2))).astype(x.dtype, copy=False)


def gelu_backward(x: np.ndarray, g: np.ndarray, approximate: str) -> np.ndarray:
    """∂L/∂x = g · GELU'(x):
        "none":  GELU'(x) = Φ(x) + x·φ(x),  φ(x) = e^(-x²/2)/√(2π)
        "tanh":  GELU'(x) = ½(1 + t) + ½x(1 - t²)·√(2/π)(1 + 3·0.044715x²),  t = tanh(u)"""
    if approximate == "tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))
        d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3 * _GELU_CUBIC * x * x)
    else:
        d = 0.5 * (1.0 + special.erf(x * _INV_SQRT_2)) + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return (g * d).astype(x.dtype, copy=False)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float):
    """LayerNorm over the last dim of x (rows, n):
        μ = mean(x),  σ² = mean((x - μ)²),  r = 1/√(σ² + ε),  y = (x - μ)·r·γ + β
    Returns y (rows, n) and μ, r (rows,), which the backward reuses."""
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)
    y = xc * rstd * weight + bias
    return y.astype(x.dtype, copy=False), mu[:, 0], rstd[:, 0].astype(x.dtype, copy=False)


def layer_norm_backward(x, weight, mean, rstd, g):
    """With x̂ = (x - μ)·r and ĝ = g·γ (per row of n):
        ∂L/∂x = r · (ĝ - mean(ĝ) - x̂ · mean(ĝ x̂))
        ∂L/∂γ = Σ_rows g · x̂,   ∂L/∂β = Σ_rows g"""
    xhat = (x - mean[:, None]) * rstd[:, None]
    gh = g * weight
    dx = rstd[:, None] * (gh - gh.mean(axis=-1, keepdims=True)
                          - xhat * (gh * xhat).mean(axis=-1, keepdims=True))
    return (dx.astype(x.dtype, copy=False), (g * xhat).sum(axis=0).astype(x.dtype, copy=False),
            g.sum(axis=0).astype(x.dtype, copy=False))


# --- Linear (§3.1): y = x Wᵀ + b, and the gradients of W and b ---------------------------------
def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x (N, in), weight (out, in), bias (out,) -> x Wᵀ + b (N, out)  (this module's matmul)."""
    return matmul(x, weight.T) + bias


def linear_weight_grads(x: np.ndarray, g: np.ndarray):
    """Given g = ∂L/∂y (N, out):  ∂L/∂W = gᵀ x (out, in),  ∂L/∂b = Σ_rows g (out,)."""
    return matmul(g.T, x), g.sum(axis=0)


# --- scatter-add (the adjoint of indexing): out[index] += g, repeated indices accumulate ----------
def index_add(out: np.ndarray, index, g: np.ndarray) -> None:
    """In place.  The backward of an embedding lookup: every row id collects the gradients of
    all the positions that read it."""
    np.add.at(out, index, g)
