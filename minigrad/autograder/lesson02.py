"""Checks for lesson 2: training a network (§2.1 深度学习, §4.2 损失函数).  Stubs: lessons/02_training/."""
from __future__ import annotations

import numpy as np

from ..gradcheck import GradcheckError, gradcheck
from ..nn import functional as F
from ..ops.softmax import LogSoftmax, Softmax
from ..optim import SGD
from ..tensor import Tensor
from .core import CheckFailed, Lesson, assert_close, forbid, forbid_function, get, require, to_array

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


def _grad_check(fn, inputs, what):
    try:
        gradcheck(fn, inputs)
    except GradcheckError as e:
        raise CheckFailed(f"{what}: autograd's gradient disagrees with finite differences: {e}") from None


@LESSON.task("2.1", "softmax from exp and sum (stable)",
             hint="m = x.amax(dim=dim, keepdim=True).detach(); e = (x - m).exp(); "
                  "return e / e.sum(dim=dim, keepdim=True)")
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
        require(isinstance(out, Tensor), "softmax must return a Tensor (use Tensor ops, not NumPy)")
        assert_close(out, references[0], "softmax(x) of shape (4, 6)")
        assert_close(softmax(Tensor(big)), references[1], "softmax of logits around 1000 (subtract "
                     "the max first)")
        assert_close(softmax(Tensor(x3), dim=1), references[2], "softmax(x, dim=1) of shape (2, 3, 4)",
                     atol=1e-12)
        _grad_check(lambda t: softmax(t, dim=-1), [Tensor(rng.standard_normal((3, 4)), requires_grad=True)],
                    "softmax")


@LESSON.task("2.2", "cross-entropy by log-sum-exp",
             hint="picked = logits[np.arange(N), targets]; "
                  "return (logits.logsumexp(dim=1) - picked).mean()")
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
        require(isinstance(out, Tensor), "cross_entropy must return a Tensor")
        assert_close(to_array(out, "cross_entropy").reshape(()), ref, "cross_entropy on (8, 5) logits",
                     atol=1e-5)
        assert_close(to_array(cross_entropy(Tensor(huge), yh), "cross_entropy").reshape(()), ref_huge,
                     "cross_entropy of logits ±1000 (use logsumexp, not log(sum(exp)))", atol=1e-3)
        zd = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
        _grad_check(lambda t: cross_entropy(t, np.array([0, 2, 1, 2])), [zd], "cross_entropy")


@LESSON.task("2.3", "the gradient of softmax + cross-entropy by hand",
             hint="p = softmax of each row (subtract the row max); p[np.arange(N), targets] -= 1; "
                  "return p / N")
def check_cross_entropy_grad(ex):
    cross_entropy_grad = get(ex, "cross_entropy_grad")
    rng = np.random.default_rng(7)
    for n, c, scale in ((6, 4, 1.0), (3, 7, 1000.0)):
        z = rng.standard_normal((n, c)) * scale
        y = rng.integers(0, c, n)
        t = Tensor(z, requires_grad=True)
        F.cross_entropy(t, Tensor(y)).backward()
        out = cross_entropy_grad(z.copy(), y)
        require(not isinstance(out, Tensor), "return a NumPy array (this task is NumPy only)")
        assert_close(out, t.grad, f"cross_entropy_grad for logits ({n}, {c}) of scale {scale:g} "
                     "(compared with autograd's gradient of F.cross_entropy)", atol=1e-10)


@LESSON.task("2.4", "one step of gradient descent",
             hint="inside `with mg.no_grad():` for each p with p.grad: p.data -= lr * p.grad.data; "
                  "then p.grad = None")
def check_sgd_step(ex):
    sgd_step = get(ex, "sgd_step")
    rng = np.random.default_rng(8)
    ours = [Tensor(rng.standard_normal((3, 2)), requires_grad=True),
            Tensor(rng.standard_normal(2), requires_grad=True),
            Tensor(rng.standard_normal(4), requires_grad=True)]     # the last one gets no gradient
    theirs = [Tensor(p.data.copy(), requires_grad=True) for p in ours]
    x = Tensor(rng.standard_normal((5, 3)))
    for params in (ours, theirs):
        ((x @ params[0] + params[1]) ** 2).sum().backward()
    SGD(theirs, lr=0.1).step()
    ids, unused = [id(p) for p in ours], ours[2].data.copy()
    sgd_step(ours, 0.1)
    require([id(p) for p in ours] == ids, "sgd_step replaced the parameters: update p.data in place")
    for i in range(2):
        assert_close(ours[i], theirs[i], f"parameter {i} after one step (compared with "
                     "mg.optim.SGD(lr=0.1))", atol=1e-12)
        require(ours[i].grad is None, f"parameter {i} still has a .grad after the step: set it to "
                                      "None (gradients accumulate otherwise)")
        require(not ours[i].requires_grad or ours[i]._node is None,
                "the update was recorded in the graph: do it under mg.no_grad() on p.data")
    assert_close(ours[2], unused, "a parameter without a gradient (it must not change)")


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
             hint="model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, C)); "
                  "opt = mg.optim.Adam(model.parameters(), lr=0.02); per step: loss, "
                  "opt.zero_grad(), loss.backward(), opt.step()", timeout=25.0)
def check_training(ex):
    train_classifier = get(ex, "train_classifier")
    X, y = _spirals()
    result = train_classifier(X.copy(), y.copy(), 3)
    require(isinstance(result, tuple) and len(result) == 2,
            "train_classifier must return (model, losses)")
    model, losses = result
    losses = [float(l) for l in losses]
    require(len(losses) >= 2, "losses must hold the loss of every step")
    require(losses[-1] < losses[0], f"the loss did not go down ({losses[0]:.3f} → {losses[-1]:.3f})")
    logits = model(Tensor(X))
    loss = float(F.cross_entropy(logits, Tensor(y)).item())
    acc = float((logits.data.argmax(axis=1) == y).mean())
    require(loss < 0.3, f"final loss {loss:.3f} on the training spirals; it must be below 0.3 "
                        f"(accuracy {acc:.0%})")
    require(acc >= 0.9, f"accuracy {acc:.0%} on the training spirals; it must reach 90%")
