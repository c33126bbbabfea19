"""Checks for lesson 2: training a network (§2.1 深度学习, §4.2 损失函数).  Stubs: lessons/02_training/."""
from __future__ import annotations

import numpy as np

from ..i18n import Text, tr
from ..nn import functional as F
from ..ops.softmax import LogSoftmax, Softmax
from ..optim import SGD
from ..tensor import Tensor
from .core import (CheckFailed, Lesson, assert_close, call_watching_locals, compare_arrays, forbid,
                   forbid_function, get, is_tensor, require, to_array, type_name)
from .probes import student_gradients

LESSON = Lesson(2, "02_training", Text("Training a network", "训练一个神经网络"),
                "§2.1 深度学习, §4.2 损失函数")


class _no_library_softmax:
    """Inside: the library's softmax / log_softmax / cross-entropy refuse to run."""

    def __enter__(self):
        self._stack = [forbid(Softmax, "apply", tr("build softmax from exp, sum and division",
                                                   "用 exp、sum 和除法构造 softmax")),
                       forbid(LogSoftmax, "apply", tr("use logsumexp (or the max trick) instead",
                                                      "改用 logsumexp（或减去最大值的技巧）")),
                       forbid_function(F.cross_entropy, F.nll_loss)]
        for c in self._stack:
            c.__enter__()

    def __exit__(self, *exc):
        for c in reversed(self._stack):
            c.__exit__(*exc)
        return False


def _reference_gradient(fn, x: np.ndarray, upstream) -> np.ndarray:
    """The gradient of Σ upstream·fn(x) by the library's own ops (the reference)."""
    t = Tensor(x, requires_grad=True)
    (fn(t) * Tensor(np.asarray(upstream))).sum().backward()
    return t.grad.data


_OVERFLOW = Text("e^1000 overflows to inf; subtracting each row's maximum first changes nothing "
                 "mathematically and keeps every exponent at or below 0",
                 "e^1000 会上溢为 inf；先减去每行的最大值，在数学上什么也没改变，却能让每个指数都不大于 0")


@LESSON.task("2.1", Text("softmax from exp and sum (stable)", "用 exp 和 sum 实现 softmax（数值稳定）"),
             nudge=Text("Lesson 2's notebook, part 1 (softmax), and §4.1: softmax(x)ᵢ = e^(xᵢ − m) / "
                        "Σⱼ e^(xⱼ − m) along dim, with m the maximum along dim. Tensor has exp, sum "
                        "and amax with dim= and keepdim= (keep the reduced dim so it broadcasts back).",
                        "第 2 课笔记本第 1 部分（softmax）及 §4.1：沿 dim 计算 softmax(x)ᵢ = e^(xᵢ − m) / "
                        "Σⱼ e^(xⱼ − m)，m 是沿 dim 的最大值。Tensor 的 exp、sum 和 amax 都有 dim= 和 "
                        "keepdim= 参数（保留被归约的维度，结果才能广播回去）。"))
