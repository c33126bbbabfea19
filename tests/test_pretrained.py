"""from_pretrained / save_pretrained on Hugging Face-style directories, without torch:
round trips, checkpoint name variants, new heads, errors that name the file and the entry,
the Auto classes, sentence embeddings, and the §5 example on a tiny model."""
import json
import os
import pickle
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.models import (GPT, AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM,
                             AutoModelForSequenceClassification, AutoTokenizer, BertConfig,
                             BertForMaskedLM, BertForSequenceClassification, BertModel, GPTConfig,
                             NewlyInitializedWarning, PretrainedError, SentenceEncoder, cos_sim,
                             save_pretrained)
from minigrad.models.sentence import l2_normalize, mean_pooling, pool
from minigrad.tokenizers import BertTokenizer, BPETokenizer
from numerics import assert_identical, assert_same_numbers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "this", "is", "a", "great", "movie", "!",
         "bad", "film", "the", "good", "##s", "##ing", "love", "hate", "it", ".", ",", "not", "very",
         "and", "but", "i", "was", "so", "fun"]
BERT_CFG = dict(vocab_size=len(WORDS), hidden_size=12, num_hidden_layers=2, num_attention_heads=3,
                intermediate_size=17, max_position_embeddings=24, initializer_range=0.3)
GPT_CFG = dict(vocab_size=40, n_layer=2, n_head=3, n_embd=12, block_size=16)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NewlyInitializedWarning)
        return fn(*args, **kwargs)


def _ids(B=2, T=7, V=len(WORDS), seed=0):
    ids = np.random.default_rng(seed).integers(5, V, (B, T))
    mask = np.ones((B, T), dtype=np.int64)
    mask[1, T - 2:] = 0
    return ids, mask


def _bump(model, seed=0):
    """Make LayerNorms and biases non-trivial, so a swapped weight shows."""
    rng = np.random.default_rng(seed)
    for _, p in model.named_parameters():
        p.data = (p.data + 0.2 * rng.standard_normal(p.shape)).astype(p.dtype)
    return model


def _write_vocab(d):
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(WORDS) + "\n")


@pytest.fixture
def bert_dir(tmp_path):
    """A BertForSequenceClassification saved by minigrad, with its vocab.txt."""
    mg.manual_seed(0)
    model = _bump(BertForSequenceClassification(BertConfig(**BERT_CFG, num_labels=3)))
    d = tmp_path / "bert"
    files = model.save_pretrained(d)
    _write_vocab(d)
    return str(d), model.eval(), files


@pytest.fixture
def gpt_dir(tmp_path):
    mg.manual_seed(0)
    model = _bump(GPT(GPTConfig(**GPT_CFG)))
    d = tmp_path / "gpt"
    model.save_pretrained(d)
    return str(d), model.eval()


def _rewrite(d, fn, name="model.safetensors"):
    """Load a directory's weights, change the dict with fn, write it back."""
    path = os.path.join(d, name)
    sd = {k: v.data for k, v in mg.load(path).items()}
    mg.save(fn(sd), path)


