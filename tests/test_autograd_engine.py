"""The engine's behaviour around the ops: backward, grad accumulation, higher order, grad
mode, anomaly mode, error messages, gradcheck itself, and dtype rules."""
from __future__ import annotations

import inspect
import re
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad.tensor import Function


def f64(data, requires_grad=True):
    return mg.tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


def _next_line():
    """The line number just after the caller's current line (for error-location checks)."""
    return inspect.currentframe().f_back.f_lineno + 1


# ----------------------------------------------------------------------------------------
# backward
# ----------------------------------------------------------------------------------------
def test_long_chain_backward_needs_no_recursion():
    x = f64(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    limit = sys.getrecursionlimit()
    y.backward()
    assert sys.getrecursionlimit() == limit
    np.testing.assert_allclose(x.grad.item(), 1.0001 ** 10_000, rtol=1e-9)


def test_grad_accumulates_and_is_cleared_by_zero_grad_or_none():
    x = f64([1.0, 2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0])
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    x.grad = None
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_a_tensor_used_twice_gets_both_contributions():
    x = f64(3.0)
    y = x * x + x          # 2x + 1 = 7
    y.backward()
    assert x.grad.item() == 7.0


def test_backward_of_non_scalar_without_gradient_is_a_clear_error():
    y = f64([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"scalar.*shape \(2,\).*gradient="):
        y.backward()


def test_backward_with_gradient_argument():
    x = f64([1.0, 2.0, 3.0])
    (x * x).backward(gradient=f64([1.0, 0.5, -1.0], requires_grad=False))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, -6.0])
    with pytest.raises(RuntimeError, match=r"shape \(2,\).*\(3,\)"):
        (x * x).backward(gradient=f64([1.0, 2.0], requires_grad=False))


def test_backward_on_a_graph_without_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (f64([1.0], requires_grad=False) * 2).sum().backward()


def test_backward_does_not_touch_tensors_that_do_not_require_grad():
    x, c = f64([1.0]), f64([2.0], requires_grad=False)
    (x * c).sum().backward()
    assert c.grad is None and x.grad.item() == 2.0


# ----------------------------------------------------------------------------------------
# higher order
# ----------------------------------------------------------------------------------------
def test_grad_with_create_graph_gives_second_derivatives():
    x = f64([0.5, -1.0])
    (g,) = mg.grad((x ** 3).sum(), x, create_graph=True)        # 3x²
    np.testing.assert_allclose(g.numpy(), 3 * np.array([0.5, -1.0]) ** 2)
    assert g.requires_grad
    (h,) = mg.grad(g.sum(), x)                                  # 6x
    np.testing.assert_allclose(h.numpy(), [3.0, -6.0])
    assert x.grad is None  # mg.grad never touches .grad


def test_hessian_vector_product_matches_hand_computed_hessian():
    # f(x) = x0² x1 + x1³ + sin(x0 x1)
    # H = [[2x1 - x1² s,      2x0 + c - x0 x1 s],
    #      [2x0 + c - x0 x1 s, 6x1 - x0² s     ]]   with s = sin(x0 x1), c = cos(x0 x1)
    a, b = 0.7, -1.3
    x = f64([a, b])
    v = f64([0.4, 2.0], requires_grad=False)
    f = x[0] ** 2 * x[1] + x[1] ** 3 + (x[0] * x[1]).sin()
    (g,) = mg.grad(f, x, create_graph=True)
    (hv,) = mg.grad((g * v).sum(), x)
    s, c = np.sin(a * b), np.cos(a * b)
    hessian = np.array([[2 * b - b * b * s, 2 * a + c - a * b * s],
                        [2 * a + c - a * b * s, 6 * b - a * a * s]])
    np.testing.assert_allclose(g.numpy(), [2 * a * b + b * c, a * a + 3 * b * b + a * c])
    np.testing.assert_allclose(hv.numpy(), hessian @ v.numpy(), rtol=1e-12)


def test_backward_with_create_graph_then_differentiate_the_grad():
    x = f64(2.0)
    (x ** 4).backward(create_graph=True)                        # 4x³ = 32
    g = x.grad
    assert g.item() == 32.0 and g.requires_grad
    (h,) = mg.grad(g, x)                                        # 12x² = 48
    assert h.item() == 48.0


