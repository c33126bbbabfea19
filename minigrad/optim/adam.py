"""Adam and AdamW (§3.2 模型训练: the optimizers large models are trained with).

Adam keeps two running averages per parameter, of the gradient and of its square, and
steps by their ratio, so every coordinate moves about `lr` per step whatever the scale
of its gradient.  PyTorch's exact rule (torch.optim.Adam), at step t = 1, 2, ...:

    g   <- g + weight_decay * p                  (Adam: L2 penalty added to the gradient)
    m   <- beta1 * m + (1 - beta1) * g           (first moment, m_0 = 0)
    v   <- beta2 * v + (1 - beta2) * g * g       (second moment, v_0 = 0)
    v_max <- max(v_max, v); use v_max for v      (only if amsgrad)
    m_hat = m / (1 - beta1^t)                    (bias corrections: m, v start at 0)
    v_hat = v / (1 - beta2^t)
    p   <- p - lr * m_hat / (sqrt(v_hat) + eps)

AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization") takes the decay out
of the gradient, where Adam's normalisation would rescale it, and applies it to p directly
before the Adam step:

    p   <- p - lr * weight_decay * p             (AdamW, default weight_decay = 0.01)
    ... then the Adam update above with g unchanged.

As in PyTorch the code computes the last line as
    p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backends
from .optimizer import Optimizer


class Adam(Optimizer):
    _decoupled = False   # AdamW sets True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        super()._check_group(group)
        name = type(self).__name__
        group["betas"] = tuple(group["betas"])
        if len(group["betas"]) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {group['betas']}")
        for i, b in enumerate(group["betas"]):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {b} "
                                 "(must be in [0, 1))")
        if group["eps"] < 0.0:
            raise ValueError(f"{name}: invalid eps={group['eps']} (must be >= 0)")
        if group["weight_decay"] < 0.0:
            raise ValueError(f"{name}: invalid weight_decay={group['weight_decay']} (must be >= 0)")

    def _update(self, p, grad, group, state):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)              # m
            state["exp_avg_sq"] = np.zeros_like(p.data)           # v
        state["step"] += 1
        t = state["step"]
        fused = getattr(backends.current(), "adam_update", None)
        if fused is not None and not group["amsgrad"] and fused(
                p.data, grad, state["exp_avg"], state["exp_avg_sq"], lr, beta1, beta2, eps, wd,
                self._decoupled, t):
            return       # the lines below, as one pass (backends/numba_fused.py), same numbers

        if wd != 0:
            if self._decoupled:
                p.data *= 1 - lr * wd                             # AdamW: p = p - lr * wd * p
            else:
                grad = grad + wd * p.data                         # Adam:  g = g + wd * p

        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * grad                                   # m = b1 m + (1 - b1) g
        v *= beta2
        v += (1 - beta2) * grad * grad                            # v = b2 v + (1 - b2) g^2
        if group["amsgrad"]:
            v_max = state.setdefault("max_exp_avg_sq", np.zeros_like(p.data))
            np.maximum(v_max, v, out=v_max)
            v = v_max                                             # v = max(v_max, v)

        bias_correction1 = 1 - beta1 ** t
        bias_correction2 = 1 - beta2 ** t
        step_size = lr / bias_correction1
        denom = np.sqrt(v) / math.sqrt(bias_correction2) + eps    # sqrt(v_hat) + eps
        p.data -= step_size * (m / denom)                         # p = p - lr m_hat / denom


class AdamW(Adam):
    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
