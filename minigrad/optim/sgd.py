"""Stochastic gradient descent, with momentum, Nesterov and weight decay (§3.2 模型训练).

PyTorch's exact rule (torch.optim.SGD), for each parameter p with gradient g:

    g  <- g + weight_decay * p                      (L2 penalty, if weight_decay != 0)
    if momentum != 0:
        b  <- g                                     (first step: the buffer starts as g)
        b  <- momentum * b + (1 - dampening) * g    (later steps)
        g  <- g + momentum * b   if nesterov        (look ahead along the velocity)
        g  <- b                  otherwise
    p  <- p - lr * g

With momentum=0 this is plain gradient descent, p <- p - lr * dL/dp.
"""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        super()._check_group(group)
        if group["momentum"] < 0.0:
            raise ValueError(f"SGD: invalid momentum={group['momentum']} (must be >= 0)")
        if group["weight_decay"] < 0.0:
            raise ValueError(f"SGD: invalid weight_decay={group['weight_decay']} (must be >= 0)")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0")

    def _update(self, p, grad, group, state):
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data          # g + wd * p (a new array)
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, dtype=p.dtype)   # b = g
            else:
                buf *= momentum                                  # b = momentum * b
                buf += (1 - group["dampening"]) * grad           #     + (1 - dampening) * g
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * grad                             # p = p - lr * g
