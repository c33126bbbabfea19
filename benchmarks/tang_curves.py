"""The `minigrad demo` run on 全唐诗, measured (§3.2 预训练 · 模型评估).

Trains the demo's model (minigrad.cli.DEMO: its size, steps, learning rate, vocabulary) on the
poems of 全唐诗 split by poem, exactly as `minigrad demo` does, and reports what the README
quotes: milliseconds per step (median and fastest, so a busy machine can be told from an idle
one), the step kept by early stopping, validation and test perplexity, and how much the
samples read as Tang verse: of the lines (句, the text between punctuation marks) of
`--samples` poems, the share with 5 or 7 characters, and the share of poems the model ended
itself.  Writes the loss curves to a PNG (and the figures to --json).

    python benchmarks/tang_curves.py                       # benchmarks/tang_curves.png
    python benchmarks/tang_curves.py --steps 100 --out /tmp/t.png --samples 4
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np                                                       # noqa: E402

import minigrad as mg                                                    # noqa: E402
from minigrad.cli import DEMO, DEMO_SPLITS, _lm_data, _sample            # noqa: E402
from minigrad.models import GPT, GPTConfig                               # noqa: E402
from minigrad.train import LMTask, Trainer, TrainConfig, load_model      # noqa: E402
from minigrad.viz import plot_loss_curve                                 # noqa: E402

PROMPTS = ["春眠不觉晓，", "白日依山尽，", "床前明月光，", "故人西辞黄鹤楼，", "月落乌啼霜满天，"]
SEGMENT = re.compile(r"[，。？！；：、\n]")


def verse_form(texts, prompts):
    """(share of generated lines with 5 or 7 characters, number of lines): the prompt's own
    lines are not counted, only what the model wrote."""
    good = total = 0
    for text, prompt in zip(texts, prompts):
        lines = [s for s in SEGMENT.split(text[len(prompt):]) if s]
        good += sum(len(s) in (5, 7) for s in lines)
        total += len(lines)
    return good / max(total, 1), total


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=DEMO["steps"])
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--samples", type=int, default=20, help="poems to sample for the form figures")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "tang_curves.png"))
    p.add_argument("--json", default=None)
    args = p.parse_args()
    mg.manual_seed(args.seed)
    T = DEMO["block_size"]
    data, desc = _lm_data("quantangshi", None, T, *DEMO_SPLITS["quantangshi"], bert=False,
                          min_count=DEMO["min_count"])
    tok = data.tokenizer
    cfg = GPTConfig(vocab_size=tok.vocab_size, n_layer=DEMO["n_layer"], n_head=DEMO["n_head"],
                    n_embd=DEMO["n_embd"], block_size=T, dropout=DEMO["dropout"])
    model = GPT(cfg)
    print(f"全唐诗: {data.documents} poems, vocabulary {tok.vocab_size:,}; model {model.num_parameters():,} "
          f"parameters", flush=True)
    times, last = [], [None]

    def clock(trainer):
        now = time.perf_counter()
        if last[0] is not None and trainer.step % DEMO["eval_every"] != 1:   # not the step after an eval
            times.append(now - last[0])
        last[0] = now

    with tempfile.TemporaryDirectory() as tmp:
        tc = TrainConfig(steps=args.steps, batch_size=DEMO["batch_size"], lr=DEMO["lr"],
                         min_lr=DEMO["lr"] / 10, warmup_steps=DEMO["warmup"], eval_every=DEMO["eval_every"],
                         eval_windows=DEMO["eval_windows"], ckpt_every=10 ** 9, seed=args.seed,
                         out_dir=tmp, progress=False, plot=False)
        task = LMTask(data, eval_windows=DEMO["eval_windows"], description=desc)
        res = Trainer(model, task, tc, cfg.to_dict(), tok, callback=clock).fit()
        best, _, _ = load_model(res.best)
    texts, ended = [], 0
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.samples)]
    for i, prompt in enumerate(prompts):
        text, stop = _sample(best, tok, prompt, 200, 0.8, 20, args.seed + i, start_of_text=True, max_lines=8)
        texts.append(text)
        ended += stop == "end"
    form, n_lines = verse_form(texts, prompts)
    t = np.asarray(times) * 1000
    val = min(res.history["eval"], key=lambda e: e["val_loss"])
    out = {"steps": res.step, "fit_seconds": res.seconds, "ms_per_step_median": float(np.median(t)),
           "ms_per_step_fastest": float(t.min()), "best_step": res.best_step,
           "val_perplexity": val["perplexity"], "test_perplexity": res.test_metrics["perplexity"],
           "test_tokens": res.test_metrics["tokens"], "lines_5_or_7": form, "lines": n_lines,
           "poems_ended": ended, "samples": args.samples, "first_samples": texts[:3]}
    print(f"{res.step} steps in {res.seconds:.0f} s: {np.median(t):.0f} ms a step (median; fastest "
          f"{t.min():.0f} ms); kept step {res.best_step}: validation perplexity {val['perplexity']:.1f}, "
          f"test perplexity {res.test_metrics['perplexity']:.1f}; of {n_lines} generated lines "
          f"{form:.0%} have 5 or 7 characters; {ended}/{args.samples} poems ended by the model")
    for text in texts[:3]:
        print(text, "\n--")
    fig = plot_loss_curve(res.history, title="GPT on 全唐诗 (the demo)")
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
