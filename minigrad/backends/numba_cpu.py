"""The Numba CPU backend: the same kernel names as numpy_ref.py, compiled with @njit (§8 模型效率).

    matmul                           BLAS blocks run by Numba's thread pool (one pool per step)
    softmax, softmax_backward        one pass per row, parallel over rows
    log_softmax, log_softmax_backward
    attention_forward, attention_backward   in numba_attention.py (FlashAttention on the CPU)

Every kernel here is checked against numpy_ref.py (tests/test_kernels.py): float32 to ~1e-6
relative, float64 to ~1e-14.  Kernels are compiled on first use for each dtype and cached
on disk (NUMBA_CACHE_DIR if set), so only the very first run pays the compile time.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

from ._numba_util import FASTMATH, fast_exp, jit, nan_max
from .numba_attention import attention_backward, attention_forward  # noqa: F401

NAME = "numba"


def to_device(a):
    """CPU backends keep arrays where they are (the cuda backend copies to the GPU)."""
    return a


def to_host(a):
    return a


# --- matmul (§3.1): BLAS blocks inside Numba's own thread pool -------------------------------
#   out[z, i, j] = Σ_t a[z, i, t] · b[z, t, j]
# The products themselves are BLAS (`np.dot`, one thread); what these kernels add is *who runs
# them*: Numba's threads, one block of rows (or of the summed dimension) each.  Then a training
# step uses one thread pool: NumPy's OpenBLAS pool and Numba's would otherwise alternate, and
# each leaves its threads spinning while the other works (on 2 cores that cost up to 2.7x;
# see benchmarks/README.md).
#
# The three shapes of a Linear layer's step, and how each is split over the threads:
#   forward          y  = x W + b    (N, k) @ (k, m)    rows of x           _mm_rows (+ bias)
#   input gradient   gx = g Wᵀ       (N, m) @ (m, k)    rows of g           _mm_rows (Wᵀ read in place)
#   weight gradient  gW = xᵀ g       (k, N) @ (N, m)    the N summed rows   _mm_at_b (partial sums;
#                    gb = Σ_rows g                                                   + bias gradient)
# A transposed operand is never copied: BLAS reads it transposed (`.T` of a C array is an
# F-contiguous array, which np.dot hands to BLAS with the transpose flag).


@jit(parallel=True)
def _mm_rows(a, b, bias, has_bias, out, nblocks):   # out = a b (+ bias): a (n, k) C,
    n, m = a.shape[0], b.shape[1]                    # b (k, m) C or F, bias (m,), out (n, m) C
    rows = (n + nblocks - 1) // nblocks
    for blk in prange(nblocks):
        i0 = blk * rows
        i1 = min(i0 + rows, n)
        if i0 < i1:
            np.dot(a[i0:i1], b, out[i0:i1])        # into out: no temporary
            if has_bias:                           # a Linear layer's bias, added while the
                for i in range(i0, i1):            # block is still in cache
                    for j in range(m):
                        out[i, j] += bias[j]


@jit(parallel=True)
def _mm_at_b(at, b, parts, sums, want_sums):   # parts[p] = at[rows p]ᵀ b[rows p]; Σ_p parts = atᵀ b
    K, P, n = at.shape[0], parts.shape[0], at.shape[1]    # at (K, n) C, b (K, m) C, parts (P, n, m)
    rows = (K + P - 1) // P
    for p in prange(P):
        k0 = p * rows
        k1 = min(k0 + rows, K)
        if k0 < k1:
            np.dot(at[k0:k1].T, b[k0:k1], parts[p])
        else:
            parts[p][:] = 0
        if want_sums:                              # sums[p] = Σ_{rows p} at: a Linear layer's
            sums[p][:] = 0                         # bias gradient, from the same rows of g
            for k in range(k0, k1):
                for j in range(n):
                    sums[p, j] += at[k, j]


@jit(parallel=True)
def _bmm(a, b, out, nblocks):                  # a (Z, n, k), b (Zb, k, m), Zb in {1, Z}
    Z, n = a.shape[0], a.shape[1]
    rows = (n + nblocks - 1) // nblocks
    for it in prange(Z * nblocks):
        item = np.int64(it)
        z = item // nblocks
        i0 = (item % nblocks) * rows
        i1 = min(i0 + rows, n)
        zb = z if b.shape[0] > 1 else 0
        if i0 < i1:
            np.dot(a[z, i0:i1], b[zb], out[z, i0:i1])


def _blocks(work_items: int, rows: int) -> int:
    """Row blocks per matrix so that every thread gets work (at least 16 rows a block)."""
    threads = numba.get_num_threads()
    if work_items >= threads:
        return 1
    return max(1, min(-(-threads // work_items), rows // 16))


def _blas_ready(x: np.ndarray) -> np.ndarray:
    """x itself when BLAS can read it (C- or F-contiguous), else a C-contiguous copy."""
    return x if (x.flags.c_contiguous or x.flags.f_contiguous) else np.ascontiguousarray(x)


def _matmul_2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, k) @ (k, m) for a of any layout."""
    n, m = a.shape[0], b.shape[1]
    b = _blas_ready(b)
    if a.flags.f_contiguous and not a.flags.c_contiguous and b.flags.c_contiguous:
        return _at_b(a.T, b, want_sums=False)[0]          # a = atᵀ: split the summed dim
    out = np.empty((n, m), dtype=a.dtype)
    _mm_rows(np.ascontiguousarray(a), b, _NO_BIAS[a.dtype.char], False, out, _blocks(1, n))
    return out


