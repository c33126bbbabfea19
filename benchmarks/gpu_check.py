"""Check every cuda kernel against NumPy on fresh random inputs, then time them against PyTorch
on the GPU (§8 模型效率).  One script for the day a GPU machine is available.

    python benchmarks/gpu_check.py                 # a real GPU: checks, then timings
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu_check.py --sim
                                                   # the simulator: tiny shapes, checks only

Checks (relative error <= 1e-5 float32, <= 1e-12 float64, as in tests/test_backends.py):
matmul, softmax, log_softmax and their backwards, attention forward and backward (causal,
key padding, additive float mask), and the warp-shuffle reduction on a real GPU.
Timings (real GPU only; torch.cuda if available): causal attention forward and forward+
backward at (1, 8, 1024, 64) and (8, 8, 256, 64), softmax, matmul at the GPT's shapes; device
arrays in and out, synchronised, medians of --repeat.  Exit status 1 if any check fails.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from minigrad import backends  # noqa: E402
from minigrad.backends import numpy_ref as ref  # noqa: E402

TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    fin = np.isfinite(b)
    if not np.array_equal(fin, np.isfinite(a)):
        return np.inf
    return float(np.max(np.abs(a[fin] - b[fin])) / max(np.max(np.abs(b[fin])), 1e-30)) if fin.any() else 0.0


def check(name, got, want, dt, failures):
    err = rel(got, want)
    ok = err <= TOL[np.dtype(dt)]
    print(f"  {'ok  ' if ok else 'FAIL'} {name:<40s} {np.dtype(dt).name:<8s} rel err {err:.1e}")
    if not ok:
        failures.append(name)


def run_checks(cu, sim, failures):
    rng = np.random.default_rng(int(time.time()))          # fresh inputs every run
    small = sim
    for dt in (np.float32, np.float64):
        n, k, m = (5, 7, 6) if small else (300, 200, 170)
        a = rng.standard_normal((2, n, k)).astype(dt)
        b = rng.standard_normal((k, m)).astype(dt)
        check("matmul (broadcast weight)", cu.matmul(a, b), ref.matmul(a, b), dt, failures)
        rows, cols = (3, 11) if small else (512, 1000)
        x = (rng.standard_normal((rows, cols)) * 4).astype(dt)
        x[0] = -np.inf
        x[1, cols // 3:] = -np.inf
        check("softmax (masked rows)", cu.softmax(x, -1), ref.softmax(x, -1), dt, failures)
        check("log_softmax", cu.log_softmax(x[1:], -1), ref.log_softmax(x[1:], -1), dt, failures)
        g = rng.standard_normal(x.shape).astype(dt)
        y = ref.softmax(x, -1)
        check("softmax_backward", cu.softmax_backward(y, g, -1), ref.softmax_backward(y, g, -1), dt, failures)
        ly = ref.log_softmax(x[1:], -1)
        check("log_softmax_backward", cu.log_softmax_backward(ly, g[1:], -1),
              ref.log_softmax_backward(ly, g[1:], -1), dt, failures)
        N, T, S, d = (2, 5, 7, 4) if small else (16, 300, 300, 64)
        q = rng.standard_normal((N, T, d)).astype(dt)
        kk = rng.standard_normal((N, S, d)).astype(dt)
        v = rng.standard_normal((N, S, d)).astype(dt)
        keep = rng.random((N, 1, S)) > 0.3
        masks = {"none": None, "key padding": np.where(keep, 0.0, -np.inf).astype(dt),
                 "float": rng.standard_normal((1, T, S)).astype(dt)}
        for causal in (False, True):
            for mname, bias in masks.items():
                tag = f"attention causal={causal} mask={mname}"
                o, lse = cu.attention_forward(q, kk, v, bias, causal, 0.125)
                o_r, lse_r = ref.attention_forward(q, kk, v, bias, causal, 0.125)
                check(tag + " fwd", cu.to_host(o), o_r, dt, failures)
                do = rng.standard_normal(o_r.shape).astype(dt)
                grads = cu.attention_backward(q, kk, v, bias, causal, 0.125, o, lse, do)
                want = ref.attention_backward(q, kk, v, bias, causal, 0.125, o_r, lse_r, do)
                for gname, gg, ww in zip(("dq", "dk", "dv"), grads, want):
                    check(f"{tag} {gname}", cu.to_host(gg), ww, dt, failures)
    if not sim:
        assert cu.USE_SHFL
        x = rng.standard_normal((7, 4097)).astype(np.float32)
        check("softmax via warp shuffles (long rows)", cu.softmax(x, -1), ref.softmax(x, -1),
              np.float32, failures)


def run_timings(cu, repeat):
    from numba import cuda
    try:
        import torch
        has_torch = torch.cuda.is_available()
    except ImportError:
        has_torch = False

    def med(fn, sync):
        fn()
        sync()
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            sync()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts) * 1e3

    tsync = (lambda: torch.cuda.synchronize()) if has_torch else (lambda: None)
    print("\n| kernel | shape | numba.cuda ms | torch ms | ratio |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for (B, H, T, d) in [(1, 8, 1024, 64), (8, 8, 256, 64)]:
        q, k, v = (cuda.to_device(rng.standard_normal((B * H, T, d)).astype(np.float32)) for _ in range(3))
        t_f = med(lambda: cu.attention_forward(q, k, v, None, True, 0.125), cuda.synchronize)
        o, lse = cu.attention_forward(q, k, v, None, True, 0.125)
        t_b = med(lambda: cu.attention_backward(q, k, v, None, True, 0.125, o, lse, o), cuda.synchronize)
        tt_f = tt_fb = None
        if has_torch:
            tq, tk, tv = (torch.randn(B, H, T, d, device="cuda", requires_grad=True) for _ in range(3))
            sdpa = torch.nn.functional.scaled_dot_product_attention
            with torch.no_grad():
                tt_f = med(lambda: sdpa(tq, tk, tv, is_causal=True), tsync)
            tt_fb = med(lambda: sdpa(tq, tk, tv, is_causal=True).sum().backward(), tsync)
        for name, mine, theirs in (("attention fwd", t_f, tt_f), ("attention fwd+bwd", t_f + t_b, tt_fb)):
            r = f"{mine / theirs:.2f}" if theirs else "—"
            print(f"| {name} | {(B, H, T, d)} | {mine:.3f} | {theirs if theirs is None else round(theirs, 3)} | {r} |")
    x = rng.standard_normal((8 * 8 * 256, 256)).astype(np.float32)
    t = med(lambda: cu.softmax(x, -1), cuda.synchronize)
    tt = None
    if has_torch:
        tx = torch.from_numpy(x).cuda()
        tt = med(lambda: torch.softmax(tx, -1), tsync)
    print(f"| softmax (host in/out) | {x.shape} | {t:.3f} | {tt if tt is None else round(tt, 3)} | "
          f"{'—' if not tt else f'{t / tt:.2f}'} |")
    a = rng.standard_normal((12 * 64, 128)).astype(np.float32)
    b = rng.standard_normal((128, 384)).astype(np.float32)
    t = med(lambda: cu.matmul(a, b), cuda.synchronize)
    tt = None
    if has_torch:
        ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
        tt = med(lambda: ta @ tb, tsync)
    print(f"| matmul (host in/out) | {a.shape}@{b.shape} | {t:.3f} | {tt if tt is None else round(tt, 3)} | "
          f"{'—' if not tt else f'{t / tt:.2f}'} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sim", action="store_true",
                   help="tiny shapes, checks only (needs NUMBA_ENABLE_CUDASIM=1 set before Python)")
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    if args.sim and os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        sys.exit("--sim needs NUMBA_ENABLE_CUDASIM=1 in the environment before Python starts")
    try:
        cu = backends.get("cuda")
    except backends.BackendUnavailable as e:
        sys.exit(str(e))
    print(f"cuda backend: {'SIMULATOR' if cu.SIMULATOR else 'GPU'}; tiles TPB={cu.TPB} NT={cu.NT} "
          f"BQ={cu.BQ} BKV={cu.BKV}")
    failures = []
    t0 = time.perf_counter()
    run_checks(cu, args.sim or cu.SIMULATOR, failures)
    print(f"checks: {'all passed' if not failures else f'{len(failures)} FAILED'} "
          f"({time.perf_counter() - t0:.1f} s)")
    if not cu.SIMULATOR:
        run_timings(cu, args.repeat)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
