"""The `minigrad` command's small surprises (issue 11 §3-§4): greedy generation, clean --help,
every command in the top-level help, evaluate counts what it scored, attention needs no
--text, unknown characters are a notice, not a crash."""
import argparse
import re

import numpy as np
import pytest

from minigrad.cli import _sample, _sub, _train_args, build_parser, main
from minigrad.data import END_OF_TEXT
from minigrad.train import BEST, CHECKPOINT, read_checkpoint, save_checkpoint
from minigrad.train.checkpoint import tokenizer_from_dict

TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--no-progress"]


@pytest.fixture(scope="module")
def poem_run(tmp_path_factory):
    """A tiny GPT trained for 4 steps on 唐诗三百首, split by poem."""
    out = tmp_path_factory.mktemp("poems")
    assert main(["train", "--data", "tang", "--block-size", "16", "--batch-size", "4", "--steps", "4",
                 "--warmup-steps", "1", "--eval-every", "2", "--eval-windows", "4",
                 "--val-fraction", "0.1", "--test-fraction", "0.1", "--out", str(out)] + TINY) == 0
    return out


def test_generate_greedy_and_temperature_zero(poem_run, capsys):
    ckpt = str(poem_run / BEST)
    outputs = []
    for extra in (["--greedy"], ["--temperature", "0"], ["--greedy", "--seed", "7"]):
        assert main(["generate", "--checkpoint", ckpt, "--prompt", "春眠", "--max-new-tokens", "12"]
                    + extra) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0].startswith("春眠")
    assert main(["generate", "--checkpoint", ckpt, "--prompt", "春", "--temperature", "-1"]) == 2
    assert "--temperature must be >= 0 (0: greedy)" in capsys.readouterr().err


class _Scripted:
    """A stand-in GPT whose generate() appends fixed ids (to test where sampling stops)."""

    def __init__(self, new):
        self.new, self.calls = new, []

    def generate(self, idx, max_new_tokens, temperature, top_k, do_sample):
        self.calls.append((idx.tolist(), do_sample))
        from minigrad import Tensor
        return Tensor(np.concatenate([idx, np.asarray([self.new[:max_new_tokens]])], axis=1))


def test_a_poem_starts_after_end_of_text_and_stops_at_it_or_after_n_lines():
    from minigrad.tokenizers import CharTokenizer
    tok = CharTokenizer.from_text("春眠不觉晓处闻啼鸟，。\n", special_tokens=[END_OF_TEXT, "<unk>"],
                                  eos_token=END_OF_TEXT, unk_token="<unk>")
    poem = tok.encode("处处闻啼鸟。\n春眠不觉晓，处处闻啼鸟。" + END_OF_TEXT + "春眠")
    model = _Scripted(poem)
    text, stop = _sample(model, tok, "春眠不觉晓，", 40, 0.8, 20, 0, start_of_text=True)
    assert (text, stop) == ("春眠不觉晓，处处闻啼鸟。\n春眠不觉晓，处处闻啼鸟。", "end")
    assert model.calls[0][0][0][0] == tok.eos_token_id         # <|endoftext|> before the prompt
    text, stop = _sample(model, tok, "春眠不觉晓，", 40, 0.8, 20, 0, start_of_text=True, max_lines=1)
    assert (text, stop) == ("春眠不觉晓，处处闻啼鸟。", "lines")
    text, stop = _sample(model, tok, "春眠", 40, 0, 20, 0)     # plain text: no start marker
    assert model.calls[-1] == ([tok.encode("春眠")], False) and stop == "length"


def _help_entries(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((name, a, sub) for a in sub._actions)


def test_help_shows_each_default_once_and_cleanly():
    parser = build_parser()
    for name, action, sub in _help_entries(parser):
        formatter = sub._get_formatter()
        text = formatter._get_help_string(action) if action.help else ""
        assert "(default: None)" not in text, (name, action.dest, text)
        assert text.count("default") <= 1, (name, action.dest, text)
        assert not re.search(r"\d\.\d*0000000\d", text), (name, action.dest, text)
    # lr / 10 of an lr such as 3e-3 is 0.00030000000000000003 in floating point: shown as 0.0003
    sub = argparse.ArgumentParser().add_subparsers()
    p = _sub(sub, "x", None, "x")
    _train_args(p, steps=1, batch_size=1, lr=3e-3, warmup=0, eval_every=1, ckpt_every=1, out="o")
    text = " ".join(p.format_help().split())
    assert "learning rate at the end of the cosine decay (default: 0.0003)" in text
    assert p.parse_args([]).min_lr == 0.0003
    finetune = parser._subparsers._group_actions[0].choices["finetune"].format_help()
    assert "5e-05; 5e-06 with --pretrained" in " ".join(finetune.split())


def test_top_level_help_lists_every_command(capsys):
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    assert commands == {"demo", "train", "evaluate", "generate", "translate", "finetune", "attention",
                        "lesson"}
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    listed = set(re.findall(r"^\s+minigrad (\w+)", text, re.M))
    assert listed == commands, commands ^ listed


def test_evaluate_says_how_many_tokens_it_scored(tmp_path, capsys):
    out = tmp_path / "kjv"
    assert main(["train", "--data", "kjv", "--max-chars", "3000", "--block-size", "16", "--batch-size", "2",
                 "--steps", "1", "--warmup-steps", "0", "--eval-windows", "2", "--out", str(out)] + TINY) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out / CHECKPOINT), "--windows", "4"]) == 0
    text = capsys.readouterr().out
    assert "test split of kjv (by position): 64 tokens evaluated, in 4 of its" in text
    assert main(["evaluate", "--checkpoint", str(out / CHECKPOINT), "--split", "val"]) == 0
    text = capsys.readouterr().out
    n_val = len(range(0, 150 - 16, 16)) * 16                  # 5% of 3,000 characters: 150
    assert f"validation split of kjv (by position): {n_val:,} tokens evaluated" in text


