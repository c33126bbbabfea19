"""Validation chooses, test reports: early stopping on the validation split, the kept weights
scored once on the test split, every figure named by its split; the loop's notices."""
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import END_OF_TEXT, LMData, TextClassificationSet, load_documents
from minigrad.models import GPT, BertConfig, BertForSequenceClassification, GPTConfig
from minigrad.tokenizers import CharTokenizer
from minigrad.train import (BEST, ClassificationTask, LMTask, Trainer, TrainConfig, load_model,
                            read_checkpoint)
from minigrad.train.loop import format_metrics
from minigrad.viz import plot_loss_curve


def _poem_trainer(tmp_path, steps=6, log=None, **kw):
    docs = load_documents("tang")
    tok = CharTokenizer.from_text("".join(docs), special_tokens=[END_OF_TEXT], eos_token=END_OF_TEXT)
    data = LMData.from_documents(docs, tok, block_size=16, val_fraction=0.1, test_fraction=0.1)
    mg.manual_seed(0)
    cfg = GPTConfig(vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=0.0)
    tc = TrainConfig(steps=steps, batch_size=4, lr=1e-2, min_lr=1e-3, warmup_steps=1, eval_every=2,
                     eval_windows=4, ckpt_every=100, out_dir=str(tmp_path), progress=False, plot=False, **kw)
    return Trainer(GPT(cfg), LMTask(data, eval_windows=4, description={"source": "tang"}), tc,
                   cfg.to_dict(), tok, log=log or (lambda *a: None))


def test_the_kept_weights_are_scored_once_on_the_test_split(tmp_path):
    lines = []
    trainer = _poem_trainer(tmp_path, log=lines.append)
    result = trainer.fit()
    evals = result.history["eval"]
    best = min(evals, key=lambda e: e["val_loss"])
    assert result.best_step == best["step"] and result.best == str(tmp_path / BEST)
    assert read_checkpoint(tmp_path / BEST)["step"] == best["step"]
    # the figure: best.safetensors on the whole test split, which is not the validation split
    model, _, _ = load_model(tmp_path / BEST)
    expected = trainer.task.evaluate(model, max_windows=None, split="test")
    assert result.test_metrics == expected and set(expected) == {"test_loss", "perplexity", "tokens"}
    assert expected["tokens"] == len(trainer.task.data.test.ids) // 16 * 16 - (
        16 if len(trainer.task.data.test.ids) % 16 == 0 else 0)
    assert result.history["test"] == {"step": best["step"], **expected}
    assert expected["test_loss"] != trainer.task.evaluate(model, max_windows=None)["val_loss"]
    # the log names the split of every figure
    assert all("validation loss" in line and "validation perplexity" in line
               for line in lines if line.startswith("step"))
    assert sum(line.startswith("test split") for line in lines) == 1
    assert f"step {best['step']}" in [line for line in lines if line.startswith("test split")][0]
    # the trainer's model keeps its last weights (what checkpoint.safetensors holds)
    last = read_checkpoint(tmp_path / "checkpoint.safetensors")["model"]
    for k, v in trainer.model.state_dict().items():
        np.testing.assert_array_equal(v.data, last[k].data, err_msg=k)   # a copy: the same bits


def test_no_test_split_no_test_figure(tmp_path):
    text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n" * 20
    tok = CharTokenizer.from_text(text)
    data = LMData.from_text(text, tok, block_size=8)
    assert data.test is None
    mg.manual_seed(0)
    cfg = GPTConfig(vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=16, block_size=8)
    tc = TrainConfig(steps=2, batch_size=2, warmup_steps=0, eval_every=2, eval_windows=2,
                     out_dir=str(tmp_path), progress=False, plot=False)
    result = Trainer(GPT(cfg), LMTask(data), tc, cfg.to_dict(), tok, log=lambda *a: None).fit()
    assert result.test_metrics is None and "test" not in result.history


