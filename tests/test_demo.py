"""`minigrad demo` on 全唐诗 with a tiny model: split by poem, early stopping on validation,
one final figure (test), and every file it names is a file it wrote."""
import re

from minigrad.cli import main
from minigrad.train import BEST, read_checkpoint

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--no-progress"]


def test_demo_splits_by_poem_keeps_the_best_and_reports_one_test_figure(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--steps", "12", "--eval-every", "4", "--warmup-steps", "2", "--eval-windows", "8",
                 "--sample-chars", "40", "--out", str(out)] + TINY) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "全唐诗" in text and "split by poem" in text and captured.err == ""
    # early stopping on validation: the step kept is the lowest validation loss, and best.safetensors holds it
    best = read_checkpoint(out / BEST)
    history = read_checkpoint(out / "checkpoint.safetensors")["history"]
    lowest = min(history["eval"], key=lambda e: e["val_loss"])
    kept = int(re.search(r"kept the weights of step (\d+), the lowest validation loss", text).group(1))
    assert kept == best["step"] == lowest["step"] == history["test"]["step"]
    # one final figure: the test perplexity of those weights, as stored for the loss curve
    figures = re.findall(r"test perplexity ([\d.]+)", text)
    assert len(figures) == 1 and figures[0] == f"{history['test']['perplexity']:.4g}"
    assert "final" not in text
    assert all("validation" in line for line in text.splitlines() if line.startswith("step "))
    # the poem: starts with the prompt, no blank lines, no carriage returns
    sample = text.split("):\n", 1)[1].split("\n(", 1)[0]
    assert sample.startswith("春眠不觉晓，") and "\r" not in sample and "\n\n" not in sample
    # the files it names are the files it wrote
    named = re.findall(r"(\S+\.(?:png|html|safetensors))", text)
    assert {str(out / "loss.png"), str(out / "attention.png"), str(out / "attention.html"),
            str(out / BEST)} <= set(named)
    for path in named:
        assert (tmp_path / path).exists() or __import__("os").path.exists(path), path
    assert f"--checkpoint {out / BEST}" in text
