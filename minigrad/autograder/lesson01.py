"""Checks for lesson 1: tensors and autograd (§2.1 深度学习).  Stubs: lessons/01_autograd/."""
from __future__ import annotations

import numpy as np

from .. import autograd
from ..tensor import Tensor
from .core import (Lesson, assert_close, compare_arrays, forbid, get, is_tensor, require,
                   to_array, type_name)
from .probes import second_derivative, student_gradients

LESSON = Lesson(1, "01_autograd", "Tensors and autograd", "§2.1 深度学习")


@LESSON.task("1.1", "numerical gradient by central differences",
             nudge="Lesson 1's notebook, part 4 (gradient checks): the central difference steps "
                   "to both sides of x, one entry at a time, and divides by the whole width 2ε; "
                   "its error is O(ε²), the one-sided difference's only O(ε). np.ndindex walks "
                   "every index of an array of any shape.")
def check_numerical_gradient(ex):
    numerical_gradient = get(ex, "numerical_gradient")
    rng = np.random.default_rng(1)
    before = rng.standard_normal((3, 4))
    exact = np.sin(before) + before * np.cos(before)             # d/dx (x sin x)
    x = ex.keep(before)                                          # x stays in the student's process
    g = numerical_gradient(_sum_x_sin_x, x)
    x = ex.fetch(x)                                              # and now holds what was left in it
    require(np.array_equal(x, before), "numerical_gradient leaves its input x as it was",
            f"x changed: {compare_arrays(x, before, atol=0, rtol=0)}",
            nudge="put back every entry you perturb (or perturb a copy)")
    # central differences: error ~ ε²·f''' ≈ 1e-12; the one-sided formula's ≈ ε·f'' ≈ 1e-6
    assert_close(g, exact, "numerical_gradient of Σ x·sin(x), against the exact derivative",
                 atol=1e-8, rtol=0,
                 nudge="an error near 1e-6 is the one-sided difference's O(ε); the check needs O(ε²)")
    y = rng.standard_normal(5)
    assert_close(numerical_gradient(_sum_cubes, y), 3 * y ** 2,
                 "numerical_gradient of Σ x³ (1-D input)", atol=1e-8, rtol=0)
    big = rng.standard_normal((2, 2)) * 3
    assert_close(numerical_gradient(_sum_exp, big, eps=1e-5),
                 np.exp(big), "numerical_gradient of Σ exp(x) with eps=1e-5",
                 atol=1e-7, rtol=1e-8, nudge="use the eps you are given, not a step of your own")


# the functions numerical_gradient is given (sent by name: they run in the student's process)
def _sum_x_sin_x(a):
    return float(np.sum(np.sin(a) * a))


def _sum_cubes(a):
    return float(np.sum(a ** 3))


def _sum_exp(a):
    return float(np.exp(a).sum())


@LESSON.task("1.2", "a Function subclass: sigmoid forward + backward",
             nudge="Lesson 1's notebook, parts 3 (the graph) and 5 (second derivatives): forward "
                   "works on ndarrays; backward gets g as a Tensor and must return g·σ'(x) built "
                   "from Tensors only, so that autograd can differentiate it again. σ'(x) = "
                   "σ(x)(1 − σ(x)), and self.output() is σ(x) as a Tensor in the graph. "
                   "`python -m minigrad.autograder.lesson01 --graph` draws the graph your Sigmoid "
                   "builds, before and after backward().")
def check_sigmoid(ex):
    get(ex, "Sigmoid")
    kind, its_type = ex.kind("Sigmoid")
    require(kind == "class", "Sigmoid is a class (a Function subclass)", f"it is a {its_type}")
    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64):
        x = Tensor(rng.standard_normal((4, 5)).astype(dtype) * 3)
        y = ex.Sigmoid.apply(x)
        require(is_tensor(y), "Sigmoid.apply(x) gives a Tensor",
                f"it gave a {type_name(y)}",
                nudge="forward returns an ndarray; Function.apply wraps it in a Tensor")
        assert_close(y, 1.0 / (1.0 + np.exp(-x.data.astype(np.float64))),
                     f"forward of a {dtype.__name__} (4, 5) input")
        require(y.dtype == dtype, f"forward keeps a {dtype.__name__} input's dtype",
                f"your output is {y.dtype}, expected {np.dtype(dtype)}",
                nudge="NumPy widens float32 when it meets a float64 array; a Python float does not")
    with forbid(Tensor, "sigmoid", "compute σ'(x) from self.output(), not with Tensor.sigmoid"):
        x = rng.standard_normal((3, 4))
        s = 1.0 / (1.0 + np.exp(-x))
        w = rng.standard_normal((3, 4))
        (gx,) = student_gradients(ex, "Sigmoid.apply", [Tensor(x, requires_grad=True)], w,
                                  "Sigmoid.apply(x)")
        assert_close(gx, w * s * (1 - s),
                     "x.grad after (Sigmoid.apply(x) * w).sum().backward(), against the exact "
                     "gradient w·σ(x)(1 − σ(x))", atol=1e-10,
                     nudge="backward multiplies the incoming gradient g by σ'(x): the chain rule")
        # second derivative: σ'' = σ(1 - σ)(1 - 2σ), through the graph of your backward
        u = rng.standard_normal((3, 4))
        seen = ex.run(second_derivative, "Sigmoid.apply", Tensor(x, requires_grad=True), u)
        require(seen["differentiable"], "the gradient from your backward can be differentiated again",
                "mg.grad(..., create_graph=True) gave a gradient with no graph "
                "(requires_grad=False)",
                nudge="a backward that escapes to NumPy arrays (.data) leaves the graph; build it "
                      "from Tensor ops on g and self.output()")
        assert_close(seen["first"], s * (1 - s), "the gradient of Sigmoid.apply(x).sum() with "
                     "create_graph=True", atol=1e-10)
        assert_close(seen["second"], u * s * (1 - s) * (1 - 2 * s),
                     "the second derivative of Sigmoid (the gradient of Σ u·σ'(x))", atol=1e-10)


