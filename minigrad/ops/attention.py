"""Fused scaled-dot-product attention as one primitive (§4.1 自注意力机制, §8 模型效率).

    Attention(Q, K, V) = softmax(QKᵀ · scale + mask) V,   scale = 1/√d by default

`nn.functional.scaled_dot_product_attention` composes this formula from matmul, where and
softmax (readable, differentiable to any order, but it keeps the (T, S) matrix of
probabilities for the backward).  `fused_attention` computes the same thing with one kernel
of the active backend (backends/numba_attention.py, backends/cuda.py):

    forward:   out (..., T, dv) and the row logsumexp L (..., T)        (online softmax)
    backward:  P = e^(S - L) recomputed block by block; dQ, dK, dV      (no (T, S) matrix)

The backward is a kernel, not Tensor code, so it cannot itself be differentiated.  When a
graph of the gradient is asked for (`backward(create_graph=True)`, `mg.grad(...,
create_graph=True)`), the backward falls back to the composite formula instead, so second
derivatives are right (just not fused).

Shapes: q (..., T, d), k (..., S, d), v (..., S, dv); leading (batch, head) dims broadcast.
attn_mask, broadcastable to (..., T, S): bool (True = the key takes part) or float (added to
the scores; a float Tensor that requires grad, a learned bias, takes the composite path so it
gets its gradient).  is_causal: query t sees keys s <= t + S - T (bottom-right aligned).
"""
from __future__ import annotations

import math

import numpy as np

from .. import backends
from ..autograd import grad as _grad
from ..autograd import mode
from ..tensor import Function, ShapeError, Tensor, as_tensor, where


def _flatten(a: np.ndarray, lead: tuple) -> np.ndarray:
    """(..., L, d) broadcast to lead + (L, d), as a C-contiguous (N, L, d) array."""
    if a.shape[:-2] != lead:                 # (decoding calls this ~20 times a token: skip
        a = np.broadcast_to(a, lead + a.shape[-2:])   # broadcast_to when there is nothing to do)
    return np.ascontiguousarray(a.reshape((-1,) + a.shape[-2:]))


def _lead_shape(*shapes) -> tuple:
    """np.broadcast_shapes(*shapes), without its cost when the shapes are all equal."""
    first = shapes[0]
    if all(s == first for s in shapes[1:]):
        return tuple(first)
    return np.broadcast_shapes(*shapes)


def _bias3(bias: np.ndarray | None, lead: tuple, T: int) -> np.ndarray | None:
    """An additive mask broadcastable to lead + (T, S) -> (Nb, Tb, S) with Nb in {1, N} and
    Tb in {1, T}: the form the kernels read (no copy over broadcast batch/head dims when
    the mask has none)."""
    if bias is None:
        return None
    S = bias.shape[-1]
    b = bias.reshape((1,) * max(0, 2 - bias.ndim) + bias.shape)     # at least (Tb, S)
    Tb = b.shape[-2]
    mlead = b.shape[:-2]
    if math.prod(mlead) == 1:
        return np.ascontiguousarray(b.reshape(1, Tb, S))
    b = np.broadcast_to(b, lead + (Tb, S))
    return np.ascontiguousarray(b.reshape(-1, Tb, S))


