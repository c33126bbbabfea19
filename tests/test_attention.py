"""Attention (§4.1), multi-head attention, Transformer blocks and positional encodings."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.nn.attention import causal_mask


def _rng(seed=0):
    return np.random.default_rng(seed)


def _t(a, requires_grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def np_attention(q, k, v, keep=None, add=None, scale=None):
    """softmax(QKᵀ/√d)V straight from §4.1, in NumPy; masked-out keys get weight 0."""
    s = q @ np.swapaxes(k, -1, -2) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if add is not None:
        s = s + add
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(s - m)
    z = e.sum(-1, keepdims=True)
    w = np.where(z > 0, e / np.where(z > 0, z, 1), 0)
    return w @ v, w


def qkv(B=2, H=3, T=4, S=5, d=8, dv=6, seed=0):
    r = _rng(seed)
    return r.standard_normal((B, H, T, d)), r.standard_normal((B, H, S, d)), r.standard_normal((B, H, S, dv))


# --- scaled_dot_product_attention ---------------------------------------------------------
def test_sdpa_equals_numpy_formula():
    q, k, v = qkv()
    out, w = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), return_weights=True)
    ref, ref_w = np_attention(q, k, v)
    np.testing.assert_allclose(out.data, ref, atol=1e-12)
    np.testing.assert_allclose(w.data, ref_w, atol=1e-12)
    np.testing.assert_allclose(w.data.sum(-1), 1.0, atol=1e-12)
    out = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), scale=0.3)
    np.testing.assert_allclose(out.data, np_attention(q, k, v, scale=0.3)[0], atol=1e-12)


def test_sdpa_masks_equal_numpy():
    q, k, v = qkv()
    r = _rng(1)
    keep = r.random((2, 1, 4, 5)) > 0.3                       # broadcasts over heads
    add = r.standard_normal((4, 5))                           # broadcasts over batch and heads
    out = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=keep)
    np.testing.assert_allclose(out.data, np_attention(q, k, v, keep=keep)[0], atol=1e-12)
    out = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=mg.tensor(add))
    np.testing.assert_allclose(out.data, np_attention(q, k, v, add=add)[0], atol=1e-6)
    out = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), is_causal=True)
    np.testing.assert_allclose(out.data, np_attention(q, k, v, keep=causal_mask(4, 5))[0], atol=1e-12)
    # padding mask (B, 1, 1, S) combined with causal
    pad = np.ones((2, 1, 1, 5), bool)
    pad[1, ..., 3:] = False
    out = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), attn_mask=pad, is_causal=True)
    np.testing.assert_allclose(out.data, np_attention(q, k, v, keep=pad & causal_mask(4, 5))[0],
                               atol=1e-12)


def test_causal_mask_bottom_right_alignment():
    assert (causal_mask(3) == np.tril(np.ones((3, 3), bool))).all()
    # two new queries after 3 cached keys: query 0 is position 3, query 1 is position 4
    assert causal_mask(2, 5).tolist() == [[True] * 4 + [False], [True] * 5]
    with pytest.raises(mg.ShapeError):
        causal_mask(4, 2)


@pytest.mark.parametrize("kind", ["bool", "additive-inf"])
def test_fully_masked_rows_give_zeros_and_zero_grads(kind):
    q, k, v = qkv(B=1, H=2, T=3, S=4)
    keep = np.ones((1, 1, 3, 4), bool)
    keep[..., 1, :] = False                                   # query 1 sees no key
    mask = keep if kind == "bool" else mg.tensor(np.where(keep, 0.0, -np.inf))
    qt, kt, vt = _t(q, True), _t(k, True), _t(v, True)
    out, w = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask, return_weights=True)
    assert np.isfinite(out.data).all() and np.isfinite(w.data).all()
    assert (out.data[:, :, 1] == 0).all() and (w.data[:, :, 1] == 0).all()
    np.testing.assert_allclose(w.data[:, :, [0, 2]].sum(-1), 1.0)
    (out * out).sum().backward()
    for t in (qt, kt, vt):
        assert np.isfinite(t.grad.data).all()
    assert (qt.grad.data[:, :, 1] == 0).all()


def test_sdpa_gradcheck_with_causal_and_padding_masks():
    q, k, v = qkv(B=2, H=2, T=3, S=3, d=4, dv=3)
    pad = np.ones((2, 1, 1, 3), bool)
    pad[1, ..., 2] = False
    inputs = [_t(q, True), _t(k, True), _t(v, True)]
    assert mg.gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=pad,
                                                                       is_causal=True), inputs)
    # an additive float mask is differentiable too (a learned bias, e.g. relative positions)
    add = mg.tensor(_rng(3).standard_normal((3, 3)), dtype="float64", requires_grad=True)
    assert mg.gradcheck(lambda a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m),
                        inputs + [add])
    # composed from primitives, so second derivatives work too
    assert mg.gradgradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True),
                            inputs, fast_mode=True)


def test_sdpa_dropout_uses_seeded_generator():
    q, k, v = (_t(a) for a in qkv())
    mg.manual_seed(5)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    mg.manual_seed(5)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.allclose(a.data, F.scaled_dot_product_attention(q, k, v).data)


def test_sdpa_shape_errors_are_clear():
    q, k, v = (_t(a) for a in qkv())
    with pytest.raises(mg.ShapeError, match=r"scaled_dot_product_attention.*\(2, 3, 4, 8\).*\(2, 3, 5, 7\)"):
        F.scaled_dot_product_attention(q, _t(np.zeros((2, 3, 5, 7))), v)
    with pytest.raises(mg.ShapeError, match=r"scaled_dot_product_attention.*share S"):
        F.scaled_dot_product_attention(q, k, _t(np.zeros((2, 3, 6, 6))))
    with pytest.raises(mg.ShapeError, match=r"attn_mask of shape \(3, 3\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 3), bool))
    with pytest.raises(mg.ShapeError, match="at least 2 dims"):
        F.scaled_dot_product_attention(_t(np.zeros(8)), k, v)
    with pytest.raises(TypeError, match="bool"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), np.int64))


@pytest.mark.interop
def test_sdpa_matches_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    q, k, v = qkv(T=5, S=5)
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    r = _rng(2)
    keep = r.random((2, 1, 5, 5)) > 0.3
    keep[..., 0] = True                                       # torch gives NaN for empty rows
    add = r.standard_normal((2, 3, 5, 5))
    cases = [({}, {}), ({"attn_mask": keep}, {"attn_mask": torch.from_numpy(keep)}),
             ({"attn_mask": mg.tensor(add)}, {"attn_mask": torch.from_numpy(add)}),
             ({"is_causal": True}, {"is_causal": True}), ({"scale": 0.2}, {"scale": 0.2})]
    for ours, theirs in cases:
        got = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), **ours).data
        want = tF.scaled_dot_product_attention(tq, tk, tv, **theirs).numpy()
        np.testing.assert_allclose(got, want, atol=1e-10, err_msg=str(ours))


# --- MultiHeadAttention ---------------------------------------------------------------------
def _mha(**kw):
    mg.manual_seed(0)
    return nn.MultiHeadAttention(8, 2, **kw).double()


def test_mha_shapes_weights_and_gradcheck():
    m = _mha(causal=True)
    x = _t(_rng().standard_normal((2, 4, 8)), True)
    out, w, present = m(x, need_weights=True)
    assert out.shape == (2, 4, 8) and w.shape == (2, 2, 4, 4) and present is None
    np.testing.assert_allclose(w.data.sum(-1), 1.0)
    assert (np.triu(w.data[0, 0], 1) == 0).all()              # causal: no weight on the future
    pad = np.array([[False] * 4, [False, False, True, True]])  # True = padding
    assert mg.gradcheck(lambda x, *p: m(x, key_padding_mask=pad).output,
                        [x, *m.parameters()], fast_mode=True)


def test_mha_cross_attention_and_padding():
    m = nn.MultiHeadAttention(8, 2, kdim=5, vdim=3).double()
    x = _t(_rng().standard_normal((2, 4, 8)))
    mem = _rng(1).standard_normal((2, 6, 5))
    val = _rng(2).standard_normal((2, 6, 3))
    pad = np.zeros((2, 6), bool)
    pad[0, 4:] = True
    out, w, _ = m(x, _t(mem), _t(val), key_padding_mask=pad, need_weights=True)
    assert out.shape == (2, 4, 8) and w.shape == (2, 2, 4, 6)
    assert (w.data[0, :, :, 4:] == 0).all()
    mem2, val2 = mem.copy(), val.copy()                       # padded keys cannot matter
    mem2[0, 4:] = 100.0
    val2[0, 4:] = -7.0
    out2 = m(x, _t(mem2), _t(val2), key_padding_mask=pad).output
    np.testing.assert_allclose(out2.data, out.data, atol=1e-12)
    with pytest.raises(TypeError, match="True = padding"):
        m(x, _t(mem), _t(val), key_padding_mask=np.ones((2, 6), np.int64))


def test_mha_kv_cache_equals_full_causal_pass():
    m = _mha(causal=True)
    x = _t(_rng().standard_normal((2, 5, 8)))
    full = m(x).output
    out, _, past = m(x[:, :3], use_cache=True)
    steps = [out]
    for t in (3, 4):
        out, _, past = m(x[:, t:t + 1], past_key_value=past, use_cache=True)
        steps.append(out)
    np.testing.assert_allclose(mg.cat(steps, dim=1).data, full.data, atol=1e-12)


@pytest.mark.interop
def test_mha_matches_torch_multihead_attention():
    torch = pytest.importorskip("torch")
    m = _mha()
    tm = torch.nn.MultiheadAttention(8, 2, batch_first=True).double().eval()
    with torch.no_grad():
        tm.in_proj_weight.copy_(torch.from_numpy(np.concatenate(
            [m.q_proj.weight.data, m.k_proj.weight.data, m.v_proj.weight.data])))
        tm.in_proj_bias.copy_(torch.from_numpy(np.concatenate(
            [m.q_proj.bias.data, m.k_proj.bias.data, m.v_proj.bias.data])))
        tm.out_proj.weight.copy_(torch.from_numpy(m.out_proj.weight.data))
        tm.out_proj.bias.copy_(torch.from_numpy(m.out_proj.bias.data))
    x = _rng().standard_normal((2, 4, 8))
    pad = np.array([[False] * 4, [False, False, False, True]])
    out, w, _ = m(_t(x), key_padding_mask=pad, need_weights=True)
    tx = torch.from_numpy(x)
    tout, tw = tm(tx, tx, tx, key_padding_mask=torch.from_numpy(pad), average_attn_weights=False)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), atol=1e-10)


# --- blocks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_block_gradcheck_and_attentions(norm_first):
    mg.manual_seed(0)
    blk = nn.TransformerBlock(8, 2, d_ff=12, norm_first=norm_first, causal=norm_first).double()
    x = _t(_rng().standard_normal((2, 3, 8)), True)
    y, att, _ = blk(x, output_attentions=True)
    assert y.shape == (2, 3, 8) and att.shape == (2, 2, 3, 3)
    assert isinstance(blk(x), mg.Tensor)
    assert mg.gradcheck(lambda x, *p: blk(x), [x, *blk.parameters()], fast_mode=True)
    ff = nn.FeedForward(8, 12, activation="gelu_new").double()
    assert mg.gradcheck(lambda x, *p: ff(x), [x, *ff.parameters()], fast_mode=True)


@pytest.mark.interop
@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_block_matches_torch_encoder_layer(norm_first):
    torch = pytest.importorskip("torch")
    mg.manual_seed(1)
    blk = nn.TransformerBlock(8, 2, d_ff=12, norm_first=norm_first, activation="gelu").double().eval()
    tl = torch.nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation="gelu", batch_first=True,
                                          norm_first=norm_first).double().eval()
    a = blk.attn
    projections = (a.q_proj, a.k_proj, a.v_proj)              # torch packs them as in_proj
    weights = {
        "self_attn.in_proj_weight": np.concatenate([p.weight.data for p in projections]),
        "self_attn.in_proj_bias": np.concatenate([p.bias.data for p in projections]),
        "self_attn.out_proj.weight": a.out_proj.weight.data, "self_attn.out_proj.bias": a.out_proj.bias.data,
        "linear1.weight": blk.mlp.fc1.weight.data, "linear1.bias": blk.mlp.fc1.bias.data,
        "linear2.weight": blk.mlp.fc2.weight.data, "linear2.bias": blk.mlp.fc2.bias.data,
        "norm1.weight": _rng(5).random(8) + 0.5, "norm1.bias": _rng(6).random(8),
        "norm2.weight": _rng(7).random(8) + 0.5, "norm2.bias": _rng(8).random(8)}
    for n, i in (("norm1", "ln_1"), ("norm2", "ln_2")):
        getattr(blk, i).weight.data = weights[f"{n}.weight"].copy()
        getattr(blk, i).bias.data = weights[f"{n}.bias"].copy()
    tl.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()})
    x = _rng().standard_normal((2, 5, 8))
    pad = np.array([[False] * 5, [False] * 3 + [True] * 2])
    got = blk(_t(x), key_padding_mask=pad).data
    want = tl(torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(pad)).detach().numpy()
    np.testing.assert_allclose(got[0], want[0], atol=1e-10)
    np.testing.assert_allclose(got[1, :3], want[1, :3], atol=1e-10)   # real positions


# --- positional encodings ---------------------------------------------------------------------
def test_sinusoidal_table_and_modules():
    pe = nn.sinusoidal_position_encoding(6, 5).data
    assert pe.shape == (6, 5)
    for pos in range(6):
        for i in range(5):
            f = math.sin if i % 2 == 0 else math.cos
            assert pe[pos, i] == pytest.approx(f(pos / 10000 ** ((i - i % 2) / 5)), abs=1e-6)
    m = nn.SinusoidalPositionalEncoding(5, max_len=10)
    assert m.state_dict() == {}                               # recomputed, never saved
    x = mg.zeros(2, 4, 5)
    np.testing.assert_allclose(m(x, offset=2).data[1], pe[2:6], atol=1e-6)
    with pytest.raises(mg.ShapeError, match="max_len"):
        m(x, offset=7)
    lp = nn.LearnedPositionalEmbedding(10, 5)
    np.testing.assert_allclose(lp(x, offset=3).data[0], lp.embedding.weight.data[3:7])
    with pytest.raises(mg.ShapeError):
        lp(mg.zeros(1, 11, 5))


def test_masked_attention_runs_under_detect_anomaly():
    q = _t(_rng().standard_normal((1, 2, 3, 4)), True)
    with mg.detect_anomaly():
        F.scaled_dot_product_attention(q, q, q, is_causal=True).sum().backward()
    assert np.isfinite(q.grad.data).all()