@LESSON.task("1.3", "broadcasting's gradient: sum back to the input's shape",
             nudge="Lesson 1's notebook, part 6 (broadcasting's gradient): an input used once per "
                   "copy gets the sum of the copies' gradients. Broadcasting adds dims in front "
                   "and stretches dims of size 1; undo both by summing (np.sum's axis and "
                   "keepdims), then make the shape exact.")
def check_sum_to_shape(ex):
    sum_to_shape = get(ex, "sum_to_shape")
    rng = np.random.default_rng(3)
    cases = [((2, 3, 4), (3, 1)), ((5, 4), (4,)), ((5, 4), (1, 4)), ((2, 3, 4), ()),
             ((3, 4), (3, 4)), ((2, 1, 4), (1, 1, 4)), ((6, 2, 3, 1), (2, 1, 1))]
    for big, small in cases:
        g = rng.standard_normal(big)
        expected = autograd.sum_to_shape(Tensor(g), small).data
        what = f"sum_to_shape(grad of shape {big}, {small})"
        assert_close(to_array(sum_to_shape(g.copy(), small), what), expected, what, atol=1e-12)
    # it is what the engine does for x (3, 1) + y (2, 3, 4)
    x = Tensor(rng.standard_normal((3, 1)), requires_grad=True)
    y = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = rng.standard_normal((2, 3, 4))
    ((x + y) * Tensor(w)).sum().backward()
    assert_close(sum_to_shape(w, (3, 1)), x.grad,
                 "the gradient of x (3, 1) in (x + y (2, 3, 4))·w", atol=1e-12)


@LESSON.task("1.4", "a Hessian-vector product (double backward)",
             nudge="Lesson 1's notebook, part 5 (second derivatives): a gradient computed with "
                   "create_graph=True is itself a function of x, so it can be differentiated "
                   "again. H·v is the gradient of the scalar g·v (g = ∇f), because H is "
                   "symmetric. mg.grad returns gradients without touching x.grad.")
def check_hvp(ex):
    hvp = get(ex, "hvp")
    rng = np.random.default_rng(4)
    xd, vd = rng.standard_normal(5), rng.standard_normal(5)
    x = ex.keep(Tensor(xd, requires_grad=True))          # kept there, to see its .grad after
    # f = Σ x³ + (Σ x²)²:  H = diag(6x) + 4(Σx²) I + 8 x xᵀ
    exact = 6 * xd * vd + 4 * (xd @ xd) * vd + 8 * xd * (xd @ vd)
    out = hvp(_cubes_plus_square_of_squares, x, Tensor(vd))
    assert_close(out, exact, "hvp for f(x) = Σx³ + (Σx²)²", atol=1e-10, rtol=1e-10,
                 nudge="finite differences of gradients are not exact to 1e-10: differentiate twice")
    x = ex.fetch(x)
    require(x.grad is None, "hvp leaves x.grad untouched",
            f"x.grad now holds a gradient of shape {getattr(x.grad, 'shape', None)}, expected None",
            nudge="mg.grad returns the gradients; .backward() accumulates them into .grad")
    # a second function, with a matrix input: f = Σ tanh(x) · x
    X = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    V = Tensor(rng.standard_normal((2, 3)))
    t = np.tanh(X.data)
    d1, d2 = 1 - t ** 2, -2 * t * (1 - t ** 2)                        # tanh', tanh''
    exact = (2 * d1 + X.data * d2) * V.data                           # the Hessian is diagonal
    assert_close(hvp(_sum_tanh_times_x, X, V), exact,
                 "hvp for f(X) = Σ tanh(X)·X (X of shape (2, 3))", atol=1e-10, rtol=1e-10)


# the functions hvp is given (sent by name: they run in the student's process)
def _cubes_plus_square_of_squares(t):
    return (t ** 3).sum() + (t * t).sum() * (t * t).sum()


def _sum_tanh_times_x(a):
    return (a.tanh() * a).sum()


