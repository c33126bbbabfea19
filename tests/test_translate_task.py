"""TranslationTask with the Trainer (train/translate.py): the loss falls, --resume equals an
uninterrupted run, a checkpoint alone translates, bad checkpoints are refused, and the two
baselines give the hypotheses a learner would work out by hand."""
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import TranslationSplits, VersePair, build_translation_data
from minigrad.train import CheckpointMismatchError, Trainer, TrainConfig
from minigrad.train.translate import (TranslationTask, baseline_most_frequent, baseline_retrieval,
                                      build_translation_model, evaluate_translation, load_translator,
                                      score_translations, translate)


@pytest.fixture(scope="module")
def data():
    return build_translation_data(max_pairs=300, source_vocab_size=300, max_source_length=24,
                                  max_target_length=16)


def _trainer(data, out, steps=12, seed=0, callback=None, **model):
    mg.manual_seed(seed)
    net, cfg = build_translation_model(data, d_model=16, layers=1, heads=2, **model)
    task = TranslationTask(data, label_smoothing=0.1, eval_verses=3)
    config = TrainConfig(steps=steps, batch_size=8, lr=1e-2, min_lr=1e-3, warmup_steps=2,
                         eval_every=1000, ckpt_every=1000, out_dir=str(out), progress=False,
                         plot=False, test_at_end=False)
    return Trainer(net, task, config, cfg, tokenizer=data.tokenizers, log=lambda m: None,
                   callback=callback)


def test_training_lowers_the_loss(data, tmp_path):
    result = _trainer(data, tmp_path, steps=30).fit()
    losses = result.history["loss"]
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5
    assert {"val_loss", "perplexity", "bleu", "chrf", "verses"} <= set(result.metrics)
    assert result.metrics["verses"] == 3 and 0.0 <= result.metrics["bleu"] <= 100.0


def test_resume_equals_an_uninterrupted_run(data, tmp_path):
    straight = _trainer(data, tmp_path / "a")
    straight.fit()

    def stop_at_5(trainer):
        if trainer.step == 5:
            trainer.request_stop()

    first = _trainer(data, tmp_path / "b", callback=stop_at_5)
    assert first.fit().interrupted
    resumed = _trainer(data, tmp_path / "b", seed=99)       # other initial weights: all from the file
    resumed.fit(resume=True)
    assert resumed.step == straight.step == 12
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    for name in a:                         # the same ops on the same data: equal to float rounding
        np.testing.assert_allclose(b[name].data, a[name].data, rtol=0, atol=1e-6, err_msg=name)


def test_a_checkpoint_alone_translates(data, tmp_path):
    trainer = _trainer(data, tmp_path, steps=4)
    trainer.fit()
    texts = ["In the beginning God created the heaven and the earth.", "And God said"]
    expect = translate(trainer.model, data.source_tokenizer, data.target_tokenizer, texts, max_new_tokens=16)
    loaded = load_translator(tmp_path / "checkpoint.safetensors")
    assert loaded.translate(texts, max_new_tokens=16) == expect
    assert loaded.translate(texts[0], max_new_tokens=16) == expect[0]
    assert loaded.tokenizers.source.get_vocab() == data.source_tokenizer.get_vocab()
    assert loaded.tokenizers.target.get_vocab() == data.target_tokenizer.get_vocab()
    beam = loaded.translate(texts, num_beams=3, max_new_tokens=16)
    assert len(beam) == 2 and all(isinstance(t, str) for t in beam)


def test_evaluate_translation_scores_what_it_decodes(data, tmp_path):
    trainer = _trainer(data, tmp_path, steps=2)
    out = evaluate_translation(trainer.model, data, split="val", max_verses=4)
    assert out["verses"] == 4 and len(out["hypotheses"]) == 4
    assert out["references"] == [p.zh for p in data.splits.val[:4]]
    again = score_translations(out["hypotheses"], out["references"])
    assert again["bleu"] == out["bleu"] and again["chrf"] == out["chrf"]
    assert score_translations(out["references"], out["references"])["bleu"] == pytest.approx(100.0)
    task = TranslationTask(data, eval_verses=2, loss_verses=5, test_verses=3)
    assert task.evaluate(trainer.model)["verses"] == 2                       # during training
    assert task.evaluate(trainer.model, max_windows=None, split="test")["verses"] == 3
    ids, _, labels = data.encode("val")
    assert task.evaluate(trainer.model)["tokens"] == int((labels[:5] != -100).sum())


