"""One full GPT training step (forward, backward, AdamW): minigrad vs PyTorch eager CPU (§8 模型效率).

    python benchmarks/bench_train.py [--quick] [--repeat 5] [--threads 2]

Configs (n_layer, n_head, n_embd, block_size, batch, vocab):
    nanoGPT's CPU config   (4, 4, 128, 64, 12, 65)
    a larger one           (6, 8, 256, 256, 16, 256)
Columns (ms per step, best of --repeat after warm-up steps [median]; ratio = minigrad / torch):
    numpy         minigrad on the NumPy reference backend (fused ops run their NumPy versions)
    numba         minigrad on the Numba backend (the default): fused attention, GELU,
                  LayerNorm, Linear and AdamW kernels, matmul in Numba's thread pool
    torch         the same architecture in PyTorch eager (SDPA, GELU tanh, tied weights,
                  AdamW), same number of threads
Every variant starts from the same initial weights and batch; the first-step losses agree.
--cpu-time reports process CPU time instead of wall time: with --threads 1 on a machine that
other jobs share, it is the steadier measure.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def _threads_from_argv() -> int:
    """--threads N, read before NumPy, Numba and torch load, so that their thread pools are
    created with N threads (a pool of 2 with only 1 in use still spins on the other core)."""
    if "--threads" in sys.argv[:-1]:
        return int(sys.argv[sys.argv.index("--threads") + 1])
    return len(os.sched_getaffinity(0))


for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, str(_threads_from_argv()))

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad.models.gpt import GPT, GPTConfig  # noqa: E402

try:
    import torch
    import torch.nn as tnn
except ImportError:
    torch = None

CONFIGS = [(4, 4, 128, 64, 12, 65), (6, 8, 256, 256, 16, 256)]


CLOCK = time.perf_counter


def _composite_linear(x, weight, bias=None):
    y = (x.reshape(-1, x.shape[-1]) @ weight.mT).reshape(*x.shape[:-1], weight.shape[0])
    return y + bias if bias is not None else y


def best_ms(step, repeat):
    time.sleep(0.3)        # let the previous thread pool stop spinning (see bench_kernels.py)
    for _ in range(2):
        step()
    ts = []
    for _ in range(repeat):
        t0 = CLOCK()
        step()
        ts.append(CLOCK() - t0)
    return min(ts) * 1e3, float(np.median(ts)) * 1e3


def minigrad_step(cfg, idx, tgt, backend):
    L, H, C, T, B, V = cfg
    mg.manual_seed(0)
    with mg.backend(backend):
        model = GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=H, n_embd=C, block_size=T))
    opt = mg.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = mg.tensor(idx), mg.tensor(tgt)
    losses = []

    def step():
        with mg.backend(backend):
            loss = model(x, targets=y).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
        losses.append(loss.item())
    return step, model, losses


if torch is not None:
    class TorchBlock(tnn.Module):
        def __init__(self, C, H):
            super().__init__()
            self.H = H
            self.ln_1, self.ln_2 = tnn.LayerNorm(C), tnn.LayerNorm(C)
            self.c_attn, self.c_proj = tnn.Linear(C, 3 * C), tnn.Linear(C, C)
            self.c_fc, self.mlp_proj = tnn.Linear(C, 4 * C), tnn.Linear(4 * C, C)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.c_proj(y.transpose(1, 2).reshape(B, T, C))
            h = torch.nn.functional.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")
            return x + self.mlp_proj(h)

    class TorchGPT(tnn.Module):
        def __init__(self, L, H, C, T, V):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(V, C), tnn.Embedding(T, C)
            self.h = tnn.ModuleList([TorchBlock(C, H) for _ in range(L)])
            self.ln_f = tnn.LayerNorm(C)
            self.lm_head = tnn.Linear(C, V, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx, tgt):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for blk in self.h:
                x = blk(x)
            logits = self.lm_head(self.ln_f(x))
            return torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1))

    def load_from_minigrad(tm, model):
        """Copy minigrad's initial weights (same names, GPT-2 layout) into the torch model."""
        sd = {k: v.data for k, v in model.state_dict().items()}
        with torch.no_grad():
            tm.wte.weight.copy_(torch.from_numpy(sd["transformer.wte.weight"]))
            tm.wpe.weight.copy_(torch.from_numpy(sd["transformer.wpe.weight"]))
            for i, blk in enumerate(tm.h):
                p = f"transformer.h.{i}."
                for tname, mname in [("ln_1", "ln_1"), ("ln_2", "ln_2"), ("c_attn", "attn.c_attn"),
                                     ("c_proj", "attn.c_proj"), ("c_fc", "mlp.c_fc"),
                                     ("mlp_proj", "mlp.c_proj")]:
                    getattr(blk, tname).weight.copy_(torch.from_numpy(sd[p + mname + ".weight"]))
                    getattr(blk, tname).bias.copy_(torch.from_numpy(sd[p + mname + ".bias"]))
            tm.ln_f.weight.copy_(torch.from_numpy(sd["transformer.ln_f.weight"]))
            tm.ln_f.bias.copy_(torch.from_numpy(sd["transformer.ln_f.bias"]))

    def torch_step(cfg, idx, tgt):
        L, H, C, T, B, V = cfg
        tm = TorchGPT(L, H, C, T, V)
        mg.manual_seed(0)                                  # minigrad's initial weights
        load_from_minigrad(tm, GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=H, n_embd=C,
                                             block_size=T)))
        opt = torch.optim.AdamW(tm.parameters(), lr=1e-3)
        x, y = torch.from_numpy(idx), torch.from_numpy(tgt)
        losses = []

        def step():
            loss = tm(x, y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
        return step, losses


def main():
    global CLOCK
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="only the nanoGPT CPU config, 3 repeats")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--cpu-time", action="store_true", help="time with process CPU time")
    p.add_argument("--skip-numpy", action="store_true", help="leave out the NumPy backend")
    p.add_argument("--pairs", type=int, default=0,
                   help="also time N interleaved minigrad/torch pairs (median of per-pair ratios)")
    p.add_argument("--no-fused", action="store_true",
                   help="ablation: GELU, LayerNorm, Linear and AdamW as composite engine ops "
                        "(the fused attention stays); with MINIGRAD_MALLOC=system in the "
                        "environment, malloc's default behaviour too")
    args = p.parse_args()
    if args.no_fused:
        from minigrad.backends import numba_cpu
        from minigrad.ops import fused
        fused.has_kernels = lambda *names: False          # F.gelu/layer_norm: composite
        F.linear = _composite_linear                      # x @ Wᵀ + b as three engine ops
        del numba_cpu.adam_update                         # AdamW: optim/adam.py's NumPy lines
    if args.cpu_time:
        CLOCK = time.process_time
    repeat = 3 if args.quick else args.repeat
    import numba
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(f"threads: {args.threads}; clock: {'CPU' if args.cpu_time else 'wall'}; "
          f"load average before: {os.getloadavg()[0]:.1f}; malloc reuse: {mg.memory.malloc_tuned()}; "
          f"fused element-wise kernels: {not args.no_fused}")
    print("\n### GPT training step, float32 (ms, best of repeats [median]; ratio = minigrad / torch)\n")
    print("| config (L, H, C, T, B, V) | numpy | numba | torch | numpy/torch | numba/torch "
          "| first-step losses |")
    print("|---|---|---|---|---|---|---|")
    variants = [("numba", "numba")] if args.skip_numpy else [("numpy", "numpy"), ("numba", "numba")]
    for cfg in CONFIGS[:1] if args.quick else CONFIGS:
        L, H, C, T, B, V = cfg
        rng = np.random.default_rng(0)
        idx = rng.integers(0, V, (B, T))
        tgt = np.roll(idx, -1, axis=1)
        times, losses = {}, {}
        for name, backend in variants:
            step, _, ls = minigrad_step(cfg, idx, tgt, backend)
            times[name] = best_ms(step, repeat)
            losses[name] = ls[0]
        if torch is not None:
            step, ls = torch_step(cfg, idx, tgt)
            times["torch"] = best_ms(step, repeat)
            losses["torch"] = ls[0]
        tt = times.get("torch", (None,))[0]
        cell = lambda n: f"{times[n][0]:.1f} [{times[n][1]:.1f}]" if n in times else "—"  # noqa
        rat = lambda n: f"{times[n][0] / tt:.2f}" if tt and n in times else "—"  # noqa
        print(f"| {cfg} | {cell('numpy')} | {cell('numba')} | {cell('torch')} "
              f"| {rat('numpy')} | {rat('numba')} "
              f"| {' / '.join(f'{v:.4f}' for v in losses.values())} |")
    if args.pairs and torch is not None:
        interleaved(args.pairs, CONFIGS[:1] if args.quick else CONFIGS)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