def test_evaluate_a_poem_model_on_its_test_poems(poem_run, capsys):
    assert main(["evaluate", "--checkpoint", str(poem_run / BEST)]) == 0
    text = capsys.readouterr().out
    assert "test split of tang (by poem)" in text and re.search(r"test loss: [\d.]+", text)


def test_attention_without_text_uses_the_corpus_line(poem_run, tmp_path, capsys):
    png = tmp_path / "a.png"
    assert main(["attention", "--checkpoint", str(poem_run / BEST), "--out", str(png)]) == 0
    assert png.stat().st_size > 10_000 and capsys.readouterr().err == ""
    task = read_checkpoint(poem_run / BEST)["task"]
    assert task["example"] == "床前明月光，疑是地上霜。"


def test_attention_html_writes_the_explorer_beside_the_png(poem_run, tmp_path, capsys):
    png, page = tmp_path / "a.png", tmp_path / "pages" / "a.html"
    assert main(["attention", "--checkpoint", str(poem_run / BEST), "--text", "床前明月光🌙", "--out",
                 str(png), "--html", str(page)]) == 0
    captured = capsys.readouterr()
    assert captured.out.split() == [str(png), str(page)]
    assert captured.err.count("not in the model's vocabulary") == 1          # said once, not per file
    text = page.read_text(encoding="utf-8")
    assert png.stat().st_size > 10_000 and "mg-attn" in text and "<script src" not in text
    assert "床" in text and "\\u003cunk>" in text                        # <unk>, escaped in the data


def test_unknown_characters_are_read_as_unk_with_a_notice(poem_run, tmp_path, capsys):
    png = tmp_path / "b.png"
    assert main(["attention", "--checkpoint", str(poem_run / BEST), "--text", "床前明月光🌙", "--out",
                 str(png)]) == 0
    err = capsys.readouterr().err
    assert png.exists() and "1 character(s) of the text are not in the model's vocabulary, read as <unk>" in err
    assert main(["generate", "--checkpoint", str(poem_run / BEST), "--prompt", "🌙", "--max-new-tokens", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("<unk>") and "read as <unk>" in captured.err


def test_an_old_checkpoint_without_unk_leaves_unknown_characters_out(poem_run, tmp_path, capsys):
    """Checkpoints from before <unk>: their vocabulary has no unknown token; they still load,
    and a character outside it is left out, with a notice."""
    ckpt = read_checkpoint(poem_run / BEST)
    old_tok = dict(ckpt["tokenizer"])
    tokens = [t for t in old_tok["tokens"] if t not in ("<unk>", END_OF_TEXT)]
    old = {"type": "char", "tokens": tokens, "special_tokens": []}
    from minigrad.models import GPT, GPTConfig
    cfg = dict(ckpt["model_config"], vocab_size=len(tokens))
    model = GPT(GPTConfig.from_dict(cfg))
    task = {k: v for k, v in ckpt["task"].items() if k in ("task", "source", "block_size")}
    path = tmp_path / "old.safetensors"
    save_checkpoint(path, model, arch="gpt", model_config=cfg, tokenizer=tokenizer_from_dict(old),
                    task=task, step=1)
    png = tmp_path / "old.png"
    assert main(["attention", "--checkpoint", str(path), "--text", "床前🌙明月", "--out", str(png)]) == 0
    err = capsys.readouterr().err
    assert png.exists() and "no unknown token (an older checkpoint), so they are left out: '🌙'" in err
    assert main(["attention", "--checkpoint", str(path), "--out", str(png)]) == 0   # old: no example stored
    assert capsys.readouterr().err == ""                 # the bundled corpus's line: all known
    assert main(["generate", "--checkpoint", str(path), "--prompt", "春🌙", "--max-new-tokens", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("春") and "🌙" not in captured.out and "left out" in captured.err
