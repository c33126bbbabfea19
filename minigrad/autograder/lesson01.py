"""Checks for lesson 1: tensors and autograd (§2.1 深度学习).  Stubs: lessons/01_autograd/."""
from __future__ import annotations

import numpy as np

from .. import autograd
from ..i18n import Text, language, set_language, tr
from ..tensor import Tensor
from .core import (Lesson, assert_close, compare_arrays, forbid, get, is_tensor, require,
                   to_array, type_name)
from .probes import second_derivative, student_gradients

LESSON = Lesson(1, "01_autograd", Text("Tensors and autograd", "张量与自动微分"), "§2.1 深度学习")


@LESSON.task("1.1", Text("numerical gradient by central differences", "用中心差分求数值梯度"),
             nudge=Text("Lesson 1's notebook, part 4 (gradient checks): the central difference steps "
                        "to both sides of x, one entry at a time, and divides by the whole width 2ε; "
                        "its error is O(ε²), the one-sided difference's only O(ε). np.ndindex walks "
                        "every index of an array of any shape.",
                        "第 1 课笔记本第 4 部分（梯度检验）：中心差分每次只改动 x 的一个元素，向两侧各走一步，"
                        "再除以整个宽度 2ε；它的误差是 O(ε²)，而单侧差分只有 O(ε)。np.ndindex 可以遍历"
                        "任意形状数组的每个下标。"))
def check_numerical_gradient(ex):
    numerical_gradient = get(ex, "numerical_gradient")
    rng = np.random.default_rng(1)
    before = rng.standard_normal((3, 4))
    exact = np.sin(before) + before * np.cos(before)             # d/dx (x sin x)
    x = ex.keep(before)                                          # x stays in the student's process
    g = numerical_gradient(_sum_x_sin_x, x)
    x = ex.fetch(x)                                              # and now holds what was left in it
    require(np.array_equal(x, before),
            tr("numerical_gradient leaves its input x as it was", "numerical_gradient 不改变输入 x"),
            tr("x changed: ", "x 被改变了：") + compare_arrays(x, before, atol=0, rtol=0),
            nudge=tr("put back every entry you perturb (or perturb a copy)",
                     "扰动过的每个元素都要恢复原值（或者扰动一份副本）"))
    # central differences: error ~ ε²·f''' ≈ 1e-12; the one-sided formula's ≈ ε·f'' ≈ 1e-6
    assert_close(g, exact, tr("numerical_gradient of Σ x·sin(x), against the exact derivative",
                              "Σ x·sin(x) 的 numerical_gradient，与精确导数比较"),
                 atol=1e-8, rtol=0,
                 nudge=tr("an error near 1e-6 is the one-sided difference's O(ε); the check needs O(ε²)",
                          "1e-6 左右的误差是单侧差分的 O(ε)；这项检查要求 O(ε²)"))
    y = rng.standard_normal(5)
    assert_close(numerical_gradient(_sum_cubes, y), 3 * y ** 2,
                 tr("numerical_gradient of Σ x³ (1-D input)", "Σ x³ 的 numerical_gradient（一维输入）"),
                 atol=1e-8, rtol=0)
    big = rng.standard_normal((2, 2)) * 3
    assert_close(numerical_gradient(_sum_exp, big, eps=1e-5),
                 np.exp(big), tr("numerical_gradient of Σ exp(x) with eps=1e-5",
                                 "eps=1e-5 时 Σ exp(x) 的 numerical_gradient"),
                 atol=1e-7, rtol=1e-8, nudge=tr("use the eps you are given, not a step of your own",
                                                "用传入的 eps，不要用自己定的步长"))


# the functions numerical_gradient is given (sent by name: they run in the student's process)
def _sum_x_sin_x(a):
    return float(np.sum(np.sin(a) * a))


def _sum_cubes(a):
    return float(np.sum(a ** 3))


def _sum_exp(a):
    return float(np.exp(a).sum())


@LESSON.task("1.2", Text("a Function subclass: sigmoid forward + backward",
                         "Function 子类：sigmoid 的前向与反向传播"),
             nudge=Text("Lesson 1's notebook, parts 3 (the graph) and 5 (second derivatives): forward "
                        "works on ndarrays; backward gets g as a Tensor and must return g·σ'(x) built "
                        "from Tensors only, so that autograd can differentiate it again. σ'(x) = "
                        "σ(x)(1 − σ(x)), and self.output() is σ(x) as a Tensor in the graph. "
                        "`python -m minigrad.autograder.lesson01 --graph` draws the graph your Sigmoid "
                        "builds, before and after backward().",
                        "第 1 课笔记本第 3 部分（计算图）和第 5 部分（二阶导数）：forward 处理 ndarray；"
                        "backward 收到的 g 是 Tensor，必须只用 Tensor 运算构造并返回 g·σ'(x)，这样自动微分"
                        "才能再对它求导。σ'(x) = σ(x)(1 − σ(x))，而 self.output() 就是计算图中作为 Tensor 的 "
                        "σ(x)。`python -m minigrad.autograder.lesson01 --graph` 会画出你的 Sigmoid 构建的"
                        "计算图（backward() 之前和之后）。"))
