"""The Tensor and the graph node (§2.1 深度学习: a network is a composition of tensor ops).

A `Tensor` wraps a NumPy array (`.data`).  When it `requires_grad`, every op applied to it
records a `Function` node that remembers the op's inputs; `backward()` (see autograd.py)
walks those nodes back to the leaves.

    x = mg.tensor([1.0, 2.0], requires_grad=True)   # a leaf: no node, has .grad
    y = (x * x).sum()                               # y._node is a Sum node, whose input
    y.backward()                                    #   has a Mul node, whose inputs are x, x
    x.grad                                          # tensor([2., 4.])

The primitive ops live in `minigrad/ops/`, each with its forward (on arrays) and its backward
(on Tensors) side by side.  This file wires Python's operators and the PyTorch-style methods
to them, and holds the ops that are *composed* from primitives (mean, var, logsumexp, ...).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import autograd
from .autograd import mode as _mode

DEFAULT_DTYPE = np.dtype(np.float32)


class ShapeError(ValueError):
    """Shapes that an op cannot combine; the message names the op and the shapes."""


# ----------------------------------------------------------------------------------------
# Function: one primitive op applied once, and the graph node it leaves behind.
# ----------------------------------------------------------------------------------------
class Function:
    """Base class of primitive ops.

    A subclass defines
        forward(self, *arrays, **options) -> np.ndarray    (NumPy in, NumPy out)
        backward(self, grad: Tensor) -> Tensor | tuple      (Tensor ops only)
    `backward` returns one gradient per input (None where not needed; see
    `self.needs_input_grad`).  It reads the inputs as `self.inputs` and the output as
    `self.output()`.  Because it is written with Tensor ops, its result can be
    differentiated again (`create_graph=True`).  Gradients may have the broadcast shape:
    the engine sums them back to each input's shape.
    """

    name = "function"
    differentiable = True  # False for a kernel whose backward is not itself differentiable

    @classmethod
    def apply(cls, *inputs: "Tensor", **options) -> "Tensor":
        node = cls()
        try:
            data = node.forward(*[t.data for t in inputs], **options)
        except ValueError as e:  # NumPy's broadcasting error, re-said in the op's terms
            if isinstance(e, ShapeError) or "broadcast" not in str(e):
                raise
            shapes = " and ".join(str(t.shape) for t in inputs)
            raise ShapeError(f"{cls.name}: shapes {shapes} cannot be broadcast together "
                             "(trailing dimensions must be equal or 1)") from None
        requires_grad = False
        if _mode.grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    requires_grad = True
                    break
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out.name = data, None, None
        out.requires_grad = requires_grad
        if requires_grad:
            node.inputs = inputs
            node.needs_input_grad = tuple(t.requires_grad for t in inputs)
            node.out_data = data
            out._node = node
        else:
            out._node = None
        if _mode.anomaly:
            node.creation_site = autograd.user_call_site()
            if not _mode.in_backward_rule:  # there, the gradient is checked (naming the op)
                _check_forward(node, inputs, data)
        return out

    def output(self) -> "Tensor":
        """The op's output as a Tensor that is part of the graph (for backward rules)."""
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out.name, out.requires_grad, out._node = (
            self.out_data, None, None, True, self)
        return out

    def __repr__(self):
        return f"<{type(self).__name__} node>"


def _check_forward(node, inputs, data):
    """Anomaly mode: NaN is always an anomaly.  ±Inf is one only when the op made it from
    finite inputs (log(0), exp(1000)); an Inf that was already in an input is passed on,
    which is how masking works (-inf scores before a softmax, §4.1)."""
    kind = autograd.nonfinite_kind(np.asarray(data))
    if kind is None:
        return
    already = [i for i, t in enumerate(inputs) if autograd.nonfinite_kind(t.data)]
    if kind == "Inf" and already:
        return
    detail = (f" (input {already[0]} already contained non-finite values)" if already else "")
    raise FloatingPointError(
        f"detect_anomaly: the forward of '{node.name}' produced {kind}{detail}.\n"
        f"  Created at: {node.creation_site}")


# ----------------------------------------------------------------------------------------
# Conversions
# ----------------------------------------------------------------------------------------
def _as_dtype(dtype) -> np.dtype | None:
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"unknown dtype {dtype!r}: use a NumPy dtype or its name, "
                        "e.g. 'float32', 'float64', 'int64', 'bool'") from e


