"""One specification, run on every backend (the minitorch idea; §8 模型效率).

The helpers at the top are also imported by tests/test_kernels.py and tests/test_kernels_cuda.py:

    usable_backends()          the backends that can run in this process (cuda: a GPU, or the
                               simulator when NUMBA_ENABLE_CUDASIM=1 was set before Python)
    each_backend               a fixture that runs the test once per usable backend, active
    assert_close(a, ref)       relative error <= 1e-5 (float32) / 1e-12 (float64): numerics.py's
                               assert_same_numbers, the one definition of "the same numbers"
    check_ops(shapes)          the op and model checks: forward and gradients equal the NumPy
                               backend's; call it inside `with mg.backend(name):`

Tolerance: max|a - ref| / max|ref| <= TOL[dtype] (the stated agreement of every backend with
the NumPy reference; tests/numerics.py says why).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import backends
from minigrad.ops.attention import fused_attention
from numerics import TOL, assert_same_numbers, rel_err  # noqa: F401 (re-exported)

assert_close = assert_same_numbers   # the name test_kernels*.py import


def usable_backends() -> list[str]:
    return [name for name in backends.available() if backends.usable(name)]


def cpu_backends() -> list[str]:
    return [name for name in usable_backends() if name != "cuda"]


@pytest.fixture(params=cpu_backends())
def each_backend(request):
    """Runs the test under each usable CPU backend (cuda has its own process and file)."""
    with mg.backend(request.param):
        yield request.param


# --- the op and model checks, run on a backend against the NumPy backend ----------------------
def _grads(fn, arrays):
    ts = [mg.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    seed = np.random.default_rng(7).standard_normal(out.shape).astype(out.dtype)
    gs = mg.grad(out, ts, grad_outputs=mg.tensor(seed))
    return [out.data] + [g.data for g in gs]


def _same_as_numpy(fn, arrays, factor=1.0):
    got = _grads(fn, arrays)
    with mg.backend("numpy"):
        want = _grads(fn, arrays)
    for a, b in zip(got, want):
        assert_close(a, b, arrays[0].dtype, factor)


def check_ops(B=2, H=2, T=5, S=7, d=4, dtypes=("float32", "float64")):
    """Softmax, log-softmax, matmul (batched, broadcast, linear-layer shapes), fused attention
    (plain, causal, bool and float masks, broadcast k/v) and a tiny GPT: forward and first
    derivatives equal the NumPy backend's within TOL."""
    rng = np.random.default_rng(0)
    for dt in dtypes:
        x = rng.standard_normal((B, T, S)).astype(dt)
        x[0, 1, :] = -np.inf                                   # a fully masked row
        x[1, :, 3] = -np.inf                                   # a masked column
        _same_as_numpy(lambda x: x.softmax(-1), [x])
        _same_as_numpy(lambda x: x.softmax(1), [x[1:]])
        _same_as_numpy(lambda x: x.log_softmax(-1), [x[1:]])
        a = rng.standard_normal((B, H, T, d)).astype(dt)
        w = rng.standard_normal((d, S)).astype(dt)
        _same_as_numpy(lambda a, w: a @ w, [a, w])             # linear layer: shared weight
        _same_as_numpy(lambda a, b: a @ b, [a, rng.standard_normal((H, d, S)).astype(dt)])
        q, k = rng.standard_normal((2, B, H, T, d)).astype(dt)
        k = np.concatenate([k, rng.standard_normal((B, H, S - T, d)).astype(dt)], axis=2)
        v = rng.standard_normal((1, H, S, d + 1)).astype(dt)  # broadcast over batch
        keep = rng.random((B, 1, 1, S)) > 0.3
        keep[0, 0, 0, :] = False                               # a fully masked batch entry
        add = rng.standard_normal((T, S)).astype(dt)
        for kw in (dict(), dict(is_causal=True), dict(attn_mask=keep),
                   dict(attn_mask=keep, is_causal=True), dict(attn_mask=add, scale=0.3)):
            _same_as_numpy(lambda q, k, v: fused_attention(q, k, v, **kw), [q, k, v])
            # and the fused kernel equals the composite formula of nn.functional
            out = fused_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v), **kw)
            with mg.backend("numpy"):
                ref = mg.nn.functional.scaled_dot_product_attention(
                    mg.tensor(q), mg.tensor(k), mg.tensor(v), **kw)
            assert_close(out.data, ref.data, dt)
        _check_gpt(dt)


