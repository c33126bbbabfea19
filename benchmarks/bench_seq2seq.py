"""Encoder–decoder decoding speed: the KV cache vs recomputing the prefix (issue 13, §4).

    python benchmarks/bench_seq2seq.py [--new 64] [--batch 1] [--src 32] [--d-model 256]
                                       [--layers 3] [--vocab 8000] [--beams 1 4]
                                       [--repeat 3] [--threads N] [--backend numba]

A random MarianMTModel (post-LN, swish, sinusoidal positions, shared embeddings; an OPUS-MT
model at half width and depth by default) translates a random source of --src tokens.  The
end-of-sequence token is made impossible (final_logits_bias -1e4, forced_eos off) so that
every run generates exactly --new tokens.  Both runs compute the encoder once; they differ
in the decoder:

    cached     each step feeds the newest token; the layers keep their self-attention keys and
               values, and the cross-attention K, V of the encoder output computed at step 1
    uncached   each step feeds the whole prefix again and recomputes the cross-attention K, V

Printed: the median wall time of --repeat runs after one warm-up, generated tokens per second,
the ratio uncached / cached (the issue's goal: >= 3 at 64 new tokens) as the median of the
per-pair ratios (cached and uncached runs alternate, so a slow stretch of a shared machine
hits both sides of a pair) with its lowest and highest pair, and whether both runs produced
the same tokens.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description="Marian decoding: KV cache vs no cache")
    p.add_argument("--new", type=int, default=64)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--src", type=int, default=32)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--backend", default=None, help="minigrad backend (default: minigrad's default)")
    return p.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.models import MarianConfig, MarianMTModel  # noqa: E402


def build(args):
    d = args.d_model
    cfg = MarianConfig(vocab_size=args.vocab, d_model=d, encoder_layers=args.layers,
                       decoder_layers=args.layers, encoder_attention_heads=8, decoder_attention_heads=8,
                       encoder_ffn_dim=4 * d, decoder_ffn_dim=4 * d, max_position_embeddings=512,
                       activation_function="swish", scale_embedding=True, dropout=0.0,
                       pad_token_id=args.vocab - 1, decoder_start_token_id=args.vocab - 1,
                       eos_token_id=0, forced_eos_token_id=None)
    mg.manual_seed(0)
    model = MarianMTModel(cfg).eval()
    model.final_logits_bias.data[0, 0] = -1e4          # never end: exactly --new tokens
    return model


def timed_pairs(fn_a, fn_b, repeat):
    """Alternate fn_a and fn_b `repeat` times after one warm-up of each (Numba compilation,
    caches): (times of a, times of b, last output of a, last output of b)."""
    out_a, out_b = fn_a(), fn_b()
    times_a, times_b = [], []
    for _ in range(repeat):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
            if fn is fn_a:
                out_a = out
            else:
                out_b = out
    return times_a, times_b, out_a, out_b


def main():
    args = ARGS
    if args.backend:
        mg.set_backend(args.backend)
    model = build(args)
    rng = np.random.default_rng(0)
    src = rng.integers(1, args.vocab - 1, size=(args.batch, args.src))
    print(f"minigrad {mg.get_backend()} backend, {args.threads} thread(s); d_model {args.d_model}, "
          f"{args.layers}+{args.layers} layers, vocab {args.vocab}; batch {args.batch}, source "
          f"{args.src} tokens, {args.new} new tokens")
    print(f"{'search':>10} {'cached s':>9} {'tok/s':>8} {'uncached s':>11} {'tok/s':>8} {'ratio':>6} "
          f"{'(min-max)':>11}  same")
    for beams in args.beams:
        run = lambda cache: np.asarray(model.generate(src, max_new_tokens=args.new, num_beams=beams,
                                                      use_cache=cache))
        times_c, times_p, a, b = timed_pairs(lambda: run(True), lambda: run(False), args.repeat)
        assert a.shape[1] == 1 + args.new, a.shape
        ratios = [p / c for c, p in zip(times_c, times_p)]
        t_cached, t_plain = statistics.median(times_c), statistics.median(times_p)
        n = args.batch * args.new
        name = "greedy" if beams == 1 else f"beam {beams}"
        print(f"{name:>10} {t_cached:9.3f} {n / t_cached:8.1f} {t_plain:11.3f} {n / t_plain:8.1f} "
              f"{statistics.median(ratios):6.2f} {min(ratios):5.2f}-{max(ratios):<5.2f}  "
              f"{np.array_equal(a, b)}")


if __name__ == "__main__":
    main()
