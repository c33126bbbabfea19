"""Language-model parity: minigrad vs PyTorch on the same character-level GPT (§3.2 预训练).

nanoGPT's CPU configuration of its Shakespeare example (README: n_layer 4, n_head 4, n_embd 128,
block_size 64, batch_size 12, dropout 0, AdamW lr 1e-3 with 100 warm-up steps and cosine decay
to 1e-4 at 2,000 iterations, betas (0.9, 0.99), weight decay 0.1, gradient clipping at 1.0),
trained on the first 1,115,394 characters of the bundled King James Bible (the size of
nanoGPT's tiny Shakespeare, ~1.1 MB), split 90/10 by position.

Both frameworks start from the *same* initial weights (minigrad's, copied into PyTorch), see
the *same* batches in the same order (drawn by minigrad.data.step_rng(seed, step)) and follow
the same learning-rate schedule; minigrad trains through minigrad.train.Trainer (the loop the
CLI uses).  Reported: validation loss (mean cross-entropy over every non-overlapping 64-character
window of the validation split) and perplexity = exp(loss) (§3.2 模型评估), and wall time.

    python benchmarks/lm_parity.py                 # the full 2,000 iterations (minutes on 2 cores)
    python benchmarks/lm_parity.py --iters 200     # a quick check
    python benchmarks/lm_parity.py --threads 2     # PyTorch threads (default: 2, like the machine)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minigrad as mg                                                   # noqa: E402
from minigrad.data import LMData, kjv_text, step_rng                   # noqa: E402
from minigrad.models import GPT, GPTConfig                             # noqa: E402
from minigrad.optim.lr_scheduler import WarmupCosine                   # noqa: E402
from minigrad.tokenizers import CharTokenizer                          # noqa: E402
from minigrad.train import LMTask, Trainer, TrainConfig                # noqa: E402

SHAKESPEARE_CHARS = 1_115_394


def lr_at(t, base, warmup, total, min_lr):
    return WarmupCosine.lr_at(type("S", (), {"warmup_steps": warmup, "total_steps": total,
                                             "min_lrs": [min_lr]})(), t, base, 0)


def torch_gpt(cfg: GPTConfig):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
            self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            q, k, v = (t.view(B, T, cfg.n_head, C // cfg.n_head).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
            self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

        def forward(self, x):
            return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = nn.LayerNorm(cfg.n_embd), Attn()
            self.ln_2, self.mlp = nn.LayerNorm(cfg.n_embd), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(cfg.vocab_size, cfg.n_embd), wpe=nn.Embedding(cfg.block_size, cfg.n_embd),
                h=nn.ModuleList([Block() for _ in range(cfg.n_layer)]), ln_f=nn.LayerNorm(cfg.n_embd)))
            self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
            self.lm_head.weight = self.transformer.wte.weight

        def forward(self, idx, targets):
            tr = self.transformer
            x = tr.wte(idx) + tr.wpe(torch.arange(idx.shape[1]))
            for b in tr.h:
                x = b(x)
            logits = self.lm_head(tr.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))

    return TorchGPT()


def run_torch(init_state, cfg, data, args, seeds):
    import torch
    torch.set_num_threads(args.threads)
    model = torch_gpt(cfg)
    with torch.no_grad():
        own = model.state_dict()
        for k in own:
            own[k].copy_(torch.from_numpy(np.asarray(init_state[k])))
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.99))
    start = time.perf_counter()
    for t in range(args.iters):
        lr = lr_at(t, args.lr, args.warmup, args.iters, args.lr / 10)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = data.train.batch(args.batch_size, step_rng(seeds, t))
        loss = model(torch.from_numpy(x), torch.from_numpy(y))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    train_s = time.perf_counter() - start
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for x, y in data.val.eval_batches(64):
            total += model(torch.from_numpy(x), torch.from_numpy(y)).item() * y.size
            n += y.size
    return {"val_loss": total / n, "train_seconds": train_s, "wall_seconds": time.perf_counter() - start}


def _torch_only(init_state, cfg, data, args):
    r = run_torch(init_state, cfg, data, args, args.seed)
    print(f"PyTorch:  val loss {r['val_loss']:.4f} (perplexity {math.exp(r['val_loss']):.3f}), "
          f"{r['wall_seconds']:.0f} s ({args.threads} threads)")
    if hasattr(os, "getloadavg"):
        print("load average (1, 5, 15 min) at the end: %.1f %.1f %.1f" % os.getloadavg())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--chars", type=int, default=SHAKESPEARE_CHARS)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads")
    p.add_argument("--skip-torch", action="store_true")
    p.add_argument("--skip-minigrad", action="store_true", help="time PyTorch alone")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args()

    args.warmup = min(args.warmup, args.iters - 1)     # as Trainer does for very short runs
    text = kjv_text(args.chars)
    tok = CharTokenizer.from_text(text)
    data = LMData.from_text(text, tok, block_size=64, val_fraction=0.1, source="kjv")
    cfg = GPTConfig(vocab_size=tok.vocab_size, n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0)
    mg.manual_seed(args.seed)
    model = GPT(cfg)
    init_state = {k: v.data.copy() for k, v in model.state_dict().items()}
    print(f"KJV, {len(text):,} characters, vocabulary {tok.vocab_size}; GPT {cfg.n_layer}×{cfg.n_head}×"
          f"{cfg.n_embd}, block {cfg.block_size}, batch {args.batch_size}, {args.iters} iterations; "
          f"{model.num_parameters():,} parameters; minigrad backend {mg.backends.current().NAME}")

    results = {}
    with tempfile.TemporaryDirectory() as out:
        if args.skip_minigrad:
            return _torch_only(init_state, cfg, data, args)
        tc = TrainConfig(steps=args.iters, batch_size=args.batch_size, lr=args.lr, min_lr=args.lr / 10,
                         warmup_steps=args.warmup, weight_decay=0.1, beta1=0.9, beta2=0.99,
                         grad_clip=1.0, eval_every=10 ** 9, ckpt_every=10 ** 9, seed=args.seed,
                         out_dir=out, progress=sys.stderr.isatty(), plot=False)
        task = LMTask(data, eval_windows=None)
        trainer = Trainer(model, task, tc, cfg.to_dict(), tok, log=lambda *a: None)
        start = time.perf_counter()
        res = trainer.fit()                     # evaluates once, at the end, on every window
        wall = time.perf_counter() - start
        results["minigrad"] = {"val_loss": res.metrics["val_loss"], "wall_seconds": wall}
    print(f"minigrad: val loss {res.metrics['val_loss']:.4f} (perplexity {res.metrics['perplexity']:.3f}), "
          f"{wall:.0f} s", flush=True)

    if not args.skip_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("PyTorch is not installed: minigrad's numbers only")
        else:
            r = run_torch(init_state, cfg, data, args, args.seed)
            results["torch"] = r
            print(f"PyTorch:  val loss {r['val_loss']:.4f} (perplexity {math.exp(r['val_loss']):.3f}), "
                  f"{r['wall_seconds']:.0f} s ({args.threads} threads)")
            d = results["minigrad"]["val_loss"] - r["val_loss"]
            ratio = results["minigrad"]["wall_seconds"] / r["wall_seconds"]
            print(f"difference in validation loss {d:+.4f} (target |d| <= 0.05: "
                  f"{'met' if abs(d) <= 0.05 else 'NOT met'}); minigrad time / PyTorch time {ratio:.2f}")
    if hasattr(os, "getloadavg"):
        print("load average (1, 5, 15 min) at the end: %.1f %.1f %.1f on %d cores"
              % (*os.getloadavg(), os.cpu_count()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), **results}, f, indent=1)


if __name__ == "__main__":
    main()