def test_grad_of_unused_input():
    x, y = f64(1.0), f64(2.0)
    with pytest.raises(RuntimeError, match="input 1.*not used"):
        mg.grad(x * 2, [x, y])
    gx, gy = mg.grad(x * 2, [x, y], allow_unused=True)
    assert gx.item() == 2.0 and gy is None


# ----------------------------------------------------------------------------------------
# grad mode
# ----------------------------------------------------------------------------------------
def test_no_grad_and_enable_grad_as_context_managers():
    x = f64([1.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2
        with mg.enable_grad():
            z = x * 2
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad


def test_no_grad_and_enable_grad_as_decorators():
    x = f64([1.0])

    @mg.no_grad()
    def evaluate():
        return x * 2

    @mg.enable_grad()
    def train_step():
        return x * 2

    assert not evaluate().requires_grad
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert train_step().requires_grad
        assert not mg.is_grad_enabled()


def test_decorated_no_grad_function_may_call_itself():
    @mg.no_grad()
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert mg.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with mg.no_grad():
            raise ValueError
    assert mg.is_grad_enabled()


def test_set_grad_enabled_as_call_context_manager_and_decorator():
    mg.set_grad_enabled(False)
    assert not mg.is_grad_enabled()
    mg.set_grad_enabled(True)
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()

    @mg.set_grad_enabled(False)
    def f():
        return mg.is_grad_enabled()

    assert mg.is_grad_enabled()  # decorating switches nothing
    assert f() is False
    assert mg.is_grad_enabled()


def test_requires_grad_on_an_integer_tensor_is_a_clear_type_error():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        mg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        mg.tensor([1, 2]).requires_grad_()


def test_comparisons_return_bool_tensors_without_grad():
    x, y = f64([1.0, 2.0, 3.0]), f64([3.0, 2.0, 1.0])
    expected = {"==": [False, True, False], "!=": [True, False, True],
                "<": [True, False, False], "<=": [True, True, False],
                ">": [False, False, True], ">=": [False, True, True]}
    results = {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}
    for op, r in results.items():
        assert r.dtype == np.bool_, op
        assert not r.requires_grad and r.grad_fn is None, op
        assert r.tolist() == expected[op], op
    assert (x > 2.0).tolist() == [False, False, True]


# ----------------------------------------------------------------------------------------
# anomaly mode
# ----------------------------------------------------------------------------------------
def test_detect_anomaly_names_the_op_and_line_of_a_forward_nan():
    x = f64([1.0, -1.0])
    with mg.detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            line = _next_line()
            x.log()
    message = str(info.value)
    assert "'log'" in message and "NaN" in message
    assert f'{__file__}", line {line}' in message
    assert not mg.autograd.mode.anomaly


def test_detect_anomaly_names_the_op_and_line_of_a_backward_inf():
    x = f64([0.0, 4.0])
    with mg.detect_anomaly(), np.errstate(divide="ignore"):
        line = _next_line()
        y = x.sqrt()                    # finite forward; d sqrt / dx at 0 is inf
        loss = (y * 2.0).sum()
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    message = str(info.value)
    assert "backward of 'sqrt'" in message and "Inf" in message
    assert f'{__file__}", line {line}' in message


def test_detect_anomaly_as_decorator_and_off_by_default():
    x = f64([-1.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(x.log().item())     # no anomaly mode: NaN passes silently

    @mg.detect_anomaly()
    def bad():
        return x.log()

    with pytest.raises(FloatingPointError, match="'log'"):
        bad()


# ----------------------------------------------------------------------------------------
# error messages
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("op, call, shapes", [
    ("add", lambda: mg.ones(2, 3) + mg.ones(4), ["(2, 3)", "(4,)"]),
    ("matmul", lambda: mg.ones(2, 3) @ mg.ones(4, 5), ["(2, 3)", "(4, 5)"]),
    ("cat", lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 4)], dim=0), ["(2, 3)", "(2, 4)"]),
    ("reshape", lambda: mg.ones(2, 3).reshape(4, 2), ["(2, 3)", "(4, 2)"]),
    ("expand", lambda: mg.ones(2, 3).expand(4, 3), ["(2, 3)", "(4, 3)"]),
])
def test_shape_errors_name_the_op_and_both_shapes(op, call, shapes):
    with pytest.raises(mg.ShapeError) as info:
        call()
    message = str(info.value)
    assert message.startswith(op), message
    for s in shapes:
        assert s in message, message
    assert isinstance(info.value, ValueError)  # code catching ValueError still works


@pytest.mark.parametrize("op, call", [
    ("sum", lambda x: x.sum(dim=2)),
    ("softmax", lambda x: x.softmax(dim=-3)),
    ("transpose", lambda x: x.transpose(0, 2)),
    ("unsqueeze", lambda x: x.unsqueeze(4)),
    ("amax", lambda x: x.amax(dim=5)),
    ("cat", lambda x: mg.cat([x, x], dim=2)),
    ("gather", lambda x: x.gather(2, mg.zeros(2, 3, dtype="int64"))),
])
def test_dim_out_of_range_is_an_index_error_naming_the_op(op, call):
    with pytest.raises(IndexError, match=rf"^{op}: dim -?\d+ is out of range"):
        call(mg.ones(2, 3))


def test_indexing_with_floats_is_a_clear_index_error():
    x = mg.ones(3)
    with pytest.raises(IndexError, match="integer or bool.*float32"):
        x[mg.tensor([0.0, 1.0])]
    with pytest.raises(IndexError, match="float"):
        x[1.0]


# ----------------------------------------------------------------------------------------
# gradcheck itself
# ----------------------------------------------------------------------------------------
class _WrongSquare(Function):
    """x² with a wrong backward (forgets the factor 2): gradcheck must catch it."""

    name = "wrong_square"

    def forward(self, a):
        return a * a

    def backward(self, g):
        return g * self.inputs[0]


class _ConstantGradSquare(Function):
    """x² whose backward is right, but built from raw arrays, so its own derivative is lost."""

    name = "constant_grad_square"

    def forward(self, a):
        return a * a

    def backward(self, g):
        return g * mg.Tensor(2.0 * self.inputs[0].data)


def test_gradcheck_failure_names_input_element_and_both_values():
    x = f64([1.0, 2.0])
    y = f64([3.0])
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda a, b: a * 1.0 + _WrongSquare.apply(b), [x, y])
    message = str(info.value)
    assert "input 1" in message and "element (0,)" in message
    numerical = float(re.search(r"numerical=([-\d.e+]+)", message).group(1))
    analytical = float(re.search(r"analytical=([-\d.e+]+)", message).group(1))
    assert numerical == pytest.approx(6.0, rel=1e-6)
    assert analytical == pytest.approx(3.0)
    assert mg.gradcheck(lambda b: _WrongSquare.apply(b), [y], raise_exception=False) is False


