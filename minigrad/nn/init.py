"""Initialisation helpers, as torch.nn.init: in place on the tensor's memory, under no_grad,
from minigrad's seeded generator (mg.manual_seed) or a `generator` (a np.random.Generator)."""
from __future__ import annotations

import math

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


def _fans(t: Tensor):
    if t.ndim < 2:
        raise ValueError(f"fan in/out needs a tensor with at least 2 dims, got shape {t.shape}")
    receptive = int(np.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive   # (fan_in, fan_out) for (out, in)


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    with no_grad():
        return t.uniform_(a, b, generator=generator)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    with no_grad():
        return t.normal_(mean, std, generator=generator)


def constant_(t: Tensor, value: float) -> Tensor:
    with no_grad():
        return t.fill_(value)


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1.0)


def xavier_uniform_(t: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-a, a) with a = gain·√(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, generator)


def xavier_normal_(t: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(t: Tensor, a: float = 0.0, nonlinearity_gain: float | None = None,
                     generator=None) -> Tensor:
    """U(-b, b) with b = gain·√(3 / fan_in), gain = √(2 / (1 + a²)) (He et al., 2015)."""
    fan_in, _ = _fans(t)
    gain = nonlinearity_gain if nonlinearity_gain is not None else math.sqrt(2.0 / (1 + a * a))
    bound = gain * math.sqrt(3.0 / fan_in)
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(t: Tensor, a: float = 0.0, generator=None) -> Tensor:
    fan_in, _ = _fans(t)
    return normal_(t, 0.0, math.sqrt(2.0 / (1 + a * a)) / math.sqrt(fan_in), generator)