def _check_gpt(dt):
    from minigrad.models.gpt import GPT, GPTConfig

    def loss_and_grads():
        mg.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=11, n_layer=1, n_head=2, n_embd=8, block_size=6))
        model.to(dt)
        idx = np.random.default_rng(1).integers(0, 11, (2, 6))
        out = model(mg.tensor(idx), targets=mg.tensor(np.roll(idx, -1, 1)))
        out.loss.backward()
        return [out.loss.data] + [p.grad.data for p in model.parameters()]

    got = loss_and_grads()
    with mg.backend("numpy"):
        want = loss_and_grads()
    for a, b in zip(got, want):
        assert_close(a, b, b.dtype, factor=10)   # ~40 ops deep: rounding compounds a little


# --- the tests --------------------------------------------------------------------------------
def test_ops_and_model_agree_with_numpy(each_backend):
    check_ops()


def test_second_derivatives_through_fused_attention(each_backend):
    """The fused kernel's backward is not differentiable: create_graph uses the composite
    formula, so gradgradcheck passes (never a wrong second derivative)."""
    rng = np.random.default_rng(3)
    q, k, v = (mg.tensor(rng.standard_normal((1, 2, 3, 2)), requires_grad=True) for _ in range(3))
    keep = np.array([True, True, False])
    assert mg.gradcheck(lambda q, k, v: fused_attention(q, k, v, attn_mask=keep), [q, k, v])
    assert mg.gradgradcheck(lambda q, k, v: fused_attention(q, k, v, is_causal=True), [q, k, v])
    (gq,) = mg.grad(fused_attention(q, k, v, is_causal=True).sum() * 1.0, [q], create_graph=True)
    with mg.backend("numpy"):
        ref = mg.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        (rq,) = mg.grad(ref.sum(), [q], create_graph=True)
    assert_close(gq.data, rq.data)
    hv = mg.grad((gq * gq).sum(), [k])[0]
    with mg.backend("numpy"):
        rv = mg.grad((rq * rq).sum(), [k])[0]
    assert_close(hv.data, rv.data)


def test_set_backend_and_context_manager():
    before = backends.current_name()
    with mg.backend("numpy") as be:
        assert be.NAME == "numpy" and backends.current_name() == "numpy"
        for name in cpu_backends():
            with mg.backend(name):
                assert backends.current_name() == name
        assert backends.current_name() == "numpy"
    assert backends.current_name() == before
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        mg.set_backend("tpu")


def test_default_is_numba_when_it_imports_and_env_var_wins():
    code = "import minigrad as mg; print(mg.backends.current_name())"
    env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == ("numba" if backends.usable("numba") else "numpy"), out.stderr
    out = subprocess.run([sys.executable, "-c", code], env={**env, "MINIGRAD_BACKEND": "numpy"},
                         capture_output=True, text=True)
    assert out.stdout.strip() == "numpy", out.stderr


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="simulator present")
def test_cuda_without_gpu_is_a_clear_error():
    if backends.usable("cuda"):
        pytest.skip("a GPU is present")
    with pytest.raises(backends.BackendUnavailable) as info:
        mg.set_backend("cuda")
    msg = str(info.value)
    assert "GPU" in msg and "NUMBA_ENABLE_CUDASIM=1" in msg
    assert backends.current_name() != "cuda"


def test_cuda_without_numba_cuda_names_the_extra_to_install():
    """A Numba without its built-in cuda target (it is deprecated) and no numba-cuda package."""
    code = ("import sys; sys.modules['numba.cuda'] = None\n"   # makes `from numba import cuda` fail
            "import minigrad as mg, minigrad.backends as b\n"
            "try:\n    mg.set_backend('cuda')\n"
            "except b.BackendUnavailable as e:\n    print('REFUSED', e)\n")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "REFUSED" in out.stdout and "numba.cuda" in out.stdout
    assert 'pip install -e ".[cuda]"' in out.stdout and "numba-cuda[cu12]" in out.stdout


def test_cuda_backend_says_which_numba_cuda_it_runs_on():
    code = ("import minigrad.backends.cuda as c, numba.cuda as nc\n"
            "print(c.PROVIDER)\nprint('numba_cuda' in nc.__file__)")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    if out.returncode != 0 and "BackendUnavailable" in out.stderr:
        pytest.skip("no numba.cuda at all in this environment")
    assert out.returncode == 0, out.stderr
    provider, from_package = out.stdout.split("\n")[:2]
    if from_package == "True":       # pip install -e ".[cuda]"
        assert provider.startswith("numba-cuda ")
    else:
        assert "built-in numba.cuda (deprecated since Numba 0.61" in provider and ".[cuda]" in provider


def test_learned_additive_bias_gets_its_gradient(each_backend):
    rng = np.random.default_rng(4)
    q, k, v = (mg.tensor(rng.standard_normal((1, 2, 3, 2)), requires_grad=True) for _ in range(3))
    add = mg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    assert mg.gradcheck(lambda q, k, v, m: fused_attention(q, k, v, attn_mask=m), [q, k, v, add])
