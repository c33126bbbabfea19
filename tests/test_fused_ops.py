"""Fused GELU and LayerNorm (ops/fused.py) against their composite formulas (§3.1, §8).

On every CPU backend: the same values and gradients as gelu_composite / layer_norm_composite,
float64 gradient checks of the fused op, second derivatives through the create_graph
fallback, and the dispatch (which path F.gelu / F.layer_norm take).
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.backends import numpy_ref as ref
from test_backends import assert_close, cpu_backends

DTYPES = [np.float32, np.float64]


@pytest.fixture(params=cpu_backends())
def on_backend(request):
    with mg.backend(request.param):
        yield request.param


def _x(shape, dt, seed=0, scale=2.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dt)


# --- GELU -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_fused_equals_composite(on_backend, dt, approximate):
    xa = _x((4, 7, 33), dt)
    xa.flat[:5] = [0.0, -30.0, 30.0, 1e-6, -1e-6]      # saturation and the neighbourhood of 0
    ga = _x(xa.shape, dt, seed=1)
    x1, x2 = mg.tensor(xa, requires_grad=True), mg.tensor(xa, requires_grad=True)
    y1, y2 = F.gelu(x1, approximate), F.gelu_composite(x2, approximate)
    assert y1._node.name == "gelu"                      # the fused op ran
    assert_close(y1.numpy(), y2.numpy())
    y1.backward(mg.tensor(ga))
    y2.backward(mg.tensor(ga))
    assert_close(x1.grad.numpy(), x2.grad.numpy())
    assert y1.dtype == dt and x1.grad.dtype == dt


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_fused_gradcheck_and_gradgradcheck(on_backend, approximate):
    x = mg.tensor(_x((3, 5), np.float64), requires_grad=True)
    fn = lambda x: F.gelu(x, approximate)  # noqa: E731
    assert mg.gradcheck(fn, (x,))
    assert mg.gradgradcheck(fn, (x,))       # the backward falls back to the composite formula


# --- LayerNorm --------------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", [(2, 9, 48), (5, 130), (1, 1, 3)])
def test_layer_norm_fused_equals_composite(on_backend, dt, shape):
    n = shape[-1]
    xa, wa, ba = _x(shape, dt) + 3.0, _x((n,), dt, 1), _x((n,), dt, 2)
    ga = _x(shape, dt, seed=3)
    leaves = [[mg.tensor(a, requires_grad=True) for a in (xa, wa, ba)] for _ in range(2)]
    y1 = F.layer_norm(leaves[0][0], n, leaves[0][1], leaves[0][2])
    y2 = F.layer_norm_composite(leaves[1][0], (n,), leaves[1][1], leaves[1][2])
    assert y1._node.name == "layer_norm"
    assert_close(y1.numpy(), y2.numpy(), factor=4)
    y1.backward(mg.tensor(ga))
    y2.backward(mg.tensor(ga))
    for a, b in zip(leaves[0], leaves[1]):
        assert a.grad.dtype == dt
        assert_close(a.grad.numpy(), b.grad.numpy(), factor=10)


def test_layer_norm_fused_gradcheck_and_gradgradcheck(on_backend):
    x = mg.tensor(_x((3, 6), np.float64), requires_grad=True)
    w = mg.tensor(_x((6,), np.float64, 1), requires_grad=True)
    b = mg.tensor(_x((6,), np.float64, 2), requires_grad=True)
    fn = lambda x, w, b: F.layer_norm(x, 6, w, b)  # noqa: E731
    assert mg.gradcheck(fn, (x, w, b))
    assert mg.gradgradcheck(fn, (x, w, b))


def test_layer_norm_only_some_inputs_need_grad(on_backend):
    x = mg.tensor(_x((4, 8), np.float32), requires_grad=True)
    w, b = mg.ones(8), mg.zeros(8, requires_grad=True)
    F.layer_norm(x, 8, w, b).sum().backward()
    assert w.grad is None and b.grad is not None
    assert np.allclose(b.grad.numpy(), 4.0)
    assert np.abs(x.grad.numpy()).max() < 1e-5          # Σ of a normalised row is constant


def test_dispatch_falls_back_to_the_composite_formula():
    x = mg.tensor(_x((2, 3, 4), np.float32), requires_grad=True)
    assert F.layer_norm(x, (3, 4))._node.name != "layer_norm"   # two normalised dims
    assert F.layer_norm(x, 4)._node.name != "layer_norm"        # no weight or bias
    with pytest.raises(ValueError, match="approximate must be"):
        F.gelu(x, "fast")
    with pytest.raises(mg.ShapeError, match="layer_norm"):
        F.layer_norm(x, 5, mg.ones(5), mg.zeros(5))


def test_anomaly_mode_names_the_fused_op():
    x = mg.tensor(np.array([1.0, np.nan], np.float32), requires_grad=True)
    with mg.detect_anomaly(), pytest.raises(FloatingPointError, match="'gelu'"):
        F.gelu(x)


# --- the reference kernels against an independent derivative ------------------------------------
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_reference_gelu_backward_is_the_derivative(approximate):
    x = np.linspace(-6, 6, 101)
    h = 1e-6
    numeric = (ref.gelu(x + h, approximate) - ref.gelu(x - h, approximate)) / (2 * h)
    assert np.allclose(ref.gelu_backward(x, np.ones_like(x), approximate), numeric, atol=1e-8)


# --- Linear -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("xshape", [(4, 7, 33), (130, 33), (1, 33)])
def test_linear_fused_equals_composite(on_backend, dt, xshape):
    xa, wa, ba = _x(xshape, dt), _x((50, 33), dt, 1), _x((50,), dt, 2)
    ga = _x(xshape[:-1] + (50,), dt, 3)
    leaves = [[mg.tensor(a, requires_grad=True) for a in (xa, wa, ba)] for _ in range(2)]
    y1 = F.linear(*leaves[0])
    x, w, b = leaves[1]
    y2 = x @ w.mT + b
    assert y1._node.name == "linear" and y1.shape == y2.shape
    assert_close(y1.numpy(), y2.numpy())
    y1.backward(mg.tensor(ga))
    y2.backward(mg.tensor(ga))
    for a, b in zip(leaves[0], leaves[1]):
        assert a.grad.shape == b.grad.shape and a.grad.dtype == dt
        assert_close(a.grad.numpy(), b.grad.numpy(), factor=4)


def test_linear_fused_gradcheck_and_gradgradcheck(on_backend):
    x = mg.tensor(_x((2, 3, 4), np.float64), requires_grad=True)
    w = mg.tensor(_x((5, 4), np.float64, 1), requires_grad=True)
    b = mg.tensor(_x((5,), np.float64, 2), requires_grad=True)
    assert mg.gradcheck(F.linear, (x, w, b))
    assert mg.gradgradcheck(F.linear, (x, w, b))


def test_linear_shape_errors_name_the_op():
    with pytest.raises(mg.ShapeError, match="linear: input has 3 features"):
        F.linear(mg.ones(2, 3), mg.ones(5, 4), mg.ones(5))
    with pytest.raises(mg.ShapeError, match="linear: bias of shape"):
        F.linear(mg.ones(2, 4), mg.ones(5, 4), mg.ones(4))
