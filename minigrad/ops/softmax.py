"""Softmax and log-softmax along one dim (§4.1: the softmax in softmax(QKᵀ/√d_k)V; §4.2 损失函数).

    softmax(x)ᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m),  m = maxⱼ xⱼ   (subtracting m changes nothing
                                                            mathematically but avoids overflow)
    log_softmax(x)ᵢ = xᵢ - m - log Σⱼ e^(xⱼ - m)

They are primitives (not composed) because they are kernel targets: the arrays are computed by
the active backend (backends/numpy_ref.py is the readable reference).

The backward rules are written twice: as Tensor code (used when a graph of the gradient is
wanted, `create_graph=True`, so second derivatives work), and as one backend kernel call
(`softmax_backward`, `log_softmax_backward`) for the usual case where no graph is built.
Both compute the same formula.
"""
from __future__ import annotations

from ..autograd import mode
from ..tensor import Function, Tensor
from .. import backends


class Softmax(Function):
    name = "softmax"
    saves_output = True

    def forward(self, a, dim):
        self.dim = dim
        return backends.current().softmax(a, dim)

    def backward(self, g):
        # With y = softmax(x):  ∂L/∂xᵢ = yᵢ (gᵢ - Σⱼ gⱼ yⱼ)
        if not mode.grad_enabled:   # no graph wanted: one kernel on arrays
            return Tensor(backends.current().softmax_backward(self.out_data, g.data, self.dim))
        y = self.output()
        return y * (g - (g * y).sum(self.dim, keepdim=True))


class LogSoftmax(Function):
    name = "log_softmax"
    saves_output = True

    def forward(self, a, dim):
        self.dim = dim
        return backends.current().log_softmax(a, dim)

    def backward(self, g):
        # With y = log_softmax(x):  ∂L/∂xᵢ = gᵢ - e^(yᵢ) Σⱼ gⱼ
        if not mode.grad_enabled:
            return Tensor(backends.current().log_softmax_backward(self.out_data, g.data, self.dim))
        y = self.output()
        return g - y.exp() * g.sum(self.dim, keepdim=True)
