"""The encoder–decoder Transformer (minigrad.models.marian) and its generation, without torch.

Gradient checks in float64 (cross-attention, the whole model's loss in post-LN and pre-LN,
learned positions, label smoothing); the masks (causal, source padding); the KV cache
(incremental logits equal the full forward, greedy with and without the cache); beam search
against a brute-force search over every sequence of a tiny vocabulary; beam size 1 against
greedy; save_pretrained / from_pretrained round trips; errors.  (Parity with transformers is
in test_marian_interop.py.)
"""
import itertools
import json
import os
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.models import (AutoConfig, AutoModelForSeq2SeqLM, MarianConfig, MarianMTModel,
                             PretrainedError, Seq2SeqLMOutput)
from minigrad.models.generation import (LogitsProcessor, Seq2SeqDecoder, beam_search,
                                        greedy_search, log_softmax)
from minigrad.models.marian import MarianAttention, marian_sinusoidal_table, shift_tokens_right

PAD, EOS = 1, 0


@pytest.fixture(autouse=True)
def _numpy_backend():
    """These tiny models run on the NumPy reference backend: at these sizes a parallel kernel's
    thread start-up costs more than the work.  test_numba_backend_gives_the_same_model checks
    the numba kernels (fused attention with the cross-attention and causal masks, LayerNorm)
    on the same model."""
    with mg.backend("numpy"):
        yield


def tiny(seed=0, std=0.3, **kw):
    """A random tiny model with weights large enough that its outputs are far from uniform."""
    args = dict(vocab_size=13, d_model=8, encoder_layers=2, decoder_layers=2,
                encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=12,
                decoder_ffn_dim=12, max_position_embeddings=40, pad_token_id=PAD,
                decoder_start_token_id=PAD, eos_token_id=EOS, forced_eos_token_id=EOS,
                dropout=0.0, init_std=std, activation_function="swish")
    args.update(kw)
    mg.manual_seed(seed)
    model = MarianMTModel(MarianConfig(**args))
    model.final_logits_bias.data[:] = np.random.default_rng(seed).normal(
        0, 0.5, model.final_logits_bias.shape).astype(model.final_logits_bias.dtype)
    return model.eval()


