"""GELU, LayerNorm and Linear as single primitives backed by backend kernels (§3.1, §8 模型效率).

`nn.functional` writes both formulas from engine ops (gelu_composite, layer_norm_composite):
readable and differentiable to any order, but ~10 small ops forward and ~20 backward, each a
pass over the whole (B, T, C) array.  Here each is one kernel forward and one backward, whose
formulas (and the derivation of the backward) are in backends/numpy_ref.py; the Numba backend
runs them as fused loops (backends/numba_fused.py).

As with fused attention, the backward is a kernel, not Tensor code.  When a graph of the
gradient is asked for (create_graph=True), the backward differentiates the composite formula
instead, so second derivatives stay right.  A backend without these kernels (cuda) uses the
composite formula throughout.
"""
from __future__ import annotations

from .. import backends
from ..autograd import grad as _grad
from ..autograd import mode
from ..tensor import Function, Tensor


def has_kernels(*names: str) -> bool:
    """True when the active backend provides every kernel in `names`."""
    be = backends.current()
    return all(hasattr(be, n) for n in names)


def _composite_grads(node, out: Tensor, g: Tensor):
    """Gradients of `out` (the composite formula) with a graph: the create_graph path."""
    wanted = [t for t, need in zip(node.inputs, node.needs_input_grad) if need]
    got = iter(_grad(out, wanted, grad_outputs=g, create_graph=True))
    return tuple(next(got) if need else None for need in node.needs_input_grad)


class FusedGelu(Function):
    name = "gelu"
    differentiable = False   # backward is a kernel; create_graph uses the composite formula

    def forward(self, x, approximate="none"):
        self.approximate = approximate
        return backends.current().gelu(x, approximate)

    def backward(self, g):
        x, = self.inputs
        if mode.grad_enabled:
            from ..nn.functional import gelu_composite
            return _composite_grads(self, gelu_composite(x, self.approximate), g)
        return Tensor(backends.current().gelu_backward(x.data, g.data, self.approximate))


class FusedLayerNorm(Function):
    name = "layer_norm"
    differentiable = False

    def forward(self, x, weight, bias, eps=1e-5):
        dtype = x.dtype
        n = x.shape[-1]
        y, mean, rstd = backends.current().layer_norm(
            x.reshape(-1, n), weight.astype(dtype, copy=False), bias.astype(dtype, copy=False), eps)
        self.mean, self.rstd, self.eps = mean, rstd, eps          # (rows,) each: O(rows) saved
        return y.reshape(x.shape)

    def backward(self, g):
        x, weight, bias = self.inputs
        if mode.grad_enabled:
            from ..nn.functional import layer_norm_composite
            out = layer_norm_composite(x, (x.shape[-1],), weight, bias, self.eps)
            return _composite_grads(self, out, g)
        n = x.shape[-1]
        dx, dw, db = backends.current().layer_norm_backward(
            x.data.reshape(-1, n), weight.data.astype(x.dtype, copy=False), self.mean, self.rstd,
            g.data.reshape(-1, n))
        return (Tensor(dx.reshape(x.shape)) if self.needs_input_grad[0] else None,
                Tensor(dw.astype(weight.dtype, copy=False)) if self.needs_input_grad[1] else None,
                Tensor(db.astype(bias.dtype, copy=False)) if self.needs_input_grad[2] else None)


class FusedLinear(Function):
    """y = x Wᵀ + b as one node: the bias is added into the product's fresh output, and the
    backward makes the three gradients directly (W (out, in), b (out,), x (..., in)):

        ∂L/∂x = g W        ∂L/∂W = gᵀ x        ∂L/∂b = Σ_rows g

    (The composite x @ W.mT + b costs a transpose node, a separate addition pass, and a
    reduction of g for the broadcast bias.)"""
    name = "linear"
    differentiable = False

    def forward(self, x, weight, bias):
        be = backends.current()
        x2 = x.reshape(-1, x.shape[-1])                                   # (N, in)
        if has_kernels("linear"):
            y = be.linear(x2, weight, bias)                               # one kernel
        else:
            y = be.matmul(x2, weight.T)                                   # (N, out)
            y += bias                                                     # in place: y is new
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        x, weight, bias = self.inputs
        if mode.grad_enabled:
            return _composite_grads(self, (x @ weight.mT) + bias, g)
        be = backends.current()
        g2 = g.data.reshape(-1, weight.shape[0])                          # (N, out)
        x2 = x.data.reshape(-1, weight.shape[1])                          # (N, in)
        need_x, need_w, need_b = self.needs_input_grad
        gx = be.matmul(g2, weight.data).reshape(x.shape) if need_x else None
        if need_w and has_kernels("linear_weight_grads"):
            gw, gb = be.linear_weight_grads(x2, g2)                       # one pass over g
        else:
            gw = be.matmul(g2.T, x2) if need_w else None
            gb = g2.sum(axis=0) if need_b else None
        return (Tensor(gx.astype(x.dtype, copy=False)) if need_x else None,
                Tensor(gw.astype(weight.dtype, copy=False)) if need_w else None,
                Tensor(gb.astype(bias.dtype, copy=False)) if need_b else None)


def linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    return FusedLinear.apply(x, weight, bias)


def gelu(x: Tensor, approximate: str) -> Tensor:
    return FusedGelu.apply(x, approximate=approximate)


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float) -> Tensor:
    """LayerNorm over the last dim with γ (weight) and β (bias), both (C,)."""
    return FusedLayerNorm.apply(x, weight, bias, eps=eps)


__all__ = ["gelu", "layer_norm", "linear", "has_kernels", "FusedGelu", "FusedLayerNorm", "FusedLinear"]