def test_resuming_another_model_size_is_refused(data, tmp_path):
    _trainer(data, tmp_path, steps=2).fit()
    mg.manual_seed(0)
    net, cfg = build_translation_model(data, d_model=32, layers=1, heads=2)
    other = Trainer(net, TranslationTask(data), TrainConfig(steps=4, out_dir=str(tmp_path), progress=False,
                                                            plot=False), cfg, tokenizer=data.tokenizers,
                    log=lambda m: None)
    with pytest.raises(CheckpointMismatchError, match="d_model: checkpoint 16, now 32"):
        other.fit(resume=True)


def test_a_damaged_or_foreign_checkpoint_is_refused(data, tmp_path):
    _trainer(data, tmp_path, steps=2).fit()
    path = tmp_path / "checkpoint.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF                                          # one flipped byte in the last tensor
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="(?i)sha-?256|checksum|changed"):
        load_translator(bad)
    from minigrad.models import GPT, GPTConfig
    from minigrad.train import save_checkpoint
    gpt = tmp_path / "gpt.safetensors"
    cfg = GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8)
    save_checkpoint(gpt, GPT(cfg), arch="gpt", model_config=cfg.to_dict())
    with pytest.raises(CheckpointMismatchError, match="not a translation model"):
        load_translator(gpt)
    assert os.path.exists(path)


# --- the baselines on a split small enough to check by hand -----------------------------------
TOY = TranslationSplits(
    train=(VersePair("X", 1, 1, "And God said", "神说"),
           VersePair("X", 1, 2, "and the LORD spake", "耶和华晓谕"),
           VersePair("X", 1, 3, "The LORD said unto Moses", "耶和华对摩西说"),
           VersePair("X", 1, 4, "And God said again", "神说")),
    val=(VersePair("X", 2, 1, "the lord spake", "耶和华说"),),
    test=(VersePair("X", 3, 1, "And the LORD said unto Moses", "耶和华对摩西说"),
          VersePair("X", 3, 2, "god said", "神说"),
          VersePair("X", 3, 3, "Selah", "细拉")))


def test_baseline_most_frequent_copies_the_commonest_training_verse():
    assert baseline_most_frequent(TOY) == ["神说"] * 3
    assert baseline_most_frequent(TOY, split="val") == ["神说"]


def test_baseline_retrieval_takes_the_training_verse_with_most_shared_words():
    # verse 1 shares 5 words with training verse 3; 'god said' shares 2 with verses 1 and 4
    # (the first wins); 'Selah' shares none with any, so the first training verse is taken
    assert baseline_retrieval(TOY) == ["耶和华对摩西说", "神说", "神说"]
    assert baseline_retrieval(TOY, split="val") == ["耶和华晓谕"]       # 'the lord spake', lowercased
    scores = score_translations(baseline_retrieval(TOY), [p.zh for p in TOY.test])
    assert scores["verses"] == 3 and 0 < scores["bleu"] < 100


def test_a_checkpoint_from_before_layernorm_embedding_still_resumes():
    from minigrad.models import MarianConfig
    from minigrad.train.checkpoint import CheckpointMismatchError, check_compatible
    now = MarianConfig.small(50, 40).to_dict()
    old = {k: v for k, v in now.items() if k != "layernorm_embedding"}     # written before the field
    ckpt = {"arch": "marian", "model_config": old, "tokenizer": None, "task": None, "path": "old.safetensors"}
    check_compatible(ckpt, "marian", now)                                    # the default: accepted
    with pytest.raises(CheckpointMismatchError, match="layernorm_embedding"):
        check_compatible(ckpt, "marian", {**now, "layernorm_embedding": True})