def check_softmax(ex):
    softmax = get(ex, "softmax")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    big = np.array([[1000.0, 999.0, -1000.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    x3 = rng.standard_normal((2, 3, 4))
    references = [F.softmax(Tensor(x), -1).data, F.softmax(Tensor(big), -1).data,
                  F.softmax(Tensor(x3), 1).data]
    with _no_library_softmax():
        out = softmax(Tensor(x))
        require(is_tensor(out), tr("softmax returns a Tensor", "softmax 返回 Tensor"),
                tr(f"it returned a {type_name(out)}", f"它返回了 {type_name(out)}"),
                nudge=tr("use Tensor ops, not NumPy", "用 Tensor 运算，不要用 NumPy"))
        assert_close(out, references[0], tr("softmax(x) of shape (4, 6)", "形状为 (4, 6) 的 softmax(x)"))
        assert_close(softmax(Tensor(big)), references[1],
                     tr("softmax of logits around 1000", "1000 左右的 logits 的 softmax"),
                     nudge=_OVERFLOW)
        assert_close(softmax(Tensor(x3), dim=1), references[2],
                     tr("softmax(x, dim=1) of shape (2, 3, 4)", "形状为 (2, 3, 4) 的 softmax(x, dim=1)"),
                     atol=1e-12, nudge=tr("reduce along the dim you are given, keeping it",
                                          "沿传入的 dim 归约，并保留这个维度"))
        z, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
        (g,) = student_gradients(ex, "softmax", [Tensor(z, requires_grad=True)], w,
                                 "softmax(z, dim=-1)", kwargs={"dim": -1})
        assert_close(g, _reference_gradient(lambda t: F.softmax(t, -1), z, w),
                     tr("the gradient of Σ w·softmax(z) through your softmax (autograd), against "
                        "the exact gradient",
                        "经过你的 softmax（自动微分）得到的 Σ w·softmax(z) 的梯度，与精确梯度比较"),
                     atol=1e-9)


def _scalar(out, what):
    a = to_array(out, what)
    require(a.size == 1, what, tr(f"shape {a.shape}, expected one number for the whole batch",
                                  f"形状为 {a.shape}，整个批次应当只得到一个数"),
            nudge=tr("the loss is the mean over the examples", "损失是各样本损失的平均值"))
    return a.reshape(())


@LESSON.task("2.2", Text("cross-entropy by log-sum-exp", "用 log-sum-exp 计算交叉熵"),
             nudge=Text("Lesson 2's notebook, part 2 (cross-entropy), and §4.2 损失函数: the loss of "
                        "one example is −z_y + log Σ_c e^(z_c), averaged over the batch. Tensor."
                        "logsumexp computes the log-sum stably; indexing with two integer arrays picks "
                        "one logit per row.",
                        "第 2 课笔记本第 2 部分（交叉熵）及 §4.2 损失函数：一个样本的损失是 "
                        "−z_y + log Σ_c e^(z_c)，再对整个批次取平均。Tensor.logsumexp 能稳定地计算"
                        "对数求和；用两个整数数组做索引，可以从每行取出一个 logit。"))
def check_cross_entropy(ex):
    cross_entropy = get(ex, "cross_entropy")
    rng = np.random.default_rng(6)
    z = rng.standard_normal((8, 5)).astype(np.float32)
    y = rng.integers(0, 5, 8)
    huge = np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 0.0]], dtype=np.float32)
    yh = np.array([1, 1])
    ref = F.cross_entropy(Tensor(z), Tensor(y)).data
    ref_huge = F.cross_entropy(Tensor(huge), Tensor(yh)).data
    with _no_library_softmax():
        out = cross_entropy(Tensor(z), y)
        require(is_tensor(out), tr("cross_entropy returns a Tensor", "cross_entropy 返回 Tensor"),
                tr(f"it returned a {type_name(out)}", f"它返回了 {type_name(out)}"))
        what = tr("cross_entropy on (8, 5) logits", "(8, 5) 的 logits 上的 cross_entropy")
        assert_close(_scalar(out, what), ref, what, atol=1e-5)
        what = tr("cross_entropy of logits ±1000", "±1000 的 logits 的 cross_entropy")
        assert_close(_scalar(cross_entropy(Tensor(huge), yh), what), ref_huge, what, atol=1e-3,
                     nudge=tr("log(sum(exp(z))) overflows for z = 1000; log-sum-exp does not",
                              "z = 1000 时 log(sum(exp(z))) 会上溢；log-sum-exp 不会"))
        zd, yd = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
        (g,) = student_gradients(ex, "cross_entropy", [Tensor(zd, requires_grad=True), yd], 1.0,
                                 "cross_entropy(z, y)")
        assert_close(g, _reference_gradient(lambda t: F.cross_entropy(t, Tensor(yd)), zd, 1.0),
                     tr("the gradient of your cross_entropy (autograd), against the exact gradient "
                        "(softmax(z) − onehot(y)) / N",
                        "你的 cross_entropy 的梯度（自动微分），与精确梯度 (softmax(z) − onehot(y)) / N 比较"),
                     atol=1e-9)


