"""What "the same numbers" means in minigrad's tests.

Two computations give bit-identical floats only when they run the same operations on the same
memory in the same order.  Anything else may round differently in the last place:

* a matrix product (BLAS) picks its kernel from the CPU (OpenBLAS's Haswell kernels on an AVX2
  machine, SkylakeX on AVX-512) and from the operands' layout: a transposed view, a Fortran-
  ordered copy and a C-ordered array are summed in different orders;
* a Numba `prange` loop or a BLAS call splits its work over threads, and the split follows the
  thread count and the shape;
* a fused kernel and its composite formula round at different steps.

So a test that compares results of two *different* computations (a model against its reloaded
copy, a backend against the reference, a transposed input against a contiguous one) uses
`assert_same_numbers`, whose tolerance is a few units in the last place of the dtype, scaled
by the size of the values, and says so.  `assert_identical` is for what really is exact: a copy
of the data, integers (token ids, argmax), the same seeded computation run twice in the same
process, and it takes the reason as an argument so the test says why bit-equality holds.
"""
from __future__ import annotations

import numpy as np

# The tolerance is relative to the largest |expected| (the scale of the values), not to each
# entry, because a sum of products that cancels to ~0 keeps the absolute error of its largest terms:
#     max|actual - expected| / max|expected| <= TOL[dtype] * factor
# float32: eps = 1.2e-7; a dot product of length n summed in another order differs by about
#          sqrt(n) eps of its scale: 1e-5 (~80 eps) covers the ops and the kernels;
# float64: eps = 2.2e-16; the same reasoning gives 1e-12.
# `factor` > 1 only with a comment that says why (a model ~40 ops deep compounds rounding).
TOL = {np.dtype(np.float16): 1e-3, np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def _array(x):
    data = getattr(x, "data", x)          # a minigrad Tensor or an ndarray
    return np.asarray(data)


def rel_err(actual, expected) -> float:
    """max|actual - expected| / max|expected| over the finite entries; NaN and ±Inf must sit in
    the same places (and the infinities have the same sign)."""
    actual = np.asarray(_array(actual), dtype=np.float64)
    expected = np.asarray(_array(expected), dtype=np.float64)
    assert actual.shape == expected.shape, f"shapes differ: {actual.shape} vs {expected.shape}"
    finite = np.isfinite(expected)
    assert np.array_equal(np.isnan(expected), np.isnan(actual)), "NaN in other places"
    assert np.array_equal(finite, np.isfinite(actual)), "non-finite entries differ"
    assert np.array_equal(expected[np.isinf(expected)], actual[np.isinf(expected)]), "±Inf differ"
    if not finite.any():
        return 0.0
    scale = max(np.max(np.abs(expected[finite])), 1e-30)
    return float(np.max(np.abs(actual[finite] - expected[finite])) / scale)


def assert_same_numbers(actual, expected, dtype=None, factor: float = 1.0, err_msg: str = ""):
    """`actual` equals `expected` up to rounding (see TOL above).  Integer and bool arrays must be
    equal exactly.  `dtype` picks the tolerance (default: the coarser float dtype of the two)."""
    a, e = _array(actual), _array(expected)
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        assert a.shape == e.shape, f"shapes differ: {a.shape} vs {e.shape}. {err_msg}"
        np.testing.assert_array_equal(a, e, err_msg=err_msg)
        return
    if dtype is None:
        floats = [d for d in (a.dtype, e.dtype) if d.kind == "f"]
        dtype = max(floats, key=lambda d: np.finfo(d).eps) if floats else np.float64
    tol = factor * TOL[np.dtype(dtype)]
    err = rel_err(a, e)
    assert err <= tol, f"relative error {err:.2e} > {tol:.0e} ({np.dtype(dtype)}). {err_msg}"


def assert_identical(actual, expected, *, why: str):
    """Bit-for-bit equal, for what is exact; `why` says what makes it so (a copy, integers, the
    same operations on the same memory in the same order)."""
    assert why, "say why bit-equality holds here"
    a, e = _array(actual), _array(expected)
    assert a.dtype == e.dtype, f"dtypes differ: {a.dtype} vs {e.dtype} ({why})"
    np.testing.assert_array_equal(a, e, err_msg=f"expected bit-identical: {why}")


def transposed_copy(array: np.ndarray) -> np.ndarray:
    """The same values in Fortran order (what `.T` of a C-ordered array gives, copied): for feeding
    layout-sensitive code another memory layout on purpose."""
    out = np.asfortranarray(array)
    assert array.ndim < 2 or not out.flags.c_contiguous
    return out


def strided_view(array: np.ndarray) -> np.ndarray:
    """The same values as a non-contiguous view (every other element of a buffer twice as long in
    the last dimension)."""
    buf = np.empty(array.shape[:-1] + (2 * array.shape[-1],), dtype=array.dtype)
    buf[..., ::2] = array
    view = buf[..., ::2]
    assert not view.flags.c_contiguous and not view.flags.f_contiguous or array.size <= 1
    return view
