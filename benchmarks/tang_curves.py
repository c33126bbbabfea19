"""Training and validation curves of the Tang-poem GPT (§3.2 预训练 · 模型评估).

唐诗三百首 is small: about 27,000 characters of training text over a vocabulary of ~2,580
characters, so a GPT soon learns the training poems themselves rather than poetry.  This
script trains the `minigrad demo` model (2 layers, 4 heads, width 64, context 32, dropout 0.2,
weight decay 0.1, lr 3e-3) for longer than the demo does, and a variant without dropout or
weight decay, evaluating on the held-out last 10% of the poems every 25 steps, and writes
both curves to one PNG.

    python benchmarks/tang_curves.py                       # benchmarks/tang_curves.png
    python benchmarks/tang_curves.py --steps 100 --out /tmp/t.png
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np                                                       # noqa: E402

import minigrad as mg                                                    # noqa: E402
from minigrad.data import LMData, tang_text                              # noqa: E402
from minigrad.models import GPT, GPTConfig                               # noqa: E402
from minigrad.tokenizers import CharTokenizer                            # noqa: E402
from minigrad.train import LMTask, Trainer, TrainConfig                  # noqa: E402
from minigrad.viz import plt                                             # noqa: E402


def run(data, tok, steps, dropout, weight_decay, seed, tmp):
    mg.manual_seed(seed)
    cfg = GPTConfig(vocab_size=tok.vocab_size, n_layer=2, n_head=4, n_embd=64, block_size=32,
                    dropout=dropout)
    model = GPT(cfg)
    tc = TrainConfig(steps=steps, batch_size=32, lr=3e-3, min_lr=3e-4, warmup_steps=20,
                     weight_decay=weight_decay, eval_every=25, ckpt_every=10 ** 9, seed=seed,
                     out_dir=tmp, progress=False, plot=False)
    trainer = Trainer(model, LMTask(data, eval_windows=None), tc, cfg.to_dict(), tok, log=lambda *a: None)
    res = trainer.fit()
    return res.history, res.seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=900)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "tang_curves.png"))
    p.add_argument("--json", default=None)
    args = p.parse_args()
    text = tang_text()
    tok = CharTokenizer.from_text(text)
    data = LMData.from_text(text, tok, block_size=32, source="tang")
    print(f"唐诗三百首: {len(data.train.ids):,} training / {len(data.val.ids):,} validation characters, "
          f"vocabulary {tok.vocab_size:,}")
    from minigrad.viz import cjk_font
    family = cjk_font() or "DejaVu Sans"
    fig, ax = plt.subplots(figsize=(8, 4.6), constrained_layout=True)
    out = {}
    for name, dropout, wd, color in (("demo: dropout 0.2, weight decay 0.1", 0.2, 0.1, "tab:blue"),
                                     ("no dropout, no weight decay", 0.0, 0.0, "tab:red")):
        with tempfile.TemporaryDirectory() as tmp:
            hist, secs = run(data, tok, args.steps, dropout, wd, args.seed, tmp)
        steps, loss = np.array(hist["step"]), np.array(hist["loss"])
        k = 25
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1:], smooth, color=color, ls="--", lw=1.2, label=f"train ({name})")
        ev = hist["eval"]
        vs, vl = [e["step"] for e in ev], [e["val_loss"] for e in ev]
        ax.plot(vs, vl, "o-", color=color, ms=3, lw=1.6, label=f"validation ({name})")
        best = int(np.argmin(vl))
        out[name] = {"best_step": vs[best], "best_val_loss": vl[best], "best_perplexity": float(np.exp(vl[best])),
                     "final_val_loss": vl[-1], "final_perplexity": float(np.exp(vl[-1])),
                     "final_train_loss_25": float(smooth[-1]), "seconds": secs}
        print(f"{name}: best validation loss {vl[best]:.3f} (perplexity {np.exp(vl[best]):.0f}) at step "
              f"{vs[best]}; at step {vs[-1]}: validation {vl[-1]:.3f} (perplexity {np.exp(vl[-1]):.0f}), "
              f"training (25-step mean) {smooth[-1]:.3f}; {secs:.0f} s", flush=True)
    ax.set_xlabel("step (32 windows of 32 characters each)")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title("GPT on 唐诗三百首: training vs validation loss", fontfamily=[family, "DejaVu Sans"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