def _to_array(data, dtype=None) -> np.ndarray:
    """Data -> ndarray. Python floats become float32 (the default); NumPy arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data.data
    dtype = _as_dtype(dtype)
    if isinstance(data, np.ndarray):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    arr = np.asarray(data, dtype=dtype)
    if dtype is None and arr.dtype == np.float64 and not isinstance(data, np.generic):
        arr = arr.astype(DEFAULT_DTYPE)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} with dtype {arr.dtype}")
    return arr


def as_tensor(x, like: "Tensor | None" = None) -> "Tensor":
    """A Tensor as is; a Python number becomes a constant of `like`'s dtype (if floating)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and type(x) is float and like.data.dtype.kind == "f":  # the common case
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out._node, out.name, out.requires_grad = (
            np.asarray(x, dtype=like.data.dtype), None, None, None, False)
        return out
    if like is not None and not isinstance(x, np.ndarray):
        kind = like.dtype.kind
        if kind == "f" or (isinstance(x, (bool, int, np.integer)) and kind in "iub"):
            if not (kind == "b" and not isinstance(x, (bool, np.bool_))):
                return Tensor(np.asarray(x, dtype=like.dtype))
    return Tensor(_to_array(x))


def normalize_dim(dim: int, ndim: int, op: str) -> int:
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not lo <= dim <= hi:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} "
                         f"dimension{'s' if ndim != 1 else ''} (expected {lo}..{hi})")
    return int(dim) % max(ndim, 1)


