"""Data parallelism, ZeRO-1, activation checkpointing and float16, measured (§8 模型规模).

    python benchmarks/bench_distributed.py [--steps 12] [--rounds 3] [--buckets 25,1,0.25]
                                            [--config small|large] [--json out.json]

Runs (each in processes of its own, so every one gets the thread count it names):
  1. throughput: GPT training steps (forward, backward, AdamW) on bench_train's config,
       1 process x 2 threads, global batch B            (numba's and BLAS's thread pools)
       2 processes x 1 thread, B/2 each, DDP over MPI   (mpiexec -n 2, all-reduce in buckets)
     tokens/s of the whole job = B * T / (time per step).
  2. the all-reduce: its exposed time per step, from the end of the slower rank's backward
     to the end of the all-reduce (waiting for a slower partner is load imbalance, not
     communication; the clocks are the system-wide monotonic one), with buckets started
     during backward (overlap) and with all started at the end (--no-overlap, which exposes
     all of it), in alternating steps of one run; hidden = 1 - overlap / no-overlap.  Also
     the bare all-reduce of the same buckets between idle ranks.
  3. ZeRO-1: AdamW state bytes per rank, sharded over 2 ranks vs not.
  4. activation checkpointing: peak traced memory of a step (tracemalloc, its own pass) and
     time per step, with and without model.gradient_checkpointing_enable().
  5. float16 vs float32 matrix product in NumPy (why amp gains no speed on a CPU).

Times are medians over --steps steps after 3 warm-up steps; the machine may be shared, so
compare ratios from one run.

On paper: the same code at 64 GPUs
----------------------------------
A ring all-reduce of S bytes over N ranks runs in 2(N-1) steps (a reduce-scatter, then an
all-gather), each moving S/N bytes over every link at once, so each rank sends and receives

    2 (N - 1) / N × S  bytes,   time ≈ 2 (N - 1) / N × S / β  +  2 (N - 1) × α

with β the bandwidth of the slowest link in the ring and α the latency of one step.  The
bandwidth term barely grows with N (1.0 × S at N = 2, 1.97 × S at N = 64); the latency
term grows linearly, which is why buckets must be large and why NCCL switches to trees.
GPT-2 small (124 M parameters) has S = 496 MB of float32 gradients, so at N = 64 each GPU
moves 1.97 × 496 ≈ 977 MB per step: 39 ms at β = 25 GB/s (one 200 Gb/s InfiniBand port
per GPU), 3 ms inside an NVLink node at ~300 GB/s.  The step itself, 6 · N_params · D
FLOPs for D = 16 × 1024 tokens per GPU, is 1.2e13 FLOP ≈ 30 ms at 400 TFLOP/s, of which
backward is ~2/3, 20 ms: at 25 GB/s the all-reduce cannot hide behind backward (it needs
~50 GB/s, or bfloat16 gradients (S/2), or more tokens per GPU per step).  Bucket size: a
ring step carries bucket / N bytes, which should dwarf α·β (5 µs × 25 GB/s = 125 kB), so a
bucket ≫ 64 × 125 kB = 8 MB; PyTorch's 25 MB gives ~75% of the link rate per step while
still starting the first all-reduce early in backward (its first bucket is 1 MiB).  ZeRO-1
at N = 64 keeps 1/64 of AdamW's 8 bytes/parameter: 15.5 MB instead of 992 MB per GPU for
GPT-2 small, 22 GB instead of 1.4 TB for GPT-3's 175 B parameters, at the cost of one
all-gather of the parameters (another (N-1)/N × S) per step.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = {"small": (4, 4, 128, 64, 12, 65),      # bench_train's nanoGPT CPU config
           "large": (6, 8, 256, 256, 16, 256)}    # bench_train's larger one
HERE = Path(__file__).resolve()


def _threads_env(n: int) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": str(n), "OPENBLAS_NUM_THREADS": str(n),
            "MKL_NUM_THREADS": str(n), "NUMBA_NUM_THREADS": str(n)}


# --- the worker: runs inside the measured processes -------------------------------------------
def worker(args) -> None:
    import numpy as np

    import minigrad as mg
    import minigrad.distributed as dist
    from minigrad.models import GPT, GPTConfig
    from minigrad.optim import AdamW

    if dist.launched_by_mpiexec():
        dist.init()
    L, H, C, T, B, V = CONFIGS[args.config]
    mg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=H, n_embd=C, block_size=T))
    if args.checkpointing:
        model.gradient_checkpointing_enable()
    net = dist.DistributedDataParallel(model, bucket_cap_mb=args.bucket_mb)
    opt = (dist.ZeroRedundancyOptimizer(model.parameters(), optimizer_class=AdamW, lr=1e-3)
           if args.zero else AdamW(model.parameters(), lr=1e-3))
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    x, y = dist.shard_batch((x, y))

    def step(overlap: bool):
        net.overlap = overlap
        opt.zero_grad()
        t0 = time.perf_counter()
        loss = net(x, y).loss
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        s = net.last_step
        return t1 - t0, s.get("t_finish_start", 0.0), s.get("t_done", 0.0)

    for i in range(4):
        step(i % 2 == 0)
    rows = {True: [], False: []}
    for i in range(2 * args.steps):            # overlap and --no-overlap steps alternate
        overlap = i % 2 == 0
        dist.barrier()
        rows[overlap].append(step(overlap))
    result = {"world_size": dist.world_size(), "tokens_per_step": B * T, "buckets": len(net.buckets),
              "grad_mb": sum(b.nbytes for b in net.buckets) / 1e6,
              "param_count": model.num_parameters()}
    for overlap, name in ((True, "overlap"), (False, "no_overlap")):
        r = np.array(rows[overlap])                # (steps, 3): step time, end of backward, done
        result[f"step_s_{name}"] = float(np.median(r[:, 0]))
        if dist.world_size() > 1:
            # exposed all-reduce: from the end of the *slower* rank's backward to the end of
            # the all-reduce (waiting for a slower partner is load imbalance, not communication)
            ends = dist.all_gather(np.ascontiguousarray(r[:, 1]))       # (ranks, steps)
            dones = dist.all_gather(np.ascontiguousarray(r[:, 2]))
            result[f"exposed_s_{name}"] = float(np.median(dones.max(0) - ends.max(0)))
    result["step_s"] = result["step_s_overlap"]
    if args.zero:
        result["state_bytes"] = [int(v) for v in dist.all_gather(np.array([opt.state_bytes()]))[:, 0]]
    else:
        result["state_bytes"] = [sum(v.nbytes for s in opt.state.values() for v in s.values()
                                     if isinstance(v, np.ndarray))]
    if dist.world_size() > 1:                    # the bare all-reduce of the same buckets
        times = []
        for _ in range(args.steps):
            dist.barrier()
            t0 = time.perf_counter()
            for b in net.buckets:
                dist.all_reduce(b.buffer)
            times.append(time.perf_counter() - t0)
        result["bare_allreduce_s"] = float(np.median(times))
    if args.checkpointing or args.peak:
        import tracemalloc
        tracemalloc.start()
        net(x, y).loss.backward()
        result["peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if dist.rank() == 0:
        print("RESULT " + json.dumps(result), flush=True)


def fp16_matmul() -> dict:
    import numpy as np
    out = {}
    for dtype in ("float32", "float16"):
        a = np.random.default_rng(0).standard_normal((512, 512)).astype(dtype)
        a @ a
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            a @ a
            ts.append(time.perf_counter() - t0)
        out[dtype] = min(ts)
    return out


# --- the driver -------------------------------------------------------------------------------
def _median_run(results: list) -> dict:
    """The run whose overlap step time is the median of the rounds."""
    return sorted(results, key=lambda r: r["step_s"])[len(results) // 2]


def run(cmd, env) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="small")
    parser.add_argument("--bucket-mb", type=float, default=25.0,
                        help="(worker) DDP's bucket_cap_mb")
    parser.add_argument("--buckets", default="25,1,0.25",
                        help="bucket_cap_mb values for the overlap measurement")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each process layout, alternating (medians reported)")
    parser.add_argument("--zero", action="store_true", help="(worker) ZeRO-1 optimizer")
    parser.add_argument("--checkpointing", action="store_true", help="(worker) gradient checkpointing")
    parser.add_argument("--peak", action="store_true", help="(worker) measure peak memory")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    mpiexec = Path(sys.executable).parent / "mpiexec"
    mpiexec = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        raise SystemExit('no mpiexec: pip install -e ".[distributed]"')
    base = [sys.executable, str(HERE), "--worker", "--steps", str(args.steps), "--config",
            args.config]
    ddp = [mpiexec, "-n", "2"] + base
    fig = {"config": args.config, "rounds": args.rounds, "buckets": {}}
    runs = {"1x1": [], "1x2": [], "2x1": []}
    for _ in range(args.rounds):               # the layouts alternate: a slow stretch of a
        runs["1x2"].append(run(base + ["--peak"], _threads_env(2)))   # shared machine hits all
        runs["2x1"].append(run(ddp, _threads_env(1)))
        runs["1x1"].append(run(base, _threads_env(1)))
    fig.update({k: _median_run(v) for k, v in runs.items()})
    for mb in [float(b) for b in args.buckets.split(",")]:
        fig["buckets"][str(mb)] = run(ddp + ["--bucket-mb", str(mb)], _threads_env(1))
    fig["2x1_zero"] = run(ddp + ["--zero"], _threads_env(1))
    fig["1x2_checkpointing"] = run(base + ["--checkpointing"], _threads_env(2))
    fig["fp16_matmul_s"] = fp16_matmul()
    report(fig)
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=1))


def report(fig: dict) -> None:
    L, H, C, T, B, V = CONFIGS[fig["config"]]
    one, single, two = fig["1x2"], fig["1x1"], fig["2x1"]
    z, ck = fig["2x1_zero"], fig["1x2_checkpointing"]
    tok = one["tokens_per_step"]
    print(f"GPT n_layer={L} n_head={H} n_embd={C} block_size={T}, global batch {B} = {tok} tokens "
          f"per step ({one['param_count']:,} parameters, {two['grad_mb']:.2f} MB of float32 "
          f"gradients); medians of {fig['rounds']} alternating runs\n")
    print("| run | ms / step | tokens / s | vs 1 x 2 threads |")
    print("|---|---:|---:|---:|")
    rows = [("1 process x 1 thread", single["step_s"]), ("1 process x 2 threads", one["step_s"]),
            (f"2 processes x 1 thread, DDP ({two['buckets']} buckets)", two["step_s_overlap"]),
            ("2 processes x 1 thread, DDP --no-overlap", two["step_s_no_overlap"]),
            ("2 processes x 1 thread, DDP + ZeRO-1", z["step_s"])]
    for name, t in rows:
        print(f"| {name} | {t * 1e3:.1f} | {tok / t:,.0f} | {one['step_s'] / t:.2f}x |")
    print("\n| all-reduce per step (ms) | bare, idle ranks | exposed, --no-overlap | exposed, overlap "
          "| hidden behind backward | step, overlap / --no-overlap |")
    print("|---|---:|---:|---:|---:|---:|")
    for mb, r in fig["buckets"].items():
        ov, no = r["exposed_s_overlap"], r["exposed_s_no_overlap"]
        print(f"| buckets <= {mb} MB ({r['buckets']}) | {r['bare_allreduce_s'] * 1e3:.2f} | "
              f"{no * 1e3:.2f} | {ov * 1e3:.2f} | {1 - ov / no:.0%} | "
              f"{r['step_s_overlap'] * 1e3:.1f} / {r['step_s_no_overlap'] * 1e3:.1f} |")
    full = two["state_bytes"][0]
    print("\n| AdamW state per rank | bytes | share |")
    print("|---|---:|---:|")
    print(f"| DDP (every rank holds all of it) | {full:,} | 100% |")
    for r, b in enumerate(z["state_bytes"]):
        print(f"| ZeRO-1, rank {r} of 2 | {b:,} | {b / full:.1%} |")
    print("\n| activation checkpointing (1 x 2 threads) | peak traced MB | ms / step |")
    print("|---|---:|---:|")
    print(f"| off | {one['peak_bytes'] / 1e6:.1f} | {one['step_s'] * 1e3:.1f} |")
    print(f"| on (every block recomputed in backward) | {ck['peak_bytes'] / 1e6:.1f} | "
          f"{ck['step_s'] * 1e3:.1f} |")
    f = fig["fp16_matmul_s"]
    print(f"\n512x512 matrix product in NumPy: float32 {f['float32'] * 1e3:.2f} ms, float16 "
          f"{f['float16'] * 1e3:.2f} ms ({f['float16'] / f['float32']:.0f}x slower)")


if __name__ == "__main__":
    main()