def test_gradcheck_passes_a_correct_op_and_checks_second_order():
    x = f64([[0.3, -1.2], [0.5, 2.0]])
    assert mg.gradcheck(lambda a: (a * a.sin()).sum(dim=1), [x])
    assert mg.gradgradcheck(lambda a: (a * a.sin()).sum(dim=1), [x])
    # _ConstantGradSquare is right to first order only: gradcheck passes, gradgradcheck fails.
    assert mg.gradcheck(lambda a: _ConstantGradSquare.apply(a), [x])
    with pytest.raises(mg.GradcheckError, match="input 0"):
        mg.gradgradcheck(lambda a: _ConstantGradSquare.apply(a), [x])


def test_gradcheck_warns_on_float32_inputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert x.dtype == np.float32
    with pytest.warns(UserWarning, match="float32.*float64"):
        mg.gradcheck(lambda a: a * 2.0, [x], raise_exception=False)


def test_gradcheck_fast_mode():
    x = f64(np.linspace(-1, 1, 12).reshape(3, 4))
    w = f64(np.linspace(0.5, 2, 8).reshape(4, 2))
    assert mg.gradcheck(lambda a, b: (a @ b).tanh(), [x, w], fast_mode=True)
    assert mg.gradgradcheck(lambda a, b: (a @ b).tanh(), [x, w], fast_mode=True)
    with pytest.raises(mg.GradcheckError, match="fast mode.*input 0.*numerical=.*analytical="):
        mg.gradcheck(lambda a: _WrongSquare.apply(a), [x], fast_mode=True)


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        mg.gradcheck(lambda a: a * 2, [f64([1.0], requires_grad=False)])


