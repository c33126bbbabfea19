"""Checks for lesson 2: training a network (§2.1 深度学习, §4.2 损失函数).  Stubs: lessons/02_training/."""
from __future__ import annotations

import numpy as np

from ..nn import functional as F
from ..ops.softmax import LogSoftmax, Softmax
from ..optim import SGD
from ..tensor import Tensor
from .core import (CheckFailed, Lesson, assert_close, call_watching_locals, compare_arrays, forbid,
                   forbid_function, get, is_tensor, require, to_array, type_name)
from .probes import student_gradients

LESSON = Lesson(2, "02_training", "Training a network", "§2.1 深度学习, §4.2 损失函数")


class _no_library_softmax:
    """Inside: the library's softmax / log_softmax / cross-entropy refuse to run."""

    def __enter__(self):
        self._stack = [forbid(Softmax, "apply", "build softmax from exp, sum and division"),
                       forbid(LogSoftmax, "apply", "use logsumexp (or the max trick) instead"),
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


_OVERFLOW = ("e^1000 overflows to inf; subtracting each row's maximum first changes nothing "
             "mathematically and keeps every exponent at or below 0")


@LESSON.task("2.1", "softmax from exp and sum (stable)",
             nudge="Lesson 2's notebook, part 1 (softmax), and §4.1: softmax(x)ᵢ = e^(xᵢ − m) / "
                   "Σⱼ e^(xⱼ − m) along dim, with m the maximum along dim. Tensor has exp, sum "
                   "and amax with dim= and keepdim= (keep the reduced dim so it broadcasts back).")
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
        require(is_tensor(out), "softmax returns a Tensor",
                f"it returned a {type_name(out)}", nudge="use Tensor ops, not NumPy")
        assert_close(out, references[0], "softmax(x) of shape (4, 6)")
        assert_close(softmax(Tensor(big)), references[1], "softmax of logits around 1000",
                     nudge=_OVERFLOW)
        assert_close(softmax(Tensor(x3), dim=1), references[2], "softmax(x, dim=1) of shape (2, 3, 4)",
                     atol=1e-12, nudge="reduce along the dim you are given, keeping it")
        z, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
        (g,) = student_gradients(ex, "softmax", [Tensor(z, requires_grad=True)], w,
                                 "softmax(z, dim=-1)", kwargs={"dim": -1})
        assert_close(g, _reference_gradient(lambda t: F.softmax(t, -1), z, w),
                     "the gradient of Σ w·softmax(z) through your softmax (autograd), against "
                     "the exact gradient", atol=1e-9)


def _scalar(out, what):
    a = to_array(out, what)
    require(a.size == 1, what, f"shape {a.shape}, expected one number for the whole batch",
            nudge="the loss is the mean over the examples")
    return a.reshape(())


@LESSON.task("2.2", "cross-entropy by log-sum-exp",
             nudge="Lesson 2's notebook, part 2 (cross-entropy), and §4.2 损失函数: the loss of "
                   "one example is −z_y + log Σ_c e^(z_c), averaged over the batch. Tensor."
                   "logsumexp computes the log-sum stably; indexing with two integer arrays picks "
                   "one logit per row.")
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
        require(is_tensor(out), "cross_entropy returns a Tensor",
                f"it returned a {type_name(out)}")
        what = "cross_entropy on (8, 5) logits"
        assert_close(_scalar(out, what), ref, what, atol=1e-5)
        what = "cross_entropy of logits ±1000"
        assert_close(_scalar(cross_entropy(Tensor(huge), yh), what), ref_huge, what, atol=1e-3,
                     nudge="log(sum(exp(z))) overflows for z = 1000; log-sum-exp does not")
        zd, yd = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
        (g,) = student_gradients(ex, "cross_entropy", [Tensor(zd, requires_grad=True), yd], 1.0,
                                 "cross_entropy(z, y)")
        assert_close(g, _reference_gradient(lambda t: F.cross_entropy(t, Tensor(yd)), zd, 1.0),
                     "the gradient of your cross_entropy (autograd), against the exact gradient "
                     "(softmax(z) − onehot(y)) / N", atol=1e-9)


@LESSON.task("2.3", "the gradient of softmax + cross-entropy by hand",
             nudge="Lesson 2's notebook, part 3 (the gradient of softmax + cross-entropy): "
                   "∂loss/∂z = (softmax(z) − onehot(y)) / N for the mean loss. Compute the softmax "
                   "of each row stably (subtract the row maximum); the 1/N comes from the mean.")
def check_cross_entropy_grad(ex):
    cross_entropy_grad = get(ex, "cross_entropy_grad")
    rng = np.random.default_rng(7)
    for n, c, scale in ((6, 4, 1.0), (3, 7, 1000.0)):
        z = rng.standard_normal((n, c)) * scale
        y = rng.integers(0, c, n)
        t = Tensor(z, requires_grad=True)
        F.cross_entropy(t, Tensor(y)).backward()
        out = cross_entropy_grad(z.copy(), y)
        require(not is_tensor(out), "cross_entropy_grad returns a NumPy array",
                "it returned a Tensor (this task is NumPy only)")
        assert_close(out, t.grad, f"cross_entropy_grad for logits ({n}, {c}) of scale {scale:g}, "
                     "against autograd's gradient of F.cross_entropy", atol=1e-10,
                     nudge=_OVERFLOW if scale > 1 else "")


# --- task 2.4 ------------------------------------------------------------------------------
def _rebinding_detail(before, after, expected, held, has_inplace_sub: bool, has_sub_: bool):
    """Why no parameter changed, from values: before/after/expected are the parameters' values
    (only those with a gradient), held the student's locals (call_watching_locals).  None when
    some parameter did change (then the ordinary comparison speaks)."""
    if any(not np.array_equal(a, b) for a, b in zip(after, before)):
        return None
    first = compare_arrays(after[0], expected[0], atol=1e-12, rtol=1e-5)
    text = [f"no parameter changed: parameter 0 {tuple(before[0].shape)} still holds its values "
            f"from before the step ({first.split('; ', 1)[-1]})."]
    found = sorted({(name, i) for name, values in held.items() for v in values
                    for i, e in enumerate(expected)
                    if v.shape == e.shape and np.allclose(v, e, atol=1e-12, rtol=1e-7)})
    also = ("" if has_inplace_sub else
            " `p -= lr * p.grad` does the same: minigrad's Tensor has no in-place -=, so Python "
            "runs p = p - lr * p.grad.")
    rebinding = ("only makes the name {n} point to a new Tensor (Python rebinds the name); the "
                 "Tensor in the list, the model's parameter, is left as it was.")
    if found:
        name, i = found[0]
        if "[" in name:                                      # a new list under the old name
            listed = name.split("[")[0]
            text.append(f"Your sgd_step did compute the new values: its local list `{listed}` held "
                        f"a new Tensor equal to the updated parameter {i}. But giving the name "
                        f"{listed} a new list leaves the caller's list, and the model's "
                        f"parameters, as they were.")
        else:
            text.append(f"Your sgd_step did compute the new values: its local name `{name}` held a "
                        f"new Tensor equal to the updated parameter {i}. But `{name} = {name} - lr "
                        f"* {name}.grad` " + rebinding.format(n=name) + also)
    else:
        text.append("No local name of your sgd_step ever held the updated values. If your loop "
                    "assigns the update to its loop name, `p = p - lr * p.grad`, that "
                    + rebinding.format(n="p") + also)
    ways = ["p.data -= ... (on the array inside the Tensor)"]
    if has_inplace_sub:
        ways.append("p -= ... under mg.no_grad()")
    if has_sub_:
        ways.append("p.sub_(...) under mg.no_grad()")
    text.append("Change the parameter's own values, in place: " + ", or ".join(ways) + ".")
    return "\n".join(text)


@LESSON.task("2.4", "one step of gradient descent",
             nudge="Lesson 2's notebook, part 6 (the same step by hand), and §2.1 梯度下降: "
                   "p ← p − lr·∂L/∂p for each parameter that has a gradient, then clear the "
                   "gradients. The step must change the very Tensors the model holds (in place) "
                   "and must not be recorded in the graph: see mg.no_grad and Tensor.data.")
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
    require(not replaced, "sgd_step keeps the parameter objects in the list",
            f"the list holds new Tensors at positions {replaced}: `params[i] = ...` puts a new "
            f"Tensor in the list, while the model still holds the old one, unchanged",
            nudge="change the values inside each parameter (p.data) instead")
    after = seen["params"]                          # the original parameter objects, after
    detail = _rebinding_detail(before[:2], [p.data for p in after[:2]],
                               [t.data for t in theirs[:2]], seen["held"],
                               has_inplace_sub=hasattr(Tensor, "__isub__"),
                               has_sub_=hasattr(Tensor, "sub_"))
    if detail:
        raise CheckFailed("the parameters after one step (compared with mg.optim.SGD(lr=0.1))",
                          detail)
    for i in range(2):
        assert_close(after[i], theirs[i], f"parameter {i} after one step (compared with "
                     "mg.optim.SGD(lr=0.1))", atol=1e-12,
                     nudge="the step goes against the gradient, scaled by lr")
        require(after[i].grad is None, f"parameter {i}'s .grad is cleared after the step",
                f".grad still holds a gradient of shape {getattr(after[i].grad, 'shape', None)}, "
                f"expected None",
                nudge="gradients accumulate: the next backward would add to this step's")
        require(not after[i].requires_grad or not after[i].has_node,
                f"parameter {i}'s update is not recorded in the graph",
                f"parameter {i} now has a graph node: it is no longer a leaf",
                nudge="do the update under mg.no_grad(), on p.data")
    assert_close(after[2], before[2], "a parameter without a gradient (it must not change)",
                 atol=0, nudge="skip the parameters whose .grad is None")


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


@LESSON.task("2.5", "train a small MLP classifier to a low loss",
             nudge="Lesson 2's notebook, part 4 (a small classifier: three spirals): a hidden "
                   "layer of a few dozen units with a non-linearity, an optimizer from "
                   "minigrad.optim (Adam with lr around 0.02 works), a few hundred full-batch "
                   "steps; each step clears the old gradients before backward.", timeout=25.0)
def check_training(ex):
    train_classifier = get(ex, "train_classifier")
    X, y = _spirals()
    result = train_classifier(X.copy(), y.copy(), 3)       # the model stays there; it is called there
    require(isinstance(result, tuple) and len(result) == 2,
            "train_classifier returns (model, losses)",
            f"it returned a {type_name(result)}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""))
    model, losses = result
    losses = [float(l) for l in losses]
    require(len(losses) >= 2, "losses holds the loss of every step", f"it has {len(losses)} entries")
    require(losses[-1] < losses[0], "the training loss goes down",
            f"first loss {losses[0]:.4f}, last {losses[-1]:.4f} after {len(losses)} steps",
            nudge="is the optimizer built on model.parameters(), and does every step call it?")
    require(getattr(model, "is_callable", False), "the model returned by train_classifier can "
            "be called", f"it is a {type_name(model)}")
    logits = Tensor(to_array(model(Tensor(X)), "model(X), the logits"))
    require(logits.shape == (len(y), 3), "model(X) gives logits of shape (N, 3)",
            f"shape {logits.shape}")
    loss = float(F.cross_entropy(logits, Tensor(y)).item())
    acc = float((logits.data.argmax(axis=1) == y).mean())
    require(loss < 0.3, "the final loss on the training spirals is below 0.3",
            f"final loss {loss:.3f} (accuracy {acc:.0%}) after {len(losses)} steps",
            nudge="more steps, a larger hidden layer, or a larger learning rate")
    require(acc >= 0.9, "the accuracy on the training spirals reaches 90%", f"accuracy {acc:.0%}")
