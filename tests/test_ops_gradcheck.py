"""Every differentiable op, checked to first and second order against finite differences.

The ops and their input domains are the table in op_table.py; one parametrised test runs
`mg.gradcheck` and `mg.gradgradcheck` (float64, central differences) for every entry, over
shapes drawn by hypothesis: scalars, size-1 broadcast dims, transposed and strided
(non-contiguous) inputs.

Random comparisons can pass by luck (a gradient that is off by a symmetric term, say), so
the second half of the file pins a few gradients to values worked out by hand.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from op_table import OPS, OPS_BY_NAME, cast_params, draw_case, make_arrays


def _inputs(op, shapes, seed, layouts):
    arrays = make_arrays(op, shapes, seed, layouts, np.float64)
    # mg.Tensor (not mg.tensor) keeps the array as it is: transposed and strided views stay
    # non-contiguous, as they would after a .T or a slice in user code.
    return [mg.Tensor(a, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_gradcheck_first_and_second_order(op, data):
    _check(op, data)


# Ops whose forward (and, when no graph is built, backward) runs in a backend kernel: checked
# on every CPU backend, whichever one is the default.
KERNEL_OPS = ["softmax", "log_softmax", "softmax_causal_mask", "matmul"]
CPU_BACKENDS = [name for name in ("numpy", "numba") if mg.backends.usable(name)]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("name", KERNEL_OPS)
@given(data=st.data())
def test_kernel_backed_ops_on_every_cpu_backend(name, backend, data):
    with mg.backend(backend):
        _check(OPS_BY_NAME[name], data)


def _check(op, data):
    shapes, params, seed, layouts = data.draw(draw_case(op), label="case")
    params = cast_params(params, np.float64)
    inputs = _inputs(op, shapes, seed, layouts)

    def fn(*xs):
        return op.fn(mg, *xs, **params)

    with warnings.catch_warnings():
        if op.name == "to_float32":  # its output, so gradgradcheck's v, is float32 on purpose
            warnings.filterwarnings("ignore", "gradcheck: input .* is float32")
        assert mg.gradcheck(fn, inputs, **op.gradcheck_kwargs)
        if op.second_order:
            assert mg.gradgradcheck(fn, inputs, **op.gradcheck_kwargs)


def test_the_table_draws_non_contiguous_inputs():
    """The layouts really are non-contiguous (else the transposed-input checks test nothing)."""
    op = OPS[0]
    f, s = make_arrays(op, [(2, 3), (2, 3)], 0, ("F", "strided"), np.float64)
    assert not f.flags.c_contiguous and not s.flags.c_contiguous
    t = mg.Tensor(f, requires_grad=True)
    assert not t.data.flags.c_contiguous


# ----------------------------------------------------------------------------------------
# Exact values: gradients worked out by hand
# ----------------------------------------------------------------------------------------
def _grads(fn, *arrays):
    xs = [mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(*xs)
    out.backward(mg.ones_like(out) if out.ndim else None)
    return [x.grad.numpy() for x in xs]


def test_exact_mul_div_pow():
    gx, gy = _grads(lambda x, y: x * y, [2.0, 3.0], [5.0, 7.0])
    np.testing.assert_array_equal(gx, [5.0, 7.0])
    np.testing.assert_array_equal(gy, [2.0, 3.0])
    gx, gy = _grads(lambda x, y: x / y, [3.0], [2.0])          # 1/y, -x/y²
    np.testing.assert_allclose(gx, [0.5])
    np.testing.assert_allclose(gy, [-0.75])
    gx, gy = _grads(lambda x, y: x ** y, [2.0], [3.0])         # y·x^(y-1), x^y·ln x
    np.testing.assert_allclose(gx, [12.0])
    np.testing.assert_allclose(gy, [8.0 * math.log(2.0)])
    (gx,) = _grads(lambda x: x ** 3, [2.0])
    np.testing.assert_allclose(gx, [12.0])


def test_exact_broadcast_gradient_sums_over_broadcast_dims():
    # x (2, 1) + y (3,) -> (2, 3): each x element is used 3 times, each y element twice.
    gx, gy = _grads(lambda x, y: x + y, [[1.0], [2.0]], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(gx, [[3.0], [3.0]])
    np.testing.assert_array_equal(gy, [2.0, 2.0, 2.0])


def test_exact_repeated_indices_accumulate():
    (g,) = _grads(lambda x: x[mg.tensor([0, 0, 2, -1])], [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(g, [2.0, 0.0, 2.0])
    (g,) = _grads(lambda x: x.gather(0, mg.tensor([1, 1, 1])), [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(g, [0.0, 3.0, 0.0])


def test_exact_matmul():
    a = [[1.0, 2.0], [3.0, 4.0]]
    b = [[5.0, 6.0], [7.0, 8.0]]
    ga, gb = _grads(lambda x, y: (x @ y).sum(), a, b)
    # d/dA sum(AB) = 1 Bᵀ: row sums of B; d/dB = Aᵀ 1: column sums of A
    np.testing.assert_array_equal(ga, [[11.0, 15.0], [11.0, 15.0]])
    np.testing.assert_array_equal(gb, [[4.0, 4.0], [6.0, 6.0]])


def test_exact_softmax_and_log_softmax():
    # d/dx softmax(x)[0] = s0 (e0 - s): for x = (0, 0), s = (1/2, 1/2): (1/4, -1/4)
    (g,) = _grads(lambda x: x.softmax(-1)[0], [0.0, 0.0])
    np.testing.assert_allclose(g, [0.25, -0.25])
    # d/dx log_softmax(x)[0] = e0 - s: (1/2, -1/2)
    (g,) = _grads(lambda x: x.log_softmax(-1)[0], [0.0, 0.0])
    np.testing.assert_allclose(g, [0.5, -0.5])
    # d/dx logsumexp(x) = softmax(x); for x = (0, ln 3): (1/4, 3/4)
    (g,) = _grads(lambda x: x.logsumexp(0), [0.0, math.log(3.0)])
    np.testing.assert_allclose(g, [0.25, 0.75])


def test_exact_activations_at_known_points():
    (g,) = _grads(lambda x: x.sigmoid(), [0.0])
    np.testing.assert_allclose(g, [0.25])
    (g,) = _grads(lambda x: x.tanh(), [0.0])
    np.testing.assert_allclose(g, [1.0])
    (g,) = _grads(lambda x: x.erf(), [0.0])
    np.testing.assert_allclose(g, [2.0 / math.sqrt(math.pi)])
    (g,) = _grads(lambda x: x.sqrt(), [4.0])
    np.testing.assert_allclose(g, [0.25])
    (g,) = _grads(lambda x: x.log(), [4.0])
    np.testing.assert_allclose(g, [0.25])


def test_exact_conventions_at_kinks_match_pytorch():
    """At a kink there is no derivative; these are the values PyTorch chooses."""
    (g,) = _grads(lambda x: x.relu(), [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])
    (g,) = _grads(lambda x: x.abs(), [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])
    (g,) = _grads(lambda x: x.clamp(-1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])
    gx, gy = _grads(lambda x, y: x.maximum(y), [1.0, 2.0, 3.0], [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(gx, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(gy, [1.0, 0.5, 0.0])
    (g,) = _grads(lambda x: x.amax(), [1.0, 3.0, 3.0])        # ties share the gradient
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5])


def test_exact_var_and_std():
    # var (correction=1) of (1, 3): mean 2, d/dx = 2 (x - mean) / (N - 1) = (-2, 2)
    (g,) = _grads(lambda x: x.var(), [1.0, 3.0])
    np.testing.assert_allclose(g, [-2.0, 2.0])
    # std = sqrt(var) = sqrt(2): d/dx = dvar / (2 std) = (-1, 1)/sqrt(2)
    (g,) = _grads(lambda x: x.std(), [1.0, 3.0])
    np.testing.assert_allclose(g, [-1 / math.sqrt(2), 1 / math.sqrt(2)])


def test_exact_second_derivatives():
    x = mg.tensor(np.array([2.0]), requires_grad=True)
    (g,) = mg.grad((x ** 3).sum(), x, create_graph=True)     # 3x² = 12
    (h,) = mg.grad(g.sum(), x)                                 # 6x = 12
    np.testing.assert_allclose(g.numpy(), [12.0])
    np.testing.assert_allclose(h.numpy(), [12.0])
    x = mg.tensor(np.array([0.0]), requires_grad=True)
    (g,) = mg.grad(x.sigmoid().sum(), x, create_graph=True)    # σ(1-σ) = 1/4
    (h,) = mg.grad(g.sum(), x)                                 # σ(1-σ)(1-2σ) = 0 at 0
    np.testing.assert_allclose(g.numpy(), [0.25])
    np.testing.assert_allclose(h.numpy(), [0.0], atol=1e-12)
    x = mg.tensor(np.array([0.5]), requires_grad=True)
    (g,) = mg.grad(x.sin().sum(), x, create_graph=True)
    (h,) = mg.grad(g.sum(), x)                                 # -sin x
    np.testing.assert_allclose(h.numpy(), [-math.sin(0.5)])
