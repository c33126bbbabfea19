"""The numba.cuda backend: the same kernel names on an NVIDIA GPU (§8 模型效率).

    matmul                 tiled, shared-memory matrix product (batched over blockIdx.z)
    softmax, log_softmax   one thread block per row, block reduction (warp shuffles on a GPU,
    + their backwards      a shared-memory tree in the simulator, which has no warp ops)
    attention_forward      FlashAttention-style: a block of queries, one thread per query row,
                           key/value tiles staged in shared memory, online softmax per key
    attention_backward     recomputes P = e^(S - L): one kernel for dQ (a thread per query),
                           one for dK, dV (a thread per key); no atomics

Without a GPU, set NUMBA_ENABLE_CUDASIM=1 *before* Python starts: numba then runs every
kernel on its CUDA simulator (one OS thread per CUDA thread: only tiny shapes are practical),
which is how the tests check these kernels on a CPU-only machine.

Arrays: the kernels accept NumPy arrays (copied to the GPU) or device arrays.
`attention_forward` returns device arrays, so what the backward needs (q, k, v, out, L)
stays on the GPU between the two calls (ops/attention.py keeps them; `to_host` copies back).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from . import BackendUnavailable

INSTALL_HINT = ('pip install -e ".[cuda]"  (NVIDIA\'s numba-cuda package with the CUDA 12 '
                'runtime from PyPI: pip install "numba-cuda[cu12]")')

try:
    from numba import cuda
except ImportError as e:  # a Numba without its built-in target and no numba-cuda, or
    # numba-cuda without its CUDA Python bindings
    raise BackendUnavailable(f"the 'cuda' backend needs numba.cuda, which failed to import ({e}); "
                             f"install it with {INSTALL_HINT}") from e


def provider(module=None) -> str:
    """Which numba.cuda is running: NVIDIA's numba-cuda package (the maintained one) or the
    target built into Numba (deprecated since Numba 0.61, to be removed)."""
    path = getattr(module or cuda, "__file__", "") or ""
    if "numba_cuda" in path:
        import numba_cuda
        return f"numba-cuda {getattr(numba_cuda, '__version__', '?')}"
    return (f"Numba {numba.__version__}'s built-in numba.cuda (deprecated since Numba 0.61; "
            f"{INSTALL_HINT})")


NAME = "cuda"
PROVIDER = provider()
SIMULATOR = bool(numba.config.ENABLE_CUDASIM)


def _why_no_gpu() -> str | None:
    if SIMULATOR:
        return None
    try:
        if cuda.is_available():
            return None
        cuda.detect()
    except Exception as e:  # CudaSupportError: driver library missing, no device, ...
        return " ".join(str(e).split())
    return "numba.cuda.is_available() is False (no CUDA-capable GPU found)"


_reason = _why_no_gpu()
if _reason is not None:
    raise BackendUnavailable(
        "the 'cuda' backend needs an NVIDIA GPU with a working CUDA driver, and none is usable "
        f"here: {_reason}. Use mg.set_backend('numba') or 'numpy' on a CPU, or set "
        "NUMBA_ENABLE_CUDASIM=1 before starting Python to run the cuda kernels on Numba's "
        "simulator (slow; tiny shapes only).")

# Launch sizes: real-GPU values, or tiny ones for the simulator (a thread per CUDA thread).
TPB = 4 if SIMULATOR else 16        # matmul tile: TPB × TPB threads
NT = 8 if SIMULATOR else 128        # threads per row in the row kernels (a power of 2)
BQ = 4 if SIMULATOR else 64         # queries per block in attention (one thread each)
BKV = 4 if SIMULATOR else 16        # keys per shared-memory tile in attention
MAXD = 128                          # largest head size the attention kernels take
USE_SHFL = not SIMULATOR            # warp shuffles exist only on a real GPU
NEG_INF = -math.inf


def to_device(a):
    """NumPy -> device array (a device array is returned as is)."""
    if isinstance(a, np.ndarray):
        return cuda.to_device(np.ascontiguousarray(a))
    return a


def to_host(a):
    return a if isinstance(a, np.ndarray) else a.copy_to_host()


def _per_dtype(factory):
    """Compile `factory(numba_type)` once per dtype: shared/local arrays need a fixed dtype."""
    made = {}

    def get(dtype):
        dtype = np.dtype(dtype)
        if dtype not in made:
            made[dtype] = factory(numba.from_dtype(dtype))
        return made[dtype]
    return get


def _float_ok(*arrays) -> bool:
    dt = arrays[0].dtype
    return dt in (np.float32, np.float64) and all(a.dtype == dt and a.size for a in arrays)


# --- matmul: C = A B, tiled through shared memory ---------------------------------------------
#   C[z, i, j] = Σ_t Σ_{u < TPB} A[z, i, t·TPB + u] · B[z, t·TPB + u, j]
# Each block computes one TPB × TPB tile of C; per step it stages a tile of A and one of B in
# shared memory, so each element is read from global memory once per tile instead of n times.
@_per_dtype
def _matmul_kernel(nbtype):
    @cuda.jit
    def kernel(A, B, C):                        # A (Z, n, k), B (Z, k, m), C (Z, n, m)
        sA = cuda.shared.array((TPB, TPB), nbtype)
        sB = cuda.shared.array((TPB, TPB), nbtype)
        x, y = cuda.grid(2)                     # x: column j, y: row i
        tx, ty, z = cuda.threadIdx.x, cuda.threadIdx.y, cuda.blockIdx.z
        n, kk, m = A.shape[1], A.shape[2], B.shape[2]
        acc = nbtype(0)
        for t in range((kk + TPB - 1) // TPB):
            sA[ty, tx] = 0                      # zero-pad instead of returning early: every
            sB[ty, tx] = 0                      # thread must reach every syncthreads
            if y < n and t * TPB + tx < kk:
                sA[ty, tx] = A[z, y, t * TPB + tx]
            if x < m and t * TPB + ty < kk:
                sB[ty, tx] = B[z, t * TPB + ty, x]
            cuda.syncthreads()
            for u in range(TPB):
                acc += sA[ty, u] * sB[u, tx]
            cuda.syncthreads()
        if y < n and x < m:
            C[z, y, x] = acc
    return kernel


def matmul(a, b):
    """(..., n, k) @ (..., k, m) -> (..., n, m), batch dims broadcast (host arrays in and out)."""
    if not _float_ok(a, b) or a.ndim < 2 or b.ndim < 2:
        return np.matmul(a, b)
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    n, k, m = a.shape[-2], a.shape[-1], b.shape[-1]
    A = np.ascontiguousarray(np.broadcast_to(a, lead + (n, k))).reshape(-1, n, k)
    B = np.ascontiguousarray(np.broadcast_to(b, lead + (k, m))).reshape(-1, k, m)
    C = cuda.device_array((A.shape[0], n, m), dtype=a.dtype)
    grid = ((m + TPB - 1) // TPB, (n + TPB - 1) // TPB, A.shape[0])
    _matmul_kernel(a.dtype)[grid, (TPB, TPB)](to_device(A), to_device(B), C)
    return C.copy_to_host().reshape(lead + (n, m))


# max(a, b) that is NaN when either is (Python's max(-inf, nan) is -inf: a NaN score would
# vanish and its row look fully masked).  NaN in, NaN out, as on the CPU backends.
@cuda.jit(device=True)
def _nan_max(a, b):
    return b if (b > a or b != b) else a


# --- block reductions: every thread of the block gets the result ------------------------------
# Shared-memory tree (runs in the simulator):  buf[i] ⊕= buf[i + s] for s = NT/2, NT/4, ..., 1.
# Warp shuffles (real GPU): within a warp, v ⊕= shfl_xor(v, 16, 8, 4, 2, 1); then one value
# per warp goes through shared memory.
@cuda.jit(device=True)
def _block_reduce(buf, v, is_max):
    tid = cuda.threadIdx.x
    if USE_SHFL:
        off = 16
        while off > 0:
            w = cuda.shfl_xor_sync(0xFFFFFFFF, v, off)
            v = _nan_max(v, w) if is_max else v + w
            off //= 2
        if tid % 32 == 0:
            buf[tid // 32] = v
        cuda.syncthreads()
        r = buf[0]
        for i in range(1, NT // 32):
            r = _nan_max(r, buf[i]) if is_max else r + buf[i]
        cuda.syncthreads()
        return r
    buf[tid] = v
    cuda.syncthreads()
    s = NT // 2
    while s > 0:
        if tid < s:
            buf[tid] = _nan_max(buf[tid], buf[tid + s]) if is_max else buf[tid] + buf[tid + s]
        cuda.syncthreads()
        s //= 2
    r = buf[0]
    cuda.syncthreads()
    return r


# --- row softmax (§4.1): one block of NT threads per row -------------------------------------
#   m = max_j x_j (block max);  d = Σ_j e^(x_j - m) (block sum);  y_j = e^(x_j - m) / d
@_per_dtype
def _softmax_kernel(nbtype):
    @cuda.jit
    def kernel(x, out, log):                   # x, out: (rows, n)
        buf = cuda.shared.array(NT, nbtype)
        row, tid = cuda.blockIdx.x, cuda.threadIdx.x
        n = x.shape[1]
        m = nbtype(NEG_INF)
        for j in range(tid, n, NT):
            m = _nan_max(m, x[row, j])
        m = _block_reduce(buf, m, True)
        if m == NEG_INF:
            m = nbtype(0)                      # all masked: softmax 0 (log_softmax NaN, as NumPy)
        d = nbtype(0)
        for j in range(tid, n, NT):
            d += math.exp(x[row, j] - m)
        d = _block_reduce(buf, d, False)
        if log:
            lse = m + math.log(d) if d != 0 else nbtype(NEG_INF)   # all masked: NaN out
            for j in range(tid, n, NT):
                out[row, j] = x[row, j] - lse
        else:
            for j in range(tid, n, NT):
                out[row, j] = math.exp(x[row, j] - m) / d if d != 0 else nbtype(0)   # NaN stays
    return kernel


#   softmax backward:      dx_j = y_j (g_j - Σ_i g_i y_i)
#   log_softmax backward:  dx_j = g_j - e^(y_j) Σ_i g_i
@_per_dtype
def _softmax_backward_kernel(nbtype):
    @cuda.jit
    def kernel(y, g, out, log):
        buf = cuda.shared.array(NT, nbtype)
        row, tid = cuda.blockIdx.x, cuda.threadIdx.x
        n = y.shape[1]
        s = nbtype(0)
        for j in range(tid, n, NT):
            s += g[row, j] if log else g[row, j] * y[row, j]
        s = _block_reduce(buf, s, False)
        for j in range(tid, n, NT):
            out[row, j] = g[row, j] - math.exp(y[row, j]) * s if log else y[row, j] * (g[row, j] - s)
    return kernel


def _rowwise(make, dim, log, *arrays):
    from .numba_cpu import _rows, _unrows
    rows = [_rows(a, dim) for a in arrays]
    out = cuda.device_array(rows[0][0].shape, dtype=arrays[0].dtype)
    make(arrays[0].dtype)[rows[0][0].shape[0], NT](*(to_device(r[0]) for r in rows), out, log)
    return _unrows(out.copy_to_host(), arrays[0].shape, dim, rows[0][1])


def softmax(x, dim):
    from . import numpy_ref
    return _rowwise(_softmax_kernel, dim, False, x) if _float_ok(x) else numpy_ref.softmax(x, dim)


def log_softmax(x, dim):
    from . import numpy_ref
    return (_rowwise(_softmax_kernel, dim, True, x) if _float_ok(x)
            else numpy_ref.log_softmax(x, dim))


def softmax_backward(y, g, dim):
    from . import numpy_ref
    return (_rowwise(_softmax_backward_kernel, dim, False, y, g) if _float_ok(y, g)
            else numpy_ref.softmax_backward(y, g, dim))


def log_softmax_backward(y, g, dim):
    from . import numpy_ref
    return (_rowwise(_softmax_backward_kernel, dim, True, y, g) if _float_ok(y, g)
            else numpy_ref.log_softmax_backward(y, g, dim))


# --- attention forward (§4.1): online softmax, one thread per query row ----------------------
# Block (BQ threads) = BQ queries of one (batch·head) n.  For each tile of BKV keys, the block
# copies K and V rows into shared memory; then each thread runs the online-softmax update
# (Milakov & Gimelshein) for its query over the tile's keys s:
#     x = q·k_s·scale + bias;   m' = max(m, x);   α = e^(m - m')
#     ℓ = α ℓ + e^(x - m');     o = α o + e^(x - m') v_s;   m = m'
# and finally out = o / ℓ, L = m + log ℓ.
@_per_dtype
def _attention_forward_kernel(nbtype):
    @cuda.jit
    def kernel(q, k, v, bias, has_bias, causal, scale, out, lse):
        sk = cuda.shared.array((BKV, MAXD), nbtype)
        sv = cuda.shared.array((BKV, MAXD), nbtype)
        qr = cuda.local.array(MAXD, nbtype)
        acc = cuda.local.array(MAXD, nbtype)
        n, tid = cuda.blockIdx.y, cuda.threadIdx.x
        t = cuda.blockIdx.x * BQ + tid
        T, S, d, dv = q.shape[1], k.shape[1], q.shape[2], v.shape[2]
        off = S - T
        valid = t < T
        nb = n if bias.shape[0] > 1 else 0
        brow = t if bias.shape[1] > 1 else 0
        if valid:
            for e in range(d):
                qr[e] = q[n, t, e]
            for e in range(dv):
                acc[e] = 0
        m = nbtype(NEG_INF)
        ell = nbtype(0)
        nan_seen = False                                     # a NaN score: the row is NaN
        kend = S
        if causal:
            kend = min(S, cuda.blockIdx.x * BQ + BQ + off)    # same for the whole block
        for j0 in range(0, kend, BKV):
            width = max(d, dv)
            for idx in range(tid, BKV * width, BQ):         # cooperative tile load
                r, c = idx // width, idx % width
                if j0 + r < S and c < d:
                    sk[r, c] = k[n, j0 + r, c]
                if j0 + r < S and c < dv:
                    sv[r, c] = v[n, j0 + r, c]
            cuda.syncthreads()
            if valid:
                for r in range(min(BKV, kend - j0)):
                    s = j0 + r
                    if causal and s > t + off:
                        break
                    x = nbtype(0)
                    for e in range(d):
                        x += qr[e] * sk[r, e]
                    x = x * scale
                    if has_bias:
                        x += bias[nb, brow, s]
                    if x != x:
                        nan_seen = True
                    if x > m:                                # new running max: rescale
                        alpha = math.exp(m - x) if m > NEG_INF else nbtype(0)
                        ell = ell * alpha + 1
                        for e in range(dv):
                            acc[e] = acc[e] * alpha + sv[r, e]
                        m = x
                    elif x > NEG_INF:
                        p = math.exp(x - m)
                        ell += p
                        for e in range(dv):
                            acc[e] += p * sv[r, e]
            cuda.syncthreads()
        if valid:
            if nan_seen:
                ell = nbtype(math.nan)
            for e in range(dv):
                out[n, t, e] = acc[e] / ell if ell != 0 else nbtype(0)
            lse[n, t] = m + math.log(ell) if ell != 0 else nbtype(NEG_INF)
    return kernel


# --- attention backward: P = e^(S - L) recomputed, D = rowsum(dO ∘ O) ------------------------
#   dQ_t = scale Σ_s P_ts (dP_ts - D_t) k_s            (a thread per query t)
#   dV_s = Σ_t P_ts dO_t,  dK_s = scale Σ_t P_ts (dP_ts - D_t) q_t   (a thread per key s)
#   with dP_ts = dO_t · v_s.   Each thread owns its output row: no atomics.
@cuda.jit(device=True)
def _score(q, k, bias, has_bias, scale, n, nb, brow, t, s):
    x = q[n, t, 0] * k[n, s, 0]
    for e in range(1, q.shape[2]):
        x += q[n, t, e] * k[n, s, e]
    x = x * scale
    if has_bias:
        x += bias[nb, brow, s]
    return x


@cuda.jit(device=True)
def _dot_rows(a, b, n, t, s):
    x = a[n, t, 0] * b[n, s, 0]
    for e in range(1, a.shape[2]):
        x += a[n, t, e] * b[n, s, e]
    return x


@_per_dtype
def _attention_dq_kernel(nbtype):
    @cuda.jit
    def kernel(q, k, v, bias, has_bias, causal, scale, o, do, lse, D, dq):
        n = cuda.blockIdx.y
        t = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        T, S, d = q.shape[1], k.shape[1], q.shape[2]
        if t >= T:
            return                               # no syncthreads in this kernel
        D[n, t] = _dot_rows(do, o, n, t, t)
        acc = cuda.local.array(MAXD, nbtype)
        for e in range(d):
            acc[e] = 0
        L = lse[n, t]
        if L != NEG_INF:                         # NaN rows give NaN gradients
            nb = n if bias.shape[0] > 1 else 0
            brow = t if bias.shape[1] > 1 else 0
            kend = min(S, t + S - T + 1) if causal else S
            for s in range(kend):
                p = math.exp(_score(q, k, bias, has_bias, scale, n, nb, brow, t, s) - L)
                ds = p * (_dot_rows(do, v, n, t, s) - D[n, t]) * scale
                for e in range(d):
                    acc[e] += ds * k[n, s, e]
        for e in range(d):
            dq[n, t, e] = acc[e]
    return kernel


@_per_dtype
def _attention_dkv_kernel(nbtype):
    @cuda.jit
    def kernel(q, k, v, bias, has_bias, causal, scale, do, lse, D, dk, dv):
        n = cuda.blockIdx.y
        s = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        T, S, d, dvn = q.shape[1], k.shape[1], q.shape[2], v.shape[2]
        if s >= S:
            return
        ak = cuda.local.array(MAXD, nbtype)
        av = cuda.local.array(MAXD, nbtype)
        for e in range(d):
            ak[e] = 0
        for e in range(dvn):
            av[e] = 0
        nb = n if bias.shape[0] > 1 else 0
        t0 = max(0, s - (S - T)) if causal else 0    # causal: only queries t >= s - (S - T)
        for t in range(t0, T):
            L = lse[n, t]
            if L != NEG_INF:                     # NaN rows give NaN gradients
                brow = t if bias.shape[1] > 1 else 0
                p = math.exp(_score(q, k, bias, has_bias, scale, n, nb, brow, t, s) - L)
                ds = p * (_dot_rows(do, v, n, t, s) - D[n, t]) * scale
                for e in range(dvn):
                    av[e] += p * do[n, t, e]
                for e in range(d):
                    ak[e] += ds * q[n, t, e]
        for e in range(d):
            dk[n, s, e] = ak[e]
        for e in range(dvn):
            dv[n, s, e] = av[e]
    return kernel


def _bias_or_dummy(bias, dtype):
    if bias is None:
        return to_device(np.zeros((1, 1, 1), dtype=dtype)), False
    return to_device(bias), True


def attention_forward(q, k, v, bias=None, causal=False, scale=1.0):
    """Fused forward on the GPU: device arrays out (N, T, dv) and lse (N, T); same contract
    as numpy_ref.attention_forward.  Head sizes above MAXD fall back to the reference."""
    if q.shape[2] > MAXD or v.shape[2] > MAXD or not _float_ok(q, k, v):
        from . import numpy_ref
        return numpy_ref.attention_forward(*(to_host(a) if a is not None else None
                                              for a in (q, k, v, bias)), causal, scale)
    dtype = q.dtype
    q, k, v = to_device(q), to_device(k), to_device(v)
    b, has_bias = _bias_or_dummy(bias, dtype)
    N, T = q.shape[0], q.shape[1]
    out = cuda.device_array((N, T, v.shape[2]), dtype=dtype)
    lse = cuda.device_array((N, T), dtype=dtype)
    grid = ((T + BQ - 1) // BQ, N)
    _attention_forward_kernel(dtype)[grid, BQ](q, k, v, b, has_bias, bool(causal),
                                               dtype.type(scale), out, lse)
    return out, lse


def attention_backward(q, k, v, bias, causal, scale, out, lse, dout):
    """dq, dk, dv (device arrays) from the saved logsumexp; see numpy_ref.attention_backward."""
    if q.shape[2] > MAXD or v.shape[2] > MAXD or not _float_ok(q, k, v):
        from . import numpy_ref
        return numpy_ref.attention_backward(*(to_host(a) if a is not None else None
                                               for a in (q, k, v, bias)), causal, scale,
                                            *(to_host(a) for a in (out, lse, dout)))
    dtype = q.dtype
    q, k, v, out, lse, dout = (to_device(a) for a in (q, k, v, out, lse, dout))
    b, has_bias = _bias_or_dummy(bias, dtype)
    N, T, S = q.shape[0], q.shape[1], k.shape[1]
    D = cuda.device_array((N, T), dtype=dtype)
    dq = cuda.device_array(q.shape, dtype=dtype)
    dk = cuda.device_array(k.shape, dtype=dtype)
    dv = cuda.device_array(v.shape, dtype=dtype)
    sc = dtype.type(scale)
    _attention_dq_kernel(dtype)[((T + BQ - 1) // BQ, N), BQ](
        q, k, v, b, has_bias, bool(causal), sc, out, dout, lse, D, dq)
    _attention_dkv_kernel(dtype)[((S + BQ - 1) // BQ, N), BQ](
        q, k, v, b, has_bias, bool(causal), sc, dout, lse, D, dk, dv)
    return dq, dk, dv
