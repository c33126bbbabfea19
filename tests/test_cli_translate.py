"""`minigrad train --task translate`, `minigrad translate` and `minigrad evaluate` on a
translation checkpoint (cli_translate.py), on the first 400 verse pairs with a tiny model."""
import pytest

from minigrad.cli import main
from minigrad.train import BEST, CHECKPOINT, read_checkpoint

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--no-progress", "--max-pairs", "400",
        "--src-vocab", "300", "--max-length", "24", "--batch-size", "8", "--warmup-steps", "1",
        "--eval-every", "2", "--eval-verses", "3"]
VERSE = "In the beginning God created the heaven and the earth."


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("translate")
    assert main(["train", "--task", "translate", "--steps", "4", "--out", str(out)] + TINY) == 0
    return out


def test_train_writes_a_checkpoint_with_both_tokenizers(run, capsys):
    ckpt = read_checkpoint(run / BEST)
    assert ckpt["arch"] == "marian" and ckpt["tokenizer"]["type"] == "translation"
    assert ckpt["task"]["task"] == "translate" and ckpt["task"]["split_by"] == "chapter"
    assert ckpt["task"]["max_pairs"] == 400 and ckpt["task"]["label_smoothing"] == 0.1
    assert (run / CHECKPOINT).exists()


def test_train_prints_test_scores_and_both_baselines(tmp_path, capsys):
    assert main(["train", "--task", "translate", "--steps", "2", "--out", str(tmp_path)] + TINY) == 0
    out = capsys.readouterr().out
    assert "held out by chapter" in out and "validation bleu" in out
    for line in ("model (greedy)", "baseline: most frequent verse", "baseline: most shared English words"):
        assert line in out
    assert "minigrad translate --checkpoint" in out


def test_translate_prints_one_line_per_text(run, capsys):
    for beams in ("1", "3"):
        assert main(["translate", "--checkpoint", str(run / BEST), "--text", VERSE, "--text", "And God said",
                     "--num-beams", beams, "--max-new-tokens", "10"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 2 and all(len(line) <= 10 for line in lines)


def test_evaluate_scores_greedy_beam_and_baselines_on_the_same_verses(run, capsys):
    assert main(["evaluate", "--checkpoint", str(run / BEST), "--num-beams", "2", "--verses", "5"]) == 0
    out = capsys.readouterr().out
    assert "test split" in out and "5 verses" in out
    for line in ("model, greedy", "model, beam search (2 beams)", "baseline: most frequent verse",
                 "baseline: most shared English words"):
        assert line in out and "BLEU" in out.split(line)[1].splitlines()[0]


def test_resume_continues_and_a_second_run_is_refused(tmp_path, capsys):
    args = ["train", "--task", "translate", "--out", str(tmp_path)] + TINY
    assert main(args + ["--steps", "2"]) == 0
    assert main(args + ["--steps", "2"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(args + ["--steps", "4", "--resume"]) == 0
    assert "resumed from" in capsys.readouterr().out
    assert read_checkpoint(tmp_path / CHECKPOINT)["step"] == 4
    assert main(args + ["--steps", "6", "--resume", "--n-embd", "32"]) == 2
    assert "d_model: checkpoint 16, now 32" in capsys.readouterr().err
    assert read_checkpoint(tmp_path / CHECKPOINT)["step"] == 4


def test_bad_uses_are_one_line_errors(run, tmp_path, capsys):
    assert main(["train", "--task", "translate", "--distributed", "--out", str(tmp_path)] + TINY) == 2
    assert "one process" in capsys.readouterr().err
    assert main(["translate", "--checkpoint", str(run / BEST), "--text", VERSE, "--num-beams", "0"]) == 2
    assert "--num-beams must be >= 1" in capsys.readouterr().err
    gpt = tmp_path / "gpt"
    assert main(["train", "--data", "tang", "--block-size", "8", "--batch-size", "2", "--steps", "1",
                 "--n-layer", "1", "--n-head", "1", "--n-embd", "8", "--no-progress", "--eval-windows", "2",
                 "--out", str(gpt)]) == 0
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(gpt / BEST), "--text", VERSE]) == 2
    assert "not a translation model" in capsys.readouterr().err
