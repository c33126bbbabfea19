"""A measured scaling law on 全唐诗 (§8 模型规模, §9.1): held-out loss against model size.

Trains a ladder of tiny GPTs (non-embedding parameters N from ~7 thousand to ~0.8 million,
two decades) on the poems of 全唐诗, split by poem as `minigrad demo` does (the same
character vocabulary: characters seen 10+ times in training), each for the same number of
training tokens D, then scores each on the held-out test poems (mean cross-entropy, nats per
character, over every test window).  Fits L(N) = E + A / N^α (minigrad.scaling, NumPy least
squares) and writes the table and the fit to a small JSON file that lesson 11 reads.

    python benchmarks/scaling.py                         # benchmarks/results/scaling.json (~10-20 min, 2 cores)
    python benchmarks/scaling.py --steps 30 --sizes 3 --out /tmp/s.json     # a smoke test

Each model trains for --steps steps of --batch-size windows of --block-size characters
(D = steps × batch × block), AdamW with warm-up and cosine decay, the peak learning rate
falling with width as lr = 5e-3·√(64 / C); no dropout (D is less than one pass over the
training poems, so nothing is seen twice).  A fixed D for all sizes is *not* compute-optimal
(Chinchilla's point): the small models have more data than they can use, the large ones less.
The results file is rewritten after every model, so an interrupted sweep keeps what it did;
--resume skips the sizes already in it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np                                                       # noqa: E402

import minigrad as mg                                                    # noqa: E402
from minigrad.cli import DEMO, DEMO_SPLITS, _lm_data                     # noqa: E402
from minigrad.models import GPT, GPTConfig                               # noqa: E402
from minigrad.optim import AdamW, clip_grad_norm_                        # noqa: E402
from minigrad.optim.lr_scheduler import WarmupCosine                     # noqa: E402
from minigrad.scaling import fit_power_law, non_embedding_parameters, training_flops  # noqa: E402
from minigrad.train.loop import param_groups                             # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# (layers, heads, width): N ≈ 12·L·C² non-embedding parameters, from ~7k to ~0.8M
LADDER = [(1, 2, 24), (2, 2, 32), (2, 4, 48), (2, 4, 64), (3, 4, 96), (4, 4, 128)]


def peak_lr(width: int) -> float:
    """Wider models take a smaller step (Kaplan et al. 2020 found the best rate falls with N)."""
    return 5e-3 * math.sqrt(64 / width)


@mg.no_grad()
def held_out_loss(model, windows, batch_size: int = 32):
    """(mean cross-entropy per character, characters scored) over every window of a split."""
    model.eval()
    total, n = 0.0, 0
    for x, y in windows.eval_batches(batch_size):
        total += model(x, y).loss.item() * y.size
        n += y.size
    model.train()
    return total / n, n


def train_one(data, layers, heads, width, args, log):
    """Train one size for args.steps steps; its row of the table."""
    mg.manual_seed(args.seed)
    T = args.block_size
    cfg = GPTConfig(vocab_size=data.tokenizer.vocab_size, n_layer=layers, n_head=heads, n_embd=width,
                    block_size=T, dropout=0.0)
    model = GPT(cfg)
    n_non_emb = non_embedding_parameters(model)
    lr = peak_lr(width)
    opt = AdamW(param_groups(model, 0.1), lr=lr, betas=(0.9, 0.99))
    warmup = min(100, args.steps // 5)
    sched = WarmupCosine(opt, warmup_steps=warmup, total_steps=args.steps, min_lr=lr / 10)
    rng = np.random.default_rng(args.seed)              # the same batches for every size
    curve, recent = [], []
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        x, y = data.train.batch(args.batch_size, rng)
        loss = model(x, y).loss
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        recent.append(loss.item())
        if step % args.log_every == 0 or step == args.steps:
            curve.append([step * args.batch_size * T, float(np.mean(recent))])
            recent = []
            if step % (args.log_every * 10) == 0:
                log(f"  step {step}/{args.steps}: training loss {curve[-1][1]:.3f} "
                    f"({time.perf_counter() - t0:.0f} s)")
    train_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    test_loss, test_chars = held_out_loss(model, data.test)
    tokens = args.steps * args.batch_size * T
    return {"n_layer": layers, "n_head": heads, "n_embd": width, "lr": lr,
            "parameters": model.num_parameters(), "non_embedding": n_non_emb, "tokens": tokens,
            "steps": args.steps, "flops_6ND": training_flops(n_non_emb, tokens),
            "flops_6ND_all": training_flops(model.num_parameters(), tokens),
            "train_loss_final": curve[-1][1], "test_loss": test_loss, "test_chars": test_chars,
            "train_seconds": train_seconds, "eval_seconds": time.perf_counter() - t1,
            "curve": curve}


def save(path, result):
    """Atomically (temp file + rename), so a reader never sees half a file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1200, help="training steps per model")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--block-size", type=int, default=DEMO["block_size"])
    p.add_argument("--sizes", type=int, default=len(LADDER), help="the first K sizes of the ladder")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--resume", action="store_true", help="keep the sizes already in --out")
    p.add_argument("--out", default=os.path.join(HERE, "results", "scaling.json"))
    args = p.parse_args()
    if not 1 <= args.sizes <= len(LADDER):
        p.error(f"--sizes must be 1..{len(LADDER)}, got {args.sizes}")

    def log(msg):
        print(msg, flush=True)

    t_start = time.perf_counter()
    data, desc = _lm_data("quantangshi", None, args.block_size, *DEMO_SPLITS["quantangshi"], bert=False,
                          min_count=DEMO["min_count"])
    n = data.documents
    log(f"全唐诗: {n['train']:,} training / {n['test']:,} test poems ({len(data.train.ids):,} / "
        f"{len(data.test.ids):,} characters), vocabulary {data.tokenizer.vocab_size:,}; "
        f"{args.steps * args.batch_size * args.block_size:,} training characters per model")
    rows = []
    if args.resume and os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            rows = json.load(f)["models"]
    result = {"corpus": "quantangshi", "split": "by poem", "splits": list(DEMO_SPLITS["quantangshi"]),
              "min_count": DEMO["min_count"], "vocab_size": data.tokenizer.vocab_size,
              "train_chars": len(data.train.ids), "test_chars": len(data.test.ids),
              "batch_size": args.batch_size, "block_size": args.block_size, "steps": args.steps,
              "seed": args.seed, "threads": os.environ.get("NUMBA_NUM_THREADS", "default"),
              "models": rows}
    done = {(r["n_layer"], r["n_head"], r["n_embd"]) for r in rows if r["steps"] == args.steps}
    for layers, heads, width in LADDER[:args.sizes]:
        if (layers, heads, width) in done:
            continue
        log(f"GPT {layers} layer(s) × {heads} heads, width {width}, lr {peak_lr(width):.2g}")
        row = train_one(data, layers, heads, width, args, log)
        rows.append(row)
        rows.sort(key=lambda r: r["non_embedding"])
        log(f"  N = {row['non_embedding']:,} non-embedding ({row['parameters']:,} in all): test loss "
            f"{row['test_loss']:.4f} nats/char, final training loss {row['train_loss_final']:.4f}, "
            f"{row['train_seconds']:.0f} s")
        if len(rows) >= 3:
            result["fit"] = fit_power_law([r["non_embedding"] for r in rows],
                                          [r["test_loss"] for r in rows]).to_dict()
        result["sweep_seconds"] = time.perf_counter() - t_start
        save(args.out, result)

    log("\n| layers × heads × width | N (non-embedding) | parameters | tokens D | 6·N·D FLOPs | "
        "test loss (nats/char) | train s |")
    log("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        log(f"| {r['n_layer']} × {r['n_head']} × {r['n_embd']} | {r['non_embedding']:,} | {r['parameters']:,} | "
            f"{r['tokens']:,} | {r['flops_6ND']:.2e} | {r['test_loss']:.4f} | {r['train_seconds']:.0f} |")
    if "fit" in result:
        f = result["fit"]
        log(f"\nfit: L(N) = {f['E']:.3f} + {f['A']:.3g} / N^{f['alpha']:.3f}  (rmse {f['rmse']:.4f} nats, "
            f"{f['points']} points); Kaplan α_N ≈ 0.076, Chinchilla α = 0.34")
    log(f"wrote {args.out} ({time.perf_counter() - t_start:.0f} s in all)")


if __name__ == "__main__":
    main()
