"""Autograd overhead: minigrad vs PyTorch eager on the CPU, measured in one run.

    python benchmarks/bench_autograd.py [--repeat 7]

(a) per-op overhead: forward, then backward, of a chain of 1,000 elementwise ops on tiny
    tensors (a (4, 4) float32 tensor), so the time is the framework's bookkeeping, not math;
(b) one training step (forward, backward, SGD update) of a 3-layer MLP at a few widths.

The machines are shared and noisy: each figure is the median of --repeat runs, and the
ratios compare timings taken in the same run.  Ratio = minigrad / PyTorch (lower is better).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

try:
    import torch
except ImportError:  # the table then has no PyTorch column
    torch = None


def median_time(fn, repeat):
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def chain(x, n_ops):
    """n_ops elementwise ops: alternately multiply and add."""
    y = x
    for i in range(n_ops // 2):
        y = y * 1.0001
        y = y + 0.0001
    return y


def bench_chain(n_ops, repeat):
    rows = []
    x_mg = mg.randn(4, 4, requires_grad=True)

    def mg_forward():
        return chain(x_mg, n_ops)

    def mg_both():
        chain(x_mg, n_ops).sum().backward()

    rows.append(("minigrad", median_time(mg_forward, repeat), median_time(mg_both, repeat)))
    if torch is not None:
        x_t = torch.randn(4, 4, requires_grad=True)

        def t_forward():
            return chain(x_t, n_ops)

        def t_both():
            chain(x_t, n_ops).sum().backward()

        rows.append(("torch", median_time(t_forward, repeat), median_time(t_both, repeat)))
    return rows


def mlp_step_minigrad(width, batch, d_in, classes):
    model = nn.Sequential(nn.Linear(d_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                          nn.Linear(width, classes))
    x = mg.randn(batch, d_in)
    y = mg.tensor(np.arange(batch) % classes)

    def step():
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p.data -= 0.01 * p.grad.data
    return step


def mlp_step_torch(width, batch, d_in, classes):
    model = torch.nn.Sequential(torch.nn.Linear(d_in, width), torch.nn.ReLU(),
                                torch.nn.Linear(width, width), torch.nn.ReLU(),
                                torch.nn.Linear(width, classes))
    x = torch.randn(batch, d_in)
    y = torch.arange(batch) % classes

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.01 * p.grad
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--ops", type=int, default=1000)
    args = parser.parse_args()
    mg.manual_seed(0)
    if torch is not None:
        torch.manual_seed(0)
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    else:
        print("PyTorch not installed: minigrad column only")

    print(f"\n(a) chain of {args.ops} elementwise ops on a (4, 4) tensor, median of {args.repeat}")
    print(f"| framework | forward (ms) | per op (µs) | forward+backward (ms) | per op (µs) |")
    print(f"|---|---:|---:|---:|---:|")
    rows = bench_chain(args.ops, args.repeat)
    for name, fwd, both in rows:
        print(f"| {name} | {fwd * 1e3:.2f} | {fwd / args.ops * 1e6:.2f} | {both * 1e3:.2f} | "
              f"{both / args.ops * 1e6:.2f} |")
    if len(rows) == 2:
        print(f"| ratio minigrad/torch | {rows[0][1] / rows[1][1]:.2f} | | "
              f"{rows[0][2] / rows[1][2]:.2f} | |")

    print(f"\n(b) 3-layer MLP training step (batch 64, 256 inputs, 10 classes), median of {args.repeat}")
    print("| width | minigrad (ms) | torch (ms) | ratio |")
    print("|---:|---:|---:|---:|")
    for width in (64, 256, 1024):
        t_mg = median_time(mlp_step_minigrad(width, 64, 256, 10), args.repeat)
        if torch is not None:
            t_t = median_time(mlp_step_torch(width, 64, 256, 10), args.repeat)
            print(f"| {width} | {t_mg * 1e3:.2f} | {t_t * 1e3:.2f} | {t_mg / t_t:.2f} |")
        else:
            print(f"| {width} | {t_mg * 1e3:.2f} | - | - |")


if __name__ == "__main__":
    main()