def check_sigmoid(ex):
    get(ex, "Sigmoid")
    kind, its_type = ex.kind("Sigmoid")
    require(kind == "class", tr("Sigmoid is a class (a Function subclass)",
                                "Sigmoid 是一个类（Function 的子类）"),
            tr(f"it is a {its_type}", f"它是 {its_type}"))
    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64):
        x = Tensor(rng.standard_normal((4, 5)).astype(dtype) * 3)
        y = ex.Sigmoid.apply(x)
        require(is_tensor(y), tr("Sigmoid.apply(x) gives a Tensor", "Sigmoid.apply(x) 返回 Tensor"),
                tr(f"it gave a {type_name(y)}", f"它返回了 {type_name(y)}"),
                nudge=tr("forward returns an ndarray; Function.apply wraps it in a Tensor",
                         "forward 返回 ndarray；Function.apply 会把它包装成 Tensor"))
        assert_close(y, 1.0 / (1.0 + np.exp(-x.data.astype(np.float64))),
                     tr(f"forward of a {dtype.__name__} (4, 5) input",
                        f"{dtype.__name__} 的 (4, 5) 输入的前向结果"))
        require(y.dtype == dtype, tr(f"forward keeps a {dtype.__name__} input's dtype",
                                     f"forward 保持 {dtype.__name__} 输入的 dtype"),
                tr(f"your output is {y.dtype}, expected {np.dtype(dtype)}",
                   f"你的输出是 {y.dtype}，应为 {np.dtype(dtype)}"),
                nudge=tr("NumPy widens float32 when it meets a float64 array; a Python float does not",
                         "float32 遇到 float64 数组时 NumPy 会把它提升为 float64；Python 的 float 则不会"))
    with forbid(Tensor, "sigmoid", tr("compute σ'(x) from self.output(), not with Tensor.sigmoid",
                                      "用 self.output() 计算 σ'(x)，不要用 Tensor.sigmoid")):
        x = rng.standard_normal((3, 4))
        s = 1.0 / (1.0 + np.exp(-x))
        w = rng.standard_normal((3, 4))
        (gx,) = student_gradients(ex, "Sigmoid.apply", [Tensor(x, requires_grad=True)], w,
                                  "Sigmoid.apply(x)")
        assert_close(gx, w * s * (1 - s),
                     tr("x.grad after (Sigmoid.apply(x) * w).sum().backward(), against the exact "
                        "gradient w·σ(x)(1 − σ(x))",
                        "(Sigmoid.apply(x) * w).sum().backward() 之后的 x.grad，与精确梯度 "
                        "w·σ(x)(1 − σ(x)) 比较"), atol=1e-10,
                     nudge=tr("backward multiplies the incoming gradient g by σ'(x): the chain rule",
                              "backward 把传入的梯度 g 乘以 σ'(x)：这就是链式法则"))
        # second derivative: σ'' = σ(1 - σ)(1 - 2σ), through the graph of your backward
        u = rng.standard_normal((3, 4))
        seen = ex.run(second_derivative, "Sigmoid.apply", Tensor(x, requires_grad=True), u)
        require(seen["differentiable"], tr("the gradient from your backward can be differentiated again",
                                           "你的 backward 给出的梯度可以再求导"),
                tr("mg.grad(..., create_graph=True) gave a gradient with no graph "
                   "(requires_grad=False)",
                   "mg.grad(..., create_graph=True) 给出的梯度没有计算图（requires_grad=False）"),
                nudge=tr("a backward that escapes to NumPy arrays (.data) leaves the graph; build it "
                         "from Tensor ops on g and self.output()",
                         "backward 一旦转到 NumPy 数组（.data）就离开了计算图；请用 g 和 self.output() "
                         "上的 Tensor 运算来构造它"))
        assert_close(seen["first"], s * (1 - s),
                     tr("the gradient of Sigmoid.apply(x).sum() with create_graph=True",
                        "create_graph=True 时 Sigmoid.apply(x).sum() 的梯度"), atol=1e-10)
        assert_close(seen["second"], u * s * (1 - s) * (1 - 2 * s),
                     tr("the second derivative of Sigmoid (the gradient of Σ u·σ'(x))",
                        "Sigmoid 的二阶导数（Σ u·σ'(x) 的梯度）"), atol=1e-10)


