"""Matrix multiplication (§3.1: every Linear layer and both products of attention use it).

out[..., i, j] = Σₖ a[..., i, k] · b[..., k, j], batched over leading dims that broadcast.
1-D operands are handled in tensor.matmul by adding and removing a dimension.

The backward is Tensor code when a graph of the gradient is wanted (create_graph=True), and
direct backend calls on arrays otherwise (the usual training step), where a weight shared
by a whole batch, b (k, m) with a (..., n, k), gets its gradient from one product
(a reshaped to (N·n, k))ᵀ · (g reshaped to (N·n, m)) instead of N products summed.
"""
from __future__ import annotations

import numpy as np

from ..autograd import mode
from ..tensor import Function, ShapeError, Tensor
from .. import backends


class MatMul(Function):
    name = "matmul"

    def forward(self, a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
                             f"{a.shape[-1]} (last dim of a) != {b.shape[-2]} (second-to-last of b)")
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ShapeError(f"matmul: batch dims of {a.shape} and {b.shape} cannot be broadcast") from None
        return backends.current().matmul(a, b)

    def backward(self, g):
        a, b = self.inputs
        if not mode.grad_enabled:
            return self._backward_arrays(a.data, b.data, g.data)
        # ∂L/∂a = g · bᵀ   and   ∂L/∂b = aᵀ · g   (per batch; broadcast batch dims are summed
        # back by the engine)
        return (g @ b.mT if self.needs_input_grad[0] else None,
                a.mT @ g if self.needs_input_grad[1] else None)

    def _backward_arrays(self, a, b, g):
        """The same two products on arrays, with the active backend's matmul."""
        mm = backends.current().matmul
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = Tensor(mm(g, np.swapaxes(b, -1, -2)))                  # g · bᵀ
        if self.needs_input_grad[1]:
            if b.ndim == 2 and a.ndim > 2:                               # shared weight
                k, m = b.shape
                gb = Tensor(mm(a.reshape(-1, k).T, g.reshape(-1, m)))    # (k, m)
            else:
                gb = Tensor(mm(np.swapaxes(a, -1, -2), g))               # aᵀ · g
        return ga, gb
