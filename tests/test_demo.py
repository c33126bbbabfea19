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


def test_demo_speaks_chinese_with_lang_zh_or_a_chinese_locale(tmp_path, capsys, monkeypatch):
    """Issue 16 §3: every line the demo prints is in Chinese with --lang zh, or under a Chinese
    locale (LANG=zh_CN.UTF-8); the figures and the files are the same."""
    from minigrad.i18n import is_chinese, set_language

    for var in ("MINIGRAD_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    tiny_run = ["demo", "--steps", "4", "--eval-every", "2", "--warmup-steps", "1", "--eval-windows", "4",
                "--sample-chars", "20"] + TINY
    try:
        for how, extra in (("--lang", ["--lang", "zh"]), ("locale", [])):
            set_language(None)
            monkeypatch.setenv("LANG", "zh_CN.UTF-8" if how == "locale" else "C.UTF-8")
            out = tmp_path / how
            assert main(tiny_run + ["--out", str(out)] + extra) == 0
            text = capsys.readouterr().out
            lines = text.splitlines()
            assert lines[0].startswith("数据：全唐诗") and "按诗划分" in lines[0]
            assert sum(line.startswith("第 ") and "验证集损失" in line for line in lines) == 2
            assert len(re.findall(r"测试集困惑度 ([\d.]+)", text)) == 1
            assert "春眠不觉晓，" in text and f"--checkpoint {out / BEST}" in text
            sample = text.split("）：\n", 1)[1].split("\n", 1)[0]      # the poem itself
            prose = [line for line in lines if line != sample]
            assert all(is_chinese(line) for line in prose), [l for l in prose if not is_chinese(l)]
            assert "validation" not in text and "training" not in text
    finally:
        set_language(None)
