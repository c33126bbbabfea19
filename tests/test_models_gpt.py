"""GPT (GPT-2 architecture): config, names, gradients, KV-cache generation, sampling, training,
and parity with Hugging Face's GPT2LMHeadModel."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.models import GPT, GPTConfig
from minigrad.models.gpt import top_k_filter, top_p_filter
from numerics import assert_identical

TINY = dict(vocab_size=23, n_layer=2, n_head=2, n_embd=12, block_size=8)


def tiny_gpt(seed=0, **kw):
    mg.manual_seed(seed)
    return GPT(GPTConfig(**{**TINY, **kw}))


def ids(B, T, V=23, seed=0):
    return mg.tensor(np.random.default_rng(seed).integers(0, V, (B, T)))


# --- config and structure -------------------------------------------------------------------
def test_config_validation_and_dict_round_trip():
    c = GPTConfig(23, 2, 2, 12, 8)                       # positional, in the documented order
    assert (c.vocab_size, c.n_layer, c.n_head, c.n_embd, c.block_size) == (23, 2, 2, 12, 8)
    assert GPTConfig.from_dict(c.to_dict()) == c
    assert GPTConfig.from_dict({**c.to_dict(), "model_type": "gpt2"}) == c   # unknown keys ignored
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPTConfig(n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="block_size"):
        GPTConfig(block_size=0)
    with pytest.raises(ValueError, match="dropout"):
        GPTConfig(dropout=1.5)


def test_parameter_names_tying_and_init():
    m = tiny_gpt(n_layer=1)
    layer = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
             "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
             "mlp.c_proj.weight", "mlp.c_proj.bias"]
    expected = (["transformer.wte.weight", "transformer.wpe.weight"]
                + [f"transformer.h.0.{n}" for n in layer]
                + ["transformer.ln_f.weight", "transformer.ln_f.bias", "lm_head.weight"])
    sd = m.state_dict()
    assert list(sd) == expected
    assert sd["transformer.h.0.attn.c_attn.weight"].shape == (36, 12)        # (out, in)
    assert m.lm_head.weight is m.transformer.wte.weight                      # tied: one Parameter
    assert "lm_head.weight" not in dict(m.named_parameters())                # counted once
    big = tiny_gpt(n_embd=256, n_head=4, vocab_size=500, n_layer=2)
    assert np.std(big.transformer.h[0].mlp.c_fc.weight.data) == pytest.approx(0.02, rel=0.05)
    assert np.std(big.transformer.h[1].attn.c_proj.weight.data) == pytest.approx(0.01, rel=0.05)
    assert (big.transformer.h[0].attn.c_attn.bias.data == 0).all()
    nobias = tiny_gpt(bias=False)
    assert not any(n.endswith("bias") for n in nobias.state_dict())


def test_forward_outputs_and_loss():
    m = tiny_gpt()
    x, y = ids(2, 6), ids(2, 6, seed=1)
    out = m(x)
    assert out.logits.shape == (2, 6, 23) and out.loss is None
    assert out["logits"] is out.logits and list(out.keys()) == ["logits"]
    y_np = y.data.copy()
    y_np[0, :2] = -100                                  # ignored positions
    out = m(x, mg.tensor(y_np), output_attentions=True, output_hidden_states=True)
    keep = y_np.reshape(-1) != -100
    ref = F.cross_entropy(out.logits.reshape(12, 23)[np.flatnonzero(keep)],
                          mg.tensor(y_np.reshape(-1)[keep]))
    assert out.loss.item() == pytest.approx(ref.item(), rel=1e-6)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 2, 6, 6)
    assert (np.triu(out.attentions[1].data, 1) == 0).all()                  # causal
    assert len(out.hidden_states) == 3 and out.hidden_states[0].shape == (2, 6, 12)
    with pytest.raises(mg.ShapeError, match="block_size"):
        m(ids(1, 9))
    with pytest.raises(TypeError, match="integer"):
        m(mg.zeros(1, 3))


def test_gpt_gradcheck_float64():
    m = tiny_gpt().double()
    x, y = ids(2, 5), ids(2, 5, seed=1)
    params = list(m.parameters())
    assert all(p.dtype == np.float64 for p in params)
    assert mg.gradcheck(lambda *p: m(x).logits, params, fast_mode=True)
    assert mg.gradcheck(lambda *p: m(x, y).loss, params, fast_mode=True)
    # the tied embedding gets gradient from both the input lookup and the output projection
    m(x, y).loss.backward()
    assert np.abs(m.transformer.wte.weight.grad.data).sum() > 0


def test_dropout_only_in_training_mode_and_generate_accepts_1d():
    m = tiny_gpt(dropout=0.3)
    x = ids(2, 6)
    a, b = m(x).logits.data, m(x).logits.data
    assert not np.allclose(a, b)                          # training: dropout active
    m.eval()
    assert_identical(m(x).logits, m(x).logits, why="eval mode: the same operations on the same memory, twice")
    m.train()
    g = m.generate(x.data[0], 3, do_sample=False)
    assert g.shape == (9,) and m.training
    np.testing.assert_array_equal(g.data, m.generate(x.data[:1], 3, do_sample=False).data[0])


# --- KV cache and generation ----------------------------------------------------------------
def test_incremental_decoding_logits_equal_full_forward():
    m = tiny_gpt().eval()
    x = ids(2, 7)
    with mg.no_grad():
        full = m(x).logits.data
        out = m(x[:, :3], use_cache=True)
        parts, past = [out.logits.data], out.past_key_values
        assert len(past) == 2 and past[0][0].shape == (2, 2, 3, 6)        # (B, nh, S, hs)
        for t in range(3, 7):
            out = m(x[:, t:t + 1], past_key_values=past, use_cache=True)
            parts.append(out.logits.data)
            past = out.past_key_values
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=1e-5)


@pytest.mark.parametrize("prompt_len,new", [(3, 4), (5, 12), (10, 5)])
def test_greedy_with_cache_equals_without_and_crops_past_block_size(prompt_len, new):
    m = tiny_gpt()
    x = ids(2, prompt_len)
    a = m.generate(x, new, do_sample=False, use_cache=True)
    b = m.generate(x, new, do_sample=False, use_cache=False)
    assert a.shape == (2, prompt_len + new)             # past block_size (8) too
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.data[:, :prompt_len], x.data)
    # the reference: argmax of a full forward on the last block_size tokens, step by step
    ref = x.data
    with mg.no_grad():
        for _ in range(new):
            nxt = m(ref[:, -8:]).logits.data[:, -1].argmax(-1)
            ref = np.concatenate([ref, nxt[:, None]], axis=1)
    np.testing.assert_array_equal(a.data, ref)
    assert m.training                                   # mode restored
    assert not a.requires_grad


def test_sampling_is_reproducible_with_manual_seed():
    m = tiny_gpt()
    x = ids(3, 2)
    mg.manual_seed(7)
    a = m.generate(x, 10, temperature=1.5)
    mg.manual_seed(7)
    b = m.generate(x, 10, temperature=1.5, use_cache=False)
    np.testing.assert_array_equal(a.data, b.data)
    mg.manual_seed(8)
    assert not np.array_equal(m.generate(x, 10, temperature=1.5).data, a.data)
    np.testing.assert_array_equal(m.generate(x, 5, top_k=1).data,
                                  m.generate(x, 5, do_sample=False).data)    # top_k=1 is greedy
    with pytest.raises(ValueError, match="temperature"):
        m.generate(x, 1, temperature=0)


def test_top_k_and_top_p_restrict_the_support():
    m = tiny_gpt()
    x = mg.tensor(np.repeat(ids(1, 3).data, 400, axis=0))               # 400 copies of a prompt
    with mg.no_grad():
        logits = m(x[:1]).logits.data[0, -1] * 20          # sharpen, as temperature=0.05 would
    order = np.argsort(-logits)
    mg.manual_seed(0)
    free = set(m.generate(x, 1, temperature=0.05).data[:, -1].tolist())
    top3 = set(m.generate(x, 1, temperature=0.05, top_k=3).data[:, -1].tolist())
    assert top3 <= set(order[:3].tolist()) and len(free) > 3
    p = np.exp(logits - logits.max())
    p /= p.sum()
    n = int(np.searchsorted(np.cumsum(p[order]), 0.6) + 1)               # nucleus size for 0.6
    nucleus = set(m.generate(x, 1, temperature=0.05, top_p=0.6).data[:, -1].tolist())
    assert nucleus <= set(order[:n].tolist())
    # the filters themselves
    row = np.log(np.array([[0.5, 0.05, 0.3, 0.15]]))
    assert np.isfinite(top_k_filter(row, 2)).tolist() == [[True, False, True, False]]
    assert np.isfinite(top_p_filter(row, 0.79)).tolist() == [[True, False, True, False]]
    assert np.isfinite(top_p_filter(row, 0.81)).tolist() == [[True, False, True, True]]
    assert np.isfinite(top_p_filter(row, 0.1)).tolist() == [[True, False, False, False]]


# --- training -------------------------------------------------------------------------------
def test_tiny_gpt_overfits_one_batch():
    m = tiny_gpt(n_embd=32, n_head=2, n_layer=2, vocab_size=16)
    data = np.random.default_rng(0).integers(0, 16, (4, 9))
    x, y = mg.tensor(data[:, :-1]), mg.tensor(data[:, 1:])
    opt = mg.optim.Adam(m.parameters(), lr=1e-2)
    first = None
    for _ in range(120):
        m.zero_grad()
        loss = m(x, y).loss
        first = first or loss.item()
        loss.backward()
        opt.step()
    assert first > 2.5 and loss.item() < 0.05


# --- Hugging Face parity ----------------------------------------------------------------------
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def load_hf_gpt2_state(model: GPT, hf_state: dict):
    """Copy a GPT2LMHeadModel state dict into a minigrad GPT by name: GPT-2's Conv1D weights
    are (in, out), minigrad's Linear (out, in), so those four are transposed; the causal-mask
    buffers (.attn.bias / .attn.masked_bias) are skipped."""
    sd = {}
    for k, v in hf_state.items():
        if k.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        a = v.detach().cpu().numpy()
        sd[k] = a.T if k.endswith(CONV1D) else a
    model.load_state_dict(sd)


@pytest.mark.interop
def test_matches_hugging_face_gpt2():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    cfg = transformers.GPT2Config(vocab_size=50, n_positions=16, n_embd=24, n_layer=2, n_head=3,
                                  activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                                  attn_pdrop=0.0, initializer_range=0.3, bos_token_id=0, eos_token_id=0)
    cfg._attn_implementation = "eager"                   # so attentions are returned
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(cfg).eval().double()
    with torch.no_grad():                               # make LayerNorms and biases non-trivial
        for n, p in hf.named_parameters():
            if "ln" in n or n.endswith("bias"):
                p.add_(0.2 * torch.randn_like(p))
    m = GPT(GPTConfig(vocab_size=50, n_layer=2, n_head=3, n_embd=24, block_size=16)).double()
    load_hf_gpt2_state(m, hf.state_dict())
    assert m.lm_head.weight is m.transformer.wte.weight
    x = np.random.default_rng(0).integers(0, 50, (2, 11))
    with torch.no_grad():
        ref = hf(torch.from_numpy(x), output_hidden_states=True, output_attentions=True)
    out = m(mg.tensor(x), output_hidden_states=True, output_attentions=True)
    assert np.abs(ref.logits.numpy()).max() > 1.0        # not trivially small
    np.testing.assert_allclose(out.logits.data, ref.logits.numpy(), atol=1e-9)
    for ours, theirs in zip(out.hidden_states, ref.hidden_states, strict=True):
        np.testing.assert_allclose(ours.data, theirs.numpy(), atol=1e-9)
    for ours, theirs in zip(out.attentions, ref.attentions, strict=True):
        np.testing.assert_allclose(ours.data, theirs.numpy(), atol=1e-9)
    # greedy generation, token for token
    prompt = torch.from_numpy(x[:1, :4])
    with torch.no_grad():
        hf_gen = hf.generate(prompt, max_new_tokens=10, do_sample=False, pad_token_id=0).numpy()
    np.testing.assert_array_equal(m.generate(x[:1, :4], 10, do_sample=False).data, hf_gen)


def test_generate_stops_at_the_eos_token_per_row():
    m = tiny_gpt().eval()
    x = ids(2, 4)
    free = m.generate(x, 8, do_sample=False).data                 # (2, 12) without a stop token
    eos = int(free[0, 5])                                          # row 0's second new token
    out = m.generate(x, 8, do_sample=False, eos_token_id=eos).data
    for row, full in zip(out, free):
        new, ref = row[4:], full[4:4 + len(row) - 4]
        hits = np.flatnonzero(ref == eos)
        stop = hits[0] + 1 if hits.size else len(ref)
        np.testing.assert_array_equal(new[:stop], ref[:stop])      # the same tokens up to the stop
        assert (new[stop:] == eos).all()                           # then the stop token repeated
    assert out.shape[1] <= free.shape[1]
    if (free[:, 4:] == eos).any(axis=1).all():                     # both rows stop: ends early
        assert out.shape[1] < free.shape[1] or (out[:, -1] == eos).all()
    with pytest.raises(ValueError, match="eos_token_id"):
        m.generate(x, 2, eos_token_id=10**6)
