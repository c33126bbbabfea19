"""The numba.cuda kernels against the NumPy reference (§8 模型效率), on tiny shapes.

Runs only where the cuda backend can: on the CUDA simulator, in a pytest process of its own
(the variable must be set before numba is imported),

    NUMBA_ENABLE_CUDASIM=1 python -m pytest -q tests/test_kernels_cuda.py

or on a machine with an NVIDIA GPU.  Elsewhere the whole file is skipped.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from minigrad import backends

if not backends.usable("cuda"):
    pytest.skip("cuda backend unavailable: no GPU and NUMBA_ENABLE_CUDASIM is not 1",
                allow_module_level=True)

import minigrad as mg  # noqa: E402
from minigrad.backends import numpy_ref as ref  # noqa: E402
from test_backends import assert_close, check_ops  # noqa: E402

cu = backends.get("cuda")
SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
DTYPES = [np.float32, np.float64]


def _rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("sa,sb", [((2, 5, 7), (7, 6)), ((3, 1, 4, 9), (2, 9, 3)), ((5, 4), (4, 5))])
def test_matmul(dt, sa, sb):
    a, b = _rng().standard_normal(sa).astype(dt), _rng(1).standard_normal(sb).astype(dt)
    assert_close(cu.matmul(a, b), ref.matmul(a, b))


@pytest.mark.parametrize("dt", DTYPES)
def test_softmax_and_log_softmax(dt):
    x = (_rng().standard_normal((4, 13)) * 4).astype(dt)
    x[0] = -np.inf                                   # fully masked row -> zeros
    x[1, 3:] = -np.inf
    y = cu.softmax(x, -1)
    assert_close(y, ref.softmax(x, -1))
    assert (y[0] == 0).all() and (y[1, 3:] == 0).all()
    assert_close(cu.softmax(x[1:], 0), ref.softmax(x[1:], 0))
    assert_close(cu.log_softmax(x[1:], -1), ref.log_softmax(x[1:], -1))
    g = _rng(2).standard_normal(x.shape).astype(dt)
    yr = ref.softmax(x, -1)
    assert_close(cu.softmax_backward(yr, g, -1), ref.softmax_backward(yr, g, -1))
    lr = ref.log_softmax(x[2:], -1)
    assert_close(cu.log_softmax_backward(lr, g[2:], -1), ref.log_softmax_backward(lr, g[2:], -1))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("mask", [None, "keys", "float"])
def test_attention_forward_backward(dt, causal, mask):
    r = _rng(3)
    N, T, S, d, dv = 2, 5, 7, 4, 3                  # T, S cross the simulator's tile sizes (4)
    q = r.standard_normal((N, T, d)).astype(dt)
    k = r.standard_normal((N, S, d)).astype(dt)
    v = r.standard_normal((N, S, dv)).astype(dt)
    bias = None
    if mask == "keys":
        keep = r.random((N, 1, S)) > 0.3
        keep[0] = False                              # a fully masked (batch, head)
        bias = np.where(keep, 0.0, -np.inf).astype(dt)
    elif mask == "float":
        bias = r.standard_normal((1, T, S)).astype(dt)
    out, lse = cu.attention_forward(q, k, v, bias, causal, 0.5)
    out_r, lse_r = ref.attention_forward(q, k, v, bias, causal, 0.5)
    assert_close(cu.to_host(out), out_r)
    assert_close(cu.to_host(lse), lse_r)
    dout = r.standard_normal(out_r.shape).astype(dt)
    got = cu.attention_backward(q, k, v, bias, causal, 0.5, out, lse, dout)
    want = ref.attention_backward(q, k, v, bias, causal, 0.5, out_r, lse_r, dout)
    for g, w in zip(got, want):
        assert_close(cu.to_host(g), w)


def test_saved_inputs_stay_on_the_device():
    from minigrad.ops.attention import fused_attention
    r = _rng(4)
    q, k, v = (mg.tensor(r.standard_normal((1, 2, 3, 4)), requires_grad=True) for _ in range(3))
    with mg.backend("cuda"):
        out = fused_attention(q, k, v, is_causal=True)
        saved = out.grad_fn.saved[1:]
        assert all(not isinstance(a, np.ndarray) for a in saved if a is not None)
        gq, = mg.grad(out.sum(), [q])
    with mg.backend("numpy"):
        rq, = mg.grad(fused_attention(q, k, v, is_causal=True).sum(), [q])
    assert_close(gq.data, rq.data)


def test_ops_and_model_on_cuda():
    """The same op/model specification as the CPU backends (tests/test_backends.py)."""
    with mg.backend("cuda"):
        check_ops(B=2, H=1, T=3, S=4, d=2, dtypes=("float64",))


@pytest.mark.skipif(SIM, reason="warp shuffles exist only on a real GPU")
def test_warp_shuffle_reduction_on_gpu():
    x = (_rng().standard_normal((3, 1000)) * 3).astype(np.float32)
    assert cu.USE_SHFL
    assert_close(cu.softmax(x, -1), ref.softmax(x, -1))
