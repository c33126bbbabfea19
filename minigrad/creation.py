"""Tensor constructors, named as in PyTorch: tensor, zeros, ones, full, arange, randn, rand ..."""
from __future__ import annotations

import numpy as np

from . import random as _random
from .tensor import DEFAULT_DTYPE, Tensor, _as_dtype, _shape_arg, check_device

# Every constructor takes device= as PyTorch's do; the CPU is the one device (a GPU is
# refused with the reason: tensor.check_device).


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """A new tensor from a number, a (nested) list or an array.

    Python floats become float32 (the default); a NumPy array keeps its dtype, so float64
    arrays stay float64 (what gradient checks need).  `dtype` is a NumPy dtype or its name.
    """
    check_device(device, "tensor")
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        data = data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _float_dtype(dtype):
    return _as_dtype(dtype) or DEFAULT_DTYPE


def zeros(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    check_device(device, "zeros")
    return Tensor(np.zeros(_shape_arg(shape), _float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    check_device(device, "ones")
    return Tensor(np.ones(_shape_arg(shape), _float_dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    check_device(device, "full")
    if dtype is None and isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(np.full(shape, fill_value, _float_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None) -> Tensor:
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else DEFAULT_DTYPE
    return Tensor(np.arange(start, end, step, dtype=_as_dtype(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Standard normal samples from minigrad's generator (see mg.manual_seed)."""
    check_device(device, "randn")
    data = _random.generator().standard_normal(_shape_arg(shape))
    return Tensor(data.astype(_float_dtype(dtype)), requires_grad)


def rand(*shape, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    check_device(device, "rand")
    data = _random.generator().random(_shape_arg(shape))
    return Tensor(data.astype(_float_dtype(dtype)), requires_grad)


def randint(low, high, size, dtype=np.int64, device=None) -> Tensor:
    check_device(device, "randint")
    return Tensor(_random.generator().integers(low, high, size=size).astype(dtype))


def zeros_like(t: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    check_device(device, "zeros_like")
    return Tensor(np.zeros(t.shape, _as_dtype(dtype) or t.dtype), requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    check_device(device, "ones_like")
    return Tensor(np.ones(t.shape, _as_dtype(dtype) or t.dtype), requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    check_device(device, "full_like")
    return Tensor(np.full(t.shape, fill_value, _as_dtype(dtype) or t.dtype), requires_grad)


def randn_like(t: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    check_device(device, "randn_like")
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    check_device(device, "rand_like")
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)
