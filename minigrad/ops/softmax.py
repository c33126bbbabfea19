"""Softmax and log-softmax along one dim (§4.1: the softmax in softmax(QKᵀ/√d_k)V; §4.2 损失函数).

    softmax(x)ᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m),  m = maxⱼ xⱼ   (subtracting m changes nothing
                                                            mathematically but avoids overflow)
    log_softmax(x)ᵢ = xᵢ - m - log Σⱼ e^(xⱼ - m)

They are primitives (not composed) because they are kernel targets: the arrays are computed by
the active backend (backends/numpy_ref.py is the readable reference).
"""
from __future__ import annotations

from ..tensor import Function
from .. import backends


class Softmax(Function):
    name = "softmax"

    def forward(self, a, dim):
        self.dim = dim
        return backends.current().softmax(a, dim)

    def backward(self, g):
        # With y = softmax(x):  ∂L/∂xᵢ = yᵢ (gᵢ - Σⱼ gⱼ yⱼ)
        y = self.output()
        return y * (g - (g * y).sum(self.dim, keepdim=True))


class LogSoftmax(Function):
    name = "log_softmax"

    def forward(self, a, dim):
        self.dim = dim
        return backends.current().log_softmax(a, dim)

    def backward(self, g):
        # With y = log_softmax(x):  ∂L/∂xᵢ = gᵢ - e^(yᵢ) Σⱼ gⱼ
        y = self.output()
        return g - y.exp() * g.sum(self.dim, keepdim=True)