@LESSON.task("2.3", Text("the gradient of softmax + cross-entropy by hand", "手推 softmax + 交叉熵的梯度"),
             nudge=Text("Lesson 2's notebook, part 3 (the gradient of softmax + cross-entropy): "
                        "∂loss/∂z = (softmax(z) − onehot(y)) / N for the mean loss. Compute the softmax "
                        "of each row stably (subtract the row maximum); the 1/N comes from the mean.",
                        "第 2 课笔记本第 3 部分（softmax + 交叉熵的梯度）：对平均损失，∂loss/∂z = "
                        "(softmax(z) − onehot(y)) / N。每行的 softmax 要稳定地计算（减去该行最大值）；"
                        "1/N 来自取平均。"))
def check_cross_entropy_grad(ex):
    cross_entropy_grad = get(ex, "cross_entropy_grad")
    rng = np.random.default_rng(7)
    for n, c, scale in ((6, 4, 1.0), (3, 7, 1000.0)):
        z = rng.standard_normal((n, c)) * scale
        y = rng.integers(0, c, n)
        t = Tensor(z, requires_grad=True)
        F.cross_entropy(t, Tensor(y)).backward()
        out = cross_entropy_grad(z.copy(), y)
        require(not is_tensor(out), tr("cross_entropy_grad returns a NumPy array",
                                       "cross_entropy_grad 返回 NumPy 数组"),
                tr("it returned a Tensor (this task is NumPy only)",
                   "它返回了 Tensor（这道题只用 NumPy）"))
        assert_close(out, t.grad, tr(f"cross_entropy_grad for logits ({n}, {c}) of scale {scale:g}, "
                                     "against autograd's gradient of F.cross_entropy",
                                     f"尺度为 {scale:g} 的 ({n}, {c}) logits 的 cross_entropy_grad，"
                                     "与自动微分求出的 F.cross_entropy 的梯度比较"), atol=1e-10,
                     nudge=_OVERFLOW if scale > 1 else "")