class FusedAttention(Function):
    name = "fused_attention"
    differentiable = False   # the backward is a kernel; create_graph uses the composite formula
    saves_output = True      # out_d (the output itself on the CPU backends)

    def forward(self, q, k, v, bias=None, causal=False, scale=1.0):
        dtype = np.result_type(q, k, v)
        lead = _lead_shape(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        if bias is not None:
            lead = np.broadcast_shapes(lead, bias.shape[:-2])
        T, S, dv = q.shape[-2], k.shape[-2], v.shape[-1]
        qf, kf, vf = (_flatten(a.astype(dtype, copy=False), lead) for a in (q, k, v))
        b3 = _bias3(None if bias is None else bias.astype(dtype, copy=False), lead, T)
        be = backends.current()
        qd, kd, vd = be.to_device(qf), be.to_device(kf), be.to_device(vf)
        bd = None if b3 is None else be.to_device(b3)
        out_d, lse = be.attention_forward(qd, kd, vd, bd, causal, scale)
        # Saved for the backward: the inputs as the kernel saw them, the output and L (O(T)).
        # On the cuda backend these stay on the GPU.
        self.saved = (be, qd, kd, vd, bd, out_d, lse)
        self.lead, self.bias, self.causal, self.scale = lead, bias, causal, scale
        return be.to_host(out_d).reshape(lead + (T, dv))

    def backward(self, g):
        q, k, v = self.inputs
        if mode.grad_enabled:
            # create_graph=True: differentiate the composite formula instead of the kernel,
            # so that gradients of these gradients are right.
            wanted = [t for t, need in zip(self.inputs, self.needs_input_grad) if need]
            out = composite_attention(q, k, v, self.bias, self.causal, self.scale)
            got = iter(_grad(out, wanted, grad_outputs=g, create_graph=True))
            return tuple(next(got) if need else None for need in self.needs_input_grad)
        be, qd, kd, vd, bd, out_d, lse = self.saved
        T, S = q.shape[-2], k.shape[-2]
        gd = be.to_device(_flatten(g.data.astype(out_d.dtype, copy=False), self.lead))
        dq, dk, dv = be.attention_backward(qd, kd, vd, bd, self.causal, self.scale, out_d, lse, gd)
        # Gradients have the broadcast shape; the engine sums them back to each input's shape.
        return (Tensor(be.to_host(dq).reshape(self.lead + (T, q.shape[-1]))),
                Tensor(be.to_host(dk).reshape(self.lead + (S, k.shape[-1]))),
                Tensor(be.to_host(dv).reshape(self.lead + (S, v.shape[-1]))))


def composite_attention(q: Tensor, k: Tensor, v: Tensor, bias, causal: bool,
                        scale: float) -> Tensor:
    """softmax(QKᵀ·scale + bias) V from primitive ops: the reference the kernel must match,
    and the path used for higher-order gradients and for a learned bias (a Tensor)."""
    s = (q @ k.mT) * scale                                                 # (..., T, S)
    if isinstance(bias, Tensor):
        s = s + bias.to(s.dtype)
    elif bias is not None:
        s = s + Tensor(bias.astype(s.dtype, copy=False))
    if causal:
        T, S = s.shape[-2:]
        s = where(Tensor(np.tril(np.ones((T, S), dtype=bool), k=S - T)), s,
                  Tensor(np.asarray(-np.inf, dtype=s.dtype)))
    return s.softmax(dim=-1) @ v                                           # (..., T, dv)


def mask_to_bias(attn_mask, dtype) -> np.ndarray | None:
    """bool mask (True = takes part) -> additive 0 / -inf; a float mask is used as is."""
    if attn_mask is None:
        return None
    m = as_tensor(attn_mask).data
    if m.dtype == np.bool_:
        return np.where(m, 0.0, -np.inf).astype(dtype)
    if m.dtype.kind == "f":
        return m.astype(dtype, copy=False)
    raise TypeError(f"fused_attention: attn_mask must be bool (True = takes part) or float "
                    f"(additive), got {m.dtype}")


def fused_attention(q, k, v, attn_mask=None, is_causal: bool = False, scale: float | None = None):
    """softmax(QKᵀ·scale + mask) V with one fused kernel of the active backend (see the module
    docstring).  Same arguments and result as F.scaled_dot_product_attention without dropout
    and without returning the weights (the fused kernels never form them)."""
    q, k, v = as_tensor(q), as_tensor(k), as_tensor(v)
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim < 2:
            raise ShapeError(f"fused_attention: {name} must have at least 2 dims (..., L, d), "
                             f"got shape {t.shape}")
        if t.dtype.kind != "f":
            raise TypeError(f"fused_attention: {name} must be floating point, got {t.dtype}")
    T, S, d = q.shape[-2], k.shape[-2], q.shape[-1]
    if k.shape[-1] != d or v.shape[-2] != S:
        raise ShapeError(f"fused_attention: need q (..., T, d), k (..., S, d), v (..., S, dv); "
                         f"got q {q.shape}, k {k.shape}, v {v.shape}")
    if is_causal and S < T:
        raise ShapeError(f"fused_attention: {T} queries but only {S} keys; a causal mask "
                         "needs S >= T")
    dtype = np.result_type(q.data, k.data, v.data)
    bias = mask_to_bias(attn_mask, dtype)
    if bias is not None:
        try:
            np.broadcast_shapes(bias.shape, q.shape[:-2] + (T, S))
        except ValueError:
            raise ShapeError(f"fused_attention: attn_mask of shape {bias.shape} does not "
                             f"broadcast to the scores' shape (..., T={T}, S={S})") from None
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    if isinstance(attn_mask, Tensor) and attn_mask.requires_grad and mode.grad_enabled:
        # A learned additive bias needs its own gradient, a (..., T, S) array: the composite
        # formula gives it (the fused kernels never form anything of that size).
        return composite_attention(q, k, v, attn_mask, bool(is_causal), scale)
    return FusedAttention.apply(q, k, v, bias=bias, causal=bool(is_causal), scale=scale)
