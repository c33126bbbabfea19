"""Matrix multiplication (§3.1: every Linear layer and both products of attention use it).

out[..., i, j] = Σₖ a[..., i, k] · b[..., k, j], batched over leading dims that broadcast.
1-D operands are handled in tensor.matmul by adding and removing a dimension.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Function, ShapeError
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
        # ∂L/∂a = g · bᵀ   and   ∂L/∂b = aᵀ · g   (per batch; broadcast batch dims are summed
        # back by the engine)
        return (g @ b.mT if self.needs_input_grad[0] else None,
                a.mT @ g if self.needs_input_grad[1] else None)
