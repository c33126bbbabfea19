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

Result dtypes follow PyTorch's type promotion (`result_type` below).  Dtypes come in three
categories, bool < integer < floating; operands are weighed in three priority levels:

    tensors with dims  >  0-dim tensors  >  numbers (Python or NumPy scalars)

A lower level changes the result only when its category is higher, and a number of a higher
category brings the *default* dtype of its category, not its own width:

    int64 tensor / 2, * 1.5, + 1.0          -> float32   (the default float dtype)
    int64 tensor / int64 tensor             -> float32   (/ is true division)
    float32 tensor * 2.5, + np.float64(1)   -> float32   (a number never widens a tensor)
    float32 tensor + float64 0-dim tensor   -> float32   (a 0-dim tensor does not either)
    int64 tensor + float64 0-dim tensor     -> float64   (a higher category does)
    float32 tensor + float64 tensor         -> float64
    int64 tensor + float32 tensor           -> float32   (NumPy would say float64)
    bool tensor + 1                         -> int64,    int32 tensor + 1 -> int32

A NumPy array is the tensor `mg.as_tensor(array)` makes, with its own dtype and dims (as
if PyTorch met `torch.from_numpy(array)`): float32 tensor + float64 array with dims ->
float64; + a 0-dim float64 array -> float32.  (PyTorch itself hands `tensor + ndarray` to
NumPy, whose own promotion applies; it agrees for arrays with dims of the tensor's category,
and differs for 0-dim arrays and for int tensor * float32 array, where NumPy says float64.)
Float math on integers (exp, log, sqrt, sin, tanh, ...) gives float32.

In-place ops (`+=`, `add_`, `mul_`, `clamp_`, `copy_`, `t[i] = v`, ...) write into `.data` and
keep the tensor's dtype; a result of a higher category (int tensor /= 2, += 1.5) is an error,
as in PyTorch.  Every in-place op bumps the tensor's `_version`; a node that recorded a
tensor which was changed afterwards refuses to run its backward (see autograd.py).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import autograd
from . import random as _random
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
    saves_output = False   # True where backward reads the output (exp, tanh, softmax, ...):
                           # changing that output in place then makes backward refuse
    released = False       # True once a backward without retain_graph ran this node: it has
    inputs = needs_input_grad = ()   # dropped its inputs and saved values (autograd.py)

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
            node.stamp = _mode.version_clock   # in-place ops after this one show up as newer
            if _mode.scope is not None:        # mg.viz.record_scopes(): the modules that made it
                node.scope = _mode.scope
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


def constant(x, dtype) -> "Tensor":
    """A 0-dim tensor of `dtype` holding the number x, made without the general constructor
    (x * 0.5 makes one for every op)."""
    out = Tensor.__new__(Tensor)
    out.data, out.grad, out._node, out.name, out.requires_grad = (
        np.asarray(x, dtype=dtype), None, None, None, False)
    return out


def as_tensor(x, like: "Tensor | None" = None) -> "Tensor":
    """A Tensor as is; a Python number becomes a constant of `like`'s dtype (if floating)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and type(x) is float and like.data.dtype.kind == "f":  # the common case
        return constant(x, like.data.dtype)
    if like is not None and not isinstance(x, np.ndarray):
        kind = like.dtype.kind
        if kind == "f" or (isinstance(x, (bool, int, np.integer)) and kind in "iub"):
            if not (kind == "b" and not isinstance(x, (bool, np.bool_))):
                return Tensor(np.asarray(x, dtype=like.dtype))
    return Tensor(_to_array(x))


# ----------------------------------------------------------------------------------------
# Type promotion (PyTorch's rules; the table is in the module docstring)
# ----------------------------------------------------------------------------------------
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}   # bool < integer < floating


def _is_number(x) -> bool:
    """A Python or NumPy scalar: the lowest priority level of type promotion."""
    return isinstance(x, (bool, int, float, np.generic))


def _number_dtype(x) -> np.dtype:
    """The dtype a number brings: the default one of its category (float -> float32)."""
    if isinstance(x, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(x, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(x, (float, np.floating)):
        return DEFAULT_DTYPE
    raise TypeError(f"unsupported operand of type {type(x).__name__} (expected a tensor, an "
                    "array or a real number)")


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """The smallest dtype of the higher category that holds both (torch.promote_types):
    int64 with float16 -> float16, int32 with int64 -> int64, bool with int8 -> int8."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher, lower):
    """A lower priority level changes the result only when its category is higher."""
    if higher is None:
        return lower
    if lower is None or _CATEGORY[higher.kind] >= _CATEGORY[lower.kind]:
        return higher
    return promote_types(higher, lower)


