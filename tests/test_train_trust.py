"""Checkpoints that can be trusted (issue 12.3): never a NaN checkpoint over a good one, options
refused before a run starts, plots after checkpoints, a bounded history, tampered files refused
in one line."""
import json
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.cli import main
from minigrad.train import CHECKPOINT, CheckpointMismatchError, TrainConfig, read_checkpoint
from minigrad.train import loop as train_loop
from test_train import _params, _setup


def test_nan_weights_never_replace_the_last_good_checkpoint(tmp_path):
    trainer = _setup(tmp_path, steps=8)

    def poison(t):                      # after the last step a parameter goes NaN
        if t.step == 8:
            next(t.model.parameters()).data[0] = np.nan
    trainer.callback = poison
    with pytest.raises(FloatingPointError, match=r"NaN or Inf at step 8 .*still holds the last good"):
        trainer.fit()
    ckpt = read_checkpoint(tmp_path / CHECKPOINT)
    assert ckpt["step"] == 4                                     # the periodic save before it
    assert all(np.isfinite(v.data).all() for v in ckpt["model"].values())


@pytest.mark.parametrize("bad", [dict(lr=float("nan")), dict(lr=-1e-3), dict(lr=0.0),
                                 dict(min_lr=float("inf")), dict(weight_decay=-0.1),
                                 dict(batch_size=0), dict(eval_every=0), dict(ckpt_every=0)])
def test_bad_options_are_refused_before_training(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        TrainConfig(**bad)


@pytest.mark.parametrize("flags,what", [(["--lr", "nan"], "lr"), (["--weight-decay", "-1"], "weight_decay"),
                                        (["--batch-size", "0"], "batch_size"), (["--eval-every", "0"], "eval_every")])
def test_cli_refuses_bad_options_in_one_line(tmp_path, capsys, flags, what):
    code = main(["train", "--data", "tang", "--steps", "2", "--no-progress", "--out", str(tmp_path), *flags])
    err = capsys.readouterr().err
    assert code == 2 and what in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_failing_plot_never_loses_a_checkpoint(tmp_path, monkeypatch):
    import minigrad.viz as viz
    messages = []
    trainer = _setup(tmp_path, steps=4)
    trainer.config.plot = True
    trainer.log = messages.append
    monkeypatch.setattr(viz, "plot_loss_curve", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    result = trainer.fit()
    assert result.loss_png is None and read_checkpoint(tmp_path / CHECKPOINT)["step"] == 4
    assert any("loss curve could not be written" in m and "disk full" in m for m in messages)


def test_the_history_in_a_checkpoint_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(train_loop, "MAX_HISTORY", 5)
    trainer = _setup(tmp_path, steps=12)
    trainer.fit()
    hist = read_checkpoint(tmp_path / CHECKPOINT)["history"]
    assert len(hist["loss"]) <= 5 and hist["step"][-1] == 12 and hist["step"][0] == 1
    assert len(trainer.history["loss"]) == 12                   # the run itself keeps every point


def _tamper(path, **changes):
    tensors, meta = mg.load(path, return_metadata=True)
    for k, v in changes.items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v
    mg.save({k: v.data for k, v in tensors.items()}, path, metadata=meta)


@pytest.mark.parametrize("changes,match", [(dict(model_config=None), "model_config"),
                                           (dict(tokenizer="{not json"), "tokenizer"),
                                           (dict(arch=None), "arch"),
                                           (dict(step="seven"), "step"),
                                           (dict(rng=json.dumps({"bit_generator": "nope"})), "cannot be resumed")])
def test_a_tampered_checkpoint_is_one_clear_error(tmp_path, changes, match):
    _setup(tmp_path, steps=4).fit()
    _tamper(tmp_path / CHECKPOINT, **changes)
    with pytest.raises(CheckpointMismatchError, match=match):
        trainer = _setup(tmp_path, steps=8)
        trainer.fit(resume=True)


def test_cli_tampered_checkpoint_and_disk_errors_are_one_line(tmp_path, capsys):
    _setup(tmp_path, steps=4).fit()
    _tamper(tmp_path / CHECKPOINT, model_config=None)
    code = main(["evaluate", "--checkpoint", str(tmp_path / CHECKPOINT)])
    err = capsys.readouterr().err
    assert code == 2 and "model_config" in err and "Traceback" not in err
    assert math.isfinite(1.0)


def test_training_into_a_folder_that_holds_a_run_refuses_without_resume_or_overwrite(tmp_path, capsys):
    _setup(tmp_path, steps=4).fit()
    before = _params(_setup(tmp_path, steps=4).model)
    with pytest.raises(ValueError, match=r"already holds a run .*--resume.*--overwrite"):
        _setup(tmp_path, steps=4, seed=1, overwrite=False).fit()
    assert read_checkpoint(tmp_path / CHECKPOINT)["step"] == 4      # untouched
    assert _setup(tmp_path, steps=4, seed=1, overwrite=True).fit().step == 4
    out = tmp_path / "cli"
    args = ["train", "--data", "tang", "--steps", "1", "--eval-every", "1", "--no-progress",
            "--out", str(out)]
    assert main(args) == 0
    assert main(args) == 2 and "already holds a run" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0
    assert before                                                  # (the fixture built a model)
