"""Checks for lesson 1: tensors and autograd (§2.1 深度学习).  Stubs: lessons/01_autograd/."""
from __future__ import annotations

import numpy as np

from .. import autograd
from ..gradcheck import GradcheckError, gradcheck, gradgradcheck
from ..tensor import Tensor
from .core import CheckFailed, Lesson, assert_close, forbid, get, require, to_array

LESSON = Lesson(1, "01_autograd", "Tensors and autograd", "§2.1 深度学习")


@LESSON.task("1.1", "numerical gradient by central differences",
             hint="(f(x + ε·eᵢ) - f(x - ε·eᵢ)) / (2ε) for each entry i, both sides of x; "
                  "put x[i] back afterwards")
def check_numerical_gradient(ex):
    numerical_gradient = get(ex, "numerical_gradient")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    before = x.copy()
    f = lambda a: float(np.sum(np.sin(a) * a))                    # noqa: E731
    exact = np.sin(x) + x * np.cos(x)                             # d/dx (x sin x)
    g = numerical_gradient(f, x)
    require(np.array_equal(x, before), "numerical_gradient changed its input x (restore every "
                                       "entry you perturb, or work on a copy)")
    # central differences: error ~ ε²·f''' ≈ 1e-12; the one-sided formula's ≈ ε·f'' ≈ 1e-6
    assert_close(g, exact, "numerical_gradient of Σ x·sin(x)", atol=1e-8, rtol=0)
    y = rng.standard_normal(5)
    assert_close(numerical_gradient(lambda a: float(np.sum(a ** 3)), y), 3 * y ** 2,
                 "numerical_gradient of Σ x³ (1-D input)", atol=1e-8, rtol=0)
    big = rng.standard_normal((2, 2)) * 3
    assert_close(numerical_gradient(lambda a: float(np.exp(a).sum()), big, eps=1e-5),
                 np.exp(big), "numerical_gradient with eps=1e-5 (use the eps you are given)",
                 atol=1e-7, rtol=1e-8)


@LESSON.task("1.2", "a Function subclass: sigmoid forward + backward",
             hint="forward: 1 / (1 + np.exp(-a)); backward: y = self.output(), return "
                  "g * y * (1 - y) with Tensor ops (no .data, no NumPy) so it can be "
                  "differentiated again")
def check_sigmoid(ex):
    Sigmoid = get(ex, "Sigmoid")
    require(isinstance(Sigmoid, type), "Sigmoid must be a class (a Function subclass)")
    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64):
        x = Tensor(rng.standard_normal((4, 5)).astype(dtype) * 3)
        y = Sigmoid.apply(x)
        require(isinstance(y, Tensor), "Sigmoid.apply(x) must give a Tensor (forward returns an "
                                       "ndarray; Function.apply wraps it)")
        assert_close(y, 1.0 / (1.0 + np.exp(-x.data.astype(np.float64))), f"forward ({dtype.__name__})")
        require(y.dtype == dtype, f"forward turned a {dtype.__name__} input into {y.dtype}: keep "
                                  "the input's dtype")
    with forbid(Tensor, "sigmoid", "compute σ'(x) from self.output(), not with Tensor.sigmoid"):
        x = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
        try:
            gradcheck(lambda t: Sigmoid.apply(t), [x])
        except GradcheckError as e:
            raise CheckFailed(f"backward disagrees with finite differences: {e}") from None
        x.grad = None
        (Sigmoid.apply(x) * Tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
        s = 1.0 / (1.0 + np.exp(-x.data))
        assert_close(x.grad, np.arange(12.0).reshape(3, 4) * s * (1 - s),
                     "x.grad after (Sigmoid.apply(x) * w).sum().backward()", atol=1e-10)
        # second derivative: σ'' = σ(1 - σ)(1 - 2σ), through the graph of your backward
        (g,) = autograd.grad(Sigmoid.apply(x).sum(), x, create_graph=True)
        require(g.requires_grad, "the gradient from your backward has no graph, so it cannot be "
                                 "differentiated again: build it from Tensor ops (g, self.output()), "
                                 "not from NumPy arrays (.data)")
        (h,) = autograd.grad(g.sum(), x)
        assert_close(h, s * (1 - s) * (1 - 2 * s), "the second derivative of Sigmoid", atol=1e-10)
        try:
            gradgradcheck(lambda t: Sigmoid.apply(t), [x])
        except (GradcheckError, RuntimeError) as e:
            raise CheckFailed(f"the second derivative is wrong: {e}") from None


@LESSON.task("1.3", "broadcasting's gradient: sum back to the input's shape",
             hint="np.sum over the leading extra dims, then over the dims where shape has 1 "
                  "(keepdims=True), then reshape(shape)")
def check_sum_to_shape(ex):
    sum_to_shape = get(ex, "sum_to_shape")
    rng = np.random.default_rng(3)
    cases = [((2, 3, 4), (3, 1)), ((5, 4), (4,)), ((5, 4), (1, 4)), ((2, 3, 4), ()),
             ((3, 4), (3, 4)), ((2, 1, 4), (1, 1, 4)), ((6, 2, 3, 1), (2, 1, 1))]
    for big, small in cases:
        g = rng.standard_normal(big)
        expected = autograd.sum_to_shape(Tensor(g), small).data
        out = to_array(sum_to_shape(g.copy(), small), f"sum_to_shape(grad of shape {big}, {small})")
        assert_close(out, expected, f"sum_to_shape(grad of shape {big}, {small})", atol=1e-12)
    # it is what the engine does for x (3, 1) + y (2, 3, 4)
    x = Tensor(rng.standard_normal((3, 1)), requires_grad=True)
    y = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = rng.standard_normal((2, 3, 4))
    ((x + y) * Tensor(w)).sum().backward()
    assert_close(sum_to_shape(w, (3, 1)), x.grad, "the gradient of x in (x + y)·w", atol=1e-12)


@LESSON.task("1.4", "a Hessian-vector product (double backward)",
             hint="(g,) = mg.grad(f(x), x, create_graph=True); then "
                  "mg.grad((g * v).sum(), x)")
def check_hvp(ex):
    hvp = get(ex, "hvp")
    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal(5), requires_grad=True)
    v = Tensor(rng.standard_normal(5))
    # f = Σ x³ + (Σ x²)²:  H = diag(6x) + 4(Σx²) I + 8 x xᵀ
    f = lambda t: (t ** 3).sum() + (t * t).sum() * (t * t).sum()  # noqa: E731
    xd, vd = x.data, v.data
    exact = 6 * xd * vd + 4 * (xd @ xd) * vd + 8 * xd * (xd @ vd)
    out = hvp(f, x, v)
    assert_close(out, exact, "hvp for f(x) = Σx³ + (Σx²)²", atol=1e-10, rtol=1e-10)
    require(x.grad is None, "hvp changed x.grad: use mg.grad, which returns gradients without "
                            "accumulating them into .grad")
    # a second function, with a matrix input: f = Σ tanh(x) · x
    X = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    V = Tensor(rng.standard_normal((2, 3)))
    t = np.tanh(X.data)
    d1, d2 = 1 - t ** 2, -2 * t * (1 - t ** 2)                        # tanh', tanh''
    exact = (2 * d1 + X.data * d2) * V.data                           # the Hessian is diagonal
    assert_close(hvp(lambda a: (a.tanh() * a).sum(), X, V), exact,
                 "hvp for f(X) = Σ tanh(X)·X (X of shape (2, 3))", atol=1e-10, rtol=1e-10)
