"""Marian parity with Hugging Face (the `interop` extra: torch and transformers), offline.

Random tiny MarianConfig models are built by transformers, their weights perturbed so that the
outputs are far from uniform, saved with save_pretrained, and loaded by minigrad's
MarianMTModel.from_pretrained.  Then:
* logits (float32) within 1e-4 of transformers', with padding, on several configs (shared /
  separate embeddings, untied output layer, swish / gelu / relu, scale_embedding);
* greedy and beam search (num_beams 3 and 4, length_penalty 0.6 / 1.0 / 2.0, early_stopping
  True / False / "never") equal token for token to model.generate with the same max_new_tokens;
* the directory minigrad saves is read by transformers with the same logits.
"""
import os
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.models import AutoModelForSeq2SeqLM, MarianConfig, MarianMTModel

pytestmark = pytest.mark.interop
ATOL = 1e-4


@pytest.fixture(scope="module", autouse=True)
def _offline():
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def hf():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    return torch, transformers


CONFIGS = {
    "shared-swish": dict(activation_function="swish", scale_embedding=True),
    "shared-gelu": dict(activation_function="gelu"),
    "separate-relu": dict(activation_function="relu", share_encoder_decoder_embeddings=False,
                          decoder_vocab_size=29, scale_embedding=True, pad_token_id=28,
                          decoder_start_token_id=28),
    "untied-swish": dict(activation_function="swish", tie_word_embeddings=False,
                         encoder_layers=1, decoder_layers=3),
}


def hf_tiny(hf, tmp_path, seed=0, **kw):
    """A random transformers MarianMTModel, perturbed, saved to tmp_path; returns (model, dir)."""
    torch, transformers = hf
    torch.manual_seed(seed)
    args = dict(vocab_size=37, d_model=16, encoder_layers=2, decoder_layers=2,
                encoder_attention_heads=4, decoder_attention_heads=2, encoder_ffn_dim=24,
                decoder_ffn_dim=20, max_position_embeddings=64, pad_token_id=36,
                decoder_start_token_id=36, eos_token_id=0, forced_eos_token_id=0, dropout=0.1)
    args.update(kw)
    model = transformers.MarianMTModel(transformers.MarianConfig(**args))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed_positions" not in name:
                p.add_(torch.randn_like(p) * 0.3)
        model.final_logits_bias.add_(torch.randn_like(model.final_logits_bias))
    model.eval()
    d = str(tmp_path / f"hf-{seed}")
    model.save_pretrained(d)
    return model, d


def source_batch(rng, pad=36, B=3, S=7):
    ids = rng.integers(1, pad, size=(B, S))
    mask = np.ones((B, S), dtype=np.int64)
    for b in range(1, B):                         # right padding of different lengths
        n = rng.integers(2, S - 1)
        ids[b, n:], mask[b, n:] = pad, 0
        ids[b, n - 1] = 0                         # ends with EOS, as MarianTokenizer's output
    ids[0, -1] = 0
    return ids.astype(np.int64), mask


@pytest.mark.parametrize("name", list(CONFIGS))
def test_logits_match_transformers(hf, tmp_path, name):
    torch, _ = hf
    ref, d = hf_tiny(hf, tmp_path, **CONFIGS[name])
    model = MarianMTModel.from_pretrained(d)
    assert not model.training
    rng = np.random.default_rng(1)
    pad = ref.config.pad_token_id
    ids, mask = source_batch(rng, pad)
    dec_v = ref.config.decoder_vocab_size
    dec = np.concatenate([np.full((3, 1), pad), rng.integers(0, dec_v, size=(3, 5))], axis=1)
    dec_mask = np.ones_like(dec)
    dec_mask[1, 4:] = 0                           # a right-padded target (teacher forcing)
    for kw in ({}, {"decoder_attention_mask": dec_mask}):
        with torch.no_grad():
            want = ref(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                       decoder_input_ids=torch.tensor(dec),
                       **{k: torch.tensor(v) for k, v in kw.items()}).logits.numpy()
        with mg.no_grad():
            got = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, **kw).logits.data
        assert got.dtype == np.float32 and got.shape == want.shape
        err = np.abs(got - want).max()
        assert err < ATOL, f"{name} {list(kw)}: max |Δlogits| = {err:.2e}"


