"""Initialisation helpers (in place, on .data, from minigrad's seeded generator)."""
from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from ..tensor import Tensor


def _fans(t: Tensor):
    if t.ndim < 2:
        raise ValueError(f"fan in/out needs a tensor with at least 2 dims, got shape {t.shape}")
    receptive = int(np.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive   # (fan_in, fan_out) for (out, in)


def _set(t: Tensor, values) -> Tensor:
    t.data = np.asarray(values, dtype=t.dtype).reshape(t.shape).copy()
    return t


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return _set(t, _random.generator().uniform(a, b, t.shape))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _set(t, _random.generator().normal(mean, std, t.shape))


def constant_(t: Tensor, value: float) -> Tensor:
    return _set(t, np.full(t.shape, value))


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1.0)


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """U(-a, a) with a = gain·√(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(t: Tensor, a: float = 0.0, nonlinearity_gain: float | None = None) -> Tensor:
    """U(-b, b) with b = gain·√(3 / fan_in), gain = √(2 / (1 + a²)) (He et al., 2015)."""
    fan_in, _ = _fans(t)
    gain = nonlinearity_gain if nonlinearity_gain is not None else math.sqrt(2.0 / (1 + a * a))
    bound = gain * math.sqrt(3.0 / fan_in)
    return uniform_(t, -bound, bound)


def kaiming_normal_(t: Tensor, a: float = 0.0) -> Tensor:
    fan_in, _ = _fans(t)
    return normal_(t, 0.0, math.sqrt(2.0 / (1 + a * a)) / math.sqrt(fan_in))
