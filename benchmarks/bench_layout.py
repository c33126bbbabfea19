"""Does the layout of loaded weights matter?  A GPT-2 checkpoint stores c_attn, c_proj and c_fc
in Conv1D layout (in, out); minigrad's Linear wants (out, in), so the loader transposes them.
Until load_state_dict copied into C order, those parameters were Fortran-ordered views'
copies, and every product with them took BLAS's transposed path.  This measures both.

    python benchmarks/bench_layout.py [--layers 4] [--width 768] [--batch 4] [--seq 128]
                                      [--repeat 7] [--threads N] [--backends numpy numba]

Printed per backend: the median forward time (eval, no_grad) with C-ordered weights (what
from_pretrained hands back now) and with Fortran-ordered ones (what it handed back before),
their ratio, the largest difference of the logits (an ulp or two: another BLAS path sums in
another order), and the one-off cost of the copy at load time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time


def _parse():
    p = argparse.ArgumentParser(description="C- vs Fortran-ordered Linear weights in a GPT forward")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--backends", nargs="+", default=["numpy", "numba"])
    return p.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.models import GPT, GPTConfig  # noqa: E402

CONV1D = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")


def _median_time(fn, repeat):
    fn()                                   # warm-up (compiles numba kernels)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    mg.manual_seed(0)
    cfg = GPTConfig(vocab_size=50257, n_layer=ARGS.layers, n_head=12, n_embd=ARGS.width, block_size=1024)
    model = GPT(cfg).eval()
    params = dict(model.named_parameters())
    conv = [p for name, p in params.items() if name.endswith(CONV1D)]
    c_order = [p.data for p in conv]
    f_order = [np.array(np.ascontiguousarray(a.T).T, copy=True) for a in c_order]  # the old loader's result
    t0 = time.perf_counter()
    f_to_c = [np.array(a, order="C") for a in f_order]
    copy_s = time.perf_counter() - t0
    assert all(a.flags.f_contiguous and not a.flags.c_contiguous for a in f_order)
    ids = np.random.default_rng(0).integers(0, cfg.vocab_size, (ARGS.batch, ARGS.seq))
    print(f"GPT {ARGS.layers} layers x width {ARGS.width}, batch {ARGS.batch} x {ARGS.seq} tokens, "
          f"{ARGS.threads} thread(s); {len(conv)} Conv1D weights, {sum(a.size for a in c_order):,} values")
    print(f"{'backend':8s} {'C order':>10s} {'F order':>10s} {'F / C':>7s} {'max |Δ logits|':>15s}")
    for backend in ARGS.backends:
        with mg.backend(backend), mg.no_grad():
            def run(arrays):
                for p, a in zip(conv, arrays):
                    p.data = a
                return model(ids).logits.data

            t_c = _median_time(lambda: run(f_to_c), ARGS.repeat)
            logits_c = run(f_to_c)
            t_f = _median_time(lambda: run(f_order), ARGS.repeat)
            logits_f = run(f_order)
            diff = float(np.abs(logits_c - logits_f).max())
            print(f"{backend:8s} {t_c * 1e3:8.1f}ms {t_f * 1e3:8.1f}ms {t_f / t_c:7.2f} {diff:15.2e}")
    print(f"the C-order copy at load time: {copy_s * 1e3:.1f} ms for all {len(conv)} weights (once)")


if __name__ == "__main__":
    main()