def test_loss_with_labels_matches_transformers(hf, tmp_path):
    torch, _ = hf
    ref, d = hf_tiny(hf, tmp_path, seed=3, **CONFIGS["shared-swish"])
    model = MarianMTModel.from_pretrained(d)
    rng = np.random.default_rng(2)
    ids, mask = source_batch(rng)
    labels = rng.integers(0, 36, size=(3, 6))
    labels[1, 4:] = -100
    with torch.no_grad():
        want = ref(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                   labels=torch.tensor(labels)).loss.item()
    with mg.no_grad():
        got = float(model(input_ids=ids, attention_mask=mask, labels=labels).loss.data)
    assert abs(got - want) < 1e-5


GEN_CASES = [  # (config, num_beams, length_penalty, early_stopping, max_new_tokens)
    ("shared-swish", 1, 1.0, False, 12),
    ("separate-relu", 1, 1.0, False, 9),
    ("untied-swish", 1, 1.0, False, 15),
    ("shared-swish", 3, 1.0, False, 12),
    ("shared-swish", 4, 0.6, True, 10),
    ("shared-gelu", 4, 2.0, False, 14),
    ("shared-gelu", 3, 0.6, False, 8),
    ("separate-relu", 4, 1.0, True, 11),
    ("untied-swish", 3, 2.0, True, 13),
    ("shared-swish", 4, 1.0, "never", 9),
    ("separate-relu", 3, 0.6, "never", 10),
]


@pytest.mark.parametrize("case", GEN_CASES, ids=lambda c: "-".join(map(str, c)))
def test_generate_matches_transformers(hf, tmp_path, case):
    torch, _ = hf
    name, beams, lp, es, new = case
    ref, d = hf_tiny(hf, tmp_path, seed=len(name) + beams, **CONFIGS[name])
    model = MarianMTModel.from_pretrained(d)
    for seed in range(3):
        ids, mask = source_batch(np.random.default_rng(10 + seed), ref.config.pad_token_id)
        with torch.no_grad():
            want = ref.generate(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                                max_new_tokens=new, num_beams=beams, length_penalty=lp,
                                early_stopping=es, do_sample=False).numpy()
        got = model.generate(ids, attention_mask=mask, max_new_tokens=new, num_beams=beams,
                             length_penalty=lp, early_stopping=es)
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"{case}, inputs seed {seed}")


def test_generate_bans_bad_words_and_defaults_the_mask_like_transformers(hf, tmp_path):
    torch, _ = hf
    ref, d = hf_tiny(hf, tmp_path, seed=5, **CONFIGS["shared-swish"])
    model = MarianMTModel.from_pretrained(d)
    ids, _ = source_batch(np.random.default_rng(4))
    bad = [[36], [5], [7, 8]]
    for beams in (1, 3):
        with torch.no_grad():          # no attention_mask: every source token counts, in both
            want = ref.generate(input_ids=torch.tensor(ids), max_new_tokens=10, num_beams=beams,
                                bad_words_ids=bad, do_sample=False).numpy()
        got = model.generate(ids, max_new_tokens=10, num_beams=beams, bad_words_ids=bad)
        np.testing.assert_array_equal(np.asarray(got), want)
        assert not np.isin(np.asarray(got)[:, 1:], [5]).any()


