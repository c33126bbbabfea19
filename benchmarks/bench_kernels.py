"""Kernel speed: NumPy reference vs Numba CPU vs PyTorch CPU, measured in one run (§8 模型效率).

    python benchmarks/bench_kernels.py [--quick] [--repeat 7] [--threads 2]

Tables (times in ms, medians of --repeat runs after one warm-up call; ratios from the same run):
  1. causal attention, forward and forward+backward, float32, at (B, H, T, d) =
     (1, 8, 256, 64), (1, 8, 1024, 64), (1, 8, 4096, 64), (8, 8, 256, 64) and the GPT's
     (12, 4, 64, 32); torch = torch.nn.functional.scaled_dot_product_attention (flash on CPU).
     Extra memory: NumPy's measured with tracemalloc (peak, beyond inputs and outputs);
     Numba's is the computed bound (the kernels allocate inside Numba, which tracemalloc
     cannot see): L and D, (N, T) each, plus per thread one (64 x 128) score tile, its
     gradient tile and a (64 x d) accumulator.
  2. row softmax at the GPT's shapes (attention scores, logits).
  3. matmul at the GPT's shapes: NumPy's np.matmul, the numba backend's matmul (the same
     BLAS, in blocks run by Numba's thread pool), torch `@`.
--quick drops T=4096 and uses 3 repeats.  Each implementation runs its repeats in one block
(not interleaved call by call), after a 0.3 s pause: back-to-back calls of different thread
pools (OpenBLAS, Numba's OpenMP, torch's OpenMP) leave the previous pool's threads spinning,
and on 2 cores they then take the CPU from the next one (we saw 0.2 ms kernels take 20 ms).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc

import numpy as np

from minigrad.backends import numba_attention, numba_cpu, numpy_ref

try:
    import torch
except ImportError:
    torch = None


def med_ms(fn, repeat):
    time.sleep(0.3)   # let the previous thread pool (torch's, Numba's, OpenBLAS's) stop spinning
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def fmt(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None else a / b


def peak_extra_mb(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del out
    return (peak - base) / 2**20


def attention_table(shapes, repeat):
    print("\n### Causal attention, float32 (ms; ratio = numba / torch, lower is better)\n")
    print("| (B, H, T, d) | pass | numpy ref | numba | torch | numba/torch | numba/numpy "
          "| extra memory numpy (measured) | extra memory numba (bound) |")
    print("|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    threads = numba_cpu_threads()
    for (B, H, T, d) in shapes:
        N = B * H
        q, k, v = (rng.standard_normal((N, T, d)).astype(np.float32) for _ in range(3))
        dout = rng.standard_normal((N, T, d)).astype(np.float32)
        sc = 1.0 / np.sqrt(d)
        big = N * T * T * 4 > 2**30                       # the reference would need > 1 GiB
        # forward
        t_np = None if big else med_ms(lambda: numpy_ref.attention_forward(q, k, v, None, True, sc), repeat)
        t_nb = med_ms(lambda: numba_attention.attention_forward(q, k, v, None, True, sc), repeat)
        o, lse = numba_attention.attention_forward(q, k, v, None, True, sc)
        o_r, lse_r = (None, None) if big else numpy_ref.attention_forward(q, k, v, None, True, sc)
        # backward (numba: from the saved lse; numpy: its reference backward)
        tb_np = None if big else med_ms(
            lambda: numpy_ref.attention_backward(q, k, v, None, True, sc, o_r, lse_r, dout), repeat)
        tb_nb = med_ms(lambda: numba_attention.attention_backward(q, k, v, None, True, sc, o, lse, dout), repeat)
        t_t = tfb_t = None
        if torch is not None:
            tq, tk, tv = (torch.from_numpy(a.reshape(B, H, T, d)) for a in (q, k, v))
            sdpa = torch.nn.functional.scaled_dot_product_attention
            with torch.no_grad():
                t_t = med_ms(lambda: sdpa(tq, tk, tv, is_causal=True), repeat)
            gq, gk, gv = (x.clone().requires_grad_() for x in (tq, tk, tv))
            tdo = torch.from_numpy(dout.reshape(B, H, T, d))

            def fb():
                sdpa(gq, gk, gv, is_causal=True).backward(tdo)
            tfb_t = med_ms(fb, repeat)
        mem_np = None if big else peak_extra_mb(lambda: numpy_ref.attention_forward(q, k, v, None, True, sc))
        tile = numba_attention.BR * numba_attention.BC
        bound = (2 * N * T + threads * (2 * tile + numba_attention.BR * d)) * 4 / 2**20
        shape = f"({B}, {H}, {T}, {d})"
        fb_np = None if t_np is None else t_np + tb_np
        print(f"| {shape} | fwd | {fmt(t_np)} | {fmt(t_nb)} | {fmt(t_t)} | {fmt(ratio(t_nb, t_t))} "
              f"| {fmt(ratio(t_nb, t_np))} | {fmt(mem_np, 1)} MB | {bound:.2f} MB |")
        print(f"| {shape} | fwd+bwd | {fmt(fb_np)} | {fmt(t_nb + tb_nb)} | {fmt(tfb_t)} "
              f"| {fmt(ratio(t_nb + tb_nb, tfb_t))} | {fmt(ratio(t_nb + tb_nb, fb_np))} | | |")


def softmax_table(repeat):
    print("\n### Row softmax, float32 (ms)\n")
    print("| shape (rows x n) | numpy ref | numba | torch | numba/torch |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(1)
    for shape in [(12 * 4 * 64, 64), (8 * 8 * 256, 256), (12 * 64, 65), (16 * 256, 256)]:
        x = rng.standard_normal(shape).astype(np.float32)
        t_np = med_ms(lambda: numpy_ref.softmax(x, -1), repeat)
        t_nb = med_ms(lambda: numba_cpu.softmax(x, -1), repeat)
        t_t = None
        if torch is not None:
            tx = torch.from_numpy(x)
            t_t = med_ms(lambda: torch.softmax(tx, -1), repeat)
        print(f"| {shape[0]} x {shape[1]} | {fmt(t_np, 3)} | {fmt(t_nb, 3)} | {fmt(t_t, 3)} "
              f"| {fmt(ratio(t_nb, t_t))} |")


def matmul_table(repeat):
    print("\n### Matmul at the GPT's shapes, float32 (ms)\n")
    print("| a @ b | numpy np.matmul (OpenBLAS pool) | numba backend (BLAS blocks in Numba's pool) "
          "| torch | numba/torch | numba/numpy |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(2)
    cases = [((12, 64, 128), (128, 384)), ((12, 64, 128), (128, 512)), ((12, 64, 512), (512, 128)),
             ((12, 64, 128), (128, 65)), ((12, 4, 64, 32), (12, 4, 32, 64)),
             ((12, 4, 64, 64), (12, 4, 64, 32)), ((16, 256, 256), (256, 1024))]
    for sa, sb in cases:
        a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
        t_np = med_ms(lambda: np.matmul(a, b), repeat)
        t_nb = med_ms(lambda: numba_cpu.matmul(a, b), repeat)
        t_t = None
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            t_t = med_ms(lambda: ta @ tb, repeat)
        print(f"| {sa} @ {sb} | {fmt(t_np, 3)} | {fmt(t_nb, 3)} | {fmt(t_t, 3)} "
              f"| {fmt(ratio(t_nb, t_t))} | {fmt(ratio(t_nb, t_np))} |")


def numba_cpu_threads():
    import numba
    return numba.get_num_threads()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="no T=4096, 3 repeats")
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--tables", default="attention,softmax,matmul",
                   help="comma-separated subset of attention,softmax,matmul")
    args = p.parse_args()
    tables = args.tables.split(",")
    repeat = 3 if args.quick else args.repeat
    import numba
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(f"threads: {args.threads} (numba {numba.get_num_threads()}, torch "
          f"{torch.get_num_threads() if torch else '—'}), numba {numba.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, numpy {np.__version__}")
    shapes = [(1, 8, 256, 64), (1, 8, 1024, 64), (8, 8, 256, 64), (12, 4, 64, 32)]
    if not args.quick:
        shapes.insert(2, (1, 8, 4096, 64))
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    if "attention" in tables:
        attention_table(shapes, repeat)
    if "softmax" in tables:
        softmax_table(repeat)
    if "matmul" in tables:
        matmul_table(repeat)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