def result_type(*operands) -> np.dtype:
    """The dtype of an elementwise op on `operands` (tensors, arrays, numbers), as PyTorch:
    tensors with dims, then 0-dim tensors, then numbers (see the module docstring)."""
    levels = [None, None, None]   # with dims, 0-dim, numbers
    for x in operands:
        if x is None:
            continue
        if isinstance(x, Tensor):
            level, dtype = (0 if x.data.ndim else 1), x.data.dtype
        elif isinstance(x, np.ndarray):
            level, dtype = (0 if x.ndim else 1), x.dtype
        elif _is_number(x):
            level, dtype = 2, _number_dtype(x)
        else:
            arr = _to_array(x)    # a nested list: the tensor mg.tensor would make
            level, dtype = (0 if arr.ndim else 1), arr.dtype
        levels[level] = dtype if levels[level] is None else promote_types(levels[level], dtype)
    out = _combine(levels[0], _combine(levels[1], levels[2]))
    if out is None:
        raise TypeError("result_type: no operands")
    return out


def can_cast(src: np.dtype, dst: np.dtype) -> bool:
    """May an in-place op write a `src` result into a `dst` tensor?  Not to a lower category
    (float -> int, int -> bool), as in PyTorch; any width within a category is fine."""
    return _CATEGORY[src.kind] <= _CATEGORY[dst.kind]


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
# Devices: the CPU is the one device (tensors are NumPy arrays in host memory)
# ----------------------------------------------------------------------------------------
_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "hpu", "mtia")
_ONE_DEVICE = ("{who}: minigrad tensors live in host memory, so 'cpu' is the one device. The "
               "cuda backend (mg.set_backend('cuda')) runs the kernels on the GPU while tensors "
               "stay on the host, so nothing has to be moved to '{dev}': use 'cpu' or leave the "
               "device out")


