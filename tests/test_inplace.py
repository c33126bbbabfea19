"""In-place ops as in PyTorch (issue 11, §2): `p -= lr * p.grad` changes p; a leaf that
requires grad refuses outside no_grad; on other tensors the op is recorded in the graph; the
version counter makes a backward that would read a changed value refuse; a second backward
through a freed graph says so (retain_graph=True keeps it)."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F


def f64(data, requires_grad=True):
    return mg.tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation"
MODIFIED = "modified by an inplace operation"
SECOND_TIME = "Trying to backward through the graph a second time.*retain_graph=True"


# ----------------------------------------------------------------------------------------
# The update loop a learner writes
# ----------------------------------------------------------------------------------------
def test_the_first_update_loop_a_learner_writes_changes_the_model():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x, y = mg.randn(8, 4), mg.tensor(np.arange(8) % 2)
    F.cross_entropy(model(x), y).backward()
    params = list(model.parameters())
    before = [p.data.copy() for p in params]
    arrays = [p.data for p in params]
    versions = [p._version for p in params]
    with mg.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for p, b, arr, v in zip(params, before, arrays, versions):
        np.testing.assert_allclose(p.data, b - 0.1 * p.grad.data, rtol=1e-6)
        assert p.data is arr                       # in place: the same memory
        assert p.is_leaf and p.requires_grad and p._version == v + 1
    assert list(model.parameters())[0] is params[0]


@pytest.mark.parametrize("op, expected", [
    ("+=", [3.0, 4.0]), ("-=", [-1.0, 0.0]), ("*=", [2.0, 4.0]), ("/=", [0.5, 1.0]),
])
def test_augmented_assignment_is_in_place_and_returns_the_same_tensor(op, expected):
    t = mg.tensor([1.0, 2.0])
    alias, array = t, t.data
    scope = {"t": t}
    exec(f"t {op} 2.0", {}, scope)
    assert scope["t"] is alias and alias.data is array
    np.testing.assert_array_equal(alias.numpy(), expected)
    assert alias.dtype == np.float32 and alias._version == 1


def test_named_in_place_methods_match_their_out_of_place_forms():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3) + 3.0
    cases = [
        (lambda t: t.add_(b), a + b), (lambda t: t.add_(b, alpha=0.5), a + 0.5 * b),
        (lambda t: t.sub_(b), a - b), (lambda t: t.sub_(mg.tensor(b), alpha=2), a - 2 * b),
        (lambda t: t.mul_(b), a * b), (lambda t: t.div_(mg.tensor(b)), a / b),
        (lambda t: t.clamp_(-0.5, 0.5), np.clip(a, -0.5, 0.5)),
        (lambda t: t.clamp_(min=0.0), np.maximum(a, 0.0)),
        (lambda t: t.copy_(b), np.broadcast_to(b, a.shape)),
        (lambda t: t.fill_(1.5), np.full(a.shape, 1.5)), (lambda t: t.zero_(), np.zeros(a.shape)),
    ]
    for fn, expected in cases:
        t = mg.tensor(a)
        array = t.data
        assert fn(t) is t and t.data is array
        np.testing.assert_allclose(t.numpy(), expected, rtol=1e-12)
        assert t._version == 1


def test_in_place_on_an_indexed_part_under_no_grad_changes_the_parameter():
    w = f64([[1.0, 2.0], [3.0, 4.0]])
    with mg.no_grad():
        w[0] += 10.0                 # getitem (a view), += into it, then setitem
        w[:, 1] *= 2.0
    np.testing.assert_array_equal(w.numpy(), [[11.0, 24.0], [3.0, 8.0]])
    assert w.is_leaf and w._version >= 2


def test_uniform_and_normal_draw_from_minigrads_generator_or_a_given_one():
    t = mg.zeros(3, 4)
    mg.manual_seed(7)
    t.uniform_(-2.0, 3.0)
    np.testing.assert_array_equal(
        t.numpy(), np.random.default_rng(7).uniform(-2.0, 3.0, (3, 4)).astype(np.float32))
    mg.manual_seed(7)
    t.normal_(1.0, 0.5)
    np.testing.assert_array_equal(
        t.numpy(), np.random.default_rng(7).normal(1.0, 0.5, (3, 4)).astype(np.float32))
    u = mg.zeros(5, dtype="float64").uniform_(generator=np.random.default_rng(3))
    np.testing.assert_array_equal(u.numpy(), np.random.default_rng(3).uniform(0.0, 1.0, 5))
    with pytest.raises(TypeError, match="uniform_: needs a floating-point tensor.*int64"):
        mg.tensor([1, 2]).uniform_()


def test_init_helpers_fill_the_parameter_in_place_with_the_same_draws_as_before():
    from minigrad.nn import init

    p = nn.Parameter(np.zeros((4, 6), dtype=np.float32))
    array = p.data
    mg.manual_seed(1)
    init.kaiming_uniform_(p)                      # p requires grad: init runs under no_grad
    bound = np.sqrt(2.0) * np.sqrt(3.0 / 6)
    expected = np.random.default_rng(1).uniform(-bound, bound, (4, 6)).astype(np.float32)
    np.testing.assert_array_equal(p.numpy(), expected)
    assert p.data is array and p.is_leaf and p._version == 1
    init.normal_(p, 0.0, 1.0, generator=np.random.default_rng(2))
    np.testing.assert_array_equal(p.numpy(),
                                  np.random.default_rng(2).normal(0, 1, (4, 6)).astype(np.float32))
    init.zeros_(p)
    assert not p.numpy().any()


# ----------------------------------------------------------------------------------------
# A leaf that requires grad, while the graph is recorded
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, fn", [
    ("+=", lambda w: w.__iadd__(1.0)), ("-=", lambda w: w.__isub__(1.0)),
    ("*=", lambda w: w.__imul__(2.0)), ("/=", lambda w: w.__itruediv__(2.0)),
    ("add_", lambda w: w.add_(1.0)), ("sub_", lambda w: w.sub_(1.0)),
    ("mul_", lambda w: w.mul_(2.0)), ("div_", lambda w: w.div_(2.0)),
    ("clamp_", lambda w: w.clamp_(0.0, 1.0)), ("copy_", lambda w: w.copy_(np.zeros(2))),
    ("__setitem__", lambda w: w.__setitem__(0, 5.0)), ("fill_", lambda w: w.fill_(0.0)),
    ("zero_", lambda w: w.zero_()), ("uniform_", lambda w: w.uniform_()),
    ("normal_", lambda w: w.normal_()),
])
def test_in_place_on_a_leaf_that_requires_grad_outside_no_grad_names_the_op(name, fn):
    w = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=LEAF_ERROR) as info:
        fn(w)
    assert f"({name})" in str(info.value) and "no_grad" in str(info.value)
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
    assert w._version == 0
    with mg.no_grad():
        fn(w)                                     # the optimizer's way: allowed
    assert w._version == 1 and w.is_leaf


# ----------------------------------------------------------------------------------------
# Recorded in the graph (non-leaves, and tensors that take in a gradient)
# ----------------------------------------------------------------------------------------
def test_in_place_ops_on_a_non_leaf_give_the_out_of_place_gradients():
    x, w = f64([0.5, -1.0, 2.0]), f64([1.5, 2.0, -0.5])
    y = x * 2.0
    y += w
    y *= x
    y -= 1.0
    y /= w
    y.clamp_(-3.0, 3.0)
    assert not y.is_leaf and y.grad_fn.name == "clamp"
    y.sum().backward()
    gx, gw = x.grad.numpy(), w.grad.numpy()
    x.grad = w.grad = None
    (((x * 2.0 + w) * x - 1.0) / w).clamp(-3.0, 3.0).sum().backward()
    np.testing.assert_allclose(gx, x.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw, w.grad.numpy(), rtol=1e-12)


def _all_in_place(x, w):
    y = x * 1.0
    y += w
    y *= w                  # mul_ by a tensor that requires grad: keeps y's old value
    y -= x
    y /= w * w + 1.0        # div_ by a tensor that requires grad
    y.clamp_(-2.0, 2.0)
    return y


def _set_and_copy(x, w):
    y = x * 1.0
    y[1:] = w[:2] * 3.0     # setitem of a value that requires grad
    y[0] = w[2]
    z = mg.zeros(3, dtype="float64")
    z.copy_(y * y)          # copy_ from a tensor that requires grad
    return z + y


@pytest.mark.parametrize("fn", [_all_in_place, _set_and_copy], ids=["arith_clamp", "set_copy"])
def test_gradcheck_through_recorded_in_place_ops(fn):
    x, w = f64([0.3, -0.8, 1.1]), f64([0.7, 1.2, -0.4])
    assert mg.gradcheck(fn, [x, w])
    assert mg.gradgradcheck(fn, [x, w])


def test_setitem_records_the_value_and_blocks_the_overwritten_gradient():
    x = f64([1.0, 2.0, 3.0, 4.0])
    v = f64([10.0])
    y = x * 1.0
    y[1:3] = v                                    # v broadcast over two elements
    (y * f64([1.0, 2.0, 3.0, 4.0], requires_grad=False)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 0.0, 4.0])
    np.testing.assert_array_equal(v.grad.numpy(), [5.0])
    np.testing.assert_array_equal(y.numpy(), [1.0, 10.0, 10.0, 4.0])


def test_a_plain_tensor_that_takes_in_a_gradient_becomes_part_of_the_graph():
    w = f64([1.0, 2.0])
    acc = mg.zeros(2, dtype="float64")
    alias, array = acc, acc.data
    acc += w * w
    acc += w
    assert acc is alias and acc.data is array
    assert acc.requires_grad and not acc.is_leaf
    acc.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 5.0])


def test_in_place_on_a_view_is_refused_while_recording_and_shares_the_version_otherwise():
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    y = x * 1.0
    with pytest.raises(RuntimeError, match=r"\+=: this tensor is a view.*clone\(\)"):
        v = y[0]
        v += 1.0
    with mg.no_grad():
        row = y[1]
        row += 1.0                                # changes y too, and y's version
    assert y._version == row._version == 1
    np.testing.assert_array_equal(y.numpy(), [[1.0, 2.0], [4.0, 5.0]])


# ----------------------------------------------------------------------------------------
# The version counter: a changed saved value is an error at backward, not a wrong gradient
# ----------------------------------------------------------------------------------------
def test_changing_an_input_that_a_node_saved_makes_backward_refuse():
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0], requires_grad=False)
    z = (a * b).sum()
    b += 1.0                                       # Mul's backward reads b
    with pytest.raises(RuntimeError, match=MODIFIED + r".*input 1 of 'mul'.*version 1"):
        z.backward()
    assert a.grad is None


def test_changing_a_saved_output_in_place_makes_backward_refuse():
    x = f64([0.5, 1.0])
    y = x.exp()
    y += 1.0                                       # exp's backward reads its output
    with pytest.raises(RuntimeError, match=MODIFIED + r".*output of 'exp'"):
        y.sum().backward()
    t = x.tanh()
    t.detach().zero_()                             # detach shares memory and version
    with pytest.raises(RuntimeError, match=MODIFIED + r".*output of 'tanh'"):
        t.sum().backward()


def test_changing_a_parameter_after_the_forward_makes_a_retained_graph_refuse():
    w = f64([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    with mg.no_grad():
        w -= 0.1 * w.grad                          # an optimizer step
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_changing_a_view_of_a_saved_tensor_makes_backward_refuse():
    x = f64([1.0, 2.0, 3.0])
    c = f64([1.0, 1.0, 1.0], requires_grad=False)
    y = (x * c).sum()
    with mg.no_grad():
        c.reshape(3, 1)[0] += 5.0                  # the same memory as c: += then setitem
    assert c._version == 2
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_in_place_ops_that_change_nothing_saved_still_backward():
    x = f64([1.0, 2.0])
    y = x * 3.0            # mul by a constant reads only the constant
    alias = y
    y += 1.0
    assert y is alias and y.grad_fn.name == "add"
    (y * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


# ----------------------------------------------------------------------------------------
# Dtype and shape rules of in-place ops
# ----------------------------------------------------------------------------------------
def test_in_place_keeps_the_dtype_and_refuses_a_higher_category_as_pytorch():
    i = mg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match=r"/=: result type float32 can't be cast to the "
                                           r"desired output type int64"):
        i /= 2
    with pytest.raises(RuntimeError, match="can't be cast"):
        i += 1.5
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.clamp_(0.5)
    np.testing.assert_array_equal(i.numpy(), [1, 2, 3])
    i *= 2
    i += mg.tensor([1, 1, 1], dtype="int32")
    assert i.dtype == np.int64
    np.testing.assert_array_equal(i.numpy(), [3, 5, 7])
    f = mg.tensor([1.0, 2.0])
    f += np.array([0.1, 0.2])                      # float64 result, cast to float32
    f /= mg.tensor([2, 4])
    assert f.dtype == np.float32
    np.testing.assert_allclose(f.numpy(), [0.55, 0.55], rtol=1e-6)
    b = mg.tensor([True, False])
    with pytest.raises(RuntimeError, match="can't be cast.*bool"):
        b += 1


def test_in_place_cannot_change_the_shape():
    t = mg.zeros(3)
    with pytest.raises(mg.ShapeError, match=r"\+=.*\(2, 3\).*shape \(3,\)"):
        t += mg.ones(2, 3)
    with pytest.raises(mg.ShapeError, match=r"mul_.*\(3,\) and \(4,\)"):
        t.mul_(mg.ones(4))
    with pytest.raises(mg.ShapeError, match=r"copy_.*\(2,\).*\(3,\)"):
        t.copy_(mg.ones(2))
    e = mg.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="read-only.*clone"):
        e += 1.0


# ----------------------------------------------------------------------------------------
# retain_graph: a second backward through a freed graph says so
# ----------------------------------------------------------------------------------------
def test_second_backward_through_a_freed_graph_is_an_error():
    x = f64([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])     # not added twice
    z = x * 3.0
    z.sum().backward()
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        (z * 2.0).sum().backward()                 # a new op on a freed graph


def test_retain_graph_keeps_the_graph_for_another_backward():
    x = f64([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()                                   # accumulates, then frees
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        y.backward()
    y = (x * x).sum()
    y.backward(None, True)                         # PyTorch's order: gradient, retain_graph
    y.backward(None, False)
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 16.0])
    x.grad = None
    h = x.exp()
    l1, l2 = h.sum(), (h * 2.0).sum()
    mg.autograd.backward(l1, retain_graph=True)
    mg.autograd.backward(l2)
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * np.exp([1.0, 2.0]))


def test_grad_frees_the_graph_too_unless_retained_or_creating_a_graph():
    x = f64([0.5, 1.5])
    y = (x.sin() * x).sum()
    (g1,) = mg.grad(y, x, retain_graph=True)
    (g2,) = mg.grad(y, x)
    np.testing.assert_array_equal(g1.numpy(), g2.numpy())
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        mg.grad(y, x)
    y = (x ** 3).sum()
    (g,) = mg.grad(y, x, create_graph=True)        # keeps the graph (retain defaults to it)
    (gg,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6.0 * x.numpy())
    y.backward()                                   # the first graph is still there
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * x.numpy() ** 2)


def test_backward_frees_the_saved_activations_at_once():
    x = f64(np.ones((64, 64)))
    h = x * 2.0
    alive = weakref.ref(h)
    loss = (h * h).sum()
    del h
    gc.collect()
    assert alive() is not None                     # the graph holds it
    loss.backward()
    gc.collect()
    assert alive() is None                         # freed, although `loss` is still here
    assert loss.grad_fn.released and loss.grad_fn.inputs == ()


def test_gradient_accumulation_over_fresh_forwards_still_adds():
    w = f64([1.0, -1.0])
    for k in range(3):
        ((w * float(k + 1)).sum()).backward()
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 6.0])


@pytest.mark.interop
def test_in_place_errors_say_what_pytorchs_say():
    torch = pytest.importorskip("torch")
    cases = [
        (lambda: torch.ones(2, requires_grad=True).add_(1.0),
         lambda: f64([1.0, 1.0]).add_(1.0)),
        (lambda: torch.tensor([1, 2]).div_(2), lambda: mg.tensor([1, 2]).div_(2)),
        (lambda: (lambda y: (y.sum().backward(), y.sum().backward()))(
            (torch.ones(2, requires_grad=True) * torch.ones(2, requires_grad=True)).exp()),
         lambda: (lambda y: (y.sum().backward(), y.sum().backward()))((f64([1.0, 1.0]) * f64([1.0, 1.0])).exp())),
    ]
    for torch_call, mg_call in cases:
        with pytest.raises(RuntimeError) as theirs:
            torch_call()
        with pytest.raises(RuntimeError) as ours:
            mg_call()
        lead = str(theirs.value).split(".")[0].split(" (")[0]
        assert lead.replace("Float", "float32").replace("Long", "int64") in str(ours.value)