@LESSON.task("1.3", Text("broadcasting's gradient: sum back to the input's shape",
                         "广播的梯度：求和还原为输入的形状"),
             nudge=Text("Lesson 1's notebook, part 6 (broadcasting's gradient): an input used once per "
                        "copy gets the sum of the copies' gradients. Broadcasting adds dims in front "
                        "and stretches dims of size 1; undo both by summing (np.sum's axis and "
                        "keepdims), then make the shape exact.",
                        "第 1 课笔记本第 6 部分（广播的梯度）：一个输入被复制了几份，它的梯度就是各份梯度之和。"
                        "广播会在前面添加维度，并拉伸大小为 1 的维度；用求和（np.sum 的 axis 和 keepdims）"
                        "把这两步都撤销，再把形状调整到完全一致。"))
def check_sum_to_shape(ex):
    sum_to_shape = get(ex, "sum_to_shape")
    rng = np.random.default_rng(3)
    cases = [((2, 3, 4), (3, 1)), ((5, 4), (4,)), ((5, 4), (1, 4)), ((2, 3, 4), ()),
             ((3, 4), (3, 4)), ((2, 1, 4), (1, 1, 4)), ((6, 2, 3, 1), (2, 1, 1))]
    for big, small in cases:
        g = rng.standard_normal(big)
        expected = autograd.sum_to_shape(Tensor(g), small).data
        what = tr(f"sum_to_shape(grad of shape {big}, {small})",
                  f"sum_to_shape(形状为 {big} 的梯度, {small})")
        assert_close(to_array(sum_to_shape(g.copy(), small), what), expected, what, atol=1e-12)
    # it is what the engine does for x (3, 1) + y (2, 3, 4)
    x = Tensor(rng.standard_normal((3, 1)), requires_grad=True)
    y = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = rng.standard_normal((2, 3, 4))
    ((x + y) * Tensor(w)).sum().backward()
    assert_close(sum_to_shape(w, (3, 1)), x.grad,
                 tr("the gradient of x (3, 1) in (x + y (2, 3, 4))·w",
                    "(x + y (2, 3, 4))·w 中 x (3, 1) 的梯度"), atol=1e-12)


@LESSON.task("1.4", Text("a Hessian-vector product (double backward)",
                         "黑塞矩阵-向量积（二阶反向传播）"),
             nudge=Text("Lesson 1's notebook, part 5 (second derivatives): a gradient computed with "
                        "create_graph=True is itself a function of x, so it can be differentiated "
                        "again. H·v is the gradient of the scalar g·v (g = ∇f), because H is "
                        "symmetric. mg.grad returns gradients without touching x.grad.",
                        "第 1 课笔记本第 5 部分（二阶导数）：用 create_graph=True 求出的梯度本身也是 x 的"
                        "函数，因此可以再求导。因为 H 是对称矩阵，H·v 就是标量 g·v（g = ∇f）的梯度。"
                        "mg.grad 返回梯度，不会改动 x.grad。"))
def check_hvp(ex):
    hvp = get(ex, "hvp")
    rng = np.random.default_rng(4)
    xd, vd = rng.standard_normal(5), rng.standard_normal(5)
    x = ex.keep(Tensor(xd, requires_grad=True))          # kept there, to see its .grad after
    # f = Σ x³ + (Σ x²)²:  H = diag(6x) + 4(Σx²) I + 8 x xᵀ
    exact = 6 * xd * vd + 4 * (xd @ xd) * vd + 8 * xd * (xd @ vd)
    out = hvp(_cubes_plus_square_of_squares, x, Tensor(vd))
    assert_close(out, exact, tr("hvp for f(x) = Σx³ + (Σx²)²", "f(x) = Σx³ + (Σx²)² 的 hvp"),
                 atol=1e-10, rtol=1e-10,
                 nudge=tr("finite differences of gradients are not exact to 1e-10: differentiate twice",
                          "对梯度做有限差分达不到 1e-10 的精度：请求两次导数"))
    x = ex.fetch(x)
    shape = getattr(x.grad, 'shape', None)
    require(x.grad is None, tr("hvp leaves x.grad untouched", "hvp 不改动 x.grad"),
            tr(f"x.grad now holds a gradient of shape {shape}, expected None",
               f"x.grad 现在存着形状为 {shape} 的梯度，应为 None"),
            nudge=tr("mg.grad returns the gradients; .backward() accumulates them into .grad",
                     "mg.grad 返回梯度；.backward() 则把梯度累加到 .grad 里"))
    # a second function, with a matrix input: f = Σ tanh(x) · x
    X = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    V = Tensor(rng.standard_normal((2, 3)))
    t = np.tanh(X.data)
    d1, d2 = 1 - t ** 2, -2 * t * (1 - t ** 2)                        # tanh', tanh''
    exact = (2 * d1 + X.data * d2) * V.data                           # the Hessian is diagonal
    assert_close(hvp(_sum_tanh_times_x, X, V), exact,
                 tr("hvp for f(X) = Σ tanh(X)·X (X of shape (2, 3))",
                    "f(X) = Σ tanh(X)·X 的 hvp（X 的形状为 (2, 3)）"), atol=1e-10, rtol=1e-10)


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
        seen["error"] = tr(f"Sigmoid.apply(z) raised {type(e).__name__}: {str(e)[:200]}",
                           f"Sigmoid.apply(z) 抛出了 {type(e).__name__}：{str(e)[:200]}")
        return seen
    if not isinstance(y, Tensor) or not y.requires_grad:
        seen["before"] = viz_graph.to_data(viz_graph.capture(z))
        seen["error"] = tr("Sigmoid.apply(z) did not give a Tensor in the graph",
                           "Sigmoid.apply(z) 没有返回计算图中的 Tensor")
        return seen
    y.name = "y = Sigmoid(z)"
    L = (y - 1.0) ** 2
    L.name = "L = (y − 1)²"
    structure = viz_graph.capture(L)
    seen["before"] = viz_graph.to_data(structure)
    try:
        L.backward()
    except Exception as e:  # noqa: BLE001  (the student's backward)
        seen["error"] = tr(f"L.backward() raised {type(e).__name__}: {str(e)[:200]}",
                           f"L.backward() 抛出了 {type(e).__name__}：{str(e)[:200]}")
        return seen
    seen["after"] = viz_graph.to_data(structure)
    return seen