def _edit_config(d, **changes):
    path = os.path.join(d, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg.update(changes)
    for k in [k for k, v in changes.items() if v is None]:
        del cfg[k]
    with open(path, "w") as f:
        json.dump(cfg, f)


# --- round trips ----------------------------------------------------------------------------
def test_bert_classifier_round_trip(bert_dir):
    d, model, files = bert_dir
    assert sorted(os.path.basename(f) for f in files) == ["config.json", "model.safetensors"]
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["model_type"] == "bert" and cfg["architectures"] == ["BertForSequenceClassification"]
    assert cfg["id2label"] == {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
    tensors, meta = mg.load(os.path.join(d, "model.safetensors"), return_metadata=True)
    assert meta == {"format": "pt"}
    assert "bert.embeddings.LayerNorm.weight" in tensors and "classifier.weight" in tensors
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # every weight is there: no notice
        loaded = AutoModelForSequenceClassification.from_pretrained(d)
    assert type(loaded) is BertForSequenceClassification and not loaded.training
    ids, mask = _ids()
    assert_same_numbers(loaded(ids, mask).logits, model(ids, mask).logits)


def test_masked_lm_round_trip_stores_tied_weights_once(tmp_path):
    mg.manual_seed(1)
    model = _bump(BertForMaskedLM(BertConfig(**BERT_CFG))).eval()
    model.save_pretrained(tmp_path)
    keys = set(mg.load(tmp_path / "model.safetensors"))
    assert "cls.predictions.bias" in keys
    assert not {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"} & keys   # as HF
    loaded = AutoModelForMaskedLM.from_pretrained(tmp_path)
    assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    ids, mask = _ids()
    assert_same_numbers(loaded(ids, mask).logits, model(ids, mask).logits)


def test_gpt_round_trip_uses_conv1d_layout_and_no_lm_head(gpt_dir):
    d, model = gpt_dir
    sd = mg.load(os.path.join(d, "model.safetensors"))
    assert "lm_head.weight" not in sd                                       # tied: stored once
    assert sd["transformer.h.0.mlp.c_fc.weight"].shape == (12, 48)          # Conv1D (in, out)
    assert_identical(sd["transformer.h.0.attn.c_proj.weight"], model.transformer.h[0].attn.c_proj.weight.data.T,
                     why="the file holds a transposed copy of the weight")
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    assert (cfg["model_type"], cfg["n_positions"], cfg["activation_function"]) == ("gpt2", 16, "gelu_new")
    loaded = AutoModelForCausalLM.from_pretrained(d)
    assert isinstance(loaded, GPT) and loaded.lm_head.weight is loaded.transformer.wte.weight
    x = np.random.default_rng(0).integers(0, 40, (2, 9))
    assert_same_numbers(loaded(x).logits, model(x).logits)
    for p in loaded.parameters():                   # C order whatever the file's layout (Conv1D)
        assert p.data.flags.c_contiguous
    assert_identical(loaded.generate(x[:1, :3], 6, do_sample=False), model.generate(x[:1, :3], 6, do_sample=False),
                     why="token ids: the logits agree to rounding, far from a tie between two tokens")
    # extra GPT2Config fields (bos/eos ids) survive a second save
    _edit_config(d, bos_token_id=3, eos_token_id=3)
    AutoModelForCausalLM.from_pretrained(d).save_pretrained(d)
    with open(os.path.join(d, "config.json")) as f:
        assert json.load(f)["eos_token_id"] == 3


def test_dtype_and_loading_info(bert_dir):
    d, model, _ = bert_dir
    m, info = BertForSequenceClassification.from_pretrained(d, dtype=np.float64, output_loading_info=True)
    assert m.classifier.weight.dtype == np.float64
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []


# --- checkpoint name variants -----------------------------------------------------------------
def _legacy_bert(sd):
    """The old names: no 'bert.' prefix, LayerNorm gamma/beta, a position_ids buffer."""
    out = {}
    for k, v in sd.items():
        k = k[len("bert."):] if k.startswith("bert.") else k
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        out[k] = v
    out["embeddings.position_ids"] = np.arange(24, dtype=np.int64)[None]
    return out


def test_bert_legacy_names_prefix_gamma_beta_position_ids(bert_dir):
    d, model, _ = bert_dir
    _rewrite(d, _legacy_bert)
    keys = set(mg.load(os.path.join(d, "model.safetensors")))
    assert "embeddings.LayerNorm.gamma" in keys and "bert.embeddings.LayerNorm.weight" not in keys
    ids, mask = _ids()
    loaded = BertForSequenceClassification.from_pretrained(d)          # prefix added back
    assert_same_numbers(loaded(ids, mask).logits, model(ids, mask).logits)
    base, info = BertModel.from_pretrained(d, output_loading_info=True)  # the bare encoder
    assert info["missing_keys"] == []
    assert info["unexpected_keys"] == ["classifier.weight", "classifier.bias"]
    assert info["skipped_buffers"] == ["embeddings.position_ids"]
    assert_same_numbers(base(ids, mask).pooler_output, model.bert(ids, mask).pooler_output)


def test_gpt_checkpoint_without_prefix_with_buffers_and_lm_head(gpt_dir):
    d, model = gpt_dir

    def hub_style(sd):
        out = {k[len("transformer."):]: v for k, v in sd.items()}
        for i in range(2):
            out[f"h.{i}.attn.bias"] = np.tril(np.ones((16, 16), np.float32))[None, None]
            out[f"h.{i}.attn.masked_bias"] = np.array(-1e4, np.float32)
        out["lm_head.weight"] = out["wte.weight"]
        return out
    _rewrite(d, hub_style)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded, info = GPT.from_pretrained(d, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert len(info["skipped_buffers"]) == 4
    x = np.random.default_rng(1).integers(0, 40, (1, 10))
    assert_same_numbers(loaded(x).logits, model(x).logits)


def test_sharded_checkpoint(bert_dir):
    d, model, _ = bert_dir
    sd = {k: v.data for k, v in mg.load(os.path.join(d, "model.safetensors")).items()}
    names = sorted(sd)
    shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for shard, keys in shards.items():
        mg.save({k: sd[k] for k in keys}, os.path.join(d, shard))
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {k: s for s, ks in shards.items() for k in ks}}, f)
    os.remove(os.path.join(d, "model.safetensors"))
    ids, mask = _ids()
    assert_same_numbers(BertForSequenceClassification.from_pretrained(d)(ids, mask).logits,
                        model(ids, mask).logits)


def test_half_precision_checkpoint_loads_as_float32(bert_dir):
    d, model, _ = bert_dir
    _rewrite(d, lambda sd: {k: v.astype(np.float16) for k, v in sd.items()})
    loaded = BertForSequenceClassification.from_pretrained(d)
    assert loaded.classifier.weight.dtype == np.float32
    assert_identical(loaded.classifier.weight, model.classifier.weight.data.astype(np.float16).astype(np.float32),
                     why="float16 -> float32 is exact, and the weights are copied, not computed")


# --- new heads ------------------------------------------------------------------------------
def test_new_classifier_is_initialised_with_a_notice(bert_dir):
    d, model, _ = bert_dir
    _rewrite(d, lambda sd: {k: v for k, v in sd.items() if not k.startswith("classifier.")})
    mg.manual_seed(5)
    with pytest.warns(NewlyInitializedWarning, match=r"classifier\.weight.*classifier\.bias") as rec:
        m = AutoModelForSequenceClassification.from_pretrained(d)
    assert rec[0].filename == __file__                       # the notice points at the caller's line
    assert (m.classifier.bias.data == 0).all()
    assert not np.allclose(m.classifier.weight.data, model.classifier.weight.data)
    assert_identical(m.bert.pooler.dense.weight, model.bert.pooler.dense.weight, why="a copy of the file's weight")
    mg.manual_seed(5)
    again = _quiet(AutoModelForSequenceClassification.from_pretrained, d)
    assert_identical(again.classifier.weight, m.classifier.weight, why="the same seeded draw, twice")
    with pytest.warns(NewlyInitializedWarning):
        m5 = AutoModelForSequenceClassification.from_pretrained(d, num_labels=5)
    assert m5.classifier.weight.shape == (5, 12) and m5.config.num_labels == 5


def test_head_of_another_size_needs_ignore_mismatched_sizes(bert_dir):
    d, _, _ = bert_dir
    with pytest.raises(PretrainedError, match=r"(?s)model\.safetensors.*'classifier\.weight' has shape \(3, 12\).*\(2, 12\)"):
        BertForSequenceClassification.from_pretrained(d, num_labels=2)
    with pytest.warns(NewlyInitializedWarning, match="classifier"):
        m, info = BertForSequenceClassification.from_pretrained(d, num_labels=2, ignore_mismatched_sizes=True,
                                                                output_loading_info=True)
    assert ("classifier.weight", (3, 12), (2, 12)) in info["mismatched_keys"]


# --- errors ---------------------------------------------------------------------------------
def test_a_hub_name_is_not_downloaded():
    for cls in (AutoModelForSequenceClassification, AutoTokenizer, BertModel, AutoConfig):
        with pytest.raises(FileNotFoundError, match=r"(?s)'bert-base-uncased' is not a local directory.*"
                                                    r"never downloads.*hf download bert-base-uncased"):
            cls.from_pretrained("bert-base-uncased")


def test_a_file_is_not_a_directory(bert_dir):
    d, _, _ = bert_dir
    with pytest.raises(NotADirectoryError, match="is a file"):
        AutoModel.from_pretrained(os.path.join(d, "model.safetensors"))


def test_missing_files_are_named(bert_dir):
    d, _, _ = bert_dir
    os.rename(os.path.join(d, "model.safetensors"), os.path.join(d, "weights.safetensors"))
    with pytest.raises(FileNotFoundError, match=r"has no model\.safetensors.*weights\.safetensors"):
        AutoModel.from_pretrained(d)
    os.remove(os.path.join(d, "config.json"))
    with pytest.raises(FileNotFoundError, match=r"has no config\.json"):
        AutoModel.from_pretrained(d)


def test_pytorch_pickle_is_refused_and_never_unpickled(tmp_path, bert_dir):
    d, _, _ = bert_dir
    os.remove(os.path.join(d, "model.safetensors"))
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))
    with open(os.path.join(d, "pytorch_model.bin"), "wb") as f:
        pickle.dump(Evil(), f)
    with pytest.raises(PretrainedError, match=r"(?s)pytorch_model\.bin is a PyTorch pickle.*never unpickles"
                                              r".*torch\.load.*weights_only=True.*save_file") as e:
        AutoModelForSequenceClassification.from_pretrained(d)
    assert os.path.join(d, "model.safetensors") in str(e.value)
    assert not marker.exists()


