"""The bundled corpora and the `minigrad` command (train, evaluate, generate, finetune,
attention), with tiny models so the whole file runs in seconds.  The demo: test_demo.py."""
import re
import subprocess
import sys

import pytest

from minigrad.cli import DEMO, build_parser, main
from minigrad.data import kjv_books, kjv_text, kjv_verses, song_poems, tang_poems, tang_text
from minigrad.train import CHECKPOINT, read_checkpoint

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--no-progress"]


def test_tang_poems_parse_with_titles_and_authors():
    poems = tang_poems()
    assert len(poems) == 313
    assert poems[0].title == "感遇・其一" and poems[0].author == "张九龄"
    assert all(p.author and p.lines for p in poems)
    assert "兰叶春葳蕤" in tang_text()


def test_song_poems_and_kjv():
    assert len(song_poems()) > 80
    verses = kjv_verses()
    assert len(verses) == 31102
    assert verses[0] == ("Ge", 1, 1, "In the beginning God created the heaven and the earth.")
    books = kjv_books()
    assert len(books) == 66 and {v["book"] for _, v in books.items()} >= {"Genesis", "Revelation"}
    assert all(book in books for book, _, _, _ in verses[::997])
    text = kjv_text(10_000)
    assert len(text) <= 10_001 and text.endswith("\n")


def test_cli_help_shows_defaults():
    out = subprocess.run([sys.executable, "-m", "minigrad", "demo", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--steps" in out and f"default: {DEMO['steps']}" in out and "runs/demo" in out
    parser = build_parser()
    for command in ("demo", "train", "evaluate", "generate", "finetune", "attention"):
        sub = parser._subparsers._group_actions[0].choices[command]
        text = sub.format_help()
        assert "default" in text, command


def test_train_evaluate_generate_attention_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["train", "--data", "kjv", "--max-chars", "3000", "--block-size", "16",
              "--batch-size", "4", "--warmup-steps", "1", "--eval-every", "3", "--eval-windows", "4",
              "--out", str(out)] + TINY
    assert main(common + ["--steps", "3"]) == 0
    assert main(common + ["--steps", "5", "--resume"]) == 0
    assert read_checkpoint(out / CHECKPOINT)["step"] == 5
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out / CHECKPOINT), "--windows", "4"]) == 0
    assert re.search(r"perplexity: [\d.]+", capsys.readouterr().out)
    assert main(["generate", "--checkpoint", str(out / CHECKPOINT), "--prompt", "And God",
                 "--max-new-tokens", "8"]) == 0
    assert capsys.readouterr().out.startswith("And God")
    png = tmp_path / "map.png"
    assert main(["attention", "--checkpoint", str(out / CHECKPOINT), "--text", "And God said",
                 "--out", str(png)]) == 0
    assert png.stat().st_size > 10_000


def test_finetune_from_a_pretrained_bert(tmp_path, capsys):
    pre = tmp_path / "bert"
    assert main(["train", "--arch", "bert", "--data", "kjv", "--max-chars", "3000", "--block-size", "16",
                 "--batch-size", "4", "--steps", "2", "--warmup-steps", "1", "--eval-windows", "4",
                 "--out", str(pre)] + TINY) == 0
    ft = tmp_path / "ft"
    assert main(["finetune", "--task", "tang-form", "--checkpoint", str(pre / CHECKPOINT),
                 "--n-train", "16", "--steps", "2", "--batch-size", "8", "--warmup-steps", "1",
                 "--max-length", "16", "--out", str(ft)] + TINY) == 0
    text = capsys.readouterr().out
    assert "encoder weights from" in text and re.search(r"test accuracy [\d.]+%", text)
    assert main(["evaluate", "--checkpoint", str(ft / CHECKPOINT)]) == 0
    assert "accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "no/such/file.txt"], "does not exist"),
    (["evaluate", "--checkpoint", "no/such.safetensors"], "no such file"),
])
def test_bad_input_is_one_clear_line(tmp_path, capsys, argv, message):
    assert main(argv + (["--out", str(tmp_path / "o")] if argv[0] == "train" else [])) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_empty_data_file_and_mismatched_resume(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    assert main(["train", "--data", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "is empty" in capsys.readouterr().err
    out = tmp_path / "run"
    args = ["train", "--data", "kjv", "--max-chars", "2000", "--block-size", "16", "--batch-size", "2",
            "--steps", "1", "--warmup-steps", "0", "--eval-windows", "2", "--out", str(out)] + TINY
    assert main(args) == 0
    bigger = [a if a != "16" or i != args.index("--n-embd") + 1 else "32" for i, a in enumerate(args)]
    assert main(bigger + ["--steps", "2", "--resume"]) == 2
    assert "n_embd: checkpoint 16, now 32" in capsys.readouterr().err


def test_lesson_command_is_wired_into_the_cli(capsys):
    from minigrad.cli import main as cli_main
    assert cli_main(["lesson", "list"]) == 0
    assert "Task 1.1" in capsys.readouterr().out
    # The untouched stubs fail every task, so the command exits non-zero for a teacher's script.
    assert cli_main(["lesson", "check", "1"]) != 0
    assert "tasks passed" in capsys.readouterr().out