def graph_page(seen: dict, path: str) -> str:
    """The page of neuron_graph's report (drawn here, from checked data)."""
    import html as _html

    from ..viz.graph_view import GraphView, from_data

    parts = []
    for key, title in (("before", tr("before backward()", "backward() 之前")),
                       ("after", tr("after backward(): each leaf's .grad",
                                    "backward() 之后：每个叶子节点的 .grad"))):
        data = seen.get(key) if isinstance(seen, dict) else None
        if data is None:
            continue
        parts.append(f"<h3>{_html.escape(title)}</h3>" + GraphView(from_data(data)).svg())
    error = seen.get("error") if isinstance(seen, dict) else None
    if error:
        parts.append(f'<p style="color:#b3261e">{_html.escape(str(error)[:400])}</p>')
    title = tr("lesson 1: the graph of your Sigmoid", "第 1 课：你的 Sigmoid 的计算图")
    heading = tr(f"y = Sigmoid(w·x + b), L = (y − 1)², with your Sigmoid ({_html.escape(path)})",
                 f"y = Sigmoid(w·x + b)，L = (y − 1)²，用的是你的 Sigmoid（{_html.escape(path)}）")
    explain = tr("#k: the order backward() runs the ops (#1 first); your op is the one named "
                 "my_sigmoid. After backward() the leaves x, w and b hold their .grad: work one out "
                 "by the chain rule (∂L/∂b = 2(y − 1)·σ'(z)) and compare.",
                 "#k：backward() 执行各个运算的顺序（#1 最先）；名为 my_sigmoid 的就是你的运算。"
                 "backward() 之后，叶子节点 x、w 和 b 存有各自的 .grad：用链式法则手算其中一个"
                 "（∂L/∂b = 2(y − 1)·σ'(z)），再比较一下。")
    lang = "zh-CN" if language() == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
            '</head><body style="font-family:system-ui,sans-serif">'
            f"<h2>{heading}</h2><p>{explain}</p>"
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
    p.add_argument("--lang", choices=["en", "zh"], default=None,
                   help="the language of the page: en or zh (default: MINIGRAD_LANG or the locale)")
    args = p.parse_args(argv)
    if args.lang:
        set_language(args.lang)
    path = Path(args.file) if args.file else find_exercises(LESSON)
    if not path.is_file():
        print(tr(f"no such file: {path}", f"没有这个文件：{path}"))
        return 2
    with StudentProcess(path) as student:
        try:
            student.start()
            student.begin_task(30.0)
            seen = student.exercises.run(neuron_graph)
        except (ImportFailed, Refused, StudentGarbled, StudentGone, StudentRaised, StudentTimeout) as e:
            print(tr(f"could not draw the graph: {e}", f"无法画出计算图：{e}"))
            return 1
    try:
        page = graph_page(seen, str(path))
    except ValueError as e:
        print(tr(f"could not draw the graph: {e}", f"无法画出计算图：{e}"))
        return 1
    from ..viz.graph_view import _write_atomic
    _write_atomic(args.out, page)
    print(tr(f"wrote {args.out}", f"已写入 {args.out}") +
          (f"  ({seen['error']})" if isinstance(seen, dict) and seen.get("error") else ""))
    return 0


if __name__ == "__main__":
    import sys

    from minigrad.autograder.lesson01 import main as _main   # the module itself, not __main__
    sys.exit(_main())