_NO_BIAS = {np.dtype(t).char: np.zeros(1, t) for t in (np.float32, np.float64)}


def _at_b(at: np.ndarray, b: np.ndarray, want_sums: bool):
    """atᵀ b for at (K, n), b (K, m), both C-contiguous, split over the K summed rows; and,
    if wanted, Σ_rows at (n,) (else None).  Each thread makes a partial product; the parts
    are summed."""
    P = _blocks(1, at.shape[0])
    parts = np.empty((P, at.shape[1], b.shape[1]), dtype=at.dtype)
    sums = np.empty((P, at.shape[1]), dtype=at.dtype)
    _mm_at_b(at, b, parts, sums, want_sums)
    if P == 1:
        return parts[0], (sums[0] if want_sums else None)
    return parts.sum(axis=0), (sums.sum(axis=0) if want_sums else None)


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x (N, in) @ weight (out, in)ᵀ + bias (out,) -> (N, out); see numpy_ref.linear."""
    if not (_supported(x, weight, bias) and x.ndim == 2 and x.size * weight.shape[0] >= 32768):
        from . import numpy_ref
        return numpy_ref.linear(x, weight, bias)
    x, bias = np.ascontiguousarray(x), np.ascontiguousarray(bias)
    out = np.empty((x.shape[0], weight.shape[0]), dtype=x.dtype)
    _mm_rows(x, _blas_ready(weight).T, bias, True, out, _blocks(1, x.shape[0]))
    return out


def linear_weight_grads(x: np.ndarray, g: np.ndarray):
    """x (N, in), g (N, out) -> (gᵀ x (out, in), Σ_rows g (out,)); see numpy_ref."""
    if not (_supported(x, g) and x.ndim == 2 and x.size * g.shape[1] >= 32768):
        from . import numpy_ref
        return numpy_ref.linear_weight_grads(x, g)
    # gᵀ x with g as "at" (N, out) and x as b (N, in); Σ_rows g comes from the same pass
    return _at_b(np.ascontiguousarray(g), np.ascontiguousarray(x), want_sums=True)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., n, k) @ (..., k, m) -> (..., n, m), batch dims broadcast.

    A weight shared by the batch (b 2-D) makes one (N·n, k) @ (k, m) product.  Tiny products
    and other dtypes go to NumPy directly.
    """
    if (a.ndim < 2 or b.ndim < 2 or a.dtype != b.dtype or not _supported(a)
            or a.size * b.shape[-1] < 32768):
        return np.matmul(a, b)
    n, k, m = a.shape[-2], a.shape[-1], b.shape[-1]
    if b.ndim == 2:                                          # x W: all rows of x at once
        if a.ndim == 2:
            return _matmul_2d(a, b)
        out = _matmul_2d(np.ascontiguousarray(a).reshape(-1, k), b)
        return out.reshape(a.shape[:-1] + (m,))
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a3 = np.ascontiguousarray(np.broadcast_to(a, lead + (n, k))).reshape(-1, n, k)
    if int(np.prod(b.shape[:-2])) == 1:
        b3 = np.ascontiguousarray(b).reshape(1, k, m)
    else:
        b3 = np.ascontiguousarray(np.broadcast_to(b, lead + (k, m))).reshape(-1, k, m)
    out = np.empty((a3.shape[0], n, m), dtype=a.dtype)
    _bmm(a3, b3, out, _blocks(a3.shape[0], n))
    return out.reshape(lead + (n, m))


