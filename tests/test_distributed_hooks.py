"""The engine's hooks that data-parallel training builds on (autograd.py): a leaf's
post-accumulate-grad hook runs once per backward, when its gradient is complete; a queued
callback runs when the outermost backward ends."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd


def test_hook_runs_once_with_the_whole_gradient():
    w = mg.tensor(np.ones(3), requires_grad=True)
    v = mg.tensor(np.full(3, 2.0), requires_grad=True)
    seen = []
    hw = w.register_post_accumulate_grad_hook(lambda t: seen.append(("w", t.grad.data.copy())))
    hv = v.register_post_accumulate_grad_hook(lambda t: seen.append(("v", t.grad.data.copy())))
    try:
        y = (w * w * v).sum() + (w * 3).sum()      # w feeds three edges, v one
        y.backward()
        assert [name for name, _ in seen] == ["v", "w"]   # v is complete first
        np.testing.assert_array_equal(seen[1][1], 2 * 1 * 2 + 3)   # the full dL/dw, not a part
        np.testing.assert_array_equal(seen[0][1], 1.0)
    finally:
        hw.remove()
        hv.remove()
    assert autograd.mode.leaf_hooks == 0


def test_hook_order_follows_readiness_in_a_chain():
    """In a chain of layers the last layer's parameters are complete first (why DDP buckets
    go in reverse parameter order)."""
    ws = [mg.tensor(np.full((2, 2), 0.5), requires_grad=True) for _ in range(4)]
    order = []
    handles = [w.register_post_accumulate_grad_hook(lambda t, i=i: order.append(i))
               for i, w in enumerate(ws)]
    x = mg.tensor(np.ones((1, 2)))
    for w in ws:
        x = (x @ w).tanh()
    x.sum().backward()
    for h in handles:
        h.remove()
    assert order == [3, 2, 1, 0]


def test_queue_callback_runs_after_every_hook_and_removed_hook_is_silent():
    w = mg.tensor(np.ones(2), requires_grad=True)
    log = []

    def hook(t):
        log.append("hook")
        autograd.queue_callback(lambda: log.append("end"))

    h = w.register_post_accumulate_grad_hook(hook)
    (w * 2).sum().backward()
    assert log == ["hook", "end"]
    h.remove()
    (w * 2).sum().backward()
    assert log == ["hook", "end"]
    autograd.queue_callback(lambda: log.append("now"))     # outside a backward: at once
    assert log[-1] == "now"


def test_unused_leaf_fires_nothing_and_grad_fires_nothing():
    w = mg.tensor(np.ones(2), requires_grad=True)
    u = mg.tensor(np.ones(2), requires_grad=True)
    log = []
    hs = [t.register_post_accumulate_grad_hook(lambda t, n=n: log.append(n))
          for n, t in (("w", w), ("u", u))]
    (w * 2).sum().backward()
    assert log == ["w"]
    mg.grad((w * 3).sum(), w)          # accumulates nothing, so no hook
    assert log == ["w"]
    for h in hs:
        h.remove()


def test_hook_refused_on_a_non_leaf():
    w = mg.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match="only a leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_failed_backward_runs_no_callback():
    """w's hook fires (and queues a callback) before a deeper node refuses to run: the
    callback of the failed backward is dropped, not run by the next one."""
    w = mg.tensor(np.ones(2), requires_grad=True)
    a = mg.tensor(np.ones(2), requires_grad=True)
    log = []
    h = w.register_post_accumulate_grad_hook(
        lambda t: (log.append("hook"), autograd.queue_callback(lambda: log.append("end"))))
    t = a * 2
    s = t.exp()                          # exp saves its input t for backward ...
    t.add_(1.0)                          # ... which changes in place afterwards
    with pytest.raises(RuntimeError, match="inplace"):
        (s * w).sum().backward()
    assert log == ["hook"]
    (w * 2).sum().backward()
    assert log == ["hook", "hook", "end"]
    h.remove()