# --- task 2.4 ------------------------------------------------------------------------------
def _rebinding_detail(before, after, expected, held, has_inplace_sub: bool, has_sub_: bool):
    """Why no parameter changed, from values: before/after/expected are the parameters' values
    (only those with a gradient), held the student's locals (call_watching_locals).  None when
    some parameter did change (then the ordinary comparison speaks)."""
    if any(not np.array_equal(a, b) for a, b in zip(after, before)):
        return None
    first = compare_arrays(after[0], expected[0], atol=1e-12, rtol=1e-5).split(tr("; ", "；"), 1)[-1]
    shape = tuple(before[0].shape)
    text = [tr(f"no parameter changed: parameter 0 {shape} still holds its values "
               f"from before the step ({first}).",
               f"没有任何参数改变：参数 0 {shape} 仍是这一步之前的值（{first}）。")]
    found = sorted({(name, i) for name, values in held.items() for v in values
                    for i, e in enumerate(expected)
                    if v.shape == e.shape and np.allclose(v, e, atol=1e-12, rtol=1e-7)})
    also = ("" if has_inplace_sub else
            tr(" `p -= lr * p.grad` does the same: minigrad's Tensor has no in-place -=, so Python "
               "runs p = p - lr * p.grad.",
               "`p -= lr * p.grad` 也一样：minigrad 的 Tensor 没有原地的 -=，所以 Python 执行的是 "
               "p = p - lr * p.grad。"))

    def rebinding(n):
        return tr(f"only makes the name {n} point to a new Tensor (Python rebinds the name); the "
                  f"Tensor in the list, the model's parameter, is left as it was.",
                  f"只是让名字 {n} 指向一个新的 Tensor（Python 重新绑定了这个名字）；列表里的那个 "
                  f"Tensor，也就是模型的参数，仍然原封不动。")
    if found:
        name, i = found[0]
        if "[" in name:                                      # a new list under the old name
            listed = name.split("[")[0]
            text.append(tr(f"Your sgd_step did compute the new values: its local list `{listed}` held "
                           f"a new Tensor equal to the updated parameter {i}. But giving the name "
                           f"{listed} a new list leaves the caller's list, and the model's "
                           f"parameters, as they were.",
                           f"你的 sgd_step 确实算出了新值：它的局部列表 `{listed}` 存着一个与更新后的"
                           f"参数 {i} 相等的新 Tensor。但把一个新列表赋给名字 {listed}，调用者的列表和"
                           f"模型的参数都不会改变。"))
        else:
            text.append(tr(f"Your sgd_step did compute the new values: its local name `{name}` held a "
                           f"new Tensor equal to the updated parameter {i}. But `{name} = {name} - lr "
                           f"* {name}.grad` ",
                           f"你的 sgd_step 确实算出了新值：它的局部变量 `{name}` 存着一个与更新后的"
                           f"参数 {i} 相等的新 Tensor。但 `{name} = {name} - lr * {name}.grad` ")
                        + rebinding(name) + also)
    else:
        text.append(tr("No local name of your sgd_step ever held the updated values. If your loop "
                       "assigns the update to its loop name, `p = p - lr * p.grad`, that ",
                       "你的 sgd_step 的局部变量从未存过更新后的值。如果你的循环把更新结果赋给循环变量，"
                       "即 `p = p - lr * p.grad`，这")
                    + rebinding("p") + also)
    ways = [tr("p.data -= ... (on the array inside the Tensor)", "p.data -= ...（作用于 Tensor 内部的数组）")]
    if has_inplace_sub:
        ways.append(tr("p -= ... under mg.no_grad()", "在 mg.no_grad() 下执行 p -= ..."))
    if has_sub_:
        ways.append(tr("p.sub_(...) under mg.no_grad()", "在 mg.no_grad() 下执行 p.sub_(...)"))
    text.append(tr("Change the parameter's own values, in place: " + ", or ".join(ways) + ".",
                   "请原地修改参数自身的值：" + "，或".join(ways) + "。"))
    return "\n".join(text)


@LESSON.task("2.4", Text("one step of gradient descent", "梯度下降的一步"),
             nudge=Text("Lesson 2's notebook, part 6 (the same step by hand), and §2.1 梯度下降: "
                        "p ← p − lr·∂L/∂p for each parameter that has a gradient, then clear the "
                        "gradients. The step must change the very Tensors the model holds (in place) "
                        "and must not be recorded in the graph: see mg.no_grad and Tensor.data.",
                        "第 2 课笔记本第 6 部分（手写同样的一步）及 §2.1 梯度下降：对每个有梯度的参数执行 "
                        "p ← p − lr·∂L/∂p，然后清空梯度。这一步必须（原地）修改模型持有的那些 Tensor 本身，"
                        "而且不能被记录到计算图中：参见 mg.no_grad 和 Tensor.data。"))
