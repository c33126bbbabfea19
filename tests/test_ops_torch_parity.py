"""Every op in the table agrees with PyTorch: forward values, output dtypes, and gradients.

Runs only where torch is installed (the `interop` extra).  Tolerances: forward atol 1e-6 /
rtol 1e-3, gradients atol 1e-4 (and the same rtol), in float32 and in float64.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from op_table import OPS, SAME, cast_params, draw_case, make_arrays

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.interop

FORWARD = dict(atol=1e-6, rtol=1e-3)
GRADIENT = dict(atol=1e-4, rtol=1e-3)

PARITY_OPS = [op for op in OPS if op.torch_fn is not None]


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


def _torch_dtype(np_dtype):
    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
            np.dtype(np.int64): torch.int64, np.dtype(bool): torch.bool}[np.dtype(np_dtype)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("op", PARITY_OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_forward_and_gradients_match_torch(op, dtype, data):
    shapes, params, seed, layouts = data.draw(draw_case(op), label="case")
    params = cast_params(params, dtype)
    arrays = make_arrays(op, shapes, seed, layouts, dtype)
    torch_fn = op.fn if op.torch_fn is SAME else op.torch_fn

    xs = [mg.Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    outs = _outputs(op.fn(mg, *xs, **params))
    touts = _outputs(torch_fn(torch, *ts, **params))

    # forward: same number of outputs, shapes, dtypes and values
    assert len(outs) == len(touts)
    for k, (o, t) in enumerate(zip(outs, touts)):
        assert o.shape == tuple(t.shape), f"output {k}: shape {o.shape} vs torch {tuple(t.shape)}"
        assert _torch_dtype(o.dtype) == t.dtype, f"output {k}: dtype {o.dtype} vs torch {t.dtype}"
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), **FORWARD,
                                   err_msg=f"{op.name}: forward output {k}")

    # gradients: the same random cotangent v on every float output; compare vᵀJ
    rng = np.random.default_rng(seed + 1)
    pairs = [(o, t, rng.standard_normal(o.shape).astype(o.dtype))
             for o, t in zip(outs, touts) if o.requires_grad]
    assert [t.requires_grad for t in touts] == [o.requires_grad for o in outs]
    if not pairs:
        return
    grads = mg.grad([o for o, _, _ in pairs], xs, grad_outputs=[mg.Tensor(v) for *_, v in pairs],
                    allow_unused=True)
    tgrads = torch.autograd.grad([t for _, t, _ in pairs], ts,
                                 grad_outputs=[torch.tensor(v) for *_, v in pairs],
                                 allow_unused=True)
    for i, (g, tg, x) in enumerate(zip(grads, tgrads, xs)):
        g = np.zeros(x.shape, dtype) if g is None else g.numpy()
        tg = np.zeros(x.shape, dtype) if tg is None else tg.numpy()
        assert g.dtype == x.dtype, f"gradient of input {i} is {g.dtype}, input is {x.dtype}"
        np.testing.assert_allclose(g, tg, **GRADIENT, err_msg=f"{op.name}: gradient of input {i}")


def test_second_derivatives_match_torch():
    """A Hessian-vector product through a small composed function, against torch's."""
    rng = np.random.default_rng(0)
    a, w, v = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 4))

    def f(L, x, w):
        return ((x @ w).tanh().softmax(-1) * (x.sigmoid() @ w)).sum() + (x * x).exp().mean()

    x, wm = mg.Tensor(a, requires_grad=True), mg.Tensor(w)
    (g,) = mg.grad(f(mg, x, wm), x, create_graph=True)
    (hv,) = mg.grad((g * mg.Tensor(v)).sum(), x)

    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(w)
    (tg,) = torch.autograd.grad(f(torch, tx, tw), tx, create_graph=True)
    (thv,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tx)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hv.numpy(), thv.numpy(), rtol=1e-10, atol=1e-12)