# --- row softmax (§4.1) ----------------------------------------------------------------------
#   y_i = e^(x_i - m) / Σ_j e^(x_j - m),  m = max_j x_j.   A row that is all -inf gives 0s.
@jit(parallel=True, fastmath=FASTMATH)
def _softmax_rows(x, out):                       # x, out: (rows, n), C-contiguous
    rows, n = x.shape
    zero = np.zeros(1, x.dtype)[0]               # 0 of x's dtype (a Python 0.0 would be float64)
    one = np.ones(1, x.dtype)[0]
    for r in prange(rows):
        m = x[r, 0]
        for j in range(1, n):
            m = nan_max(m, x[r, j])              # NaN anywhere: the row is NaN
        if m == -np.inf:                         # every key masked: probabilities 0, not NaN
            for j in range(n):
                out[r, j] = zero
            continue
        s = zero
        for j in range(n):
            e = fast_exp(x[r, j] - m)
            out[r, j] = e
            s += e
        inv = one / s
        for j in range(n):
            out[r, j] *= inv


#   log_softmax: y_i = x_i - m - log Σ_j e^(x_j - m)
@jit(parallel=True, fastmath=FASTMATH)
def _log_softmax_rows(x, out):
    rows, n = x.shape
    zero = np.zeros(1, x.dtype)[0]
    for r in prange(rows):
        m = x[r, 0]
        for j in range(1, n):
            m = nan_max(m, x[r, j])
        if m == -np.inf:                         # all -inf: shift by 0 (result NaN, as NumPy's)
            m = zero
        s = zero
        for j in range(n):
            s += fast_exp(x[r, j] - m)
        lse = m + np.log(s)
        for j in range(n):
            out[r, j] = x[r, j] - lse


#   softmax backward:  dx_i = y_i (g_i - Σ_j g_j y_j)
@jit(parallel=True, fastmath=FASTMATH)
def _softmax_backward_rows(y, g, out):
    rows, n = y.shape
    zero = np.zeros(1, y.dtype)[0]
    for r in prange(rows):
        dot = zero
        for j in range(n):
            dot += g[r, j] * y[r, j]
        for j in range(n):
            out[r, j] = y[r, j] * (g[r, j] - dot)


#   log_softmax backward:  dx_i = g_i - e^(y_i) Σ_j g_j
@jit(parallel=True, fastmath=FASTMATH)
def _log_softmax_backward_rows(y, g, out):
    rows, n = y.shape
    zero = np.zeros(1, y.dtype)[0]
    for r in prange(rows):
        s = zero
        for j in range(n):
            s += g[r, j]
        for j in range(n):
            out[r, j] = g[r, j] - fast_exp(y[r, j]) * s


def _rows(x: np.ndarray, dim: int) -> tuple[np.ndarray, bool]:
    """x with `dim` moved last, as a C-contiguous (rows, n) array, and whether it moved."""
    moved = dim not in (-1, x.ndim - 1)
    if moved:
        x = np.moveaxis(x, dim, -1)
    return np.ascontiguousarray(x).reshape(-1, x.shape[-1] if x.ndim else 1), moved