def test_generation_config_json_gives_the_defaults(hf, tmp_path):
    """An OPUS-MT directory's generation_config.json (num_beams, max_length, bad_words_ids)
    sets generate()'s defaults, in minigrad as in transformers."""
    torch, transformers = hf
    ref, d = hf_tiny(hf, tmp_path, seed=6, **CONFIGS["shared-gelu"])
    gc = transformers.GenerationConfig(num_beams=3, max_length=9, bad_words_ids=[[36]],
                                       decoder_start_token_id=36, eos_token_id=0,
                                       forced_eos_token_id=0, pad_token_id=36)
    gc.save_pretrained(d)
    ref = transformers.MarianMTModel.from_pretrained(d).eval()
    model = AutoModelForSeq2SeqLM.from_pretrained(d)
    assert model.generation_config["num_beams"] == 3
    ids, mask = source_batch(np.random.default_rng(7))
    with torch.no_grad():
        want = ref.generate(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).numpy()
    got = model.generate(ids, attention_mask=mask)
    np.testing.assert_array_equal(np.asarray(got), want)


def test_transformers_reads_what_minigrad_saves(hf, tmp_path):
    torch, transformers = hf
    for name in ("shared-swish", "separate-relu", "untied-swish"):
        kw = dict(vocab_size=37, d_model=16, encoder_layers=2, decoder_layers=2,
                  encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=24,
                  decoder_ffn_dim=24, max_position_embeddings=32, pad_token_id=36,
                  decoder_start_token_id=36, eos_token_id=0)
        kw.update(CONFIGS[name])
        cfg = MarianConfig(**kw)
        pad = cfg.pad_token_id
        mg.manual_seed(0)
        model = MarianMTModel(cfg).eval()
        for p in model.parameters():
            p.data += np.random.default_rng(0).normal(0, 0.3, p.shape).astype(np.float32)
        model.final_logits_bias.data[:] = np.random.default_rng(1).normal(size=model.final_logits_bias.shape)
        d = str(tmp_path / f"mg-{name}")
        with warnings.catch_warnings():
            warnings.simplefilter("error")                   # post-LN, sinusoidal: no warning
            model.save_pretrained(d)
        ref = transformers.MarianMTModel.from_pretrained(d).eval()
        ids, mask = source_batch(np.random.default_rng(3), pad)
        dec = np.concatenate([np.full((3, 1), pad), np.random.default_rng(4).integers(0, 29, (3, 4))], 1)
        with torch.no_grad():
            want = ref(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                       decoder_input_ids=torch.tensor(dec)).logits.numpy()
        with mg.no_grad():
            got = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits.data
        assert np.abs(got - want).max() < ATOL, name


def test_attention_maps_match_transformers(hf, tmp_path):
    """output_attentions: encoder self-attention, decoder causal self-attention and
    cross-attention maps (what the attention explorer and lesson 10 draw)."""
    torch, transformers = hf
    _, d = hf_tiny(hf, tmp_path, seed=8, **CONFIGS["shared-gelu"])
    ref = transformers.MarianMTModel.from_pretrained(d, attn_implementation="eager").eval()
    model = MarianMTModel.from_pretrained(d)
    ids, mask = source_batch(np.random.default_rng(8))
    dec = np.concatenate([np.full((3, 1), 36), np.random.default_rng(9).integers(0, 36, (3, 4))], 1)
    with torch.no_grad():
        want = ref(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask),
                   decoder_input_ids=torch.tensor(dec), output_attentions=True)
    with mg.no_grad():
        got = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, output_attentions=True)
    for field in ("encoder_attentions", "decoder_attentions", "cross_attentions"):
        w, g = getattr(want, field), getattr(got, field)
        assert len(w) == len(g) == 2, field
        for a, b in zip(w, g):
            real = mask.astype(bool)[:, None, :, None] if field == "encoder_attentions" else slice(None)
            diff = np.abs(b.data - a.numpy())
            if field == "encoder_attentions":    # padded queries attend anyhow: compare real ones
                diff = np.where(real, diff, 0.0)
            assert diff.max() < 1e-5, field
