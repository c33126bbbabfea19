"""Elementwise primitive ops: each forward formula with its derivative right below it.

`forward` works on NumPy arrays; `backward(g)` returns dL/d(input) = g · ∂out/∂input written
with Tensor ops, so it can be differentiated again.  Binary ops broadcast (NumPy rules); the
engine sums each gradient back to its input's shape (autograd.sum_to_shape).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..tensor import Function, ShapeError, Tensor, as_tensor, constant, promote_operands, where


def check_broadcast(op: str, *shapes) -> tuple:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        joined = " and ".join(str(tuple(s)) for s in shapes)
        raise ShapeError(f"{op}: shapes {joined} cannot be broadcast together "
                         "(trailing dimensions must be equal or 1)") from None


def binary_operands(a, b, op: str):
    """Both operands as Tensors of the op's result dtype: PyTorch's type promotion
    (tensor.result_type; `div` of integers gives float32).  Shapes that cannot be broadcast
    are reported by Function.apply as a ShapeError naming the op."""
    if isinstance(b, Tensor):                              # the common cases first:
        if isinstance(a, Tensor):
            dtype = a.data.dtype
            if dtype is b.data.dtype and (op != "div" or dtype.kind == "f"):
                return a, b                                # same dtype
        elif type(a) is float and b.data.dtype.kind == "f":
            return constant(a, b.data.dtype), b            # 0.5 * x
    elif type(b) is float and isinstance(a, Tensor) and a.data.dtype.kind == "f":
        return a, constant(b, a.data.dtype)                # x * 0.5
    return promote_operands(a, b, true_division=(op == "div"))


def comparison_operands(a, b):
    """Operands of ==, <, ...: Tensors, a number taking the tensor's dtype where it fits.
    No casts (the result is a bool tensor without a graph, compared exactly by NumPy)."""
    if not isinstance(a, Tensor):
        a = as_tensor(a, like=b)
    elif not isinstance(b, Tensor):
        b = as_tensor(b, like=a)
    return a, b


# --- arithmetic ------------------------------------------------------------------------
class Add(Function):
    name = "add"

    def forward(self, a, b):
        return a + b                      # out = a + b

    def backward(self, g):
        return g, g                       # ∂out/∂a = 1, ∂out/∂b = 1


class Sub(Function):
    name = "sub"

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    name = "mul"

    def forward(self, a, b):
        return a * b                      # out = a · b

    def backward(self, g):
        a, b = self.inputs                # ∂out/∂a = b, ∂out/∂b = a
        return (g * b if self.needs_input_grad[0] else None,
                g * a if self.needs_input_grad[1] else None)


class Div(Function):
    name = "div"

    def forward(self, a, b):
        return a / b                      # out = a / b

    def backward(self, g):
        a, b = self.inputs                # ∂out/∂a = 1/b, ∂out/∂b = -a/b²
        return (g / b if self.needs_input_grad[0] else None,
                -g * a / (b * b) if self.needs_input_grad[1] else None)


class Neg(Function):
    name = "neg"

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class PowScalar(Function):
    name = "pow"

    def forward(self, a, exponent):
        self.exponent = exponent          # out = a^c for a constant c
        return a ** np.asarray(exponent, dtype=a.dtype)

    def backward(self, g):
        (a,) = self.inputs                # ∂out/∂a = c · a^(c-1)
        c = self.exponent
        if c == 0:
            return g * 0.0
        if c == 1:
            return g
        if c == 2:
            return g * a * 2.0
        return g * (a ** (c - 1)) * c


class Pow(Function):
    name = "pow"
    saves_output = True

    def forward(self, a, b):
        return a ** b                     # out = a^b, both tensors

    def backward(self, g):
        a, b = self.inputs
        ga = gb = None
        if self.needs_input_grad[0]:      # ∂out/∂a = b · a^(b-1)
            ga = g * b * a ** (b - 1.0)
        if self.needs_input_grad[1]:      # ∂out/∂b = a^b · ln a  (0 where a = 0 and b >= 0)
            zero_base = Tensor((a.data == 0) & (b.data >= 0))
            safe_a = where(zero_base, Tensor(np.ones((), a.dtype)), a)
            gb = where(zero_base, Tensor(np.zeros((), g.dtype)), g * self.output() * safe_a.log())
        return ga, gb


# --- unary math ------------------------------------------------------------------------
class Exp(Function):
    name = "exp"
    saves_output = True

    def forward(self, a):
        return np.exp(a)                  # out = eˣ

    def backward(self, g):
        return g * self.output()          # ∂out/∂x = eˣ = out


class Log(Function):
    name = "log"

    def forward(self, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)              # out = ln x

    def backward(self, g):
        return g / self.inputs[0]         # ∂out/∂x = 1/x


class Sqrt(Function):
    name = "sqrt"
    saves_output = True

    def forward(self, a):
        with np.errstate(invalid="ignore"):
            return np.sqrt(a)             # out = √x

    def backward(self, g):
        return g / (self.output() * 2.0)  # ∂out/∂x = 1 / (2√x)


class Tanh(Function):
    name = "tanh"
    saves_output = True

    def forward(self, a):
        return np.tanh(a)

    def backward(self, g):
        y = self.output()                 # ∂tanh(x)/∂x = 1 - tanh²(x)
        return g * (1.0 - y * y)


class Sigmoid(Function):
    name = "sigmoid"
    saves_output = True

    def forward(self, a):
        return special.expit(a)           # σ(x) = 1 / (1 + e^(-x)), overflow-safe

    def backward(self, g):
        y = self.output()                 # ∂σ/∂x = σ(x)(1 - σ(x))
        return g * y * (1.0 - y)


class Relu(Function):
    name = "relu"

    def forward(self, a):
        return np.maximum(a, 0).astype(a.dtype, copy=False)   # max(x, 0)

    def backward(self, g):
        return g * Tensor(self.inputs[0].data > 0).to(g.dtype)  # 1 where x > 0, else 0


class Abs(Function):
    name = "abs"

    def forward(self, a):
        return np.abs(a)

    def backward(self, g):
        return g * Tensor(np.sign(self.inputs[0].data))       # sign(x) (0 at the kink)


class Erf(Function):
    name = "erf"

    def forward(self, a):
        return special.erf(a).astype(a.dtype, copy=False)     # erf(x) = 2/√π ∫₀ˣ e^(-t²) dt

    def backward(self, g):
        x = self.inputs[0]                # ∂erf/∂x = 2/√π · e^(-x²)
        return g * (-(x * x)).exp() * (2.0 / math.sqrt(math.pi))


class Sin(Function):
    name = "sin"

    def forward(self, a):
        return np.sin(a)

    def backward(self, g):
        return g * self.inputs[0].cos()


class Cos(Function):
    name = "cos"

    def forward(self, a):
        return np.cos(a)

    def backward(self, g):
        return -g * self.inputs[0].sin()


class Clamp(Function):
    name = "clamp"

    def forward(self, a, lo, hi):
        self.lo, self.hi = lo, hi
        return np.clip(a, lo, hi).astype(a.dtype, copy=False)

    def backward(self, g):
        x = self.inputs[0].data           # gradient passes where lo <= x <= hi (as PyTorch)
        inside = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return g * Tensor(inside).to(g.dtype)


class Maximum(Function):
    name = "maximum"

    def forward(self, a, b):
        return np.maximum(a, b)

    def backward(self, g):
        a, b = self.inputs                # the larger input gets g; a tie splits it in half
        share_a = (a.data > b.data) + 0.5 * (a.data == b.data)
        return (g * Tensor(share_a.astype(g.dtype)) if self.needs_input_grad[0] else None,
                g * Tensor((1.0 - share_a).astype(g.dtype)) if self.needs_input_grad[1] else None)


class Minimum(Function):
    name = "minimum"

    def forward(self, a, b):
        return np.minimum(a, b)

    def backward(self, g):
        a, b = self.inputs
        share_a = (a.data < b.data) + 0.5 * (a.data == b.data)
        return (g * Tensor(share_a.astype(g.dtype)) if self.needs_input_grad[0] else None,
                g * Tensor((1.0 - share_a).astype(g.dtype)) if self.needs_input_grad[1] else None)


class Where(Function):
    name = "where"

    def forward(self, x, y, condition):
        self.condition = condition        # out = x where condition else y
        return np.where(condition, x, y)

    def backward(self, g):
        zero = Tensor(np.zeros((), dtype=g.dtype))
        cond = Tensor(self.condition)
        return (where(cond, g, zero) if self.needs_input_grad[0] else None,
                where(cond, zero, g) if self.needs_input_grad[1] else None)


class Cast(Function):
    name = "cast"

    def forward(self, a, dtype):
        self.in_dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        if self.in_dtype.kind != "f":
            return None
        return g.to(self.in_dtype)


class Identity(Function):
    name = "clone"

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g