class device:
    """A device, as torch.device: `mg.device("cpu")` prints as device(type='cpu').  Any of
    PyTorch's device names can be written down, but only the CPU can hold a tensor."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        text = str(type)
        if ":" in text:
            text, _, number = text.partition(":")
            index = int(number)
        if text not in _DEVICE_TYPES:
            raise ValueError(f"unknown device {type!r}: expected one of {', '.join(_DEVICE_TYPES)}"
                             " (minigrad tensors use 'cpu')")
        self.type, self.index = text, index

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


_CPU = device("cpu")


def _as_device(x):
    """A device from a device or a device string, or None when `x` names no device."""
    if isinstance(x, device):
        return x
    if isinstance(x, str) and x.partition(":")[0] in _DEVICE_TYPES:
        return device(x)
    return None


def parse_to_args(who: str, args: tuple, kwargs: dict):
    """(device, dtype, copy) from the arguments of PyTorch's `to`: (dtype), (device),
    (device, dtype), (other tensor), device=, dtype=, copy=, non_blocking= (ignored).
    Refuses every device but the CPU."""
    kwargs = dict(kwargs)
    dev, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"{who}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    args = list(args)
    if len(args) > 2:
        raise TypeError(f"{who}() takes at most 2 positional arguments (device, dtype), "
                        f"got {len(args)}")
    if args and isinstance(args[0], Tensor):
        other = args.pop(0)
        dev, dtype = other.device, other.dtype
    elif args and _as_device(args[0]) is not None:
        dev = args.pop(0)
    if args:
        dtype = args.pop(0)
    if args:
        raise TypeError(f"{who}(): {args[0]!r} is not a dtype (expected {who}(device, dtype))")
    return check_device(dev, who), (None if dtype is None else _as_dtype(dtype)), copy


def check_device(dev, who: str):
    """The device `dev` names (None stays None); any device but the CPU is refused, saying why."""
    if dev is None:
        return None
    d = _as_device(dev)
    if d is None:
        raise ValueError(f"{who}(): {dev!r} is not a device (minigrad tensors use 'cpu')")
    if d.type != "cpu":
        raise RuntimeError(_ONE_DEVICE.format(who=f"{who}({str(d)!r})", dev=str(d)))
    return d


# ----------------------------------------------------------------------------------------
# The Tensor
# ----------------------------------------------------------------------------------------
class Tensor:
    """An n-dimensional array that can record the ops applied to it (see module docstring).

    `.grad` accumulates as in PyTorch: each `backward()` *adds* into it, so clear it with
    `zero_grad()` (or `t.grad = None`) between optimisation steps.
    """

    # _base (the tensor whose memory a view shares), _version_count and _modified_at are set
    # by view ops and in-place ops only, and read with getattr(..., default) (see _bump_version)
    __slots__ = ("data", "requires_grad", "grad", "_node", "name", "_base", "_version_count",
                 "_modified_at", "__weakref__", "__dict__")
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
    def device(self) -> "device":
        """Where the tensor's memory is: always the CPU (`device(type='cpu')`); the cuda backend
        runs kernels on a GPU but tensors stay in host memory."""
        return _CPU

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

    def register_post_accumulate_grad_hook(self, hook):
        """Call hook(self) each backward, once this leaf's gradient of that pass is complete in
        `.grad` (as PyTorch's; DistributedDataParallel starts its all-reduce from it).
        Returns a handle whose .remove() takes the hook off (autograd.py)."""
        return autograd.register_post_accumulate_grad_hook(self, hook)

    def detach(self) -> "Tensor":
        """The same data, cut off from the graph (no gradient flows through it).  It shares
        memory, and so the version counter, with self (an in-place change shows in both)."""
        out = Tensor(self.data)
        out._base = _owner(self)
        return out

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False):
        """Compute d(self)/d(leaf) for every leaf and *add* it into `leaf.grad`.

        The nodes it runs drop what they saved for backward (memory freed at once), so a
        second backward through the same graph is an error unless the first one was given
        `retain_graph=True` (the default is `create_graph`), as in PyTorch."""
        autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def zero_grad(self):
        self.grad = None

    def retain_grad(self):
        raise NotImplementedError("retain_grad is not supported; use mg.grad(out, [t])")

    # --- in-place ops, with PyTorch's rules ---------------------------------------------
    # An in-place op writes into .data and returns self (so `p -= lr * p.grad` changes p).
    #   * Under no_grad (an optimizer step, initialisation) it is one NumPy operation.
    #   * While the graph is recorded, a leaf that requires grad refuses (PyTorch's error);
    #     any other tensor records the op as its out-of-place form would, then takes the new
    #     node as its own: self._node is the op, whose input is self's old graph position.
    #   * The result keeps self's dtype and shape; a result of a higher category (an int
    #     tensor /= 2) is an error, as in PyTorch.
    #   * Every in-place op bumps self's version (_bump_version): a node that recorded self
    #     before the change refuses to backward rather than use the changed value.
    @property
    def _version(self) -> int:
        """How many in-place ops have changed this tensor's memory (shared with its views)."""
        return getattr(_owner(self), "_version_count", 0)

    def _begin_inplace(self, op: str, *others, recordable: bool = True) -> bool:
        """True when in-place `op` must be recorded in the graph; raise where it may not be."""
        if not _mode.grad_enabled or not (self.requires_grad or any(
                isinstance(o, Tensor) and o.requires_grad for o in others)):
            return False
        if self._node is None and self.requires_grad:
            raise RuntimeError(
                f"a leaf Variable that requires grad is being used in an in-place operation "
                f"({op}). Change a parameter inside `with mg.no_grad():`, as an optimizer step "
                f"does, or build a new tensor instead ({_OUT_OF_PLACE[op]})")
        if not recordable:
            raise RuntimeError(
                f"{op}: the tensor is part of the graph (it requires grad), and minigrad does not "
                f"record {op} in the graph; run it under `with mg.no_grad():` or build a new "
                "tensor (mg.zeros_like, mg.full_like, ...)")
        if getattr(self, "_base", None) is not None:
            raise RuntimeError(
                f"{op}: this tensor is a view of another one (made by reshape, indexing, "
                "permute, expand or detach) and the graph is being recorded; minigrad records "
                "in-place ops on whole tensors only. Use the out-of-place form "
                "(y = y + x instead of y += x), or .clone() the view first")
        return True

    def _alias(self, copy: bool) -> "Tensor":
        """Self's value and place in the graph before an in-place op, as a separate Tensor: the
        input of the node the op records.  copy=True where that node's backward reads it."""
        old = Tensor.__new__(Tensor)
        old.data = self.data.copy() if copy else self.data
        old.grad, old.name, old.requires_grad, old._node = None, None, self.requires_grad, self._node
        return old

    def _commit(self, op: str, new: "Tensor") -> "Tensor":
        """Finish a recorded in-place op: `new` (its out-of-place result) goes into self's
        memory, and self becomes the output of new's node."""
        if new.data.dtype != self.data.dtype:
            new = new._to_dtype(self.data.dtype)
        if new.data.shape != self.data.shape:
            raise ShapeError(f"{op}: the result has shape {new.shape}, but an in-place op "
                             f"cannot change the tensor's shape {self.shape}")
        _bump_version(self)
        np.copyto(self.data, new.data)
        node = new._node
        if node is not None:
            node.out_data = self.data     # the node's output is self's memory from now on
        self._node, self.requires_grad = node, new.requires_grad
        return self

    def _write_error(self, op: str, other_shape) -> Exception:
        if not self.data.flags.writeable:
            return RuntimeError(f"{op}: this tensor's memory is read-only (an expand() or "
                                "broadcast view); .clone() it first")
        try:
            shape = np.broadcast_shapes(self.shape, tuple(other_shape))
        except ValueError:
            return ShapeError(f"{op}: shapes {self.shape} and {tuple(other_shape)} cannot be "
                              "broadcast together (trailing dimensions must be equal or 1)")
        return ShapeError(f"{op}: the result would have shape {shape}, but an in-place op "
                          f"cannot change the tensor's shape {self.shape}")

    def _inplace_arith(self, other, op: str, kind: str) -> "Tensor":
        """self ∘= other for ∘ in add, sub, mul, div (kind), as PyTorch's add_, sub_, ..."""
        if not (isinstance(other, Tensor) or _is_number(other)):
            other = Tensor(_to_array(other))
        dtype = result_type(self, other)
        if kind == "div" and dtype.kind != "f":
            dtype = DEFAULT_DTYPE                          # / is true division
        if not can_cast(dtype, self.data.dtype):
            raise RuntimeError(
                f"{op}: result type {dtype} can't be cast to the desired output type "
                f"{self.dtype}: an in-place op keeps the tensor's dtype. Use the out-of-place "
                "form (x = x / y gives a float tensor), or convert first (x = x.float())")
        if self._begin_inplace(op, other):
            # mul and div read self's old value for the gradient of `other`
            keep_old = kind in ("mul", "div") and isinstance(other, Tensor) and other.requires_grad
            op_class = {"add": _ew.Add, "sub": _ew.Sub, "mul": _ew.Mul, "div": _ew.Div}[kind]
            new = op_class.apply(*_ew.binary_operands(self._alias(keep_old), other, kind))
            return self._commit(op, new)
        arr = other.data if isinstance(other, Tensor) else other
        if isinstance(arr, np.ndarray) and arr.dtype != dtype:
            arr = arr.astype(dtype)                        # compute in the promoted dtype
        ufunc = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}[kind]
        try:
            ufunc(self.data, arr, out=self.data, casting="unsafe")
        except ValueError:
            raise self._write_error(op, np.shape(arr)) from None
        _bump_version(self)
        return self

    def add_(self, other, alpha=1) -> "Tensor":
        """self += alpha · other, in place."""
        return self._inplace_arith(other if alpha == 1 else _times(other, alpha), "add_", "add")

    def sub_(self, other, alpha=1) -> "Tensor":
        """self -= alpha · other, in place."""
        return self._inplace_arith(other if alpha == 1 else _times(other, alpha), "sub_", "sub")

    def mul_(self, other) -> "Tensor":
        return self._inplace_arith(other, "mul_", "mul")

    def div_(self, other) -> "Tensor":
        return self._inplace_arith(other, "div_", "div")

    def __iadd__(self, other):
        return self._inplace_arith(other, "+=", "add")

    def __isub__(self, other):
        return self._inplace_arith(other, "-=", "sub")

    def __imul__(self, other):
        return self._inplace_arith(other, "*=", "mul")

    def __itruediv__(self, other):
        return self._inplace_arith(other, "/=", "div")

    def clamp_(self, min=None, max=None) -> "Tensor":
        """Clamp in place to [min, max] (either may be None)."""
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        dtype = result_type(self, min, max)
        if not can_cast(dtype, self.data.dtype):
            raise RuntimeError(f"clamp_: result type {dtype} can't be cast to the desired "
                               f"output type {self.dtype}: use integer bounds, or clamp "
                               "out of place (x = x.clamp(...))")
        if self._begin_inplace("clamp_"):
            new = _ew.Clamp.apply(self._alias(copy=True), lo=min, hi=max)   # reads old values
            return self._commit("clamp_", new)
        np.clip(self.data, min, max, out=self.data)
        _bump_version(self)
        return self

    def copy_(self, src) -> "Tensor":
        """Copy `src` (broadcast to self's shape, cast to self's dtype) into self."""
        src_shape = np.shape(src.data if isinstance(src, Tensor) else src)
        try:
            if np.broadcast_shapes(src_shape, self.shape) != self.shape:
                raise ValueError
        except ValueError:
            raise ShapeError(f"copy_: cannot copy a tensor of shape {tuple(src_shape)} into one "
                             f"of shape {self.shape}") from None
        if self._begin_inplace("copy_", src):
            src = src if isinstance(src, Tensor) else Tensor(_to_array(src))
            new = src._to_dtype(self.data.dtype)
            if new.shape != self.shape:
                new = new.expand(self.shape)
            if new is src:
                new = new.clone()                          # a node of its own
            return self._commit("copy_", new)
        np.copyto(self.data, np.broadcast_to(_to_array(src), self.shape), casting="unsafe")
        _bump_version(self)
        return self

    def __setitem__(self, index, value):
        index = _index_arrays(index, self.shape)
        if self._begin_inplace("__setitem__", value):
            v = value if isinstance(value, Tensor) else Tensor(np.asarray(value, self.dtype))
            new = _mv.SetItem.apply(self._alias(copy=False), v._to_dtype(self.data.dtype),
                                    index=index)
            self._commit("__setitem__", new)
            return
        if not self.data.flags.writeable:
            raise self._write_error("__setitem__", ())
        _mv.setitem_array(self.data, index, value.data if isinstance(value, Tensor) else value)
        _bump_version(self)

    def fill_(self, value) -> "Tensor":
        return self._fill("fill_", value)

    def zero_(self) -> "Tensor":
        return self._fill("zero_", 0)

    def _fill(self, op, value):
        self._begin_inplace(op, recordable=False)
        self.data.fill(value.item() if isinstance(value, Tensor) else value)
        _bump_version(self)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None) -> "Tensor":
        """Fill with samples of U(a, b) from minigrad's generator (seeded by mg.manual_seed),
        or from `generator`, a np.random.Generator."""
        return self._sample("uniform_", lambda gen: gen.uniform(a, b, self.shape), generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None) -> "Tensor":
        """Fill with samples of N(mean, std²) (see uniform_ for `generator`)."""
        return self._sample("normal_", lambda gen: gen.normal(mean, std, self.shape), generator)

    def _sample(self, op, draw, generator):
        if self.data.dtype.kind != "f":
            raise TypeError(f"{op}: needs a floating-point tensor, this one is {self.dtype}")
        self._begin_inplace(op, recordable=False)
        np.copyto(self.data, draw(generator if generator is not None else _random.generator()),
                  casting="unsafe")
        _bump_version(self)
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
            base = self
            if self.data.dtype.kind != "f":      # int ** 0.5 -> float32, int ** 2 -> int
                base = self._to_dtype(result_type(self, exponent))
            return _ew.PowScalar.apply(base, exponent=float(exponent))
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
        return _ew.Exp.apply(_floating(self))

    def log(self):
        return _ew.Log.apply(_floating(self))

    def sqrt(self):
        return _ew.Sqrt.apply(_floating(self))

    def rsqrt(self):
        return self.sqrt().reciprocal()

    def reciprocal(self):
        return 1.0 / self

    def tanh(self):
        return _ew.Tanh.apply(_floating(self))

    def sigmoid(self):
        return _ew.Sigmoid.apply(_floating(self))

    def relu(self):
        return _ew.Relu.apply(self)

    def abs(self):
        return _ew.Abs.apply(self)

    def erf(self):
        return _ew.Erf.apply(_floating(self))

    def sin(self):
        return _ew.Sin.apply(_floating(self))

    def cos(self):
        return _ew.Cos.apply(_floating(self))

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
        """Where `mask` is True put `value`, elsewhere keep self (value gets no gradient).
        The result has self's dtype, as in PyTorch."""
        mask = as_tensor(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype}")
        value = value.data if isinstance(value, Tensor) else value
        return where(mask, Tensor(np.asarray(value, dtype=self.data.dtype)), self)

    def to(self, *args, **kwargs):
        """A tensor of another dtype, as PyTorch's `to`: t.to(dtype), t.to("cpu"),
        t.to("cpu", dtype), t.to(device="cpu", dtype=...), t.to(other_tensor); copy=True
        always copies.  Self when nothing changes.  The CPU is minigrad's one device."""
        _, dtype, copy = parse_to_args("to", args, kwargs)
        out = self if dtype is None else self._to_dtype(dtype)
        return out.clone() if copy and out is self else out

    def _to_dtype(self, dtype):
        dtype = _as_dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind != "f":  # integers and bools carry no gradient
            return Tensor(self.data.astype(dtype))
        return _ew.Cast.apply(self, dtype=dtype)

    type = astype = to

    def cpu(self):
        """Self: tensors are always in host memory."""
        return self

    def cuda(self, *args, **kwargs):
        raise RuntimeError(_ONE_DEVICE.format(who="cuda()", dev="cuda"))

    def float(self):
        return self._to_dtype(np.float32)

    def double(self):
        return self._to_dtype(np.float64)

    def long(self):
        return self._to_dtype(np.int64)

    def int(self):
        return self._to_dtype(np.int32)

    def bool(self):
        return self._to_dtype(np.bool_)

    def clone(self):
        return _ew.Identity.apply(self)

    def contiguous(self):
        return self

    # --- comparisons: results are bool tensors with no gradient ------------------------
    def _compare(self, other, fn, op):
        a, b = _ew.comparison_operands(self, other)
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

    def any(self, dim=None, keepdim=False, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("any", numpy_names)
        return Tensor(np.any(self.data, axis=normalize_dims(dim, self.ndim, "any"), keepdims=keepdim))

    def all(self, dim=None, keepdim=False, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("all", numpy_names)
        return Tensor(np.all(self.data, axis=normalize_dims(dim, self.ndim, "all"), keepdims=keepdim))

    # --- reductions (ops/reduce.py), composed ones below ----------------------------------
    def sum(self, dim=None, keepdim=False, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("sum", numpy_names)
        return _red.Sum.apply(self, dims=normalize_dims(dim, self.ndim, "sum"), keepdim=keepdim)

    def mean(self, dim=None, keepdim=False, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("mean", numpy_names)
        dims = normalize_dims(dim, self.ndim, "mean")
        count = self.data.size if dims is None else int(np.prod([self.shape[d] for d in dims]))
        return self.sum(dims, keepdim) * (1.0 / max(count, 1))

    def var(self, dim=None, keepdim=False, correction=1, unbiased=None, **numpy_names):
        """Variance; `correction=1` (Bessel's, PyTorch's default) divides by N - 1."""
        if numpy_names:
            _refuse_numpy_names("var", numpy_names)
        if unbiased is not None:
            correction = 1 if unbiased else 0
        dims = normalize_dims(dim, self.ndim, "var")
        count = self.data.size if dims is None else int(np.prod([self.shape[d] for d in dims]))
        centered = self - self.mean(dims, keepdim=True)
        return (centered * centered).sum(dims, keepdim) * (1.0 / max(count - correction, 1))

    def std(self, dim=None, keepdim=False, correction=1, unbiased=None, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("std", numpy_names)
        return self.var(dim, keepdim, correction, unbiased).sqrt()

    def amax(self, dim=None, keepdim=False, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("amax", numpy_names)
        return _red.Max.apply(self, dims=normalize_dims(dim, self.ndim, "amax"), keepdim=keepdim)

    def amin(self, dim=None, keepdim=False, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("amin", numpy_names)
        return -((-self).amax(dim, keepdim))

    def max(self, dim=None, keepdim=False, **numpy_names):
        """Without `dim`: the largest element.  With `dim`: (values, indices), as in PyTorch."""
        if numpy_names:
            _refuse_numpy_names("max", numpy_names)
        if dim is None:
            return self.amax()
        return MaxResult(self.amax(dim, keepdim), self.argmax(dim, keepdim))

    def min(self, dim=None, keepdim=False, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("min", numpy_names)
        if dim is None:
            return self.amin()
        return MaxResult(self.amin(dim, keepdim), self.argmin(dim, keepdim))

    def argmax(self, dim=None, keepdim=False, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("argmax", numpy_names)
        if dim is None:
            return Tensor(np.asarray(np.argmax(self.data), dtype=np.int64))
        d = normalize_dim(dim, self.ndim, "argmax")
        return Tensor(np.argmax(self.data, axis=d, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim=None, keepdim=False, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("argmin", numpy_names)
        return (-self).argmax(dim, keepdim)

    def logsumexp(self, dim=None, keepdim=False, **numpy_names):
        """log Σ exp(x), computed as m + log Σ exp(x - m) with m the (constant) max: no overflow."""
        if numpy_names:
            _refuse_numpy_names("logsumexp", numpy_names)
        dims = normalize_dims(dim, self.ndim, "logsumexp")
        m = Tensor(np.max(self.data, axis=dims, keepdims=True))
        m.data[~np.isfinite(m.data)] = 0.0
        out = (self - m).exp().sum(dims, keepdim=True).log() + m
        return out if keepdim else out.reshape(_reduced_shape(self.shape, dims))

    def softmax(self, dim=-1, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("softmax", numpy_names)
        return _sm.Softmax.apply(_floating(self), dim=normalize_dim(dim, self.ndim, "softmax"))

    def log_softmax(self, dim=-1, **numpy_names):
        if numpy_names:
            _refuse_numpy_names("log_softmax", numpy_names)
        return _sm.LogSoftmax.apply(_floating(self), dim=normalize_dim(dim, self.ndim, "log_softmax"))

    # --- shape and movement (ops/movement.py) ---------------------------------------------
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if shape == self.shape:
            return self
        return _view(_mv.Reshape.apply(self, shape=_mv.infer_shape(self.shape, shape, "reshape")),
                     self)

    view = reshape

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise ShapeError(f"permute: got {len(dims)} dims {dims} for a tensor of shape {self.shape}")
        dims = tuple(normalize_dim(d, self.ndim, "permute") for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of 0..{self.ndim - 1}")
        return _view(_mv.Permute.apply(self, dims=dims), self)

    def transpose(self, dim0, dim1):
        d0, d1 = normalize_dim(dim0, self.ndim, "transpose"), normalize_dim(dim1, self.ndim, "transpose")
        dims = list(range(self.ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return _view(_mv.Permute.apply(self, dims=tuple(dims)), self)

    def expand(self, *shape):
        shape = _mv.expand_shape(self.shape, _shape_arg(shape))
        return self if shape == self.shape else _view(_mv.Expand.apply(self, shape=shape), self)

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
        return _view(_mv.GetItem.apply(self, index=_index_arrays(index, self.shape)), self)

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
# What to write instead of an in-place op that may not run (named in the leaf error)
_OUT_OF_PLACE = {
    "+=": "x = x + y", "add_": "x = x + y", "-=": "x = x - y", "sub_": "x = x - y",
    "*=": "x = x * y", "mul_": "x = x * y", "/=": "x = x / y", "div_": "x = x / y",
    "clamp_": "x = x.clamp(lo, hi)", "copy_": "x = y.clone()", "fill_": "mg.full_like(x, v)",
    "zero_": "mg.zeros_like(x)", "__setitem__": "x = mg.where(mask, v, x)",
    "uniform_": "a + (b - a) * mg.rand_like(x)", "normal_": "mean + std * mg.randn_like(x)",
}


def _owner(t: Tensor) -> Tensor:
    """The tensor whose memory `t` uses: `t` itself, or the base of a view (or detach)."""
    base = getattr(t, "_base", None)
    return t if base is None else base


def _view(out: Tensor, src: Tensor) -> Tensor:
    """Mark `out` as a view of `src` when its array shares src's memory (NumPy made a view,
    not a copy), so an in-place change of either bumps one version counter (as PyTorch)."""
    base = out.data.base
    if out is not src and base is not None and (base is src.data or base is src.data.base):
        out._base = _owner(src)
    return out


def _bump_version(t: Tensor) -> None:
    """Note an in-place change of t's memory.  The clock orders it after every node recorded
    so far; a node whose input (or saved output) changed after its own stamp refuses to
    backward (autograd.check_saved_versions)."""
    clock = _mode.version_clock = _mode.version_clock + 1
    owner = _owner(t)
    owner._version_count = getattr(owner, "_version_count", 0) + 1
    owner._modified_at = clock
    for node in (t._node, owner._node):       # their outputs are this memory
        if node is not None and not node.released:
            node.output_modified_at = clock


def _floating(t: Tensor) -> Tensor:
    """Float math (exp, log, sin, ...) on an integer or bool tensor runs in float32, as PyTorch."""
    return t if t.data.dtype.kind == "f" else t._to_dtype(DEFAULT_DTYPE)


def _times(x, alpha):
    """x · alpha for add_/sub_'s alpha, x a tensor, an array, a number or a list."""
    if isinstance(x, (Tensor, np.ndarray)) or _is_number(x):
        return x * alpha
    return Tensor(_to_array(x)) * alpha


def _refuse_numpy_names(op: str, kwargs: dict):
    """NumPy's axis= and keepdims= are PyTorch's dim= and keepdim=: say so, naming the op."""
    for numpy_name, torch_name in (("axis", "dim"), ("keepdims", "keepdim")):
        if numpy_name in kwargs:
            raise TypeError(f"{op}() got an unexpected keyword '{numpy_name}': minigrad follows "
                            f"PyTorch and calls it {torch_name}: use "
                            f"{op}({torch_name}={kwargs[numpy_name]!r})")
    raise TypeError(f"{op}() got an unexpected keyword argument '{next(iter(kwargs))}'")


def promote_operands(a, b, true_division: bool = False):
    """`a` and `b` as Tensors of their result dtype (result_type; with true_division an
    integer result becomes the default float dtype).  A Tensor of another dtype is cast
    with a differentiable Cast node; numbers and arrays become constants."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        dtype = a.data.dtype
        if dtype == b.data.dtype and (dtype.kind == "f" or not true_division):
            return a, b                                     # the common case: nothing to do
    dtype = result_type(a, b)
    if true_division and dtype.kind != "f":
        dtype = DEFAULT_DTYPE
    return _operand(a, dtype), _operand(b, dtype)


def _operand(x, dtype):
    if isinstance(x, Tensor):
        return x if x.data.dtype == dtype else x._to_dtype(dtype)
    return Tensor(_to_array(x, dtype))


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
    x, y = promote_operands(x, y)
    _ew.check_broadcast("where", condition.shape, x.shape, y.shape)
    return _ew.Where.apply(x, y, condition=condition.data)


def cat(tensors, dim=0, **numpy_names) -> Tensor:
    if numpy_names:
        _refuse_numpy_names("cat", numpy_names)
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


def stack(tensors, dim=0, **numpy_names) -> Tensor:
    if numpy_names:
        _refuse_numpy_names("stack", numpy_names)
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