def test_unknown_model_type(bert_dir):
    d, _, _ = bert_dir
    _edit_config(d, model_type="roberta")
    for call in (AutoModel.from_pretrained, AutoConfig.from_pretrained, BertModel.from_pretrained):
        with pytest.raises(PretrainedError, match=r"config\.json.*'roberta'"):
            call(d)
    _edit_config(d, model_type=None, architectures=None)
    with pytest.raises(PretrainedError, match=r"config\.json: no 'model_type'"):
        AutoModel.from_pretrained(d)


def test_wrong_class_for_the_model_type(bert_dir, gpt_dir):
    with pytest.raises(PretrainedError, match=r"(?s)'bert'.*AutoModelForCausalLM.*use AutoModel or "
                                              r"AutoModelForSequenceClassification or AutoModelForMaskedLM"):
        AutoModelForCausalLM.from_pretrained(bert_dir[0])
    with pytest.raises(PretrainedError, match=r"model_type is 'gpt2', but BertModel"):
        BertModel.from_pretrained(gpt_dir[0])
    with pytest.raises(TypeError, match="from_pretrained"):
        AutoModel()


def test_shape_mismatch_names_file_and_entry(bert_dir):
    d, _, _ = bert_dir
    _edit_config(d, intermediate_size=18)
    with pytest.raises(PretrainedError) as e:
        BertForSequenceClassification.from_pretrained(d)
    msg = str(e.value)
    assert os.path.join(d, "model.safetensors") in msg
    assert "entry 'bert.encoder.layer.0.intermediate.dense.weight' has shape (17, 12)" in msg
    assert "needs (18, 12)" in msg and "config.json" in msg


