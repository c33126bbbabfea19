"""Reductions: sum and max over some dims.  mean, var, logsumexp are composed in tensor.py."""
from __future__ import annotations

import numpy as np

from ..tensor import Function, Tensor


def keepdim_shape(shape: tuple, dims: tuple | None) -> tuple:
    """The output shape with the reduced dims kept as size 1: (2, 3, 4), (1,) -> (2, 1, 4)."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


class Sum(Function):
    name = "sum"

    def forward(self, a, dims, keepdim):
        self.dims, self.keepdim, self.in_shape = dims, keepdim, a.shape
        return np.asarray(np.sum(a, axis=dims, keepdims=keepdim))   # out = Σᵢ xᵢ

    def backward(self, g):
        # ∂out/∂xᵢ = 1: every input element receives the gradient of its sum.
        return g.reshape(keepdim_shape(self.in_shape, self.dims)).expand(self.in_shape)


class Max(Function):
    name = "amax"
    saves_output = True

    def forward(self, a, dims, keepdim):
        if a.size == 0:
            raise ValueError(f"amax: cannot reduce an empty tensor of shape {a.shape}")
        self.dims, self.keepdim = dims, keepdim
        return np.asarray(np.max(a, axis=dims, keepdims=keepdim))

    def backward(self, g):
        # The gradient goes to the maximal element(s); ties share it equally (as torch.amax).
        x = self.inputs[0].data
        kshape = keepdim_shape(x.shape, self.dims)
        is_max = x == self.out_data.reshape(kshape)
        share = is_max / is_max.sum(axis=self.dims, keepdims=True)
        return g.reshape(kshape) * Tensor(share.astype(g.dtype))
