"""Fused element-wise kernels of the Numba CPU backend: GELU, LayerNorm (§3.1) and the AdamW
update (§3.2), for speed (§8 模型效率).

Written as composites of engine ops, GELU is ~9 ops forward and ~15 backward, LayerNorm ~9
and ~20, each a pass over a (B, T, C) array and a temporary.  Here each is one pass forward
and one backward, parallel over elements (GELU) or rows (LayerNorm).  The formulas, and the
reference these kernels are tested against, are in numpy_ref.py (gelu, layer_norm, and their
backwards).

tanh(u) is computed as 1 - 2/(e^(2u) + 1) with the vectorisable `fast_exp`: for large |u| it
saturates to ±1 exactly, and its absolute error is a few float32 ulps, which is what GELU
needs (GELU(x) ≈ x/2 near 0, where that error is relative ~1e-7).
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange, types
from numba.extending import overload

from ._numba_util import FASTMATH, fast_exp, jit

SQRT_2_OVER_PI = 0.7978845608028654
INV_SQRT_2PI = 0.3989422804014327
INV_SQRT_2 = 0.7071067811865476
CUBIC = 0.044715


# --- erf that LLVM can vectorise (float32) ------------------------------------------------------
# math.erf is a scalar libm call: BERT's exact GELU spent 6.5 ns per element in it.  For float32,
# erf(x) = x·P(x²)/Q(x²) on [-4, 4] (±1 beyond, to float32 precision), the rational
# approximation Eigen and TensorFlow use (max error ~1e-7, a float32 ulp of 1).  float64 keeps
# math.erf (exact to float64 rounding).
_ERF_P = [np.float32(c) for c in (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                                  -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                                  -1.60960333262415e-02)]
_ERF_Q = [np.float32(c) for c in (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                                  -7.37332916720468e-03, -1.42647390514189e-02)]


def fast_erf(x):
    """erf(x), vectorisable for float32; see the comment above."""
    return math.erf(x)


@overload(fast_erf, jit_options={"fastmath": {"nsz", "contract"}})
def _fast_erf_impl(x):
    if x == types.float32:
        p13, p11, p9, p7, p5, p3, p1 = _ERF_P
        q8, q6, q4, q2, q0 = _ERF_Q
        lo, hi = np.float32(-4.0), np.float32(4.0)

        def erf32(x):
            xc = min(max(x, lo), hi)
            x2 = xc * xc
            p = xc * (p1 + x2 * (p3 + x2 * (p5 + x2 * (p7 + x2 * (p9 + x2 * (p11 + x2 * p13))))))
            q = q0 + x2 * (q2 + x2 * (q4 + x2 * (q6 + x2 * q8)))
            return p / q
        return erf32
    if x == types.float64:
        return lambda x: math.erf(x)
    return None


# --- GELU: one pass over the flattened array ---------------------------------------------------
#   tanh form:  GELU(x) = ½x(1 + t),  t = tanh(u),  u = √(2/π)(x + 0.044715x³)
#               GELU'(x) = ½(1 + t) + ½x(1 - t²)·√(2/π)(1 + 3·0.044715x²)
#   exact form: GELU(x) = ½x(1 + erf(x/√2)),  GELU'(x) = ½(1 + erf(x/√2)) + x·e^(-x²/2)/√(2π)
@jit(parallel=True, fastmath=FASTMATH)
def _gelu_tanh(x, out):                         # x, out: (n,) C-contiguous
    one, half = x.dtype.type(1.0), x.dtype.type(0.5)
    c, k = x.dtype.type(SQRT_2_OVER_PI), x.dtype.type(CUBIC)
    for i in prange(x.shape[0]):
        xi = x[i]
        u = c * (xi + k * xi * xi * xi)
        t = one - (one + one) / (fast_exp(u + u) + one)          # tanh(u)
        out[i] = half * xi * (one + t)


@jit(parallel=True, fastmath=FASTMATH)
def _gelu_tanh_backward(x, g, out):
    one, half = x.dtype.type(1.0), x.dtype.type(0.5)
    c, k = x.dtype.type(SQRT_2_OVER_PI), x.dtype.type(CUBIC)
    k3 = x.dtype.type(3.0 * CUBIC)
    for i in prange(x.shape[0]):
        xi = x[i]
        u = c * (xi + k * xi * xi * xi)
        t = one - (one + one) / (fast_exp(u + u) + one)
        d = half * (one + t) + half * xi * (one - t * t) * c * (one + k3 * xi * xi)
        out[i] = g[i] * d


@jit(parallel=True, fastmath=FASTMATH)
def _gelu_erf(x, out):
    one, half, s = x.dtype.type(1.0), x.dtype.type(0.5), x.dtype.type(INV_SQRT_2)
    for i in prange(x.shape[0]):
        xi = x[i]
        out[i] = half * xi * (one + fast_erf(xi * s))


@jit(parallel=True, fastmath=FASTMATH)
def _gelu_erf_backward(x, g, out):
    one, half = x.dtype.type(1.0), x.dtype.type(0.5)
    s, p = x.dtype.type(INV_SQRT_2), x.dtype.type(INV_SQRT_2PI)
    for i in prange(x.shape[0]):
        xi = x[i]
        d = half * (one + fast_erf(xi * s)) + xi * p * fast_exp(-half * xi * xi)
        out[i] = g[i] * d


def _flat(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).reshape(-1)


def _kernel_dtype(*arrays) -> bool:
    """The kernels are compiled for float32 and float64; float16 (and anything else) runs the
    NumPy reference instead (Numba has no float16 arithmetic on the CPU)."""
    dt = arrays[0].dtype
    return dt in (np.float32, np.float64) and all(a.dtype == dt for a in arrays)


def gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    if not _kernel_dtype(x):
        from . import numpy_ref
        return numpy_ref.gelu(x, approximate)
    out = np.empty(x.size, dtype=x.dtype)
    (_gelu_tanh if approximate == "tanh" else _gelu_erf)(_flat(x), out)
    return out.reshape(x.shape)


def gelu_backward(x: np.ndarray, g: np.ndarray, approximate: str) -> np.ndarray:
    if not _kernel_dtype(x):
        from . import numpy_ref
        return numpy_ref.gelu_backward(x, g, approximate)
    out = np.empty(x.size, dtype=x.dtype)
    kernel = _gelu_tanh_backward if approximate == "tanh" else _gelu_erf_backward
    kernel(_flat(x), _flat(g.astype(x.dtype, copy=False)), out)
    return out.reshape(x.shape)


# --- LayerNorm over the last dim: one row per iteration ----------------------------------------
#   forward:  μ = mean(x),  r = 1/√(mean((x - μ)²) + ε),  x̂ = (x - μ)r,  y = x̂γ + β
#   backward: ĝ = gγ,  ∂x = r(ĝ - mean(ĝ) - x̂·mean(ĝx̂)),  ∂γ = Σ_rows g x̂,  ∂β = Σ_rows g
@jit(parallel=True, fastmath=FASTMATH)
def _layer_norm(x, w, b, eps, y, mean, rstd):   # x, y (rows, n); w, b (n,); mean, rstd (rows,)
    rows, n = x.shape
    for r in prange(rows):
        mu = x.dtype.type(0.0)
        for j in range(n):
            mu += x[r, j]
        mu /= n
        var = x.dtype.type(0.0)
        for j in range(n):
            d = x[r, j] - mu
            var += d * d
        var /= n
        rs = x.dtype.type(1.0) / np.sqrt(var + eps)
        for j in range(n):
            y[r, j] = (x[r, j] - mu) * rs * w[j] + b[j]
        mean[r] = mu
        rstd[r] = rs


@jit(parallel=True, fastmath=FASTMATH)
def _layer_norm_backward(x, w, mean, rstd, g, dx, dw_parts, db_parts):
    rows, n = x.shape
    P = dw_parts.shape[0]                        # one partial Σ_rows per block of rows
    per = (rows + P - 1) // P
    for p in prange(P):
        dw_parts[p, :] = 0
        db_parts[p, :] = 0
        for r in range(p * per, min((p + 1) * per, rows)):
            mu, rs = mean[r], rstd[r]
            s1 = x.dtype.type(0.0)                  # Σ ĝ
            s2 = x.dtype.type(0.0)                  # Σ ĝ x̂
            for j in range(n):
                xh = (x[r, j] - mu) * rs
                gh = g[r, j] * w[j]
                s1 += gh
                s2 += gh * xh
                dw_parts[p, j] += g[r, j] * xh
                db_parts[p, j] += g[r, j]
            s1 /= n
            s2 /= n
            for j in range(n):
                xh = (x[r, j] - mu) * rs
                dx[r, j] = rs * (g[r, j] * w[j] - s1 - xh * s2)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float):
    """x (rows, n) -> y (rows, n), mean (rows,), rstd (rows,); see numpy_ref.layer_norm."""
    if not _kernel_dtype(x):
        from . import numpy_ref
        return numpy_ref.layer_norm(x, weight, bias, eps)
    x = np.ascontiguousarray(x)
    dt = x.dtype
    y = np.empty_like(x)
    mean, rstd = np.empty(x.shape[0], dt), np.empty(x.shape[0], dt)
    _layer_norm(x, np.ascontiguousarray(weight, dt), np.ascontiguousarray(bias, dt), dt.type(eps),
                y, mean, rstd)
    return y, mean, rstd


def layer_norm_backward(x, weight, mean, rstd, g):
    """-> dx (rows, n), dweight (n,), dbias (n,); see numpy_ref.layer_norm_backward."""
    if not _kernel_dtype(x, mean, rstd):
        from . import numpy_ref
        return numpy_ref.layer_norm_backward(x, weight, mean, rstd, g)
    x, dt = np.ascontiguousarray(x), x.dtype
    g = np.ascontiguousarray(g, dt)
    P = max(1, min(numba.get_num_threads(), x.shape[0]))
    dx = np.empty_like(x)
    dw_parts, db_parts = np.empty((P, x.shape[1]), dt), np.empty((P, x.shape[1]), dt)
    _layer_norm_backward(x, np.ascontiguousarray(weight, dt), mean, rstd, g, dx, dw_parts, db_parts)
    return dx, dw_parts.sum(axis=0), db_parts.sum(axis=0)


# --- Adam / AdamW update (§3.2): one pass over each parameter ----------------------------------
# The same operations, in the same order and the same precision, as Adam._update in
# optim/adam.py (the readable version), so both give identical numbers.  No fastmath here:
# contraction into FMAs or reassociation would change the last bits.
@jit(parallel=True)
def _adam_step(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, decay, wd,
               wd_mode, sqrt_bc2, eps, step_size):        # p, g, m, v: (n,) C, same dtype
    for i in prange(p.shape[0]):
        gi = g[i]
        if wd_mode == 1:
            p[i] *= decay                                   # AdamW: p = p (1 - lr wd)
        elif wd_mode == 2:
            gi = gi + wd * p[i]                             # Adam: g = g + wd p
        m[i] = m[i] * beta1 + one_minus_beta1 * gi
        v[i] = v[i] * beta2 + one_minus_beta2 * gi * gi
        p[i] -= step_size * (m[i] / (np.sqrt(v[i]) / sqrt_bc2 + eps))


def adam_update(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, step) -> bool:
    """Adam(W) step on arrays, in place.  Returns False (and does nothing) when the arrays are
    not all contiguous with one float dtype: the caller then runs the NumPy code."""
    dt = p.dtype
    if not (dt.kind == "f" and g.dtype == dt and m.dtype == dt and v.dtype == dt
            and all(a.flags.c_contiguous for a in (p, g, m, v))):
        return False
    c = dt.type
    _adam_step(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
               c(beta1), c(1 - beta1), c(beta2), c(1 - beta2),
               c(1 - lr * weight_decay), c(weight_decay),
               0 if weight_decay == 0 else (1 if decoupled else 2),
               c(math.sqrt(1 - beta2 ** step)), c(eps), c(lr / (1 - beta1 ** step)))
    return True