def normalize_dims(dim, ndim: int, op: str) -> tuple | None:
    """None (all dims), an int or a sequence of ints -> a sorted tuple of non-negative dims."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    dims = tuple(sorted({normalize_dim(d, ndim, op) for d in dims}))
    return dims if ndim else ()  # a 0-d tensor: dim 0 / -1 is the tensor itself (no axis)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


# ----------------------------------------------------------------------------------------
# The Tensor
# ----------------------------------------------------------------------------------------
class Tensor:
    """An n-dimensional array that can record the ops applied to it (see module docstring).

    `.grad` accumulates as in PyTorch: each `backward()` *adds* into it, so clear it with
    `zero_grad()` (or `t.grad = None`) between optimisation steps.
    """

    __slots__ = ("data", "requires_grad", "grad", "_node", "name", "__weakref__", "__dict__")
    __array_priority__ = 1000
    __array_ufunc__ = None  # `ndarray + Tensor` defers to Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._node = None
        self.name = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # --- basic properties ---------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def T(self) -> "Tensor":
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> "Tensor":
        return self.transpose(-2, -1)

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[normalize_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to a Python "
                             f"number, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with shape {self.shape} is "
                               "ambiguous; use .any() or .all()")
        return bool(self.data.item())

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self.dtype not in (DEFAULT_DTYPE, np.dtype(np.int64), np.dtype(bool)):
            extra += f", dtype={self.dtype}"
        if self._node is not None:
            extra += f", grad_fn=<{self._node.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # --- autograd -----------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients; this one is "
                            f"{self.dtype} (integer tensors hold indices and labels)")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """The same data, cut off from the graph (no gradient flows through it)."""
        return Tensor(self.data)

    def backward(self, gradient=None, create_graph: bool = False):
        """Compute d(self)/d(leaf) for every leaf and *add* it into `leaf.grad`."""
        autograd.backward(self, gradient, create_graph=create_graph)

    def zero_grad(self):
        self.grad = None

    def retain_grad(self):
        raise NotImplementedError("retain_grad is not supported; use mg.grad(out, [t])")

    # --- in-place updates of the data (for optimizers and initialisation) ---------------
    def _check_inplace(self, op):
        if _mode.grad_enabled and self.requires_grad:
            raise RuntimeError(
                f"{op}: a tensor that requires grad cannot be modified in place while the "
                "graph is being recorded; wrap the update in `with mg.no_grad():`")

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__")
        self.data[_index_arrays(index, self.shape)] = _to_array(value)

    def copy_(self, src) -> "Tensor":
        self._check_inplace("copy_")
        src = _to_array(src)
        try:
            np.copyto(self.data, np.broadcast_to(src, self.shape), casting="unsafe")
        except ValueError:
            raise ShapeError(f"copy_: cannot copy a tensor of shape {src.shape} into one of "
                             f"shape {self.shape}") from None
        return self

    def fill_(self, value) -> "Tensor":
        self._check_inplace("fill_")
        self.data.fill(value)
        return self

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def add_(self, other, alpha=1.0) -> "Tensor":
        self._check_inplace("add_")
        self.data += _to_array(other) * alpha if alpha != 1.0 else _to_array(other)
        return self

    def mul_(self, other) -> "Tensor":
        self._check_inplace("mul_")
        self.data *= _to_array(other)
        return self

    # --- elementwise arithmetic (ops/elementwise.py) --------------------------------------
    def __add__(self, other):
        return _ew.Add.apply(*_ew.binary_operands(self, other, "add"))

    def __radd__(self, other):
        return _ew.Add.apply(*_ew.binary_operands(other, self, "add"))

    def __sub__(self, other):
        return _ew.Sub.apply(*_ew.binary_operands(self, other, "sub"))

    def __rsub__(self, other):
        return _ew.Sub.apply(*_ew.binary_operands(other, self, "sub"))

    def __mul__(self, other):
        return _ew.Mul.apply(*_ew.binary_operands(self, other, "mul"))

    def __rmul__(self, other):
        return _ew.Mul.apply(*_ew.binary_operands(other, self, "mul"))

    def __truediv__(self, other):
        return _ew.Div.apply(*_ew.binary_operands(self, other, "div"))

    def __rtruediv__(self, other):
        return _ew.Div.apply(*_ew.binary_operands(other, self, "div"))

    def __pow__(self, exponent):
        if isinstance(exponent, (int, float, np.number)) and not isinstance(exponent, bool):
            return _ew.PowScalar.apply(self, exponent=float(exponent))
        return _ew.Pow.apply(*_ew.binary_operands(self, exponent, "pow"))

    def __rpow__(self, base):
        return _ew.Pow.apply(*_ew.binary_operands(base, self, "pow"))

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(as_tensor(other, like=self), self)

    add, sub, mul, div, pow, neg = __add__, __sub__, __mul__, __truediv__, __pow__, __neg__
    matmul = __matmul__

    def exp(self):
        return _ew.Exp.apply(self)

    def log(self):
        return _ew.Log.apply(self)

    def sqrt(self):
        return _ew.Sqrt.apply(self)

    def rsqrt(self):
        return self.sqrt().reciprocal()

    def reciprocal(self):
        return 1.0 / self

    def tanh(self):
        return _ew.Tanh.apply(self)

    def sigmoid(self):
        return _ew.Sigmoid.apply(self)

    def relu(self):
        return _ew.Relu.apply(self)

    def abs(self):
        return _ew.Abs.apply(self)

    def erf(self):
        return _ew.Erf.apply(self)

    def sin(self):
        return _ew.Sin.apply(self)

    def cos(self):
        return _ew.Cos.apply(self)

    def square(self):
        return self * self

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return _ew.Clamp.apply(self, lo=min, hi=max)

    clip = clamp

    def maximum(self, other):
        return _ew.Maximum.apply(*_ew.binary_operands(self, other, "maximum"))

    def minimum(self, other):
        return _ew.Minimum.apply(*_ew.binary_operands(self, other, "minimum"))

    def masked_fill(self, mask, value):
        """Where `mask` is True put `value`, elsewhere keep self (value gets no gradient)."""
        mask = as_tensor(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype}")
        return where(mask, as_tensor(value, like=self).detach(), self)

    def to(self, dtype):
        dtype = _as_dtype(dtype)
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":  # integers and bools carry no gradient
            return Tensor(self.data.astype(dtype))
        return _ew.Cast.apply(self, dtype=dtype)

    type = astype = to

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def clone(self):
        return _ew.Identity.apply(self)

    def contiguous(self):
        return self

    # --- comparisons: results are bool tensors with no gradient ------------------------
    def _compare(self, other, fn, op):
        a, b = _ew.binary_operands(self, other, op)
        if a.data.shape != b.data.shape:
            _ew.check_broadcast(op, a.data.shape, b.data.shape)
        return Tensor(fn(a.data, b.data))

    def __eq__(self, other):
        return self._compare(other, np.equal, "eq")

    def __ne__(self, other):
        return self._compare(other, np.not_equal, "ne")

    def __lt__(self, other):
        return self._compare(other, np.less, "lt")

    def __le__(self, other):
        return self._compare(other, np.less_equal, "le")

    def __gt__(self, other):
        return self._compare(other, np.greater, "gt")

    def __ge__(self, other):
        return self._compare(other, np.greater_equal, "ge")

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __invert__(self):
        if self.dtype != np.bool_:
            raise TypeError("~ is defined for bool tensors only")
        return Tensor(~self.data)

    def __and__(self, other):
        return Tensor(self.data & as_tensor(other).data)

    def __or__(self, other):
        return Tensor(self.data | as_tensor(other).data)

    def isnan(self):
        return Tensor(np.isnan(self.data))

    def isfinite(self):
        return Tensor(np.isfinite(self.data))

    def any(self, dim=None, keepdim=False):
        return Tensor(np.any(self.data, axis=normalize_dims(dim, self.ndim, "any"), keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        return Tensor(np.all(self.data, axis=normalize_dims(dim, self.ndim, "all"), keepdims=keepdim))

    # --- reductions (ops/reduce.py), composed ones below ----------------------------------
    def sum(self, dim=None, keepdim=False):
        return _red.Sum.apply(self, dims=normalize_dims(dim, self.ndim, "sum"), keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        dims = normalize_dims(dim, self.ndim, "mean")
        count = self.data.size if dims is None else int(np.prod([self.shape[d] for d in dims]))
        return self.sum(dims, keepdim) * (1.0 / max(count, 1))

    def var(self, dim=None, keepdim=False, correction=1, unbiased=None):
        """Variance; `correction=1` (Bessel's, PyTorch's default) divides by N - 1."""
        if unbiased is not None:
            correction = 1 if unbiased else 0
        dims = normalize_dims(dim, self.ndim, "var")
        count = self.data.size if dims is None else int(np.prod([self.shape[d] for d in dims]))
        centered = self - self.mean(dims, keepdim=True)
        return (centered * centered).sum(dims, keepdim) * (1.0 / max(count - correction, 1))

    def std(self, dim=None, keepdim=False, correction=1, unbiased=None):
        return self.var(dim, keepdim, correction, unbiased).sqrt()

    def amax(self, dim=None, keepdim=False):
        return _red.Max.apply(self, dims=normalize_dims(dim, self.ndim, "amax"), keepdim=keepdim)

    def amin(self, dim=None, keepdim=False):
        return -((-self).amax(dim, keepdim))

    def max(self, dim=None, keepdim=False):
        """Without `dim`: the largest element.  With `dim`: (values, indices), as in PyTorch."""
        if dim is None:
            return self.amax()
        return MaxResult(self.amax(dim, keepdim), self.argmax(dim, keepdim))

    def min(self, dim=None, keepdim=False):
        if dim is None:
            return self.amin()
        return MaxResult(self.amin(dim, keepdim), self.argmin(dim, keepdim))

    def argmax(self, dim=None, keepdim=False):
        if dim is None:
            return Tensor(np.asarray(np.argmax(self.data), dtype=np.int64))
        d = normalize_dim(dim, self.ndim, "argmax")
        return Tensor(np.argmax(self.data, axis=d, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim=None, keepdim=False):
        return (-self).argmax(dim, keepdim)

    def logsumexp(self, dim=None, keepdim=False):
        """log Σ exp(x), computed as m + log Σ exp(x - m) with m the (constant) max: no overflow."""
        dims = normalize_dims(dim, self.ndim, "logsumexp")
        m = Tensor(np.max(self.data, axis=dims, keepdims=True))
        m.data[~np.isfinite(m.data)] = 0.0
        out = (self - m).exp().sum(dims, keepdim=True).log() + m
        return out if keepdim else out.reshape(_reduced_shape(self.shape, dims))

    def softmax(self, dim=-1):
        return _sm.Softmax.apply(self, dim=normalize_dim(dim, self.ndim, "softmax"))

    def log_softmax(self, dim=-1):
        return _sm.LogSoftmax.apply(self, dim=normalize_dim(dim, self.ndim, "log_softmax"))

    # --- shape and movement (ops/movement.py) ---------------------------------------------
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if shape == self.shape:
            return self
        return _mv.Reshape.apply(self, shape=_mv.infer_shape(self.shape, shape, "reshape"))

    view = reshape

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise ShapeError(f"permute: got {len(dims)} dims {dims} for a tensor of shape {self.shape}")
        dims = tuple(normalize_dim(d, self.ndim, "permute") for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of 0..{self.ndim - 1}")
        return _mv.Permute.apply(self, dims=dims)

    def transpose(self, dim0, dim1):
        d0, d1 = normalize_dim(dim0, self.ndim, "transpose"), normalize_dim(dim1, self.ndim, "transpose")
        dims = list(range(self.ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return _mv.Permute.apply(self, dims=tuple(dims))

    def expand(self, *shape):
        shape = _mv.expand_shape(self.shape, _shape_arg(shape))
        return self if shape == self.shape else _mv.Expand.apply(self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    def unsqueeze(self, dim):
        d = normalize_dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dims = normalize_dims(dim, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = normalize_dim(start_dim, self.ndim, "flatten")
        e = normalize_dim(end_dim, self.ndim, "flatten")
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:])

    def __getitem__(self, index):
        return _mv.GetItem.apply(self, index=_index_arrays(index, self.shape))

    def split(self, split_size_or_sections, dim=0):
        return split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return chunk(self, chunks, dim)

    def gather(self, dim, index):
        """out[i][j] = self[i][index[i][j]] for dim=1 (as torch.gather)."""
        d = normalize_dim(dim, self.ndim, "gather")
        index = as_tensor(index)
        if index.ndim != self.ndim:
            raise ShapeError(f"gather: index has {index.ndim} dims but the input has {self.ndim}")
        grids = list(np.ogrid[tuple(slice(0, n) for n in index.shape)])
        grids[d] = index.data
        return _mv.GetItem.apply(self, index=_index_arrays(tuple(grids), self.shape))


# ----------------------------------------------------------------------------------------
# Helpers and functions that are not methods
# ----------------------------------------------------------------------------------------
def _shape_arg(shape) -> tuple:
    """Accept both t.reshape(2, 3) and t.reshape((2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def _reduced_shape(shape, dims):
    if dims is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in dims)


def _index_arrays(index, shape):
    """Turn Tensors inside an index into NumPy arrays; refuse float indices clearly."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray) and item.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or bool, got {item.dtype}"
                             f" (convert with .long())")
        if isinstance(item, float):
            raise IndexError(f"index {item!r} is a float; indices must be integers")
        out.append(item)
    return tuple(out)


def matmul(a, b) -> Tensor:
    """Matrix product, batched and broadcasting over leading dims, 1-D operands allowed (§3.1)."""
    a, b = as_tensor(a), as_tensor(b, like=a)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands must have at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.ndim == 1 and b.ndim == 1:
        return (a.unsqueeze(0) @ b.unsqueeze(-1)).reshape(())
    if a.ndim == 1:
        return (a.unsqueeze(0) @ b).squeeze(-2)
    if b.ndim == 1:
        return (a @ b.unsqueeze(-1)).squeeze(-1)
    return _mm.MatMul.apply(a, b)


def where(condition, x, y) -> Tensor:
    """Elementwise `x if condition else y`; `condition` is a bool tensor (no gradient)."""
    condition = as_tensor(condition)
    if condition.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {condition.dtype}")
    if not isinstance(x, Tensor) and isinstance(y, Tensor):
        x = as_tensor(x, like=y)
    x = as_tensor(x)
    y = as_tensor(y, like=x)
    _ew.check_broadcast("where", condition.shape, x.shape, y.shape)
    return _ew.Where.apply(x, y, condition=condition.data)


def cat(tensors, dim=0) -> Tensor:
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    d = normalize_dim(dim, tensors[0].ndim, "cat")
    for t in tensors[1:]:
        if t.ndim != tensors[0].ndim or any(
                i != d and m != n for i, (m, n) in enumerate(zip(t.shape, tensors[0].shape))):
            raise ShapeError(f"cat: shapes {tensors[0].shape} and {t.shape} differ outside "
                             f"dim {d}; all tensors must match except in the cat dimension")
    return _mv.Cat.apply(*tensors, dim=d)


def stack(tensors, dim=0) -> Tensor:
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: all tensors must have the same shape, got "
                             f"{tensors[0].shape} and {t.shape}")
    d = normalize_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(d) for t in tensors], dim=d)


def split(t: Tensor, split_size_or_sections, dim=0) -> tuple:
    d = normalize_dim(dim, t.ndim, "split")
    n = t.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} sum to {sum(sizes)}, but dim {d} has size {n}")
    out, start = [], 0
    for size in sizes:
        index = (slice(None),) * d + (slice(start, start + size),)
        out.append(t[index])
        start += size
    return tuple(out)


def chunk(t: Tensor, chunks: int, dim=0) -> tuple:
    d = normalize_dim(dim, t.ndim, "chunk")
    step = -(-t.shape[d] // chunks)
    return split(t, max(step, 1), d)


# The primitive ops import Tensor and Function from this module, so they are imported last.
from .ops import elementwise as _ew  # noqa: E402
from .ops import matmul as _mm  # noqa: E402
from .ops import movement as _mv  # noqa: E402
from .ops import reduce as _red  # noqa: E402
from .ops import softmax as _sm  # noqa: E402
