"""minigrad.nn.functional: gradient checks (first and second order, float64), exact values,
and parity with PyTorch when it is installed."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

rng = np.random.default_rng(0)


def t64(*shape, requires_grad=True, scale=1.0):
    return mg.tensor(rng.standard_normal(shape) * scale, requires_grad=requires_grad)


# --- gradient checks --------------------------------------------------------------------
TARGETS = np.array([0, 2, 1, 2, 0])
FUNCTIONS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "softmax": lambda x: F.softmax(x, dim=-1),
    "log_softmax_dim0": lambda x: F.log_softmax(x, dim=0),
    "cross_entropy": lambda x: F.cross_entropy(x, TARGETS),
    "cross_entropy_sum": lambda x: F.cross_entropy(x, TARGETS, reduction="sum"),
    "cross_entropy_none": lambda x: F.cross_entropy(x, TARGETS, reduction="none"),
    "cross_entropy_ignore": lambda x: F.cross_entropy(x, np.array([0, -100, 1, 2, -100])),
    "cross_entropy_smooth": lambda x: F.cross_entropy(x, TARGETS, label_smoothing=0.1),
    "layer_norm_plain": lambda x: F.layer_norm(x, 3),
    "mse": lambda x: F.mse_loss(x, np.ones((5, 3))),
    "normalize": lambda x: F.normalize(x, dim=-1),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functional_gradcheck_first_and_second_order(name):
    x = t64(5, 3)
    assert mg.gradcheck(FUNCTIONS[name], [x])
    assert mg.gradgradcheck(FUNCTIONS[name], [x])


def test_layer_norm_gradcheck_with_affine_parameters():
    x, w, b = t64(2, 4, 6), t64(6), t64(6)
    fn = lambda x, w, b: F.layer_norm(x, (6,), w, b, eps=1e-5)
    assert mg.gradcheck(fn, [x, w, b])
    assert mg.gradgradcheck(fn, [x, w, b])


def test_linear_and_embedding_gradcheck():
    x, w, b = t64(3, 4), t64(5, 4), t64(5)
    assert mg.gradcheck(F.linear, [x, w, b])
    assert mg.gradgradcheck(F.linear, [x, w, b])
    table = t64(6, 3)
    ids = np.array([[1, 1, 5], [0, 1, 2]])
    assert mg.gradcheck(lambda t: F.embedding(ids, t), [table])


def test_cross_entropy_over_extra_dims_matches_flattened():
    logits = t64(2, 4, 3)                       # (N, C, d)
    target = np.array([[0, 1, 3], [2, 2, 0]])   # (N, d)
    a = F.cross_entropy(logits, target)
    flat = logits.permute(0, 2, 1).reshape(-1, 4)
    b = F.cross_entropy(flat, target.reshape(-1))
    assert np.isclose(a.item(), b.item())
    assert mg.gradcheck(lambda z: F.cross_entropy(z, target), [logits])


# --- exact values -----------------------------------------------------------------------
def test_cross_entropy_value_by_hand():
    z = mg.tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)
    loss = F.cross_entropy(z, [2])
    expected = -3.0 + math.log(math.exp(1) + math.exp(2) + math.exp(3))
    assert np.isclose(loss.item(), expected)
    loss.backward()
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert np.allclose(z.grad.numpy(), p - np.array([0, 0, 1.0]))   # softmax − one-hot (§4.2)


def test_cross_entropy_ignore_index_excluded_from_mean():
    z = t64(4, 3)
    full = F.cross_entropy(z[np.array([0, 2])], [1, 2])
    partial = F.cross_entropy(z, [1, -100, 2, -100])
    assert np.isclose(full.item(), partial.item())
    assert np.isnan(F.cross_entropy(z, [-100] * 4).item())   # nothing to average, as PyTorch


def test_cross_entropy_bad_targets():
    z = t64(2, 3)
    with pytest.raises(TypeError, match="integer class indices"):
        F.cross_entropy(z, np.array([0.0, 1.0]))
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(z, [0, 3])
    with pytest.raises(mg.ShapeError, match="cross_entropy"):
        F.cross_entropy(z, [0, 1, 2])


def test_softmax_of_large_and_fully_masked_rows():
    x = mg.tensor(np.array([[1000.0, 1000.0], [-np.inf, -np.inf]]), requires_grad=True)
    y = F.softmax(x, dim=-1)
    assert np.allclose(y.numpy(), [[0.5, 0.5], [0.0, 0.0]])
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_gelu_values():
    x = mg.tensor(np.array([-1.0, 0.0, 1.0]))
    assert np.allclose(F.gelu(x).numpy(), [-0.15865525, 0.0, 0.84134475])
    assert np.allclose(F.gelu(x, "tanh").numpy(), [-0.15880801, 0.0, 0.84119199])
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, "fast")


def test_layer_norm_normalises():
    x = mg.randn(4, 8) * 3.0 + 5.0
    y = F.layer_norm(x, 8).numpy()
    assert np.allclose(y.mean(-1), 0, atol=1e-5) and np.allclose(y.var(-1), 1, atol=1e-3)
    with pytest.raises(mg.ShapeError, match="layer_norm"):
        F.layer_norm(x, 7)


def test_dropout_keeps_expectation_and_is_reproducible():
    x = mg.ones(200, 200)
    mg.manual_seed(3)
    a = F.dropout(x, 0.25).numpy()
    mg.manual_seed(3)
    b = F.dropout(x, 0.25).numpy()
    assert np.array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.02
    assert np.array_equal(F.dropout(x, 0.25, training=False).numpy(), x.numpy())
    with pytest.raises(ValueError):
        F.dropout(x, 1.5)


def test_embedding_repeated_ids_accumulate_and_padding_gets_no_grad():
    table = mg.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    out = F.embedding(np.array([1, 1, 3, 0]), table, padding_idx=0)
    out.sum().backward()
    assert np.array_equal(table.grad.numpy()[:, 0], [0.0, 2.0, 0.0, 1.0])
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(np.array([4]), table)
    with pytest.raises(TypeError, match="integers"):
        F.embedding(np.array([1.0]), table)


def test_linear_shape_error_names_both_shapes():
    with pytest.raises(mg.ShapeError, match=r"linear.*\(2, 3\).*\(4, 5\)"):
        F.linear(mg.ones(2, 3), mg.ones(4, 5))


# --- PyTorch parity ---------------------------------------------------------------------
@pytest.mark.interop
@pytest.mark.parametrize("case", ["ce", "ce_smooth_ignore", "gelu", "gelu_tanh", "layer_norm",
                                  "log_softmax", "linear"])
def test_functional_matches_torch(case):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x_np = rng.standard_normal((6, 5)).astype(np.float32)
    w_np = rng.standard_normal((5,)).astype(np.float32)
    W_np = rng.standard_normal((4, 5)).astype(np.float32)
    y_np = np.array([0, 4, 2, 1, 3, 3])
    y_ign = np.array([0, -100, 2, 1, -100, 3])
    cases = {
        "ce": (lambda x, w, W: F.cross_entropy(x, y_np),
               lambda x, w, W: tF.cross_entropy(x, torch.tensor(y_np))),
        "ce_smooth_ignore": (
            lambda x, w, W: F.cross_entropy(x, y_ign, label_smoothing=0.2),
            lambda x, w, W: tF.cross_entropy(x, torch.tensor(y_ign), label_smoothing=0.2)),
        "gelu": (lambda x, w, W: F.gelu(x), lambda x, w, W: tF.gelu(x)),
        "gelu_tanh": (lambda x, w, W: F.gelu(x, "tanh"), lambda x, w, W: tF.gelu(x, approximate="tanh")),
        "layer_norm": (lambda x, w, W: F.layer_norm(x, 5, w, w * 0.5),
                       lambda x, w, W: tF.layer_norm(x, (5,), w, w * 0.5)),
        "log_softmax": (lambda x, w, W: F.log_softmax(x, 0), lambda x, w, W: tF.log_softmax(x, 0)),
        "linear": (lambda x, w, W: F.linear(x, W, w[:4]), lambda x, w, W: tF.linear(x, W, w[:4])),
    }
    f_mg, f_t = cases[case]
    args_mg = [mg.tensor(a, requires_grad=True) for a in (x_np, w_np, W_np)]
    args_t = [torch.tensor(a, requires_grad=True) for a in (x_np, w_np, W_np)]
    out_mg, out_t = f_mg(*args_mg), f_t(*args_t)
    np.testing.assert_allclose(out_mg.numpy(), out_t.detach().numpy(), atol=1e-6, rtol=1e-3)
    upstream = rng.standard_normal(out_t.shape).astype(np.float32)
    (out_mg * mg.tensor(upstream)).sum().backward()
    (out_t * torch.tensor(upstream)).sum().backward()
    for a, b in zip(args_mg, args_t):
        if b.grad is None:
            assert a.grad is None or np.allclose(a.grad.numpy(), 0)
        else:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-4, rtol=1e-3)