def interleaved(pairs, configs):
    """minigrad (numba) and torch steps alternating, `pairs` times: each pair's ratio is taken
    a second apart, so a slow stretch of the shared machine hits both sides of it."""
    print(f"\n### Interleaved: {pairs} pairs of steps (minigrad numba, then torch), ratio per pair\n")
    print("| config (L, H, C, T, B, V) | median ratio | quartiles | minigrad median ms | torch median ms |")
    print("|---|---|---|---|---|")
    for cfg in configs:
        L, H, C, T, B, V = cfg
        rng = np.random.default_rng(0)
        idx = rng.integers(0, V, (B, T))
        tgt = np.roll(idx, -1, axis=1)
        mstep, _, _ = minigrad_step(cfg, idx, tgt, "numba")
        tstep, _ = torch_step(cfg, idx, tgt)
        ms, ts = [], []
        for i in range(pairs + 2):
            for step, out in ((mstep, ms), (tstep, ts)):
                time.sleep(0.1)            # let the other library's thread pool go quiet
                step()                     # one untimed step on this side
                t0 = CLOCK()
                step()
                out.append(CLOCK() - t0)
        ms, ts = np.array(ms[2:]) * 1e3, np.array(ts[2:]) * 1e3
        r = ms / ts
        q1, q2, q3 = np.percentile(r, [25, 50, 75])
        print(f"| {cfg} | **{q2:.2f}** | {q1:.2f}–{q3:.2f} | {np.median(ms):.1f} | {np.median(ts):.1f} |")


if __name__ == "__main__":
    main()
