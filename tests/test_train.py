"""The training loop: exact resume, Ctrl-C, checkpoints, clear errors (minigrad.train)."""
import json
import os
import signal

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import LMData
from minigrad.models import GPT, GPTConfig
from minigrad.tokenizers import CharTokenizer
from minigrad.train import (BEST, CHECKPOINT, CheckpointMismatchError, LMTask, MLMTask, Trainer,
                            TrainConfig, check_writable, load_model, read_checkpoint)

TEXT = ("In the beginning God created the heaven and the earth. And the earth was without form, "
        "and void; and darkness was upon the face of the deep.\n") * 6


def _setup(tmp_path, steps=8, dropout=0.1, n_embd=16, seed=0, **kw):
    tok = CharTokenizer.from_text(TEXT)
    data = LMData.from_text(TEXT, tok, block_size=16, source="test")
    mg.manual_seed(seed)
    cfg = GPTConfig(vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=n_embd, block_size=16,
                    dropout=dropout)
    model = GPT(cfg)
    tc = TrainConfig(steps=steps, batch_size=4, lr=1e-2, min_lr=1e-3, warmup_steps=2,
                     eval_every=4, eval_windows=4, ckpt_every=4, seed=seed,
                     out_dir=str(tmp_path), progress=False, plot=False, **kw)
    return Trainer(model, LMTask(data, eval_windows=4, description={"source": "test"}), tc,
                   cfg.to_dict(), tok, log=lambda *a: None)


def _params(model):
    return {k: v.data.copy() for k, v in model.state_dict().items()}


def test_resume_gives_exactly_the_uninterrupted_result(tmp_path):
    """2N steps in one go == N steps, stop, --resume, N more: the same parameters, bit for bit
    (dropout on, so the RNG state must be restored too)."""
    full = _setup(tmp_path / "full")
    full.fit()
    stopped = _setup(tmp_path / "split")
    stopped.callback = lambda t: t.request_stop() if t.step == 4 else None
    result = stopped.fit()
    assert result.interrupted and result.step == 4
    assert read_checkpoint(tmp_path / "split" / CHECKPOINT)["step"] == 4
    resumed = _setup(tmp_path / "split", seed=0)
    mg.manual_seed(999)                 # the generator is restored from the checkpoint
    result = resumed.fit(resume=True)
    assert result.step == 8 and not result.interrupted
    a, b = _params(full.model), _params(resumed.model)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert full.history["loss"] == resumed.history["loss"]


def test_sigint_saves_a_checkpoint_and_stops_cleanly(tmp_path):
    trainer = _setup(tmp_path, steps=20)
    trainer.callback = lambda t: os.kill(os.getpid(), signal.SIGINT) if t.step == 3 else None
    result = trainer.fit()
    assert result.interrupted and result.step == 3
    ckpt = read_checkpoint(tmp_path / CHECKPOINT)
    assert ckpt["step"] == 3 and ckpt["optimizer"] and ckpt["rng"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # handler restored


def test_checkpoint_is_plain_safetensors_with_json_metadata(tmp_path):
    trainer = _setup(tmp_path, steps=4)
    trainer.fit()
    tensors, meta = mg.load(tmp_path / CHECKPOINT, return_metadata=True)
    assert any(k.startswith("optim.") and k.endswith("exp_avg") for k in tensors)
    assert json.loads(meta["model_config"])["n_embd"] == 16
    assert json.loads(meta["step"]) == 4 and "state" in json.loads(meta["rng"])
    model, tok, ckpt = load_model(tmp_path / BEST)       # the best weights, loadable alone
    assert tok.decode(tok.encode("God")) == "God" and not model.training
    assert not list(tmp_path.glob(".*.tmp"))             # atomic writes leave no temp files


def test_resume_from_another_config_is_a_clear_error(tmp_path):
    _setup(tmp_path, steps=4).fit()
    other = _setup(tmp_path, steps=8, n_embd=32)
    with pytest.raises(CheckpointMismatchError, match="n_embd: checkpoint 16, now 32"):
        other.fit(resume=True)


def test_resume_without_checkpoint_and_unwritable_output(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        _setup(tmp_path / "empty").fit(resume=True)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(PermissionError, match="cannot write to the output folder"):
        check_writable(blocker / "sub")
    trainer = _setup(blocker / "sub")
    with pytest.raises(PermissionError):
        trainer.fit()
    assert trainer.step == 0                             # refused before any training


def test_training_lowers_validation_loss_and_plots(tmp_path):
    trainer = _setup(tmp_path, steps=12, dropout=0.0)
    trainer.config.plot = True
    before = trainer.task.evaluate(trainer.model)
    result = trainer.fit()
    assert result.metrics["val_loss"] < before["val_loss"]
    assert result.metrics["perplexity"] == pytest.approx(np.exp(result.metrics["val_loss"]))
    assert (tmp_path / "loss.png").stat().st_size > 5_000


def test_mlm_pretraining_runs_and_evaluates(tmp_path):
    from minigrad.models import BertConfig, BertForMaskedLM
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = CharTokenizer.from_text(TEXT, special_tokens=specials, pad_token="[PAD]", unk_token="[UNK]",
                                  cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    data = LMData.from_text(TEXT, tok, block_size=15)
    mg.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=16)
    model = BertForMaskedLM(cfg)
    task = MLMTask(data, eval_windows=8)
    tc = TrainConfig(steps=3, batch_size=4, eval_every=3, out_dir=str(tmp_path), progress=False,
                     plot=False, warmup_steps=1)
    result = Trainer(model, task, tc, cfg.to_dict(), tok, log=lambda *a: None).fit()
    assert set(result.metrics) == {"val_loss", "perplexity", "accuracy", "tokens"}   # tokens: masked ones scored
    assert task.evaluate(model) == task.evaluate(model)   # fixed evaluation masks