# ----------------------------------------------------------------------------------------
# The graph of an expression built with the student's Sigmoid, before and after backward():
#     python -m minigrad.autograder.lesson01 --graph [--file exercises.py] [--out page.html]
# Not a check: nothing here is graded.  The graph is captured in the student's process (a
# probe, as the checks use) and comes back as plain data, which is drawn here (mg.viz), so the
# page holds no markup from the student's process.
# ----------------------------------------------------------------------------------------
def neuron_graph(student) -> dict:
    """In the student's process: y = Sigmoid(w·x + b), L = (y − 1)²; the graph of L as data
    (minigrad.viz.graph_view.to_data) before and after L.backward(), and what went wrong, if
    anything ({"before", "after", "error"})."""
    from .. import creation
    from ..viz import graph_view as viz_graph

    x = creation.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w = creation.tensor(np.array([1.5, 0.5, -1.0]), requires_grad=True)
    b = creation.tensor(np.array(0.25), requires_grad=True)
    x.name, w.name, b.name = "x", "w", "b"
    z = (w * x).sum() + b
    z.name = "z = w·x + b"
    seen = {"before": None, "after": None, "error": None}
    try:
        y = student.Sigmoid.apply(z)
    except Exception as e:  # noqa: BLE001  (the student's forward)
        seen["before"] = viz_graph.to_data(viz_graph.capture(z))
        seen["error"] = f"Sigmoid.apply(z) raised {type(e).__name__}: {str(e)[:200]}"
        return seen
    if not isinstance(y, Tensor) or not y.requires_grad:
        seen["before"] = viz_graph.to_data(viz_graph.capture(z))
        seen["error"] = "Sigmoid.apply(z) did not give a Tensor in the graph"
        return seen
    y.name = "y = Sigmoid(z)"
    L = (y - 1.0) ** 2
    L.name = "L = (y − 1)²"
    structure = viz_graph.capture(L)
    seen["before"] = viz_graph.to_data(structure)
    try:
        L.backward()
    except Exception as e:  # noqa: BLE001  (the student's backward)
        seen["error"] = f"L.backward() raised {type(e).__name__}: {str(e)[:200]}"
        return seen
    seen["after"] = viz_graph.to_data(structure)
    return seen


def graph_page(seen: dict, path: str) -> str:
    """The page of neuron_graph's report (drawn here, from checked data)."""
    import html as _html

    from ..viz.graph_view import GraphView, from_data

    parts = []
    for key, title in (("before", "before backward()"), ("after", "after backward(): each leaf's .grad")):
        data = seen.get(key) if isinstance(seen, dict) else None
        if data is None:
            continue
        parts.append(f"<h3>{_html.escape(title)}</h3>" + GraphView(from_data(data)).svg())
    error = seen.get("error") if isinstance(seen, dict) else None
    if error:
        parts.append(f'<p style="color:#b3261e">{_html.escape(str(error)[:400])}</p>')
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>lesson 1: the graph of your '
            'Sigmoid</title></head><body style="font-family:system-ui,sans-serif">'
            f"<h2>y = Sigmoid(w·x + b), L = (y − 1)², with your Sigmoid ({_html.escape(path)})</h2>"
            "<p>#k: the order backward() runs the ops (#1 first); your op is the one named "
            "my_sigmoid. After backward() the leaves x, w and b hold their .grad: work one out "
            "by the chain rule (∂L/∂b = 2(y − 1)·σ'(z)) and compare.</p>"
            + "".join(parts) + "</body></html>\n")


def main(argv=None) -> int:
    """`python -m minigrad.autograder.lesson01 --graph [--file F] [--out PAGE]`."""
    import argparse
    from pathlib import Path

    from . import find_exercises
    from .isolation import (ImportFailed, Refused, StudentGarbled, StudentGone, StudentProcess,
                            StudentRaised, StudentTimeout)

    p = argparse.ArgumentParser(prog="python -m minigrad.autograder.lesson01",
                                description="draw the graph of an expression built with your Sigmoid "
                                            "(task 1.2), before and after backward(); nothing is graded")
    p.add_argument("--graph", action="store_true", required=True, help="draw the graph")
    p.add_argument("--file", default=None, help="your exercises file (default: lessons/01_autograd/exercises.py)")
    p.add_argument("--out", default="lesson01_graph.html", help="the page to write")
    args = p.parse_args(argv)
    path = Path(args.file) if args.file else find_exercises(LESSON)
    if not path.is_file():
        print(f"no such file: {path}")
        return 2
    with StudentProcess(path) as student:
        try:
            student.start()
            student.begin_task(30.0)
            seen = student.exercises.run(neuron_graph)
        except (ImportFailed, Refused, StudentGarbled, StudentGone, StudentRaised, StudentTimeout) as e:
            print(f"could not draw the graph: {e}")
            return 1
    try:
        page = graph_page(seen, str(path))
    except ValueError as e:
        print(f"could not draw the graph: {e}")
        return 1
    from ..viz.graph_view import _write_atomic
    _write_atomic(args.out, page)
    print(f"wrote {args.out}" + (f"  ({seen['error']})" if isinstance(seen, dict) and seen.get("error") else ""))
    return 0


if __name__ == "__main__":
    import sys

    from minigrad.autograder.lesson01 import main as _main   # the module itself, not __main__
    sys.exit(_main())