def _unrows(out2: np.ndarray, like_shape: tuple, dim: int, moved: bool) -> np.ndarray:
    if not moved:
        return out2.reshape(like_shape)
    shape = list(like_shape)
    shape.append(shape.pop(dim))
    return np.moveaxis(out2.reshape(shape), -1, dim)


def _supported(*arrays) -> bool:
    dt = arrays[0].dtype
    return (dt in (np.float32, np.float64) and arrays[0].ndim > 0 and arrays[0].size > 0
            and all(a.dtype == dt for a in arrays))


def _rowwise(kernel, fallback, dim, *arrays):
    if not _supported(*arrays):
        return fallback()
    rows = [_rows(a, dim) for a in arrays]
    out = np.empty_like(rows[0][0])
    kernel(*(r[0] for r in rows), out)
    return _unrows(out, arrays[0].shape, dim, rows[0][1])


def softmax(x: np.ndarray, dim: int) -> np.ndarray:
    from . import numpy_ref
    return _rowwise(_softmax_rows, lambda: numpy_ref.softmax(x, dim), dim, x)


def log_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    from . import numpy_ref
    return _rowwise(_log_softmax_rows, lambda: numpy_ref.log_softmax(x, dim), dim, x)


def softmax_backward(y: np.ndarray, g: np.ndarray, dim: int) -> np.ndarray:
    from . import numpy_ref
    return _rowwise(_softmax_backward_rows, lambda: numpy_ref.softmax_backward(y, g, dim), dim, y, g)


def log_softmax_backward(y: np.ndarray, g: np.ndarray, dim: int) -> np.ndarray:
    from . import numpy_ref
    return _rowwise(_log_softmax_backward_rows,
                    lambda: numpy_ref.log_softmax_backward(y, g, dim), dim, y, g)



# --- scatter-add of rows (the backward of an embedding lookup) --------------------------------
# out[ids[i], :] += g[i, :].  Repeated ids accumulate, so rows cannot be split between threads;
# the columns can: each thread adds its own slice of columns for every id.  (np.add.at took
# 18.5 ms for a (16, 256) batch of ids into a (256, 256) table; this takes well under 1 ms.)
@jit(parallel=True)
def _index_add_rows(out, ids, g, nblocks):     # out (V, C), ids (n,), g (n, C)
    C = out.shape[1]
    cols = (C + nblocks - 1) // nblocks
    for blk in prange(nblocks):
        j0 = blk * cols
        j1 = min(j0 + cols, C)
        for i in range(ids.shape[0]):
            r = ids[i]
            for j in range(j0, j1):
                out[r, j] += g[i, j]


def index_add(out: np.ndarray, index, g: np.ndarray) -> None:
    """out[index] += g in place, repeated indices accumulating; see numpy_ref.index_add.
    The kernel handles one integer array indexing the first dim (an embedding table);
    anything else goes to np.add.at."""
    ids = index[0] if isinstance(index, tuple) and len(index) == 1 else index
    if (isinstance(ids, np.ndarray) and ids.dtype.kind in "iu" and out.ndim >= 2
            and _supported(out, g) and out.flags.c_contiguous
            and g.shape == ids.shape + out.shape[1:] and ids.size
            and ids.min() >= 0 and ids.max() < out.shape[0]):
        width = int(np.prod(out.shape[1:]))
        g2 = np.ascontiguousarray(g).reshape(-1, width)
        nblocks = max(1, min(numba.get_num_threads(), width // 32))
        _index_add_rows(out.reshape(out.shape[0], width), ids.reshape(-1).astype(np.int64, copy=False),
                        g2, nblocks)
        return
    np.add.at(out, index, g)


from .numba_fused import (adam_update, gelu, gelu_backward, layer_norm,  # noqa: E402,F401
                          layer_norm_backward)