def check_sgd_step(ex):
    get(ex, "sgd_step")
    rng = np.random.default_rng(8)
    ours = [Tensor(rng.standard_normal((3, 2)), requires_grad=True),
            Tensor(rng.standard_normal(2), requires_grad=True),
            Tensor(rng.standard_normal(4), requires_grad=True)]     # the last one gets no gradient
    theirs = [Tensor(p.data.copy(), requires_grad=True) for p in ours]
    x = Tensor(rng.standard_normal((5, 3)))
    for params in (ours, theirs):
        ((x @ params[0] + params[1]) ** 2).sum().backward()
    SGD(theirs, lr=0.1).step()
    before = [p.data.copy() for p in ours]
    seen = ex.run(watch_sgd_step, before, [None if p.grad is None else p.grad.data for p in ours],
                  0.1)
    replaced = seen["replaced"]
    require(not replaced, tr("sgd_step keeps the parameter objects in the list",
                             "sgd_step 保留列表中原来的参数对象"),
            tr(f"the list holds new Tensors at positions {replaced}: `params[i] = ...` puts a new "
               f"Tensor in the list, while the model still holds the old one, unchanged",
               f"列表在位置 {replaced} 上换成了新的 Tensor：`params[i] = ...` 把新 Tensor 放进列表，"
               f"而模型持有的仍是旧的那个，没有改变"),
            nudge=tr("change the values inside each parameter (p.data) instead",
                     "应当修改每个参数内部的值（p.data）"))
    after = seen["params"]                          # the original parameter objects, after
    detail = _rebinding_detail(before[:2], [p.data for p in after[:2]],
                               [t.data for t in theirs[:2]], seen["held"],
                               has_inplace_sub=hasattr(Tensor, "__isub__"),
                               has_sub_=hasattr(Tensor, "sub_"))
    if detail:
        raise CheckFailed(tr("the parameters after one step (compared with mg.optim.SGD(lr=0.1))",
                             "一步之后的参数（与 mg.optim.SGD(lr=0.1) 比较）"),
                          detail)
    for i in range(2):
        assert_close(after[i], theirs[i], tr(f"parameter {i} after one step (compared with "
                                             "mg.optim.SGD(lr=0.1))",
                                             f"一步之后的参数 {i}（与 mg.optim.SGD(lr=0.1) 比较）"),
                     atol=1e-12, nudge=tr("the step goes against the gradient, scaled by lr",
                                          "更新方向与梯度相反，大小按 lr 缩放"))
        shape = getattr(after[i].grad, 'shape', None)
        require(after[i].grad is None, tr(f"parameter {i}'s .grad is cleared after the step",
                                          f"这一步之后参数 {i} 的 .grad 被清空"),
                tr(f".grad still holds a gradient of shape {shape}, expected None",
                   f".grad 仍存着形状为 {shape} 的梯度，应为 None"),
                nudge=tr("gradients accumulate: the next backward would add to this step's",
                         "梯度会累加：下一次 backward 会加到这一步的梯度上"))
        require(not after[i].requires_grad or not after[i].has_node,
                tr(f"parameter {i}'s update is not recorded in the graph",
                   f"参数 {i} 的更新没有被记录到计算图中"),
                tr(f"parameter {i} now has a graph node: it is no longer a leaf",
                   f"参数 {i} 现在有了计算图节点：它不再是叶子节点"),
                nudge=tr("do the update under mg.no_grad(), on p.data",
                         "在 mg.no_grad() 下对 p.data 做更新"))
    assert_close(after[2], before[2], tr("a parameter without a gradient (it must not change)",
                                         "没有梯度的参数（它不能改变）"),
                 atol=0, nudge=tr("skip the parameters whose .grad is None", "跳过 .grad 为 None 的参数"))


def watch_sgd_step(student, values, grads, lr) -> dict:
    """In the student's process: parameters with these values and gradients, one call of the
    student's sgd_step(params, lr) watched by call_watching_locals.  Reports the positions
    where the list now holds another object, the original parameter objects afterwards, and
    the Tensors the function's locals held."""
    params = [Tensor(v, requires_grad=True) for v in values]
    for p, g in zip(params, grads):
        p.grad = None if g is None else Tensor(g)
    originals = list(params)
    _, held = call_watching_locals(student.sgd_step, params, lr)
    replaced = [i for i, (p, q) in enumerate(zip(params, originals)) if p is not q]
    return {"replaced": replaced, "params": originals, "held": held}


