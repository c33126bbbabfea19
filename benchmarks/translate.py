"""English→Chinese translation on the KJV → 和合本, measured (issue 13 §4; §2.3 下游任务, §6 机器翻译).

One run trains the translation model (train/translate.py: MarianMTModel, pre-LN, width 128,
2 + 2 layers, English BPE in, Chinese characters out) for a wall-clock budget and, at every
mark of --minutes (from the same run, the clock paused while it evaluates), scores held-out
verses of the test split (whole chapters, never seen in training):

    BLEU (sacreBLEU's tokenize="zh": one word per Chinese character) and chrF,
    greedy and beam search (4), and both baselines on the same verses
    (the most frequent training translation; the training verse sharing the most English words)

then measures, once, on the trained model:

    decode speed, tokens/s, with and without the KV cache (batch 1 and 8, 64 new tokens:
        the end-of-sequence token is banned so every run generates exactly 64);
    minigrad vs the same model in PyTorch/transformers (MarianMTModel from the same config and
        the same weights, via save_pretrained): one training step (forward + backward + AdamW)
        and greedy generation, as ratios minigrad / torch measured in one run, interleaved.
        transformers' Marian has no pre-LN, so this comparison uses the post-LN variant of
        the same size (normalize_before=False), in both frameworks.

    python benchmarks/translate.py                       # --minutes 10 30 (the figures)
    python benchmarks/translate.py --quick               # ~1 minute of training, a check
    python benchmarks/translate.py --minutes 10 --eval-verses 500 --json out.json

Training: AdamW, linear warm-up then the original Transformer's inverse square-root decay
(--schedule rsqrt; "constant" keeps the peak), batches of verses of similar length
(--length-buckets 50: less padding, ~1.5x fewer seconds per step).  Greedy is scored on
--eval-verses test verses (default: all 1,448), beam 4 on the first --beam-verses (400).

Prints markdown tables; writes benchmarks/results/translate.json after every mark, and the
model of every mark to --save-dir as a training checkpoint (`minigrad evaluate --checkpoint`,
`minigrad translate --checkpoint` read it).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, nargs="+", default=[10, 30],
                   help="evaluate after these many minutes of training (one run)")
    p.add_argument("--quick", action="store_true", help="1 minute, 64 verses: a check")
    p.add_argument("--eval-verses", type=int, default=None, help="test verses scored greedily (default: all)")
    p.add_argument("--beam-verses", type=int, default=400, help="test verses scored with beam 4")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=400)
    p.add_argument("--schedule", choices=("rsqrt", "constant"), default="rsqrt")
    p.add_argument("--length-buckets", type=int, default=50, help="batches per length-sorted chunk (0: off)")
    p.add_argument("--save-dir", default=None, help="where each mark's checkpoint goes (default: none)")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pairs", type=int, default=7, help="interleaved minigrad/torch step pairs")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--json", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results", "translate.json"))
    args = p.parse_args()
    if args.quick:
        args.minutes, args.eval_verses, args.beam_verses, args.pairs = [1.0], 64, 64, 3
    return args


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np                                                         # noqa: E402

import minigrad as mg                                                      # noqa: E402
from minigrad.autograd import no_grad                                     # noqa: E402
from minigrad.data.translation import EOS_ID, build_translation_data      # noqa: E402
from minigrad.optim import AdamW                                          # noqa: E402
from minigrad.optim.lr_scheduler import LambdaLR, WarmupInverseSqrt       # noqa: E402
from minigrad.train.checkpoint import save_checkpoint                      # noqa: E402
from minigrad.train.translate import (TranslationTask, baseline_most_frequent,  # noqa: E402
                                      baseline_retrieval, build_translation_model,
                                      evaluate_translation, score_translations)


def schedule(opt, args):
    """Linear warm-up over args.warmup steps, then ∝ 1/√step ("Attention Is All You Need",
    §5.3; optim.lr_scheduler.WarmupInverseSqrt) or constant."""
    if args.schedule == "constant":
        return LambdaLR(opt, lambda t: min(1.0, (t + 1) / args.warmup))
    return WarmupInverseSqrt(opt, args.warmup)


def train_step(model, opt, batch, smoothing):
    src, mask, labels = batch
    out = model(input_ids=src, attention_mask=mask, labels=labels, label_smoothing=smoothing)
    opt.zero_grad()
    out.loss.backward()
    opt.step()
    return out.loss.item()


def evaluate(model, data, n_greedy, n_beam):
    """Greedy BLEU/chrF on the first n_greedy test verses, beam 4 on the first n_beam."""
    row = {}
    for name, beams, n in (("greedy", 1, n_greedy), ("beam4", 4, n_beam)):
        t = time.perf_counter()
        s = evaluate_translation(model, data, "test", num_beams=beams, max_verses=n)
        row[name] = {"bleu": s["bleu"], "chrf": s["chrf"], "verses": s["verses"],
                     "seconds": time.perf_counter() - t,
                     "examples": list(zip(s["references"][:3], s["hypotheses"][:3]))}
    return row


def write_json(path, out):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


# --- decode speed: the KV cache --------------------------------------------------------------
def decode_speed(model, data, batch, new=64, repeat=3):
    """Tokens/s of greedy decoding of `batch` test verses, exactly `new` tokens each (eos
    banned through final_logits_bias, restored afterwards), cached and uncached alternating."""
    src, mask, _ = data.encode("test")
    src, mask = src[:batch], mask[:batch]
    width = int(mask.sum(1).max())
    src, mask = src[:, :width], mask[:, :width]
    saved = model.final_logits_bias.data.copy()
    model.final_logits_bias.data[0, EOS_ID] = -1e4
    try:
        run = lambda cache: model.generate(src, attention_mask=mask, max_new_tokens=new,  # noqa: E731
                                           use_cache=cache, eos_token_id=EOS_ID,
                                           forced_eos_token_id=None).data
        run(True), run(False)                                               # warm-up
        times = {True: [], False: []}
        for _ in range(repeat):
            for cache in (True, False):
                t = time.perf_counter()
                ids = run(cache)
                times[cache].append(time.perf_counter() - t)
        assert ids.shape[1] == 1 + new, ids.shape
    finally:
        model.final_logits_bias.data[:] = saved
    tc, tu = statistics.median(times[True]), statistics.median(times[False])
    ratios = [u / c for c, u in zip(times[True], times[False])]
    return {"batch": batch, "new_tokens": new, "cached_tok_s": batch * new / tc,
            "uncached_tok_s": batch * new / tu, "ratio": statistics.median(ratios)}


# --- minigrad vs PyTorch/transformers --------------------------------------------------------
def torch_comparison(data, args, batch):
    """Post-LN twins (transformers' Marian has no pre-LN) with the same weights: median of
    interleaved pairs of one training step, and of greedy generation (batch 8, 32 tokens)."""
    import torch
    import transformers
    torch.set_num_threads(args.threads)
    mg.manual_seed(args.seed)
    model, _ = build_translation_model(data, normalize_before=False)
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        ref = transformers.MarianMTModel.from_pretrained(d)
    ref.train()
    model.train()
    opt = AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ref_opt = torch.optim.AdamW(ref.parameters(), lr=1e-4, weight_decay=0.01)
    src, mask, labels = batch

    def mg_step():
        train_step(model, opt, batch, args.label_smoothing)

    def torch_step():
        out = ref(input_ids=torch.from_numpy(src), attention_mask=torch.from_numpy(mask),
                  labels=torch.from_numpy(labels))
        V = out.logits.shape[-1]
        loss = torch.nn.functional.cross_entropy(out.logits.reshape(-1, V),
                                                 torch.from_numpy(labels).reshape(-1),
                                                 ignore_index=-100, label_smoothing=args.label_smoothing)
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()

    gsrc, gmask, _ = data.encode("test")
    gsrc, gmask = gsrc[:8], gmask[:8]
    w = int(gmask.sum(1).max())
    gsrc, gmask = gsrc[:, :w], gmask[:, :w]

    def mg_gen():
        model.generate(gsrc, attention_mask=gmask, max_new_tokens=32, eos_token_id=EOS_ID)

    def torch_gen():
        with torch.no_grad():
            ref.generate(torch.from_numpy(gsrc), attention_mask=torch.from_numpy(gmask),
                         max_new_tokens=32, num_beams=1, do_sample=False, eos_token_id=EOS_ID)

    result = {}
    for name, (fa, fb) in (("train_step", (mg_step, torch_step)), ("generate_greedy_b8_32", (mg_gen, torch_gen))):
        if name.startswith("generate"):
            model.eval()
            ref.eval()
        fa(), fb()                                                          # warm-up
        ta, tb = [], []
        for _ in range(args.pairs):
            for f, ts in ((fa, ta), (fb, tb)):
                t = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t)
        ratios = [a / b for a, b in zip(ta, tb)]
        result[name] = {"minigrad_ms": 1e3 * statistics.median(ta), "torch_ms": 1e3 * statistics.median(tb),
                        "ratio": statistics.median(ratios), "ratio_min": min(ratios),
                        "ratio_max": max(ratios), "pairs": args.pairs}
    result["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__}
    return result


def main():
    args = ARGS
    t0 = time.perf_counter()
    data = build_translation_data(seed=args.seed, length_buckets=args.length_buckets)
    splits = data.splits
    n, nb = args.eval_verses, args.beam_verses
    baselines = {}
    for key, k in (("greedy_verses", n), ("beam_verses", nb)):
        refs = [p.zh for p in splits.test[:k]]
        baselines[key] = {"most_frequent": score_translations(baseline_most_frequent(splits, "test", k), refs),
                          "retrieval": score_translations(baseline_retrieval(splits, "test", k), refs)}
    print(f"data: {data.describe()['pairs']} train/val/test verses, vocabularies "
          f"{data.source_tokenizer.vocab_size} BPE / {data.target_tokenizer.vocab_size} characters "
          f"({time.perf_counter() - t0:.0f} s)")

    mg.manual_seed(args.seed)
    model, model_config = build_translation_model(data)
    opt = AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = schedule(opt, args)
    marks, results, step, trained = sorted(args.minutes), [], 0, 0.0
    out = {"command": " ".join(sys.argv), "threads": args.threads,
           "note": "2-core machine shared with other jobs; wall-clock budgets include their load",
           "training": {"batch_size": args.batch_size, "lr": args.lr, "warmup": args.warmup,
                        "schedule": args.schedule, "length_buckets": args.length_buckets,
                        "label_smoothing": args.label_smoothing, "seed": args.seed},
           "model_config": model_config, "data": data.describe(), "baselines": baselines,
           "results": results, "backend": mg.get_backend()}
    model.train()
    for mark in marks:
        while trained < 60 * mark:
            t = time.perf_counter()
            loss = train_step(model, opt, data.batch(step, args.batch_size, args.seed), args.label_smoothing)
            sched.step()
            trained += time.perf_counter() - t
            step += 1
            if step % 200 == 0:
                print(f"  step {step}  loss {loss:.3f}  {trained / 60:.1f} min", flush=True)
        model.eval()
        row = {"minutes": mark, "steps": step, "epochs": step * args.batch_size / len(splits.train),
               "train_loss": loss, **evaluate(model, data, n, nb)}
        model.train()
        results.append(row)
        if args.save_dir:
            path = os.path.join(args.save_dir, f"translate_{mark:g}min.safetensors")
            os.makedirs(args.save_dir, exist_ok=True)
            save_checkpoint(path, model, arch="marian", model_config=model_config, tokenizer=data.tokenizers,
                            task=TranslationTask(data).describe(), step=step,
                            history={"minutes": mark, "train_seconds": round(trained, 1)})
            row["checkpoint"] = path
        print(f"after {mark:g} min ({step} steps, {row['epochs']:.1f} epochs): greedy BLEU "
              f"{row['greedy']['bleu']:.2f} chrF {row['greedy']['chrf']:.2f} ({row['greedy']['verses']} verses); "
              f"beam 4 BLEU {row['beam4']['bleu']:.2f} chrF {row['beam4']['chrf']:.2f} "
              f"({row['beam4']['verses']} verses)", flush=True)
        write_json(args.json, out)

    model.eval()
    with no_grad():
        speed = [decode_speed(model, data, b) for b in (1, 8)]
    out["decode_speed"] = speed
    write_json(args.json, out)
    comparison = None
    if not args.no_torch:
        comparison = torch_comparison(data, args, data.batch(0, args.batch_size, args.seed))
    out["torch_comparison"] = comparison
    out["total_seconds"] = time.perf_counter() - t0
    write_json(args.json, out)

    # --- tables --------------------------------------------------------------------------------
    print(f"\n### BLEU / chrF on held-out test verses (whole chapters), {args.threads} thread(s)\n")
    print("| system | verses | BLEU | chrF |\n|---|---:|---:|---:|")
    for key, label in (("greedy_verses", "greedy"), ("beam_verses", "beam 4")):
        b = baselines[key]
        print(f"| baseline: most frequent training translation | {b['most_frequent']['verses']} | "
              f"{b['most_frequent']['bleu']:.2f} | {b['most_frequent']['chrf']:.2f} |")
        print(f"| baseline: retrieval (most shared English words) | {b['retrieval']['verses']} | "
              f"{b['retrieval']['bleu']:.2f} | {b['retrieval']['chrf']:.2f} |")
        name = "greedy" if key == "greedy_verses" else "beam4"
        for r in results:
            print(f"| model, {r['minutes']:g} min ({r['steps']} steps, {r['epochs']:.1f} epochs), {label} | "
                  f"{r[name]['verses']} | {r[name]['bleu']:.2f} | {r[name]['chrf']:.2f} |")
    print("\n### Decode speed, greedy, 64 new tokens\n")
    print("| batch | cached tok/s | uncached tok/s | cached / uncached |\n|---:|---:|---:|---:|")
    for s in speed:
        print(f"| {s['batch']} | {s['cached_tok_s']:.1f} | {s['uncached_tok_s']:.1f} | {s['ratio']:.2f}× |")
    if comparison:
        print("\n### minigrad vs PyTorch/transformers (same post-LN model, same weights)\n")
        print("| what | minigrad ms | torch ms | ratio minigrad / torch (min–max) |\n|---|---:|---:|---:|")
        for name in ("train_step", "generate_greedy_b8_32"):
            c = comparison[name]
            print(f"| {name} | {c['minigrad_ms']:.1f} | {c['torch_ms']:.1f} | {c['ratio']:.2f} "
                  f"({c['ratio_min']:.2f}–{c['ratio_max']:.2f}) |")

    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