def src(B=2, S=5, V=13, seed=0):
    """Source ids ending in EOS, the second row padded; and the mask."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, V, size=(B, S))
    ids[:, -1] = EOS
    mask = np.ones((B, S), dtype=np.int64)
    if B > 1:
        ids[1, 3:], mask[1, 3:] = PAD, 0
        ids[1, 2] = EOS
    return ids, mask


# --- config, names, layout ----------------------------------------------------------------
def test_config_validation_small_and_dict_round_trip():
    c = MarianConfig.small(vocab_size=100)
    assert c.normalize_before and c.decoder_vocab_size == 100 and c.share_encoder_decoder_embeddings
    assert MarianConfig.from_dict({**c.to_dict(), "not_a_field": 1}) == c
    s = MarianConfig.small(vocab_size=100, decoder_vocab_size=60)
    assert not s.share_encoder_decoder_embeddings and s.decoder_vocab_size == 60
    with pytest.raises(ValueError, match="divisible"):
        MarianConfig(d_model=10, encoder_attention_heads=3)
    with pytest.raises(ValueError, match="one vocabulary"):
        MarianConfig(vocab_size=10, decoder_vocab_size=8, pad_token_id=1, decoder_start_token_id=1)
    with pytest.raises(ValueError, match="unknown activation"):
        MarianConfig.small(vocab_size=10, activation_function="mish")
    with pytest.raises(ValueError, match="pad_token_id"):
        MarianConfig(vocab_size=10, pad_token_id=10)
    with pytest.raises(ValueError, match="position_embedding_type"):
        MarianConfig.small(vocab_size=10, position_embedding_type="rotary")


def test_hugging_face_names_and_tied_embeddings():
    m = tiny()
    names = list(m.state_dict())
    for n in ("final_logits_bias", "model.shared.weight", "model.encoder.embed_tokens.weight",
              "model.encoder.layers.1.self_attn.k_proj.weight", "model.encoder.layers.0.fc2.bias",
              "model.encoder.layers.0.self_attn_layer_norm.weight",
              "model.decoder.layers.1.encoder_attn.q_proj.bias",
              "model.decoder.layers.0.encoder_attn_layer_norm.bias",
              "model.decoder.layers.0.final_layer_norm.weight", "lm_head.weight"):
        assert n in names, n
    assert not any("embed_positions" in n for n in names)        # recomputed, never stored
    sd = m.state_dict()
    shared = sd["model.shared.weight"]
    for n in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"):
        assert sd[n] is shared                                    # one Parameter, four names
    assert m.final_logits_bias.shape == (1, 13) and not any(p is m.final_logits_bias for p in m.parameters())
    sep = tiny(share_encoder_decoder_embeddings=False, decoder_vocab_size=9)
    sd = sep.state_dict()
    assert "model.shared.weight" not in sd and sd["lm_head.weight"] is sd["model.decoder.embed_tokens.weight"]
    assert sd["model.encoder.embed_tokens.weight"].shape == (13, 8) and sep.lm_head.weight.shape == (9, 8)
    untied = tiny(tie_word_embeddings=False)
    sd = untied.state_dict()
    assert len({id(sd[n]) for n in ("model.shared.weight", "model.encoder.embed_tokens.weight",
                                    "model.decoder.embed_tokens.weight", "lm_head.weight")}) == 4


def test_sinusoidal_table_has_sines_first_then_cosines():
    n, d = 7, 6
    table = marian_sinusoidal_table(n, d)
    for pos in range(n):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert table[pos, i] == pytest.approx(np.sin(angle), abs=1e-15)
            assert table[pos, d // 2 + i] == pytest.approx(np.cos(angle), abs=1e-15)
    odd = marian_sinusoidal_table(3, 5)                            # ⌈5/2⌉ = 3 sine columns
    assert odd[2, 2] == pytest.approx(np.sin(2 / 10000 ** (4 / 5)))
    assert odd[2, 3] == pytest.approx(np.cos(2 / 10000 ** (0 / 5)))


# --- gradients (float64) ----------------------------------------------------------------
def test_cross_attention_gradcheck_float64():
    """Q from the decoder (B, T, d), K and V from the encoder output (B, S, d), S != T."""
    mg.manual_seed(1)
    attn = MarianAttention(8, 2).double()
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.normal(size=(2, 3, 8)), requires_grad=True)
    memory = mg.tensor(rng.normal(size=(2, 5, 8)), requires_grad=True)
    keep = np.ones((2, 1, 1, 5), dtype=bool)
    keep[1, ..., 3:] = False
    fn = lambda x, m, *p: attn(x, key_value_states=m, attn_mask=keep)[0]
    assert mg.gradcheck(fn, [x, memory])                           # the full Jacobians
    assert mg.gradcheck(fn, [x.detach(), memory.detach(), *attn.parameters()], fast_mode=True)
    out, w, _ = attn(x, key_value_states=memory, attn_mask=keep, output_attentions=True)
    assert out.shape == (2, 3, 8) and w.shape == (2, 2, 3, 5)
    np.testing.assert_allclose(w.data.sum(-1), 1.0, atol=1e-12)
    assert (w.data[1, ..., 3:] == 0).all()                         # padded source keys get nothing


@pytest.mark.parametrize("kw", [dict(), dict(normalize_before=True, position_embedding_type="learned",
                                             activation_function="gelu", scale_embedding=True),
                                dict(share_encoder_decoder_embeddings=False, decoder_vocab_size=9,
                                     activation_function="relu")],
                         ids=["post-LN", "pre-LN-learned", "separate"])
def test_encoder_decoder_loss_gradcheck_float64(kw):
    # no pad token among the inputs: the pad row of an embedding takes no gradient by design
    # (padding_idx, as in PyTorch), which finite differences would see
    m = tiny(std=0.2, decoder_start_token_id=2, **kw).double()
    ids = np.array([[3, 4, 5, 6, EOS], [7, 8, EOS, 9, 9]])
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    labels = np.array([[3, 4, 5, EOS], [6, EOS, -100, -100]])
    dec = np.array([[2, 3, 4, 5], [2, 6, EOS, 3]])
    params = list(m.parameters())
    assert all(p.dtype == np.float64 for p in params)
    fn = lambda *p: m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, labels=labels,
                      label_smoothing=0.1).loss
    assert mg.gradcheck(fn, params, fast_mode=True)
    m(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
    emb = m.model.decoder.embed_tokens.weight
    assert np.abs(emb.grad.data).sum() > 0                         # the output layer's gradient too


def test_loss_is_cross_entropy_of_shifted_labels_with_ignore_and_smoothing():
    m = tiny()
    ids, mask = src()
    labels = np.array([[3, 4, 5, EOS], [6, EOS, -100, -100]])
    dec = shift_tokens_right(labels, PAD, PAD)
    np.testing.assert_array_equal(dec, [[PAD, 3, 4, 5], [PAD, 6, EOS, PAD]])
    with mg.no_grad():
        out = m(input_ids=ids, attention_mask=mask, labels=labels, label_smoothing=0.2)
        logits = m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data
    assert isinstance(out, Seq2SeqLMOutput)
    np.testing.assert_allclose(out.logits.data, logits, atol=1e-6)
    logp = log_softmax(logits.astype(np.float64))
    keep = labels != -100
    nll = -np.take_along_axis(logp, np.where(keep, labels, 0)[..., None], -1)[..., 0]
    per = 0.8 * nll - 0.2 * logp.mean(-1)
    assert float(out.loss.data) == pytest.approx(per[keep].mean(), rel=1e-5)


# --- masks ------------------------------------------------------------------------------
def test_decoder_is_causal_and_padding_in_the_source_is_ignored():
    m = tiny()
    ids, mask = src()
    dec = np.array([[PAD, 3, 4, 5], [PAD, 6, 7, 8]])
    with mg.no_grad():
        a = m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data
        dec2 = dec.copy()
        dec2[:, 2:] = 9                                            # change the future
        b = m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec2).logits.data
        ids2 = ids.copy()
        ids2[1, 3:] = 7                                            # change what the mask hides
        c = m(input_ids=ids2, attention_mask=mask, decoder_input_ids=dec).logits.data
    np.testing.assert_allclose(a[:, :2], b[:, :2], atol=1e-6)
    assert not np.allclose(a[:, 2:], b[:, 2:])
    np.testing.assert_allclose(a[1], c[1], atol=1e-6)


def test_output_attentions_and_hidden_states_shapes():
    m = tiny()
    ids, mask = src()
    dec = np.array([[PAD, 3, 4], [PAD, 6, 7]])
    with mg.no_grad():
        out = m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, output_attentions=True,
                output_hidden_states=True)
    assert len(out.encoder_attentions) == 2 and out.encoder_attentions[0].shape == (2, 2, 5, 5)
    assert len(out.decoder_attentions) == 2 and out.decoder_attentions[0].shape == (2, 2, 3, 3)
    assert len(out.cross_attentions) == 2 and out.cross_attentions[1].shape == (2, 2, 3, 5)
    assert np.triu(out.decoder_attentions[0].data[0, 0], 1).max() == 0     # causal
    assert (out.cross_attentions[0].data[1, :, :, 3:] == 0).all()           # source padding
    assert len(out.encoder_hidden_states) == 3 and len(out.decoder_hidden_states) == 3
    np.testing.assert_array_equal(out.encoder_hidden_states[-1].data, out.encoder_last_hidden_state.data)
    enc = m.get_encoder()(ids, mask)
    np.testing.assert_allclose(enc.last_hidden_state.data, out.encoder_last_hidden_state.data, atol=1e-6)
    with mg.no_grad():                                   # precomputed encoder output: same logits
        again = m(attention_mask=mask, decoder_input_ids=dec, encoder_outputs=enc).logits.data
    np.testing.assert_allclose(again, out.logits.data, atol=1e-6)


# --- KV cache and generation --------------------------------------------------------------
@pytest.mark.parametrize("normalize_before", [False, True])
def test_incremental_decoding_equals_the_full_forward(normalize_before):
    m = tiny(normalize_before=normalize_before)
    ids, mask = src()
    dec = np.array([[PAD, 3, 4, 5, 6, 7], [PAD, 6, 7, 8, 2, 3]])
    with mg.no_grad():
        enc = m.get_encoder()(ids, mask)
        full = m(attention_mask=mask, decoder_input_ids=dec, encoder_outputs=enc).logits.data
        out = m(attention_mask=mask, decoder_input_ids=dec[:, :2], encoder_outputs=enc, use_cache=True)
        parts, past = [out.logits.data], out.past_key_values
        assert len(past) == 2 and past[0][0].shape == (2, 2, 2, 4) and past[0][2].shape == (2, 2, 5, 4)
        cross_k = past[1][2]
        for t in range(2, 6):
            out = m(attention_mask=mask, decoder_input_ids=dec[:, t:t + 1], encoder_outputs=enc,
                    past_key_values=past, use_cache=True)
            parts.append(out.logits.data)
            past = out.past_key_values
            assert past[1][2] is cross_k                            # encoder K, V computed once
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=1e-5)


@pytest.mark.parametrize("seed,new", [(0, 6), (1, 15), (2, 30)])
def test_greedy_with_cache_equals_without(seed, new):
    m = tiny(seed=seed)
    ids, mask = src(B=3, seed=seed)
    a = m.generate(ids, attention_mask=mask, max_new_tokens=new)
    b = m.generate(ids, attention_mask=mask, max_new_tokens=new, use_cache=False)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.asarray(a)[0, 0] == PAD and np.asarray(a).shape[1] <= 1 + new


def test_greedy_is_the_argmax_of_the_full_forward_and_pads_finished_rows():
    m = tiny(seed=4, forced_eos_token_id=None)
    ids, mask = src(B=3, seed=3)
    out = np.asarray(m.generate(ids, attention_mask=mask, max_new_tokens=8))
    for b in range(3):
        prefix = out[b:b + 1, :1]
        for t in range(1, out.shape[1]):
            if prefix[0, -1] == EOS:                               # finished: the rest is pad
                assert (out[b, t:] == PAD).all()
                break
            with mg.no_grad():
                logits = m(input_ids=ids[b:b + 1], attention_mask=mask[b:b + 1],
                           decoder_input_ids=prefix).logits.data[0, -1]
            assert out[b, t] == logits.argmax()
            prefix = out[b:b + 1, :t + 1]


def test_forced_eos_and_bad_words():
    m = tiny(seed=5)
    ids, mask = src()
    out = np.asarray(m.generate(ids, attention_mask=mask, max_new_tokens=4, bad_words_ids=[[PAD], [7]]))
    assert out.shape[1] <= 5 and not np.isin(out[:, 1:], [7]).any()
    # the last token max_length allows is EOS (forced), unless the row had finished already
    assert all(row[-1] in (EOS, PAD) for row in out)
    p = LogitsProcessor(bad_words_ids=[[3, 4], [EOS]], eos_token_ids=[EOS], forced_eos_token_id=None)
    scores = p(np.array([[1, 3], [1, 2]]), np.zeros((2, 6), dtype=np.float32))
    assert scores[0, 4] == -np.inf and np.isfinite(scores[1]).all() and np.isfinite(scores[:, EOS]).all()


def test_beam_size_one_equals_greedy():
    """Beam search keeping one beam and stopping at the first finished hypothesis is greedy."""
    for seed in range(3):
        m = tiny(seed=seed)
        ids, mask = src(B=2, seed=seed)
        with mg.no_grad():
            memory = m.get_encoder()(ids, mask).last_hidden_state
        for lp in (0.6, 1.0, 2.0):
            proc = LogitsProcessor(None, [EOS], EOS, max_length=12)
            g = greedy_search(Seq2SeqDecoder(m, memory, mask), 2, PAD, 12, [EOS], PAD, proc)
            b = beam_search(Seq2SeqDecoder(m, memory, mask), 2, 1, PAD, 12, [EOS], PAD, proc,
                            length_penalty=lp, early_stopping=True)
            np.testing.assert_array_equal(b, g)
    np.testing.assert_array_equal(np.asarray(m.generate(ids, attention_mask=mask, num_beams=1, max_new_tokens=9)),
                                  np.asarray(m.generate(ids, attention_mask=mask, max_new_tokens=9)))


def brute_force_best(m, ids, mask, max_new, length_penalty, V):
    """Every sequence of up to max_new tokens (ending at its first EOS, or at max_new), scored
    Σ log p / n ** length_penalty with log p from full forwards (no cache): the best one."""
    best, best_score = None, -np.inf
    cache = {}

    def logp(prefix):
        if prefix not in cache:
            with mg.no_grad():
                logits = m(input_ids=ids, attention_mask=mask,
                           decoder_input_ids=np.array([prefix])).logits.data[0, -1]
            cache[prefix] = log_softmax(logits.astype(np.float64))
        return cache[prefix]

    for n in range(1, max_new + 1):
        for seq in itertools.product(range(V), repeat=n):
            if EOS in seq[:-1] or (n < max_new and seq[-1] != EOS):
                continue
            prefix, total = (PAD,), 0.0
            for tok in seq:
                total += logp(prefix)[tok]
                prefix = prefix + (tok,)
            score = total / n ** length_penalty
            if score > best_score:
                best, best_score = (PAD,) + seq, score
    return np.array(best)


@pytest.mark.parametrize("lp", [0.6, 1.0, 2.0])
def test_beam_search_finds_the_brute_force_best_when_the_beam_holds_every_prefix(lp):
    V, max_new = 5, 3
    for seed in range(2):
        m = tiny(seed=10 + seed, vocab_size=V, forced_eos_token_id=None, std=0.6)
        ids, mask = src(B=1, V=V, seed=seed)
        want = brute_force_best(m, ids, mask, max_new, lp, V)
        got = np.asarray(m.generate(ids, attention_mask=mask, max_new_tokens=max_new,
                                    num_beams=V ** (max_new - 1), length_penalty=lp,
                                    early_stopping="never"))[0]
        np.testing.assert_array_equal(got, want)


class RandomTreeDecoder:
    """A stand-in decoder whose next-token scores are random but fixed by the prefix, so that
    every sequence has a score that brute force can enumerate (no model, no cache)."""

    def __init__(self, V, seed):
        self.V, self.seed = V, seed

    def next_logits(self, ids):
        rows = []
        for row in ids:
            rng = np.random.default_rng([self.seed, *map(int, row)])
            rows.append(rng.normal(0.0, 2.0, self.V))
        return np.array(rows, dtype=np.float32)

    def reorder(self, index):
        pass


def brute_force_tree(dec, V, max_new, length_penalty):
    best, best_score = None, -np.inf
    for n in range(1, max_new + 1):
        for seq in itertools.product(range(V), repeat=n):
            if EOS in seq[:-1] or (n < max_new and seq[-1] != EOS):
                continue
            full = (PAD,) + seq
            total = sum(log_softmax(dec.next_logits(np.array([full[:t]])).astype(np.float64))[0, full[t]]
                        for t in range(1, n + 1))
            if total / n ** length_penalty > best_score:
                best, best_score = full, total / n ** length_penalty
    return np.array(best)


@pytest.mark.parametrize("lp", [0.0, 0.6, 1.0, 2.0])
def test_beam_search_algorithm_against_brute_force_on_random_trees(lp):
    """Beam search with as many beams as prefixes and early_stopping="never" is exhaustive:
    it must return the sequence of the best length-normalised score."""
    V, max_new = 4, 4
    lengths = set()
    for seed in range(6):
        dec = RandomTreeDecoder(V, seed)
        want = brute_force_tree(dec, V, max_new, lp)
        proc = LogitsProcessor(None, [EOS], None, max_length=1 + max_new)
        got = beam_search(dec, 1, V ** (max_new - 1), PAD, 1 + max_new, [EOS], PAD, proc,
                          length_penalty=lp, early_stopping="never")[0]
        np.testing.assert_array_equal(got, want, err_msg=f"tree {seed}")
        lengths.add(len(want))
    assert len(lengths) > 1                      # the cases pit short against long outputs


def test_beam_search_cache_equals_no_cache_and_batch_rows_are_independent():
    m = tiny(seed=7)
    ids, mask = src(B=2, seed=7)
    kw = dict(attention_mask=mask, max_new_tokens=12, num_beams=3, length_penalty=0.6)
    a = np.asarray(m.generate(ids, **kw))
    b = np.asarray(m.generate(ids, use_cache=False, **kw))
    np.testing.assert_array_equal(a, b)
    one = np.asarray(m.generate(ids[1:], attention_mask=mask[1:], max_new_tokens=12, num_beams=3,
                                length_penalty=0.6))[0]
    np.testing.assert_array_equal(a[1, :len(one)], one)
    assert (a[1, len(one):] == PAD).all()                          # shorter rows are padded


def test_dropout_only_in_training_mode():
    m = tiny(dropout=0.3, attention_dropout=0.2, activation_dropout=0.2).train()
    ids, mask = src()
    dec = np.array([[PAD, 3, 4], [PAD, 6, 7]])
    run = lambda: m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data
    assert not np.allclose(run(), run())
    m.eval()
    np.testing.assert_array_equal(run(), run())


def test_generate_restores_training_mode_and_accepts_1d():
    m = tiny().train()
    ids, mask = src(B=1)
    g = m.generate(ids[0], max_new_tokens=4)
    assert m.training and np.asarray(g).ndim == 1
    np.testing.assert_array_equal(np.asarray(g), np.asarray(m.generate(ids, max_new_tokens=4))[0])
    with pytest.raises(ValueError, match="max_new_tokens"):
        m.generate(ids, max_new_tokens=0)
    with pytest.raises(ValueError, match="early_stopping"):
        m.generate(ids, max_new_tokens=3, num_beams=2, early_stopping="sometimes")


def test_numba_backend_gives_the_same_model():
    if not mg.backends.usable("numba"):
        pytest.skip("numba is not installed")
    m = tiny(seed=6)
    ids, mask = src(B=3, seed=6)
    dec = np.array([[PAD, 3, 4, 5], [PAD, 6, 7, 8], [PAD, 2, 2, 9]])
    with mg.no_grad():
        want = m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data
        with mg.backend("numba"):
            got = m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data
    np.testing.assert_allclose(got, want, atol=1e-5)
    kw = dict(attention_mask=mask, max_new_tokens=10)
    greedy = np.asarray(m.generate(ids, **kw))
    with mg.backend("numba"):
        np.testing.assert_array_equal(np.asarray(m.generate(ids, **kw)), greedy)
        np.testing.assert_array_equal(np.asarray(m.generate(ids, use_cache=False, **kw)), greedy)


# --- saving and loading -----------------------------------------------------------------
def test_save_and_load_round_trip(tmp_path):
    m = tiny(seed=3, share_encoder_decoder_embeddings=False, decoder_vocab_size=11)
    d = str(tmp_path / "marian")
    m.save_pretrained(d)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["model_type"] == "marian" and cfg["architectures"] == ["MarianMTModel"]
    assert os.path.isfile(os.path.join(d, "generation_config.json"))
    stored = mg.load(os.path.join(d, "model.safetensors"))
    assert "lm_head.weight" not in stored and "model.decoder.embed_tokens.weight" in stored  # tied: once
    assert "final_logits_bias" in stored
    back = MarianMTModel.from_pretrained(d)
    auto = AutoModelForSeq2SeqLM.from_pretrained(d)
    assert isinstance(AutoConfig.from_pretrained(d), MarianConfig)
    assert back.lm_head.weight is back.model.decoder.embed_tokens.weight
    ids, mask = src()
    dec = np.array([[1, 3, 4], [1, 5, 6]])
    with mg.no_grad():
        want = m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data
        for model in (back, auto):
            got = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.asarray(back.generate(ids, attention_mask=mask, max_new_tokens=6, num_beams=2)),
                                  np.asarray(m.generate(ids, attention_mask=mask, max_new_tokens=6, num_beams=2)))


def test_pre_ln_model_warns_on_save_and_round_trips(tmp_path):
    m = tiny(normalize_before=True, position_embedding_type="learned")
    d = str(tmp_path / "preln")
    with pytest.warns(UserWarning, match="minigrad only"):
        m.save_pretrained(d)
    back = MarianMTModel.from_pretrained(d)
    assert back.config.normalize_before and back.model.encoder.layer_norm is not None
    ids, mask = src()
    dec = np.array([[1, 3], [1, 5]])
    with mg.no_grad():
        np.testing.assert_array_equal(back(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data,
                                      m(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data)


def test_generation_config_json_sets_the_defaults(tmp_path):
    m = tiny(seed=2)
    d = str(tmp_path / "gen")
    m.save_pretrained(d)
    with open(os.path.join(d, "generation_config.json"), "w") as f:
        json.dump({"num_beams": 3, "max_length": 7, "bad_words_ids": [[PAD]]}, f)
    back = MarianMTModel.from_pretrained(d)
    ids, mask = src()
    want = m.generate(ids, attention_mask=mask, num_beams=3, max_new_tokens=6, bad_words_ids=[[PAD]])
    np.testing.assert_array_equal(np.asarray(back.generate(ids, attention_mask=mask)), np.asarray(want))


def test_bad_directories_are_refused(tmp_path):
    m = tiny()
    d = str(tmp_path / "bad")
    m.save_pretrained(d)
    path = os.path.join(d, "config.json")
    cfg = json.load(open(path))
    json.dump({**cfg, "normalize_embedding": True}, open(path, "w"))
    with pytest.raises(PretrainedError, match="normalize_embedding"):
        MarianMTModel.from_pretrained(d)
    json.dump({**cfg, "d_model": 16, "encoder_attention_heads": 2}, open(path, "w"))
    with pytest.raises(PretrainedError, match="do not fit"):
        MarianMTModel.from_pretrained(d)


def test_clear_errors():
    m = tiny()
    ids, mask = src()
    with pytest.raises(ValueError, match="decoder_input_ids or labels"):
        m(input_ids=ids)
    with pytest.raises(mg.ShapeError, match="attention_mask"):
        m(input_ids=ids, attention_mask=mask[:, :3], decoder_input_ids=ids[:, :1])
    with pytest.raises(mg.ShapeError, match="max_position_embeddings"):
        m(input_ids=np.full((1, 41), 3), decoder_input_ids=ids[:1, :1])
    with pytest.raises(TypeError, match="integer"):
        m(input_ids=ids.astype(np.float32), decoder_input_ids=ids[:, :1])


def test_small_model_learns_to_copy():
    """Training from scratch (teacher forcing, label smoothing): a small model learns to copy
    short sequences, and greedy decoding then reproduces them."""
    V = 12
    cfg = MarianConfig.small(vocab_size=V, pad_token_id=PAD, eos_token_id=EOS, d_model=32, layers=1,
                             heads=2, dropout=0.0, max_position_embeddings=16)
    mg.manual_seed(0)
    m = MarianMTModel(cfg)
    rng = np.random.default_rng(0)
    data = rng.integers(2, V, size=(16, 4))
    ids = np.concatenate([data, np.full((16, 1), EOS)], axis=1)
    opt = mg.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for step in range(80):
        loss = m(input_ids=ids, labels=ids, label_smoothing=0.05).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.data))
    assert losses[-1] < 0.35 * losses[0]
    out = np.asarray(m.generate(ids[:4], max_new_tokens=6))
    assert (out[:, 1:6] == ids[:4]).mean() > 0.8


def test_older_checkpoint_layout_loads(tmp_path):
    """Files written by older transformers hold the sinusoidal tables and every tied name
    (lm_head, encoder/decoder embed_tokens): the tables are recomputed, the names fill one
    Parameter."""
    m = tiny(seed=9)
    d = str(tmp_path / "old")
    m.save_pretrained(d)
    path = os.path.join(d, "model.safetensors")
    stored = {k: v for k, v in mg.load(path).items()}
    shared = stored["model.shared.weight"]
    stored.update({"lm_head.weight": shared, "model.encoder.embed_tokens.weight": shared,
                   "model.decoder.embed_tokens.weight": shared,
                   "model.encoder.embed_positions.weight": mg.tensor(marian_sinusoidal_table(40, 8).astype(np.float32)),
                   "model.decoder.embed_positions.weight": mg.tensor(marian_sinusoidal_table(40, 8).astype(np.float32))})
    mg.save(stored, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # nothing is newly initialised
        back, info = MarianMTModel.from_pretrained(d, output_loading_info=True)
    assert sorted(info["unexpected_keys"]) == ["model.decoder.embed_positions.weight",
                                               "model.encoder.embed_positions.weight"]
    assert info["missing_keys"] == []
    np.testing.assert_array_equal(back.lm_head.weight.data, m.lm_head.weight.data)
