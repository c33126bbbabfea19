"""The NumPy reference backend: the readable version of every kernel, and the oracle that the
fast backends are tested against."""
from __future__ import annotations

import numpy as np

NAME = "numpy"


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., n, k) @ (..., k, m) -> (..., n, m), batch dims broadcast."""
    return np.matmul(a, b)


def softmax(x: np.ndarray, dim: int) -> np.ndarray:
    """e^(x - max) / Σ e^(x - max) along `dim` (§4.1). A row that is all -inf gives zeros."""
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)
    e = np.exp(x - m)
    s = np.sum(e, axis=dim, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, e / np.where(s > 0, s, 1), 0.0).astype(x.dtype, copy=False)


def log_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    """x - max - log Σ e^(x - max) along `dim` (§4.2)."""
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)
    shifted = x - m
    with np.errstate(divide="ignore"):
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
    and P = 0."""
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * q.dtype.type(scale)        # (N, T, S)
    if bias is not None:
        s = s + bias
    if causal:
        T, S = s.shape[-2:]
        s = np.where(np.tril(np.ones((T, S), dtype=bool), k=S - T), s, -np.inf)
    if lse is None:
        m = np.max(s, axis=-1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0).astype(s.dtype, copy=False)
        with np.errstate(divide="ignore"):
            lse = (m + np.log(np.sum(np.exp(s - m), axis=-1, keepdims=True)))[..., 0]
    safe = np.where(np.isfinite(lse), lse, 0.0).astype(s.dtype, copy=False)[..., None]
    p = np.where(np.isfinite(lse)[..., None], np.exp(s - safe), 0.0).astype(s.dtype, copy=False)
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
