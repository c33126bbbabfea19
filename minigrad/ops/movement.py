"""Movement ops: they move or select elements without arithmetic, so each backward moves the
gradient back to where the element came from.

    reshape  ⟷ reshape back          permute ⟷ the inverse permutation
    expand   ⟷ sum over the expanded dims (done by the engine's sum_to_shape)
    getitem  ⟷ scatter-add into zeros (repeated indices add up)
    cat      ⟷ slice the gradient into pieces
    setitem  ⟷ the gradient with the overwritten elements zeroed, and the selected part
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .. import backends
from ..autograd import sum_to_shape
from ..tensor import Function, ShapeError, Tensor


def infer_shape(old: tuple, new: tuple, op: str) -> tuple:
    """Resolve one -1 in `new` and check the element count."""
    size = math.prod(old)                # (math.prod: np.prod costs ~3 µs on a tuple)
    if new.count(-1) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1, got {new}")
    if -1 in new:
        rest = math.prod(n for n in new if n != -1)
        if rest == 0 or size % rest:
            raise ShapeError(f"{op}: cannot reshape a tensor of shape {old} ({size} elements) to {new}")
        new = tuple(size // rest if n == -1 else n for n in new)
    if math.prod(new) != size:
        raise ShapeError(f"{op}: cannot reshape a tensor of shape {old} ({size} elements) "
                         f"to {new} ({math.prod(new)} elements)")
    return new


def expand_shape(old: tuple, new: tuple) -> tuple:
    """PyTorch's expand rules: new dims go in front; -1 keeps a size; only size-1 dims grow."""
    if len(new) < len(old):
        raise ShapeError(f"expand: target {new} has fewer dims than the tensor's shape {old}")
    lead = len(new) - len(old)
    out = list(new[:lead])
    for n_old, n_new in zip(old, new[lead:]):
        if n_new == -1:
            n_new = n_old
        if n_old != n_new and n_old != 1:
            raise ShapeError(f"expand: cannot expand shape {old} to {new} (size {n_old} is not 1)")
        out.append(n_new)
    return tuple(out)


class Reshape(Function):
    name = "reshape"

    def forward(self, a, shape):
        self.in_shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class Permute(Function):
    name = "permute"

    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, g):
        return g.permute(*np.argsort(self.dims).tolist())


class Expand(Function):
    name = "expand"

    def forward(self, a, shape):
        self.in_shape = a.shape
        return np.broadcast_to(a, shape)   # a read-only view: no copy

    def backward(self, g):
        return sum_to_shape(g, self.in_shape)


def _is_basic(index: tuple) -> bool:
    """True for indices made of ints, slices, None and Ellipsis only (no arrays)."""
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) for i in index)


class GetItem(Function):
    name = "getitem"

    def forward(self, a, index):
        self.index, self.in_shape = index, a.shape
        try:
            out = a[index]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor shape {a.shape})") from None
        return np.asarray(out)

    def backward(self, g):
        out = ScatterAdd.apply(g, index=self.index, shape=self.in_shape)
        if not out.requires_grad:              # no graph of the gradient: the engine may
            out._private = True                # add into this fresh array, and, for a basic
            if _is_basic(self.index):          # index, knows it is zero outside the slice
                out._scatter = (self.index, g.data)
        return out


class ScatterAdd(Function):
    """out = zeros(shape); out[index] += g.  The adjoint of getitem (so its backward is getitem)."""

    name = "scatter_add"

    def forward(self, g, index, shape):
        self.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g                 # a basic slice selects each element at most once
        else:                              # repeated indices accumulate: np.add.at, or a kernel
            getattr(backends.current(), "index_add", np.add.at)(out, index, g)
        return out

    def backward(self, gg):
        return gg[self.index]


def setitem_array(arr: np.ndarray, index, value) -> None:
    """arr[index] = value, with PyTorch's broadcasting: leading size-1 dims of the value may be
    dropped (a (1,) value fills one element, which NumPy 2 refuses)."""
    try:
        arr[index] = value
        return
    except ValueError:
        pass
    value = np.asarray(value)
    slot = arr[index].shape
    extra = value.ndim - len(slot)
    if extra > 0 and all(n == 1 for n in value.shape[:extra]):
        try:
            arr[index] = value.reshape(value.shape[extra:])
            return
        except ValueError:
            pass
    raise ShapeError(f"setitem: cannot put a value of shape {value.shape} into the selected "
                     f"part, of shape {slot}, of a tensor of shape {arr.shape}")


class SetItem(Function):
    """out = a copy of `a` with out[index] = v: what `t[index] = v` records while the graph is
    built (Tensor.__setitem__ then writes `out` into t's memory).

        ∂L/∂a = g with g[index] = 0    (those elements were overwritten)
        ∂L/∂v = g[index]               (summed back to v's shape when v was broadcast)
    """

    name = "setitem"

    def forward(self, a, v, index):
        self.index, self.v_shape = index, v.shape
        out = a.copy()
        setitem_array(out, index, v)
        return out

    def backward(self, g):
        ga = gv = None
        if self.needs_input_grad[0]:
            keep = np.ones(g.shape, dtype=g.dtype)
            keep[self.index] = 0
            ga = g * Tensor(keep)
        if self.needs_input_grad[1]:
            gv = g[self.index]
            missing = len(self.v_shape) - gv.ndim     # v (1, 3) put into a (3,) slot
            if missing > 0:
                gv = gv.reshape((1,) * missing + gv.shape)
        return ga, gv


class Cat(Function):
    name = "cat"

    def forward(self, *arrays, dim):
        self.dim = dim
        self.bounds = list(itertools.accumulate([a.shape[dim] for a in arrays], initial=0))
        return np.concatenate(arrays, axis=dim)

    def backward(self, g):
        grads = []
        for i, needed in enumerate(self.needs_input_grad):
            index = (slice(None),) * self.dim + (slice(int(self.bounds[i]), int(self.bounds[i + 1])),)
            grads.append(g[index] if needed else None)
        return tuple(grads)


__all__ = ["Reshape", "Permute", "Expand", "GetItem", "ScatterAdd", "SetItem", "Cat", "Tensor"]
