"""Fused scaled-dot-product attention on the CPU with Numba: FlashAttention-2's algorithm
(§4.1 自注意力机制 for the formula, §8 模型效率 for why it is fused).

    O = softmax(S) V,   S = Q Kᵀ · scale + bias   (bias: -inf where a key is masked)

The unfused version (numpy_ref.attention_forward) builds the whole (T, S) matrix P per head.
Here the keys are visited in blocks of BC and the softmax is computed *online*: each query row
keeps a running maximum m, a running normaliser ℓ and an unnormalised output O, and a new
block j of scores S⁽ʲ⁾ updates them (FlashAttention-2, Algorithm 1; Milakov & Gimelshein):

    m⁽ʲ⁾ = max(m⁽ʲ⁻¹⁾, rowmax S⁽ʲ⁾)
    P̃⁽ʲ⁾ = e^(S⁽ʲ⁾ - m⁽ʲ⁾)
    ℓ⁽ʲ⁾ = e^(m⁽ʲ⁻¹⁾ - m⁽ʲ⁾) ℓ⁽ʲ⁻¹⁾ + rowsum P̃⁽ʲ⁾
    O⁽ʲ⁾ = e^(m⁽ʲ⁻¹⁾ - m⁽ʲ⁾) O⁽ʲ⁻¹⁾ + P̃⁽ʲ⁾ V_j
    at the end:  O = O⁽ᴸᵃˢᵗ⁾ / ℓ,   L = m + log ℓ   (the row logsumexp, the only thing saved)

The backward recomputes P = e^(S - L) block by block from the saved L (FlashAttention-2,
Algorithm 2), so no (T, S) matrix is ever kept:

    D = rowsum(dO ∘ O);   dV += Pᵀ dO;   dP = dO Vᵀ;   dS = P ∘ (dP - D)
    dQ += scale · dS K;   dK += scale · dSᵀ Q

Extra memory per (batch, head): L and D (O(T)) plus one (BR, BC) tile per thread.

Speed notes (measured, see benchmarks/README.md): the tile products go to BLAS (`np.dot`
inside @njit, limited to 1 thread); the exponentials use `fast_exp`, which vectorises; the
causal mask is applied through loop bounds (key blocks above the diagonal are skipped, and
masked entries are never exponentiated); the forward runs in parallel over (batch·head,
query block), the backward over batch·head, so every iteration writes its own output rows
and no atomics are needed.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._numba_util import FASTMATH, fast_exp, jit, nan_max

BR = 64    # query rows per block
BC = 128   # keys per block


@jit(fastmath=FASTMATH)
def _forward_rows(q, k, v, bias, has_bias, causal, scale, i0, i1, out, lse):
    """Rows i0..i1 of one (batch, head).  q (T, d), k (S, d), v (S, dv), bias (Tb, S),
    out (T, dv), lse (T,)."""
    T = q.shape[0]
    S = k.shape[0]
    dv = v.shape[1]
    nr = i1 - i0
    off = S - T                               # causal: query t sees keys s <= t + off
    zero = np.zeros(1, q.dtype)[0]
    one = np.ones(1, q.dtype)[0]
    m = np.empty(nr, q.dtype)                 # running max            (nr,)
    m[:] = -np.inf
    l = np.zeros(nr, q.dtype)                 # running normaliser ℓ   (nr,)
    acc = np.zeros((nr, dv), q.dtype)         # unnormalised output    (nr, dv)
    qi = q[i0:i1]                             # (nr, d)
    kend = min(S, i1 + off) if causal else S  # keys after kend are masked for every row
    for j0 in range(0, kend, BC):
        j1 = min(j0 + BC, kend)
        nc = j1 - j0
        s = np.dot(qi, k[j0:j1].T)            # raw scores (nr, nc)
        for r in range(nr):
            lim = min(nc, i0 + r + off + 1 - j0) if causal else nc   # visible columns
            brow = i0 + r if bias.shape[0] > 1 else 0
            mx = m[r]
            for c in range(lim):
                x = s[r, c] * scale
                if has_bias:
                    x += bias[brow, j0 + c]
                s[r, c] = x
                mx = nan_max(mx, x)           # a NaN score makes the row NaN, not masked
            if mx == -np.inf:                 # no visible key yet: P̃ = 0 for this block
                for c in range(nc):
                    s[r, c] = zero
                continue
            alpha = fast_exp(m[r] - mx)       # e^(m_old - m_new); 0 when m_old = -inf
            rs = zero
            for c in range(lim):
                e = fast_exp(s[r, c] - mx)
                s[r, c] = e
                rs += e
            for c in range(max(lim, 0), nc):
                s[r, c] = zero
            l[r] = l[r] * alpha + rs
            m[r] = mx
            if alpha != one:
                for e in range(dv):
                    acc[r, e] *= alpha
        acc += np.dot(s, v[j0:j1])            # + P̃ V_j   (nr, dv)
    for r in range(nr):
        if l[r] != zero:                      # NaN too: NaN in, NaN out
            inv = one / l[r]
            for e in range(dv):
                out[i0 + r, e] = acc[r, e] * inv
            lse[i0 + r] = m[r] + np.log(l[r])
        else:                                 # every key masked: output 0, L = -inf
            for e in range(dv):
                out[i0 + r, e] = zero
            lse[i0 + r] = -np.inf


@jit(parallel=True, fastmath=FASTMATH)
def _forward(q, k, v, bias, has_bias, causal, scale, out, lse):
    """q (N, T, d), k (N, S, d), v (N, S, dv), bias (Nb, Tb, S) -> out (N, T, dv), lse (N, T)."""
    N, T = q.shape[0], q.shape[1]
    nqb = (T + BR - 1) // BR
    for it in prange(N * nqb):                # one (batch·head, query block) per iteration
        item = np.int64(it)
        n = item // nqb
        i0 = (item % nqb) * BR
        nb = n if bias.shape[0] > 1 else 0
        _forward_rows(q[n], k[n], v[n], bias[nb], has_bias, causal, scale, i0, min(i0 + BR, T),
                      out[n], lse[n])


@jit(fastmath=FASTMATH)
def _backward_head(q, k, v, bias, has_bias, causal, scale, o, do, lse, dq, dk, dv):
    """One (batch, head): q (T, d), k (S, d), v (S, dv), o/do (T, dv), lse (T,);
    writes dq (T, d) and accumulates into dk (S, d), dv (S, dv) (zero on entry)."""
    T, d = q.shape
    S = k.shape[0]
    off = S - T
    zero = np.zeros(1, q.dtype)[0]
    D = np.empty(T, q.dtype)                  # D_t = dO_t · O_t   (T,)
    for t in range(T):
        acc = zero
        for e in range(o.shape[1]):
            acc += do[t, e] * o[t, e]
        D[t] = acc
    for i0 in range(0, T, BR):
        i1 = min(i0 + BR, T)
        nr = i1 - i0
        qi = q[i0:i1]                         # (nr, d)
        doi = do[i0:i1]                       # (nr, dv)
        dqi = np.zeros((nr, d), q.dtype)
        kend = min(S, i1 + off) if causal else S
        for j0 in range(0, kend, BC):
            j1 = min(j0 + BC, kend)
            nc = j1 - j0
            kj = k[j0:j1]
            p = np.dot(qi, kj.T)              # scores, then P     (nr, nc)
            ds = np.dot(doi, v[j0:j1].T)      # dP, then scale·dS  (nr, nc)
            for r in range(nr):
                t = i0 + r
                L = lse[t]
                lim = min(nc, t + off + 1 - j0) if causal else nc
                if L == -np.inf:
                    lim = 0                   # fully masked row: P = 0, no gradient
                brow = t if bias.shape[0] > 1 else 0
                for c in range(max(lim, 0)):
                    x = p[r, c] * scale
                    if has_bias:
                        x += bias[brow, j0 + c]
                    pr = fast_exp(x - L)      # P = e^(S - L), recomputed
                    p[r, c] = pr
                    ds[r, c] = pr * (ds[r, c] - D[t]) * scale
                for c in range(max(lim, 0), nc):
                    p[r, c] = zero
                    ds[r, c] = zero
            dv[j0:j1] += np.dot(p.T, doi)     # dV_j += Pᵀ dO_i
            dqi += np.dot(ds, kj)             # dQ_i += scale · dS K_j
            dk[j0:j1] += np.dot(ds.T, qi)     # dK_j += scale · dSᵀ Q_i
        dq[i0:i1] = dqi


@jit(parallel=True, fastmath=FASTMATH)
def _backward(q, k, v, bias, has_bias, causal, scale, o, do, lse, dq, dk, dv):
    N = q.shape[0]
    for it in prange(N):                      # one (batch·head) per iteration: no races
        n = np.int64(it)
        nb = n if bias.shape[0] > 1 else 0
        _backward_head(q[n], k[n], v[n], bias[nb], has_bias, causal, scale, o[n], do[n], lse[n],
                       dq[n], dk[n], dv[n])


# --- the kernel names the registry exposes ---------------------------------------------------
def _ok(*arrays) -> bool:
    dt = arrays[0].dtype
    return (dt in (np.float32, np.float64) and all(a.dtype == dt and a.size for a in arrays))


def _prep(q, k, v, bias):
    q, k, v = (np.ascontiguousarray(a) for a in (q, k, v))
    has_bias = bias is not None
    bias = (np.ascontiguousarray(bias, dtype=q.dtype) if has_bias
            else np.zeros((1, 1, 1), dtype=q.dtype))
    return q, k, v, bias, has_bias


def attention_forward(q, k, v, bias=None, causal=False, scale=1.0):
    """Fused forward: out (N, T, dv) and the row logsumexp lse (N, T); see the module doc.
    Same contract as numpy_ref.attention_forward."""
    if not _ok(q, k, v):
        from . import numpy_ref
        return numpy_ref.attention_forward(q, k, v, bias, causal, scale)
    q, k, v, b, has_bias = _prep(q, k, v, bias)
    N, T = q.shape[:2]
    out = np.empty((N, T, v.shape[2]), dtype=q.dtype)
    lse = np.empty((N, T), dtype=q.dtype)
    _forward(q, k, v, b, has_bias, bool(causal), q.dtype.type(scale), out, lse)
    return out, lse


def attention_backward(q, k, v, bias, causal, scale, out, lse, dout):
    """Fused backward from the saved logsumexp: (dq, dk, dv); see the module doc."""
    if not _ok(q, k, v, out, dout):
        from . import numpy_ref
        return numpy_ref.attention_backward(q, k, v, bias, causal, scale, out, lse, dout)
    q, k, v, b, has_bias = _prep(q, k, v, bias)
    out, lse, dout = (np.ascontiguousarray(a, dtype=q.dtype) for a in (out, lse, dout))
    dq = np.empty_like(q)
    dk = np.zeros_like(k)
    dv = np.zeros_like(v)
    _backward(q, k, v, b, has_bias, bool(causal), q.dtype.type(scale), out, dout, lse, dq, dk, dv)
    return dq, dk, dv