# ----------------------------------------------------------------------------------------
# dtype rules
# ----------------------------------------------------------------------------------------
def test_python_float_times_float32_tensor_stays_float32():
    x = mg.ones(3)
    assert x.dtype == np.float32
    for y in (x * 2.5, 2.5 * x, x + 1.0, 1.0 - x, x / 3.0, 3.0 / x, x ** 2.0, 2.0 ** x):
        assert y.dtype == np.float32


def test_tensor_of_python_floats_is_float32_and_numpy_float64_stays_float64():
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor(1.5).dtype == np.float32
    assert mg.tensor([1, 2]).dtype == np.int64
    assert mg.tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert mg.tensor(np.zeros(2, dtype=np.float32)).dtype == np.float32
    assert mg.tensor([1.0], dtype="float64").dtype == np.float64


def test_gradients_have_the_parameters_dtype():
    w32 = mg.tensor([1.0, 2.0], requires_grad=True)
    x64 = f64([3.0, 4.0])
    loss = (w32.double() * x64).sum() + (w32 * x64).sum()      # float64 graph
    assert loss.dtype == np.float64
    loss.backward()
    assert w32.grad.dtype == np.float32 and x64.grad.dtype == np.float64
    np.testing.assert_allclose(w32.grad.numpy(), [6.0, 8.0])
    x = f64([1.0, 2.0])
    x.to("float32").sum().backward()
    assert x.grad.dtype == np.float64


def test_to_int_and_comparisons_cut_the_graph():
    x = f64([1.5, 2.5])
    assert not x.long().requires_grad and x.long().dtype == np.int64
    assert x.to("float64") is x and x.double() is x
    c = x.clone()
    assert c.requires_grad and c.data is not x.data


def test_gradgradcheck_fails_for_a_backward_outside_the_graph():
    # A backward written in raw NumPy is right to first order but has no second derivative:
    # gradgradcheck must fail, not pass with nothing to compare.
    from minigrad.tensor import Function, Tensor

    class NumpySigmoid(Function):
        name = "numpy_sigmoid"

        def forward(self, a):
            return 1 / (1 + np.exp(-a))

        def backward(self, g):
            y = self.out_data
            return Tensor(g.data * y * (1 - y))

    x = mg.tensor(np.random.default_rng(0).standard_normal(3), requires_grad=True)
    assert mg.gradcheck(NumpySigmoid.apply, [x])
    with pytest.raises(mg.GradcheckError):
        mg.gradgradcheck(NumpySigmoid.apply, [x])


def test_in_place_gradient_accumulation_does_not_corrupt_shared_gradients():
    """The engine adds gradients in place only into arrays it owns (autograd._accumulate):
    Add hands the same gradient to both inputs, getitem's backward marks its output as
    private and as zero outside the slice.  Every combination against float64 numbers."""
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((4, 6))
    x = mg.tensor(xa, requires_grad=True)
    h = x * 2.0                                  # a non-leaf that receives many gradients
    a, b = h + 1.0, h * 3.0                      # Add: g reaches h, and the same g reaches ...
    s = a + b                                    # ... both a and b (one shared array)
    q, k, v = h.split(2, dim=1)                  # three getitems with basic slices
    parts = [s.sum(), (q * 5.0).sum(), (k * 7.0).sum(), (v * v).sum(), (h[1:3] * 11.0).sum(),
             (h[np.array([0, 0, 3])] * 13.0).sum()]   # an advanced index, with a repeat
    loss = parts[0]
    for p in parts[1:]:
        loss = loss + p
    loss.backward()
    hh = 2 * xa
    dh = np.full_like(xa, 1.0 + 3.0)
    dh[:, 0:2] += 5.0
    dh[:, 2:4] += 7.0
    dh[:, 4:6] += 2 * hh[:, 4:6]
    dh[1:3] += 11.0
    dh[0] += 2 * 13.0
    dh[3] += 13.0
    np.testing.assert_allclose(x.grad.numpy(), 2 * dh, rtol=1e-12)


def test_a_slice_gradient_accumulates_into_a_captured_non_leaf():
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x * 1.0
    g, = mg.grad((y[:, :2] * 2.0).sum() + (y * 3.0).sum(), [y])
    np.testing.assert_allclose(g.numpy(), [[5, 5, 3], [5, 5, 3]])