def test_gpt_shape_mismatch_is_reported_in_the_files_layout(gpt_dir):
    d, _ = gpt_dir
    _rewrite(d, lambda sd: {**sd, "transformer.h.1.mlp.c_fc.weight": np.zeros((12, 40), np.float32)})
    with pytest.raises(PretrainedError, match=r"(?s)'transformer\.h\.1\.mlp\.c_fc\.weight' has shape \(12, 40\).*"
                                              r"needs \(12, 48\)"):
        GPT.from_pretrained(d)


def test_truncated_or_corrupt_safetensors(bert_dir):
    d, _, _ = bert_dir
    path = os.path.join(d, "model.safetensors")
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:-100])
    with pytest.raises(mg.CheckpointError, match=r"model\.safetensors.*tensor '.*'.*truncated"):
        AutoModelForSequenceClassification.from_pretrained(d)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 10**6) + b"{")
    with pytest.raises(mg.CheckpointError, match=r"model\.safetensors.*runs past the end"):
        AutoModel.from_pretrained(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(PretrainedError, match=r"config\.json: not valid JSON"):
        AutoModel.from_pretrained(d)


def test_weights_of_another_model_are_not_silently_random(bert_dir, gpt_dir):
    d, _, _ = bert_dir
    _rewrite(d, lambda sd: {f"encoder.{k}": v for k, v in sd.items()})
    with pytest.raises(PretrainedError, match=r"none of its .* entries .* is a weight of BertModel"):
        BertModel.from_pretrained(d)


def test_unsupported_config_fields(bert_dir, gpt_dir):
    _edit_config(bert_dir[0], position_embedding_type="relative_key")
    with pytest.raises(PretrainedError, match=r"config\.json: position_embedding_type='relative_key'"):
        AutoModel.from_pretrained(bert_dir[0])
    _edit_config(gpt_dir[0], activation_function="relu")
    with pytest.raises(PretrainedError, match=r"config\.json: activation_function='relu'.*gelu_new"):
        AutoModelForCausalLM.from_pretrained(gpt_dir[0])
    with pytest.raises(PretrainedError, match="bias=False"):
        GPT(GPTConfig(**GPT_CFG, bias=False)).save_pretrained(gpt_dir[0])


def test_auto_config(bert_dir, gpt_dir):
    c = AutoConfig.from_pretrained(bert_dir[0])
    assert isinstance(c, BertConfig) and c.num_labels == 3 and c.hidden_size == 12
    g = AutoConfig.from_pretrained(gpt_dir[0])
    assert isinstance(g, GPTConfig) and g.block_size == 16 and g.n_embd == 12


# --- tokenizers -----------------------------------------------------------------------------
def test_auto_tokenizer_bert(bert_dir):
    d, _, _ = bert_dir
    tok = AutoTokenizer.from_pretrained(d)                     # chosen by config.json's model_type
    assert isinstance(tok, BertTokenizer)
    assert tok("this is a great movie!").input_ids == [2, 5, 6, 7, 8, 9, 10, 3]
    files = save_pretrained(tok, os.path.join(d, "tok"))
    assert sorted(map(os.path.basename, files)) == ["tokenizer_config.json", "vocab.txt"]
    assert isinstance(AutoTokenizer.from_pretrained(os.path.join(d, "tok")), BertTokenizer)


def test_auto_tokenizer_bpe(tmp_path, gpt_dir):
    text = "the quick brown fox jumps over the lazy dog. " * 20 + "<|endoftext|>"
    tok = BPETokenizer.train(text, vocab_size=280)
    files = save_pretrained(tok, tmp_path)
    assert sorted(map(os.path.basename, files)) == ["merges.txt", "tokenizer_config.json", "vocab.json"]
    with open(tmp_path / "tokenizer_config.json") as f:
        assert json.load(f)["tokenizer_class"] == "GPT2Tokenizer"
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(loaded, BPETokenizer)
    assert loaded.encode("the lazy fox") == tok.encode("the lazy fox")
    os.remove(tmp_path / "tokenizer_config.json")            # files alone are enough
    assert isinstance(AutoTokenizer.from_pretrained(tmp_path), BPETokenizer)
    os.remove(tmp_path / "merges.txt")
    with pytest.raises(FileNotFoundError, match=r"gpt2 directory but has no merges\.txt"):
        AutoTokenizer.from_pretrained(tmp_path)
    # a gpt2 model directory without tokenizer files
    with pytest.raises(FileNotFoundError, match=r"has no vocab\.json"):
        AutoTokenizer.from_pretrained(gpt_dir[0])


def test_auto_tokenizer_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither vocab.txt"):
        AutoTokenizer.from_pretrained(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{}")
    (tmp_path / "tokenizer_config.json").write_text('{"tokenizer_class": "BertTokenizerFast"}')
    with pytest.raises(FileNotFoundError, match=r"no vocab\.txt \(it has tokenizer\.json"):
        AutoTokenizer.from_pretrained(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text('{"tokenizer_class": "T5Tokenizer"}')
    with pytest.raises(PretrainedError, match="T5Tokenizer"):
        AutoTokenizer.from_pretrained(tmp_path)


# --- sentence embeddings --------------------------------------------------------------------
def test_pooling_and_normalisation():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((2, 4, 3)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]])
    mean = mean_pooling(mg.tensor(h), mask).data
    np.testing.assert_allclose(mean[1], h[1, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(pool(h, mask, "max").data[1], h[1, :2].max(0))
    assert_identical(pool(h, mask, "cls"), h[:, 0], why="CLS pooling picks the first token's vector")
    unit = l2_normalize(mg.tensor(mean)).data
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(cos_sim(mean, mean), cos_sim(unit, unit), atol=1e-6)
    # differentiable: a gradient reaches the token vectors of real tokens only
    t = mg.tensor(h, requires_grad=True)
    l2_normalize(mean_pooling(t, mask)).sum().backward()
    assert (t.grad.data[1, 2:] == 0).all() and (t.grad.data[1, :2] != 0).any()


def test_sentence_encoder_on_a_tiny_directory(bert_dir):
    d, _, _ = bert_dir
    os.makedirs(os.path.join(d, "1_Pooling"))
    with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
        json.dump({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, f)
    with open(os.path.join(d, "modules.json"), "w") as f:
        json.dump([{"path": "", "type": "sentence_transformers.models.Transformer"},
                   {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}], f)
    with open(os.path.join(d, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 6}, f)
    enc = _quiet(SentenceEncoder.from_pretrained, d)
    assert (enc.pooling, enc.normalize, enc.max_seq_length) == ("mean", True, 6)
    texts = ["this is a great movie", "a bad film", "i love it", "not very good but fun and so fun"]
    emb = enc.encode(texts, batch_size=3)
    assert emb.shape == (4, 12) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    for i, t in enumerate(texts):                        # padding in a batch changes nothing
        np.testing.assert_allclose(enc.encode(t), emb[i], atol=1e-6)
    sims = enc.similarity(texts)
    np.testing.assert_allclose(np.diag(sims), 1.0, atol=1e-6)
    np.testing.assert_allclose(sims, emb @ emb.T, atol=1e-6)
    assert enc.encode([]).shape == (0, 12)


# --- the §5 example -------------------------------------------------------------------------
def test_chapter5_example_runs_on_a_directory(bert_dir):
    d, _, _ = bert_dir
    _rewrite(d, lambda sd: {k: v for k, v in sd.items() if not k.startswith("classifier.")})
    _edit_config(d, num_labels=2, id2label=None, label2id=None)
    env = {**os.environ, "PYTHONPATH": ROOT}
    run = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "chapter5_classification.py"), d,
                          "--seed", "0"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] in ("tensor([0])", "tensor([1])")
    assert "NewlyInitializedWarning" in run.stderr and "classifier.weight" in run.stderr
    assert "is new" in run.stdout and "fine-tuned" in run.stdout
    assert "'[CLS]', 'this', 'is', 'a', 'great', 'movie', '!', '[SEP]'" in run.stdout


# --- configs and index files that do not fit the weights -------------------------------------
def test_config_with_another_layer_count_warns(bert_dir, gpt_dir):
    d, _, _ = bert_dir
    _edit_config(d, num_hidden_layers=1)                  # the weights hold 2 layers
    with pytest.warns(UserWarning, match=r"config builds 1 layer\(s\) but the weights hold 2: the extra"):
        BertForSequenceClassification.from_pretrained(d)
    g, _ = gpt_dir
    _edit_config(g, n_layer=3)
    with pytest.warns(UserWarning, match=r"builds 3 layer\(s\) but the weights hold 2: the missing"):
        _quiet(AutoModelForCausalLM.from_pretrained, g)


@pytest.mark.parametrize("shard", ["../outside.safetensors", "/etc/passwd", "sub/../../x.safetensors", 7])
def test_index_cannot_name_shards_outside_the_model_directory(bert_dir, shard):
    d, _, _ = bert_dir
    names = list(mg.load(os.path.join(d, "model.safetensors")))
    os.remove(os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {k: shard for k in names}}, f)
    with pytest.raises(PretrainedError, match="not a file inside"):
        BertForSequenceClassification.from_pretrained(d)
