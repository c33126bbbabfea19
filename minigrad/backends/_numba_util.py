"""Numba plumbing shared by the CPU kernels (§8 模型效率): compile options, a vectorisable exp,
and the BLAS thread limit.  Nothing here is a kernel; read numba_cpu.py first.

Three lessons from measuring on a 2-core machine (see benchmarks/README.md):
  * `fastmath` is a *subset*: no `nnan`/`ninf`, so the -inf of a masked score stays -inf
    and comparisons with it are kept (full fastmath lets LLVM assume infinities never occur).
  * NumPy's `np.exp` inside @njit is a scalar libm call that blocks vectorisation; `fast_exp`
    below (range reduction + polynomial, exact to a few ulp) lets LLVM vectorise the loop.
  * `np.dot` inside @njit calls SciPy's own OpenBLAS; inside a `prange` loop every Numba
    thread would start BLAS threads of its own, so that library is limited to 1 thread.

Caching caveat: Numba's disk cache checks only the file a kernel is defined in.  After editing
*this* file, delete the cached kernels (minigrad/backends/__pycache__/*.nbi, *.nbc, or the
NUMBA_CACHE_DIR directory), or kernels in numba_cpu.py / numba_attention.py keep the old
`fast_exp` (numba#8926).
"""
from __future__ import annotations

import ctypes
import glob
import os
import warnings

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

# LLVM fast-math flags *without* nnan/ninf: reassociation (vectorised sums), FMA contraction,
# approximate functions, no signed zeros, reciprocal instead of division.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


# --- cache=True that falls back cleanly ------------------------------------------------------
def jit(**options):
    """`njit(cache=True, **options)`, or `njit(cache=False, ...)` when no cache directory is
    writable (a read-only install without NUMBA_CACHE_DIR): Numba raises at decoration then.

    Numba looks for a cache directory in this order: $NUMBA_CACHE_DIR, the package's
    __pycache__, the user's cache dir (~/.cache/numba).
    """
    def wrap(func):
        try:
            return njit(cache=True, **options)(func)
        except RuntimeError as e:  # "cannot cache function ...: no locator available"
            if "cache" not in str(e):
                raise
            if not getattr(jit, "_warned", False):
                jit._warned = True
                warnings.warn(f"minigrad: Numba cannot cache compiled kernels ({e}); they are "
                              "compiled again in every process. Set NUMBA_CACHE_DIR to a writable "
                              "directory to keep them.", RuntimeWarning, stacklevel=2)
            return njit(cache=False, **options)(func)
    return wrap


# --- exp that LLVM can vectorise ---------------------------------------------------------------
#   e^x = 2^n · e^r,  n = round(x / ln 2),  r = x - n ln 2 ∈ [-ln2/2, ln2/2]
#   e^r by its Taylor polynomial (degree 7 for float32, 12 for float64: error < 1 ulp + rounding),
#   2^n built directly from the exponent bits.  x below the smallest normal result gives 0
#   (so e^-inf = 0 exactly, as a masked score needs).
@intrinsic
def _bits_to_f32(typingctx, x):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _bits_to_f64(typingctx, x):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


_F32 = dict(lo=np.float32(-87.0), hi=np.float32(88.0), log2e=np.float32(1.4426950408889634),
            ln2hi=np.float32(0.693145751953125), ln2lo=np.float32(1.428606765330187e-06),
            half=np.float32(0.5), zero=np.float32(0.0), one=np.float32(1.0))
_C32 = [np.float32(1.0 / f) for f in (5040.0, 720.0, 120.0, 24.0, 6.0, 2.0)]
_F64 = dict(lo=-708.0, hi=709.0, log2e=1.4426950408889634, ln2hi=0.6931471803691238,
            ln2lo=1.9082149292705877e-10)
_C64 = [1.0 / f for f in (479001600.0, 39916800.0, 3628800.0, 362880.0, 40320.0, 5040.0, 720.0,
                          120.0, 24.0, 6.0, 2.0)]


def fast_exp(x):
    """e^x (float32 or float64), vectorisable; see the comment above."""
    return np.exp(x)


@overload(fast_exp, jit_options={"fastmath": {"nsz", "contract"}})  # no reassoc: keeps Cody-Waite
def _fast_exp_impl(x):
    if x == types.float32:
        lo, hi, log2e, ln2hi, ln2lo = (_F32[n] for n in ("lo", "hi", "log2e", "ln2hi", "ln2lo"))
        c7, c6, c5, c4, c3, c2 = _C32
        half, zero, one = _F32["half"], _F32["zero"], _F32["one"]

        def exp32(x):
            xc = min(max(x, lo), hi)
            n = np.floor(xc * log2e + half)
            r = xc - n * ln2hi - n * ln2lo
            p = one + r * (one + r * (c2 + r * (c3 + r * (c4 + r * (c5 + r * (c6 + r * c7))))))
            y = p * _bits_to_f32((np.int32(n) + np.int32(127)) << np.int32(23))
            return y if x >= lo else (zero if x < lo else x)   # NaN stays NaN
        return exp32
    if x == types.float64:
        lo, hi, log2e, ln2hi, ln2lo = (_F64[n] for n in ("lo", "hi", "log2e", "ln2hi", "ln2lo"))
        c12, c11, c10, c9, c8, c7, c6, c5, c4, c3, c2 = _C64

        def exp64(x):
            xc = min(max(x, lo), hi)
            n = np.floor(xc * log2e + 0.5)
            r = xc - n * ln2hi - n * ln2lo
            p = 1.0 + r * (1.0 + r * (c2 + r * (c3 + r * (c4 + r * (c5 + r * (c6 + r * (
                c7 + r * (c8 + r * (c9 + r * (c10 + r * (c11 + r * c12)))))))))))
            y = p * _bits_to_f64((np.int64(n) + np.int64(1023)) << np.int64(52))
            return y if x >= lo else (0.0 if x < lo else x)
        return exp64
    return None


# --- a max that keeps NaN ---------------------------------------------------------------------
# Python's (and Numba's) max(a, b) keeps a unless b > a, so max(-inf, nan) = -inf: a NaN score
# would vanish, and a row of NaN would look like a fully masked row (probabilities 0).  NaN in
# must give NaN out (§4.1's masking rule is for -inf only), so the row kernels use this one.
@jit(inline="always")
def nan_max(a, b):
    """max(a, b), but NaN when either is NaN."""
    return b if (b > a or b != b) else a


# --- one BLAS thread inside Numba's parallel loops --------------------------------------------
def limit_blas_in_numba(threads: int = 1) -> None:
    """Limit the OpenBLAS that `np.dot` inside @njit uses (SciPy's copy, not NumPy's).

    Importing scipy.linalg.cython_blas loads it; we then call its `*_set_num_threads` through
    ctypes (what threadpoolctl does).  Best effort: an MKL or unknown BLAS is left alone.
    """
    try:
        import scipy
        import scipy.linalg.cython_blas  # noqa: F401  (loads the library Numba will call)
    except ImportError:
        return
    libdir = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads", "openblas_set_num_threads",
                     "scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(threads))
                break


limit_blas_in_numba(1)   # at import: every module with kernels imports this one
