"""NaN in, NaN out (§4.1's masking rule is for -inf only), on every backend.

A fully masked row (every score -inf) has no probabilities to give: softmax and attention
return 0 there, by design.  That rule must never swallow a NaN that came in with the inputs:
a row with a NaN in it is NaN, whatever the backend, and `detect_anomaly()` names the op.
The cuda backend runs these too, in the CUDA simulator's process (tests/test_kernels_cuda.py
imports them).
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backends
from test_backends import usable_backends

BACKENDS = usable_backends()   # numpy, numba; cuda only under NUMBA_ENABLE_CUDASIM=1 or a GPU


@pytest.fixture(params=BACKENDS)
def backend(request):
    with mg.backend(request.param):
        yield request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_nan_row_is_nan_and_masked_row_is_zero(backend, dtype):
    x = np.array([[1.0, np.nan, 2.0],          # a NaN: the whole row is NaN
                  [-np.inf, -np.inf, -np.inf], # every key masked: zeros
                  [-np.inf, np.nan, -np.inf],  # NaN among masked keys: still NaN
                  [np.nan, 0.0, 1.0],          # NaN first
                  [0.0, 1.0, -np.inf]], dtype=dtype)
    y = F.softmax(mg.tensor(x), dim=-1).data
    assert np.isnan(y[[0, 2, 3]]).all()
    assert (y[1] == 0).all()
    np.testing.assert_allclose(y[4], [1 / (1 + np.e), np.e / (1 + np.e), 0.0], rtol=1e-6)
    ly = F.log_softmax(mg.tensor(x), dim=-1).data
    assert np.isnan(ly[[0, 2, 3]]).all() and np.isfinite(ly[4, :2]).all()
    # along dim 0 too (the kernels move the dim last)
    assert np.isnan(F.softmax(mg.tensor(x.T.copy()), dim=0).data[:, 0]).all()


def test_softmax_of_plus_inf_is_nan_as_pytorch(backend):
    y = F.softmax(mg.tensor([np.inf, 1.0]), dim=-1).data
    assert np.isnan(y[0])


def _qkv(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((1, 2, 5, 4)).astype(dtype) for _ in range(3)]


@pytest.mark.parametrize("causal", [False, True])
def test_attention_nan_in_q_makes_only_that_query_row_nan(backend, causal):
    q, k, v = _qkv()
    q[0, 0, 1, 2] = np.nan
    out = F.scaled_dot_product_attention(*map(mg.tensor, (q, k, v)), is_causal=causal).data
    bad = np.isnan(out).any(-1)
    expected = np.zeros((2, 5), bool)
    expected[0, 1] = True
    np.testing.assert_array_equal(bad[0], expected)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_nan_in_k_or_v_reaches_every_query_that_sees_it(backend, causal):
    q, k, v = _qkv()
    k[0, 1, 3, 0] = np.nan                      # key 3 of head 1
    out = F.scaled_dot_product_attention(*map(mg.tensor, (q, k, v)), is_causal=causal).data
    sees_key_3 = np.arange(5) >= 3 if causal else np.ones(5, bool)
    np.testing.assert_array_equal(np.isnan(out[0, 1]).any(-1), sees_key_3)
    assert not np.isnan(out[0, 0]).any()        # the other head is untouched
    q, k, v = _qkv(seed=1)
    v[0, 0, 2, 1] = np.nan
    out = F.scaled_dot_product_attention(*map(mg.tensor, (q, k, v)), is_causal=causal).data
    sees_key_2 = np.arange(5) >= 2 if causal else np.ones(5, bool)
    # (a query that cannot see key 2 may be NaN too where P·V is a matrix product: 0 · NaN = NaN)
    assert np.isnan(out[0, 0]).any(-1)[sees_key_2].all()
    assert not np.isnan(out[0, 1]).any()


def test_attention_masked_row_is_zero_and_nan_row_is_nan_together(backend):
    q, k, v = _qkv()
    q[0, 0, 0, 0] = np.nan
    mask = np.ones((5, 5), bool)
    mask[2] = False                              # query 2 sees no key: its output is 0
    out = F.scaled_dot_product_attention(*map(mg.tensor, (q, k, v)), attn_mask=mask).data
    assert np.isnan(out[0, 0, 0]).all()
    assert (out[:, :, 2] == 0).all()
    assert np.isfinite(out[0, 1]).all() or not np.isnan(out[0, 1, [0, 1, 3, 4]]).any()


def test_attention_gradients_carry_nan_back(backend):
    q, k, v = _qkv(np.float64)
    k[0, 0, 4, 1] = np.nan
    ts = [mg.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ts, is_causal=True)
    out.sum().backward()
    gq = ts[0].grad.data
    assert np.isnan(gq[0, 0, 4]).all()           # query 4 sees key 4
    # (queries 0..3 cannot see it, but dQ = dS·K multiplies their zeros by K's NaN where the
    # backward is a matrix product: 0 · NaN = NaN, so their gradients may be NaN too)
    assert not np.isnan(gq[0, 1]).any()          # the other head
    assert np.isnan(ts[1].grad.data[0, 0]).any() and not np.isnan(ts[1].grad.data[0, 1]).any()


def test_anomaly_mode_names_the_op_that_met_the_nan(backend):
    q, k, v = _qkv()
    k[0, 0, 0, 0] = np.nan
    with mg.detect_anomaly(), pytest.raises(FloatingPointError, match="produced NaN"):
        F.scaled_dot_product_attention(*map(mg.tensor, (q, k, v)))
    with mg.detect_anomaly(), pytest.raises(FloatingPointError, match="'softmax' produced NaN"):
        F.softmax(mg.tensor([1.0, np.nan]), dim=-1)


def test_the_kernels_themselves_keep_nan():
    """The backend functions, below the ops: what each backend's kernel returns."""
    x = np.array([[0.5, np.nan, 1.0, 2.0]], np.float32)
    for name in BACKENDS:
        be = backends.get(name)
        assert np.isnan(np.asarray(be.softmax(x, -1))).all(), name
        q, k, v = (a.reshape(2, 5, 4) for a in _qkv())
        q[0, 3, 1] = np.nan
        out, lse = be.attention_forward(q, k, v, None, False, 0.5)
        out, lse = np.asarray(be.to_host(out)), np.asarray(be.to_host(lse))
        assert np.isnan(out[0, 3]).all() and np.isnan(lse[0, 3]), name
        assert not np.isnan(out[0, [0, 1, 2, 4]]).any() and not np.isnan(out[1]).any(), name


def test_softmax_of_an_integer_tensor_promotes_to_float_as_exp_does(backend):
    x = mg.tensor([1, 2, 3])
    for fn in (F.softmax, F.log_softmax):
        y = fn(x, dim=-1)
        assert y.dtype == x.float().exp().dtype == np.float32
        np.testing.assert_allclose(y.data, fn(x.float(), dim=-1).data, rtol=1e-6)
    assert F.softmax(mg.tensor([True, False]), dim=-1).dtype == np.float32
