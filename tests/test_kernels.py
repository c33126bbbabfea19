"""Every kernel against the NumPy reference (backends/numpy_ref.py), on every usable backend,
float32 and float64 (§8 模型效率).  Tolerances: see tests/numerics.py (TOL).

The shapes are small but cross the kernels' block edges (BR = 64 query rows, BC = 128 keys),
cover T != S, every mask form the kernels accept, fully masked rows, and broadcasting.
No timing here: benchmarks/bench_kernels.py measures speed.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import backends
from minigrad.backends import numpy_ref as ref
from test_backends import assert_close, cpu_backends

KERNEL_BACKENDS = [b for b in cpu_backends() if b != "numpy"]   # cuda: test_kernels_cuda.py
DTYPES = [np.float32, np.float64]


@pytest.fixture(params=KERNEL_BACKENDS)
def be(request):
    return backends.get(request.param)


def _rng(seed=0):
    return np.random.default_rng(seed)


# --- matmul --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("sa,sb", [((12, 64, 128), (128, 384)),         # GPT c_attn
                                   ((2, 4, 64, 32), (2, 4, 32, 64)),    # attention QKᵀ
                                   ((3, 1, 5, 6), (4, 6, 2)),           # broadcasting batch dims
                                   ((7, 3), (3, 9))])
def test_matmul(be, dt, sa, sb):
    a, b = _rng().standard_normal(sa).astype(dt), _rng(1).standard_normal(sb).astype(dt)
    assert_close(be.matmul(a, b), ref.matmul(a, b))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n,k,m", [(128, 768, 384),     # GPT weight gradient xᵀ g (summed dim split)
                                   (130, 257, 67),      # odd sizes: uneven blocks
                                   (40, 3, 900)])       # fewer summed rows than threads' blocks
@pytest.mark.parametrize("layout", ["aT", "bT", "both", "strided"])
def test_matmul_reads_transposed_and_strided_operands(be, dt, n, k, m, layout):
    """The Linear backward's shapes: aᵀ (an F-contiguous view), bᵀ, both, or a strided slice.
    No copy is made for transposes; the result must not depend on the layout."""
    rng = _rng(2)
    a = rng.standard_normal((k, n)).astype(dt).T if layout in ("aT", "both") else \
        rng.standard_normal((n, k)).astype(dt)
    b = rng.standard_normal((m, k)).astype(dt).T if layout in ("bT", "both") else \
        rng.standard_normal((k, m)).astype(dt)
    if layout == "strided":
        a = rng.standard_normal((n, 2 * k)).astype(dt)[:, ::2]
    assert_close(be.matmul(a, b), ref.matmul(a, b))


# --- softmax -------------------------------------------------------------------------------------
def _scores(dt, shape=(3, 4, 37)):
    x = (_rng().standard_normal(shape) * 5).astype(dt)
    x[0, 0, :] = -np.inf                        # fully masked row
    x[1, :, 5:] = -np.inf                       # padding
    x[2] = np.where(np.tril(np.ones(shape[1:], bool)), x[2], -np.inf)   # causal-like
    return x


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("dim", [-1, 1])
def test_softmax_forward_backward(be, dt, dim):
    x = _scores(dt)
    y = be.softmax(x, dim)
    assert_close(y, ref.softmax(x, dim))
    if dim == -1:
        assert (y[0, 0] == 0).all() and (y[1, :, 5:] == 0).all()   # -inf survives fastmath: exact 0
    g = _rng(2).standard_normal(x.shape).astype(dt)
    yr = ref.softmax(x, dim)
    assert_close(be.softmax_backward(yr, g, dim), ref.softmax_backward(yr, g, dim))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("dim", [-1, 0])
@pytest.mark.filterwarnings("ignore:invalid value encountered")   # NumPy on all -inf columns
def test_log_softmax_forward_backward(be, dt, dim):
    x = _scores(dt)[1:]                          # no all -inf row (log-softmax of it is NaN)
    y = be.log_softmax(x, dim)
    assert_close(y, ref.log_softmax(x, dim))
    g = _rng(2).standard_normal(x.shape).astype(dt)
    g[np.isinf(y)] = 0
    yr = ref.log_softmax(x, dim)
    assert_close(be.log_softmax_backward(yr, g, dim), ref.log_softmax_backward(yr, g, dim))


# --- fused attention -----------------------------------------------------------------------------
def _attention_case(dt, N, T, S, d, dv, bias_shape, seed=0):
    r = _rng(seed)
    q = r.standard_normal((N, T, d)).astype(dt)
    k = r.standard_normal((N, S, d)).astype(dt)
    v = r.standard_normal((N, S, dv)).astype(dt)
    bias = None
    if bias_shape == "float":
        bias = r.standard_normal((1, T, S)).astype(dt)
    elif bias_shape is not None:
        keep = r.random(bias_shape) > 0.3
        keep.reshape(-1, S)[0] = False                               # a fully masked row
        bias = np.where(keep, 0.0, -np.inf).astype(dt)
    return q, k, v, bias


CASES = [  # N, T, S, d, dv, bias shape
    (3, 70, 70, 16, 16, None),          # crosses the 64-row query block
    (2, 130, 300, 8, 5, None),          # T != S, crosses the 128-key block, dv != d
    (2, 9, 9, 4, 4, (2, 1, 9)),         # key padding per batch·head
    (4, 33, 140, 8, 8, (1, 33, 140)),   # one (T, S) mask for every head
    (2, 20, 20, 8, 8, (2, 20, 20)),     # a mask per batch·head
    (2, 20, 24, 8, 8, "float"),         # additive float mask
]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("case", CASES, ids=[f"N{c[0]}T{c[1]}S{c[2]}-{c[5]}" for c in CASES])
def test_attention_forward_backward(be, dt, causal, case):
    q, k, v, bias = _attention_case(dt, *case)
    scale = 1 / np.sqrt(q.shape[-1])
    out, lse = be.attention_forward(q, k, v, bias, causal, scale)
    out_r, lse_r = ref.attention_forward(q, k, v, bias, causal, scale)
    assert out.dtype == dt and lse.dtype == dt
    assert_close(out, out_r)
    assert_close(lse, lse_r)                     # -inf exactly where every key is masked
    dout = _rng(5).standard_normal(out.shape).astype(dt)
    got = be.attention_backward(q, k, v, bias, causal, scale, out, lse, dout)
    want = ref.attention_backward(q, k, v, bias, causal, scale, out_r, lse_r, dout)
    for g, w in zip(got, want):
        assert g.dtype == dt
        assert_close(g, w)


def test_attention_fully_masked_rows_give_zero_not_nan(be):
    q, k, v, _ = _attention_case(np.float32, 2, 6, 6, 4, 4, None)
    bias = np.zeros((1, 6, 6), np.float32)
    bias[0, 2, :] = -np.inf
    out, lse = be.attention_forward(q, k, v, bias, True, 0.5)
    assert (out[:, 2] == 0).all() and np.isneginf(lse[:, 2]).all() and np.isfinite(out).all()
    grads = be.attention_backward(q, k, v, bias, True, 0.5, out, lse, np.ones_like(out))
    assert all(np.isfinite(g).all() for g in grads) and (grads[0][:, 2] == 0).all()


# --- the op level: autograd through the kernels ---------------------------------------------------
def test_kernel_backward_is_used_without_graph_and_composite_with_graph(each_backend):
    """softmax/matmul backward: one kernel when no graph is built; Tensor code (so second
    derivatives) under create_graph; both give the same first derivative."""
    x = mg.tensor(_scores(np.float64)[1:], requires_grad=True)
    w = mg.tensor(_rng(3).standard_normal((37, 5)), requires_grad=True)
    f = lambda: (x.softmax(-1) @ w).tanh().sum()          # noqa: E731
    g1 = mg.grad(f(), [x, w])
    g2 = mg.grad(f(), [x, w], create_graph=True)
    for a, b in zip(g1, g2):
        assert_close(a.data, b.data)
    assert g2[0].requires_grad and not g1[0].requires_grad
    assert mg.gradgradcheck(lambda x: x.softmax(-1), [mg.tensor(_rng().standard_normal((2, 3)),
                                                                requires_grad=True)])


def test_fused_attention_op_equals_sdpa(each_backend):
    from minigrad.nn.functional import scaled_dot_product_attention as sdpa
    from minigrad.ops.attention import fused_attention
    r = _rng(9)
    q, k, v = (mg.tensor(r.standard_normal((2, 3, 40, 8)).astype(np.float32), requires_grad=True)
               for _ in range(3))
    a = fused_attention(q, k, v, is_causal=True)
    ga = mg.grad(a.sum(), [q, k, v])
    b = sdpa(q, k, v, is_causal=True)
    gb = mg.grad(b.sum(), [q, k, v])
    assert_close(a.data, b.data)
    for x, y in zip(ga, gb):
        assert_close(x.data, y.data)


from test_backends import each_backend  # noqa: E402,F401  (the fixture)


# --- fused GELU and LayerNorm (numba_fused.py) -----------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_kernels(be, dt, approximate):
    x = (_rng().standard_normal((5, 3, 130)) * 3).astype(dt)
    x.flat[:4] = [0.0, -40.0, 40.0, 1e-7]
    g = _rng(1).standard_normal(x.shape).astype(dt)
    assert_close(be.gelu(x, approximate), ref.gelu(x, approximate))
    assert_close(be.gelu_backward(x, g, approximate), ref.gelu_backward(x, g, approximate))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("rows,n", [(768, 128), (7, 3), (1, 257)])
def test_layer_norm_kernels(be, dt, rows, n):
    rng = _rng(2)
    x = (rng.standard_normal((rows, n)) * 2 + 5).astype(dt)
    w, b, g = (rng.standard_normal(s).astype(dt) for s in ((n,), (n,), (rows, n)))
    y, mean, rstd = be.layer_norm(x, w, b, 1e-5)
    y0, mean0, rstd0 = ref.layer_norm(x, w, b, 1e-5)
    for got, want in ((y, y0), (mean, mean0), (rstd, rstd0)):
        assert got.dtype == dt
        assert_close(got, want)
    for got, want in zip(be.layer_norm_backward(x, w, mean, rstd, g),
                         ref.layer_norm_backward(x, w, mean0, rstd0, g)):
        assert got.dtype == dt
        assert_close(got, want, factor=4)


# --- Linear and scatter-add kernels ------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n,k,m", [(768, 128, 384), (301, 77, 130), (3, 5, 7)])
def test_linear_kernels(be, dt, n, k, m):
    rng = _rng(4)
    x, w, b, g = (rng.standard_normal(s).astype(dt) for s in ((n, k), (m, k), (m,), (n, m)))
    assert_close(be.linear(x, w, b), ref.linear(x, w, b))
    for got, want in zip(be.linear_weight_grads(x, g), ref.linear_weight_grads(x, g)):
        assert got.dtype == dt
        assert_close(got, want, factor=4)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("case", ["embedding", "tuple", "3d_table", "negative", "pairs"])
def test_index_add(be, dt, case):
    rng = _rng(5)
    out = rng.standard_normal((50, 33)).astype(dt)
    ids = rng.integers(0, 50, (16, 40))                    # many repeats
    if case == "embedding":
        index, g = ids, rng.standard_normal((16, 40, 33)).astype(dt)
    elif case == "tuple":
        index, g = (ids,), rng.standard_normal((16, 40, 33)).astype(dt)
    elif case == "3d_table":
        out = rng.standard_normal((50, 3, 11)).astype(dt)
        index, g = ids, rng.standard_normal((16, 40, 3, 11)).astype(dt)
    elif case == "negative":                              # numpy semantics: -1 is the last row
        index, g = ids - 25, rng.standard_normal((16, 40, 33)).astype(dt)
    else:                                                  # (rows, cols) pairs, as cross-entropy picks
        index = (rng.integers(0, 50, 200), rng.integers(0, 33, 200))
        g = rng.standard_normal(200).astype(dt)
    want = out.copy()
    ref.index_add(want, index, g)
    got = out.copy()
    be.index_add(got, index, g)
    assert_close(got, want, factor=4)


# --- dtypes the kernels are not compiled for --------------------------------------------------
def test_float16_runs_on_the_numba_backend_through_the_reference():
    """Numba has no float16 arithmetic on the CPU: every op falls back to the NumPy reference
    (never a page of Numba frames), in forward and backward, and keeps float16."""
    if "numba" not in KERNEL_BACKENDS:
        pytest.skip("numba backend unavailable")
    import minigrad.nn.functional as F
    rng = _rng(3)
    x16 = rng.standard_normal((2, 3, 8)).astype(np.float16)
    w16 = rng.standard_normal((8, 8)).astype(np.float16)
    ops = {"gelu": lambda x, w: F.gelu(x), "gelu tanh": lambda x, w: F.gelu(x, approximate="tanh"),
           "layer_norm": lambda x, w: F.layer_norm(x, (8,)), "softmax": lambda x, w: F.softmax(x, -1),
           "log_softmax": lambda x, w: F.log_softmax(x, -1), "linear": lambda x, w: F.linear(x, w),
           "matmul": lambda x, w: x @ w,
           "attention": lambda x, w: F.scaled_dot_product_attention(x[None], x[None], x[None], is_causal=True)}
    for name, fn in ops.items():
        results = {}
        for be in ("numba", "numpy"):
            with mg.backend(be):
                x, w = mg.tensor(x16, requires_grad=True), mg.tensor(w16, requires_grad=True)
                y = fn(x, w)
                y.sum().backward()
                assert y.dtype == np.float16 and x.grad.dtype == np.float16, (name, be)
                results[be] = (y.data, x.grad.data)
        for a, b in zip(results["numba"], results["numpy"]):
            np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), rtol=2e-2, atol=2e-2,
                                       err_msg=name)