def _spirals(n_per_class=60, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for c in range(classes):
        r = np.linspace(0.1, 1.0, n_per_class)
        angle = np.linspace(c * 2 * np.pi / classes, c * 2 * np.pi / classes + 3.0, n_per_class)
        angle = angle + rng.standard_normal(n_per_class) * 0.15
        X.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
        y.append(np.full(n_per_class, c))
    return np.concatenate(X).astype(np.float32), np.concatenate(y)


@LESSON.task("2.5", Text("train a small MLP classifier to a low loss", "把一个小型 MLP 分类器训练到低损失"),
             nudge=Text("Lesson 2's notebook, part 4 (a small classifier: three spirals): a hidden "
                        "layer of a few dozen units with a non-linearity, an optimizer from "
                        "minigrad.optim (Adam with lr around 0.02 works), a few hundred full-batch "
                        "steps; each step clears the old gradients before backward.",
                        "第 2 课笔记本第 4 部分（一个小分类器：三条螺旋线）：一个几十个单元的隐藏层加一个"
                        "非线性激活，一个来自 minigrad.optim 的优化器（lr 约 0.02 的 Adam 就行），几百步"
                        "全批量训练；每一步在 backward 之前先清空旧的梯度。"), timeout=25.0)
def check_training(ex):
    train_classifier = get(ex, "train_classifier")
    X, y = _spirals()
    result = train_classifier(X.copy(), y.copy(), 3)       # the model stays there; it is called there
    length = len(result) if isinstance(result, (tuple, list)) else None
    require(isinstance(result, tuple) and len(result) == 2,
            tr("train_classifier returns (model, losses)", "train_classifier 返回 (model, losses)"),
            tr(f"it returned a {type_name(result)}", f"它返回了 {type_name(result)}")
            + (tr(f" of length {length}", f"，长度为 {length}") if length is not None else ""))
    model, losses = result
    losses = [float(l) for l in losses]
    require(len(losses) >= 2, tr("losses holds the loss of every step", "losses 存有每一步的损失"),
            tr(f"it has {len(losses)} entries", f"它只有 {len(losses)} 项"))
    require(losses[-1] < losses[0], tr("the training loss goes down", "训练损失在下降"),
            tr(f"first loss {losses[0]:.4f}, last {losses[-1]:.4f} after {len(losses)} steps",
               f"{len(losses)} 步之后，第一个损失 {losses[0]:.4f}，最后一个 {losses[-1]:.4f}"),
            nudge=tr("is the optimizer built on model.parameters(), and does every step call it?",
                     "优化器是用 model.parameters() 构建的吗？每一步都调用它了吗？"))
    require(getattr(model, "is_callable", False),
            tr("the model returned by train_classifier can be called",
               "train_classifier 返回的模型可以被调用"),
            tr(f"it is a {type_name(model)}", f"它是 {type_name(model)}"))
    logits = Tensor(to_array(model(Tensor(X)), tr("model(X), the logits", "model(X)，即 logits")))
    require(logits.shape == (len(y), 3), tr("model(X) gives logits of shape (N, 3)",
                                            "model(X) 给出形状为 (N, 3) 的 logits"),
            tr(f"shape {logits.shape}", f"形状为 {logits.shape}"))
    loss = float(F.cross_entropy(logits, Tensor(y)).item())
    acc = float((logits.data.argmax(axis=1) == y).mean())
    require(loss < 0.3, tr("the final loss on the training spirals is below 0.3",
                           "在训练用的螺旋数据上最终损失低于 0.3"),
            tr(f"final loss {loss:.3f} (accuracy {acc:.0%}) after {len(losses)} steps",
               f"{len(losses)} 步之后最终损失 {loss:.3f}（准确率 {acc:.0%}）"),
            nudge=tr("more steps, a larger hidden layer, or a larger learning rate",
                     "增加步数、加大隐藏层，或者提高学习率"))
    require(acc >= 0.9, tr("the accuracy on the training spirals reaches 90%",
                           "在训练用的螺旋数据上准确率达到 90%"),
            tr(f"accuracy {acc:.0%}", f"准确率 {acc:.0%}"))
