"""Gradient clipping (§3.2 模型训练: keeps one bad batch from throwing training off).

clip_grad_norm_ treats all gradients as one long vector g = (g_1, ..., g_n) and, as in
PyTorch's torch.nn.utils.clip_grad_norm_:

    total = ||g||_p = ( sum_i ||g_i||_p^p )^(1/p)       (p = inf: max_i max |g_i|)
    if total > max_norm:   g_i <- g_i * max_norm / (total + 1e-6)   for every i

so the direction of the update is kept and only its length is capped.  It returns
`total`, the norm *before* clipping (worth logging: spikes show instability).

clip_grad_value_ clamps every gradient entry into [-clip_value, clip_value].

Both replace `p.grad` by a new Tensor rather than writing into it: the engine may share
one gradient Tensor between two parameters (see optimizer.py), and a gradient may be a
read-only broadcast view.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor


def _params_with_grad(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected Tensors, got a {type(p).__name__}")
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so their joint `norm_type`-norm is at most `max_norm`.
    Returns the total norm before clipping, as a 0-d Tensor (call .item() for a float)."""
    max_norm, norm_type = float(max_norm), float(norm_type)
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if norm_type <= 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 (or inf), got {norm_type}")
    params = _params_with_grad(parameters)
    if not params:
        return Tensor(np.array(0.0, dtype=np.float32))
    grads = [p.grad.data for p in params]
    dtype = np.result_type(*grads)
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        # the norm of the per-tensor norms is the norm of everything together
        norms = [np.linalg.norm(g.ravel().astype(np.float64), ord=norm_type) for g in grads]
        total = float(np.linalg.norm(np.array(norms), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients is "
                           f"{total}; pass error_if_nonfinite=False to clip anyway")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for p in params:
            p.grad = Tensor(p.grad.data * np.asarray(coef, dtype=p.grad.dtype))
    return Tensor(np.array(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _params_with_grad(parameters):
        p.grad = Tensor(np.clip(p.grad.data, -clip_value, clip_value))