def test_classification_chooses_on_validation_and_reports_on_test(tmp_path):
    texts = ["好诗", "坏诗", "好句", "坏句"] * 6
    labels = [0, 1, 0, 1] * 6
    full = TextClassificationSet(texts, labels, ["good", "bad"], "toy")
    train, test = full.split(0.25, seed=0)
    train, val = train.split(0.25, seed=1)
    specials = ["[PAD]", "[UNK]", "[CLS]"]
    tok = CharTokenizer.from_text("".join(texts), special_tokens=specials, pad_token="[PAD]",
                                  unk_token="[UNK]", cls_token="[CLS]")
    task = ClassificationTask(train, test, tok, 8, val=val)
    assert task.has_test
    mg.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=8, num_labels=2)
    model = BertForSequenceClassification(cfg)
    assert task.evaluate(model)["texts"] == len(val) and task.evaluate(model, split="test")["texts"] == len(test)
    tc = TrainConfig(steps=4, batch_size=4, warmup_steps=1, eval_every=2, out_dir=str(tmp_path),
                     progress=False, plot=False)
    result = Trainer(model, task, tc, cfg.to_dict(), tok, log=lambda *a: None).fit()
    assert set(result.test_metrics) == {"test_loss", "accuracy", "texts"}
    assert result.test_metrics["texts"] == len(test)
    # without validation texts the test texts are the validation texts: then no test figure
    assert not ClassificationTask(train, test, tok, 8).has_test


def test_format_metrics_names_the_split():
    assert format_metrics({"val_loss": 2.0, "perplexity": 7.389, "tokens": 64}) == \
        "validation loss 2  validation perplexity 7.389"
    assert format_metrics({"test_loss": 0.5, "accuracy": 0.75, "texts": 8}) == \
        "test loss 0.5  test accuracy 75.0%"


def test_loss_curve_title_is_the_kept_weights_and_their_test_figure():
    hist = {"step": list(range(1, 31)), "loss": list(np.linspace(5, 3, 30)),
            "eval": [{"step": 10, "val_loss": 4.0}, {"step": 20, "val_loss": 3.5},
                     {"step": 30, "val_loss": 3.6}],
            "test": {"step": 20, "test_loss": 3.55, "perplexity": float(np.exp(3.55))}}
    fig = plot_loss_curve(hist, title="tang")
    title = fig.axes[0].get_title()
    assert f"best validation perplexity {np.exp(3.5):.1f}" in title          # step 20, not the last
    assert f"test perplexity {np.exp(3.55):.1f}" in title and "final" not in title
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "best (step 20): kept" in labels and any(l.startswith("test (best weights)") for l in labels)


def test_a_warm_up_longer_than_the_run_is_a_notice(tmp_path):
    lines = []
    _poem_trainer(tmp_path, steps=3, log=lines.append).config  # noqa: B018
    assert lines == []                                         # warm-up 1 < 3 steps: nothing
    trainer = _poem_trainer(tmp_path, steps=3, log=lines.append)
    trainer2 = Trainer(trainer.model, trainer.task, TrainConfig(steps=3, warmup_steps=10,
                       out_dir=str(tmp_path), progress=False, plot=False), {}, log=lines.append)
    assert trainer2.scheduler.warmup_steps == 2
    assert lines == ["notice: a warm-up of 10 steps is longer than the run (3 steps); warming up "
                     "for 2 steps instead"]


def test_resume_with_other_steps_says_the_schedule_changes(tmp_path):
    _poem_trainer(tmp_path, steps=4).fit()
    lines = []
    longer = _poem_trainer(tmp_path, steps=6, log=lines.append)
    longer.fit(resume=True)
    notice = [line for line in lines if line.startswith("notice:")]
    assert len(notice) == 1 and "--steps 6 changes the schedule" in notice[0]
    assert "decays until step 4" in notice[0] and "steps 4-6 run at its final rate 0.001" in notice[0]
    assert longer.history["lr"][-1] == pytest.approx(1e-3)     # what the notice says happens
    lines.clear()
    _poem_trainer(tmp_path, steps=6, log=lines.append).fit(resume=True)   # same --steps: quiet
    assert not [line for line in lines if line.startswith("notice:")]
    assert re.search(r"resumed from .* at step 6", "\n".join(lines))
