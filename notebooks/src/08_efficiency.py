# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 8 · Efficiency: FLOPs, fused attention and kernels (§8 模型效率, 计算成本)
#
# **Chapter section:** §8 总结：未来发展趋势与挑战 names **模型效率的提升** as a trend ("研究人员正在探索更有效率的模型架构和训练方法，
# 以降低大模型的计算成本" — more efficient architectures and training methods to lower the computational
# cost) and **计算成本** (computational cost) as a challenge ("训练和部署大模型需要大量的计算资源"). §2.1 lists
# 强大的计算能力 (GPU and TPU) among the reasons deep learning works at all.
#
# **After this lesson you will be able to**
# - count the floating-point operations (FLOPs, 浮点运算次数) of a matrix product and of a GPT forward
#   pass, and check the count against the matmuls minigrad really runs;
# - explain why attention's memory grows as $T^2$ and derive the online softmax (在线 softmax) that lets a
#   fused kernel (融合算子) avoid storing the $T \times T$ matrix, with its exact recurrence for $m$, $\ell$ and
#   the output;
# - measure, on small sizes, the NumPy reference against minigrad's Numba CPU kernels (and PyTorch when it
#   is installed), and read the ratios sensibly;
# - read the GPU (numba.cuda) version of the same kernel.
#
# All timings are measured in this notebook on whatever machine runs it, at small sizes, so read the
# *ratios*, not the absolute numbers. The notebook runs in well under a minute on two CPU cores.
#
# Exercises: `lessons/08_efficiency/` (`minigrad lesson check 8`).

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # fair single-threaded BLAS for every contender
# %matplotlib inline
import ast
import inspect
import math
import time
import tracemalloc
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad import backends
from minigrad.backends import numpy_ref
from minigrad.models.gpt import GPT, GPTConfig

mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=4, suppress=True)
T0 = time.perf_counter()


def best_time(fn, repeat=5):
    """The fastest of `repeat` runs, in milliseconds (the least disturbed by other work)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * min(times)

# %% [markdown]
# ## 1. Counting FLOPs (计算成本)
#
# A product of an $n \times k$ and a $k \times m$ matrix computes $nm$ entries, each with $k$ multiplications
# and $k$ additions:
#
# $$\mathrm{FLOPs}(AB) = 2\,n\,k\,m .$$
#
# In a GPT with width $C$, $L$ layers, vocabulary $V$, on $T$ tokens, each layer multiplies by the q, k, v
# projections ($C \to 3C$), the output projection ($C \to C$) and the MLP ($C \to 4C \to C$): $2T \cdot 12C^2$;
# attention itself computes $QK^\top$ and $PV$ (all heads together $T \times T \times C$ each): $4T^2C$; the
# language-model head adds $2TCV$:
#
# $$\mathrm{FLOPs}_{\text{forward}} = L\,(24\,T C^2 + 4\,T^2 C) + 2\,T C V .$$
#
# Checking it against every matmul minigrad's GPT actually runs (counted by wrapping the NumPy backend's
# `matmul`):

# %%
def gpt_flops(V, L, C, T):
    return L * (24 * T * C**2 + 4 * T**2 * C) + 2 * T * C * V


def counted_flops(model, T):
    total, original = [0], numpy_ref.matmul
    def counting(a, b):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        total[0] += 2 * int(np.prod(batch)) * a.shape[-2] * a.shape[-1] * b.shape[-1]
        return original(a, b)
    numpy_ref.matmul = counting
    try:
        with mg.no_grad():
            model(np.zeros((1, T), dtype=np.int64))
    finally:
        numpy_ref.matmul = original
    return total[0]


for V, L, C, T in ((65, 2, 64, 32), (500, 4, 128, 100)):
    model = GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=4, n_embd=C, block_size=128))
    print(f"V={V}, L={L}, C={C}, T={T}: formula {gpt_flops(V, L, C, T):>12,}   counted {counted_flops(model, T):>12,}"
          f"   (≈ 2 × parameters × T = {2 * model.num_parameters() * T:,})")

# %% [markdown]
# So a forward pass costs about 2 FLOPs per parameter per token, plus attention's $4T^2C$ per layer, which
# overtakes the $24TC^2$ of the projections once $T > 6C$. Training (forward + backward, the backward
# costing about twice the forward) is about $6N$ FLOPs per token for $N$ parameters: GPT-3 (175 B
# parameters, 300 B tokens) needed about $6 \times 1.75\cdot10^{11} \times 3\cdot10^{11} \approx 3\cdot10^{23}$ FLOPs.

# %%
C, L, V = 768, 12, 50257                                        # GPT-2 small
Ts = np.array([128, 256, 512, 1024, 2048, 4096, 8192])
proj = L * 24 * Ts * C**2
attn = L * 4 * Ts**2 * C
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.loglog(Ts, proj / Ts, "o-", label="projections + MLP ($24TC^2$ per layer)")
ax.loglog(Ts, attn / Ts, "o-", label="attention scores and values ($4T^2C$ per layer)")
ax.loglog(Ts, 2 * Ts * C * V / Ts, "o-", label="language-model head ($2TCV$)")
ax.axvline(6 * C, ls="--", c="gray"); ax.text(6 * C * 1.05, 1e8, "T = 6C", color="gray")
ax.set_xlabel("context length T"); ax.set_ylabel("FLOPs per token"); ax.legend(fontsize=8)
ax.set_title("GPT-2 small forward: where the FLOPs go")
plt.tight_layout(); plt.show()
print(f"GPT-2 small on 1024 tokens: {gpt_flops(V, L, C, 1024) / 1e12:.2f} TFLOP per forward pass")

# %% [markdown]
# ## 2. Attention's memory, and the online softmax (在线 softmax)
#
# The reference attention (`numpy_ref.attention_forward`, §4.1) builds the score matrix
# $S = QK^\top/\sqrt{d}$ and $P = \mathrm{softmax}(S)$ for every head: $T \times S$ numbers, whose memory grows
# as $T^2$ although the output is only $T \times d$. Measured with `tracemalloc` (N = batch × heads = 8, d = 32):

# %%
def peak_mib(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


rng = np.random.default_rng(0)
lengths = [128, 256, 512, 1024]
ref_mem, out_mem = [], []
for T in lengths:
    q, k, v = (rng.standard_normal((8, T, 32)).astype(np.float32) for _ in range(3))
    ref_mem.append(peak_mib(lambda: numpy_ref.attention_forward(q, k, v, None, True, 1 / math.sqrt(32))))
    out_mem.append((8 * T * 32 + 8 * T) * 4 / 2**20)            # what a fused kernel must keep: O and L
for T, a, b in zip(lengths, ref_mem, out_mem):
    print(f"T = {T:5d}: reference peak {a:7.1f} MiB   output O + logsumexp L {b:5.2f} MiB")

# %% [markdown]
# A fused kernel never stores $P$: it visits the keys block by block and keeps, for every query row, three
# running quantities: the maximum score so far $m$, the normaliser $\ell$ (the softmax's denominator,
# measured against $m$) and the unnormalised output $o$. After the key blocks $1..j$ the invariant is
#
# $$m^{(j)} = \max_{s \le j} x_s, \qquad \ell^{(j)} = \sum_{s \le j} e^{x_s - m^{(j)}}, \qquad o^{(j)} = \sum_{s \le j} e^{x_s - m^{(j)}} v_s ,$$
#
# where $x_s$ are the scores of one query row. A new block $S^{(j)}$ with values $V_j$ keeps it true, because
# re-measuring old terms against a new maximum multiplies them by $e^{m^{(j-1)} - m^{(j)}}$:
#
# $$m^{(j)} = \max\!\big(m^{(j-1)}, \max S^{(j)}\big), \qquad
# \ell^{(j)} = e^{m^{(j-1)} - m^{(j)}}\,\ell^{(j-1)} + \sum e^{S^{(j)} - m^{(j)}}, \qquad
# o^{(j)} = e^{m^{(j-1)} - m^{(j)}}\,o^{(j-1)} + e^{S^{(j)} - m^{(j)}}\,V_j .$$
#
# At the end the common factor $e^{-m}$ cancels, so $o/\ell = \sum_s \frac{e^{x_s}}{\sum_{s'} e^{x_{s'}}} v_s$ is
# exactly softmax-weighted attention, and every exponential is $\le 1$ (no overflow). The kernel saves only
# $L = m + \log \ell$ per row (the logsumexp) for the backward pass, which recomputes $P = e^{S - L}$.
# In NumPy for one query row, blocks of 4 keys:

# %%
T, d = 10, 8
q, k, v = rng.standard_normal((1, d)), rng.standard_normal((T, d)) * 3, rng.standard_normal((T, 5))
x = (q @ k.T / math.sqrt(d))[0]                                  # the row's scores (T,)

m, l, o = -np.inf, 0.0, np.zeros(5)
for j0 in range(0, T, 4):
    s_blk, v_blk = x[j0:j0 + 4], v[j0:j0 + 4]
    m_new = max(m, s_blk.max())                                  # m⁽ʲ⁾
    alpha = math.exp(m - m_new)                                  # e^(m⁽ʲ⁻¹⁾ − m⁽ʲ⁾), 0 at the start
    p = np.exp(s_blk - m_new)
    l = alpha * l + p.sum()                                      # ℓ⁽ʲ⁾
    o = alpha * o + p @ v_blk                                    # o⁽ʲ⁾
    m = m_new
    print(f"keys {j0}..{min(j0 + 4, T) - 1}: m = {m:6.3f}, ℓ = {l:7.4f}")

full = np.exp(x - x.max()) / np.exp(x - x.max()).sum() @ v      # softmax(x) V, all at once
ref, lse = numpy_ref.attention_forward(q[None], k[None], v[None], None, False, 1 / math.sqrt(d))
print("blockwise o/ℓ:      ", o / l)
print("full softmax:       ", full)
print("numpy_ref:          ", ref[0, 0], "  logsumexp", lse[0, 0], "= m + log ℓ =", m + math.log(l))

# %% [markdown]
# ## 3. The kernels, measured (NumPy reference vs Numba vs PyTorch)
#
# minigrad's kernels sit behind names (`matmul`, `softmax`, `attention_forward`, ...), one module per backend:
# `numpy_ref` (readable, the reference), `numba_cpu` + `numba_attention` (compiled with `@njit`, fused
# attention with the recurrence above, tiles of 64 queries × 128 keys, parallel over heads and query
# blocks), and `cuda` (section 4). The heart of the Numba forward, one block of key columns for a block
# of query rows:

# %%
from minigrad.backends import numba_attention

src = inspect.getsource(numba_attention._forward_rows)
lines = src.splitlines()
start = next(i for i, s in enumerate(lines) if "for j0 in range" in s)
print("\n".join(lines[start:start + 38]))

# %% [markdown]
# Numba compiles a kernel the first time it is called (just-in-time, JIT) and caches the machine code on
# disk, so the first call can take seconds and later ones (and later runs) do not. Timing the first call
# separately, then the best of 5 runs, for causal attention with N = 8 heads, d = 32, float32:

# %%
t = time.perf_counter()
numba_cpu = backends.get("numba")                               # imports Numba and the kernels
q = rng.standard_normal((8, 256, 32)).astype(np.float32)
numba_cpu.attention_forward(q, q, q, None, True, 0.17)
numba_cpu.matmul(q, q.transpose(0, 2, 1).copy())
print(f"first use of the Numba backend (import + compile or load from cache): {time.perf_counter() - t:.1f} s")

import numba
numba.set_num_threads(1)                                        # one thread for every contender
try:
    import torch
    torch.set_num_threads(1)
except ImportError:
    torch = None
    print("PyTorch is not installed: its column is skipped")

rows = []
for T in (128, 256, 512):
    q, k, v = (rng.standard_normal((8, T, 32)).astype(np.float32) for _ in range(3))
    out_ref, _ = numpy_ref.attention_forward(q, k, v, None, True, 1 / math.sqrt(32))
    out_nb, _ = numba_cpu.attention_forward(q, k, v, None, True, 1 / math.sqrt(32))
    row = {"T": T, "max |numba − numpy|": float(np.abs(out_nb - out_ref).max()),
           "numpy ms": best_time(lambda: numpy_ref.attention_forward(q, k, v, None, True, 1 / math.sqrt(32))),
           "numba ms": best_time(lambda: numba_cpu.attention_forward(q, k, v, None, True, 1 / math.sqrt(32)))}
    if torch is not None:
        tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
        sdpa = torch.nn.functional.scaled_dot_product_attention
        row["torch ms"] = best_time(lambda: sdpa(tq, tk, tv, is_causal=True))
    rows.append(row)
for r in rows:
    print("  ".join(f"{k_} {v_:.3g}" if isinstance(v_, float) else f"{k_} {v_}" for k_, v_ in r.items()),
          f"   numpy/numba = {r['numpy ms'] / r['numba ms']:.1f}×")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.4))
names = [n for n in ("numpy ms", "numba ms", "torch ms") if n in rows[0]]
for i, name in enumerate(names):
    ax.bar(np.arange(len(rows)) + (i - 1) * 0.27, [r[name] for r in rows], width=0.27, label=name[:-3])
ax.set_xticks(range(len(rows))); ax.set_xticklabels([f"T = {r['T']}" for r in rows])
ax.set_ylabel("ms (best of 5, 1 thread)"); ax.set_yscale("log"); ax.legend()
ax.set_title("causal attention forward, 8 heads, d = 32, float32")
plt.tight_layout(); plt.show()

# %% [markdown]
# How to read this: the ratios printed above hold on this machine, at these small sizes, with one thread.
# Here the fused kernel is several times faster than the NumPy reference, because it skips the masked
# half of a causal matrix, never writes $P$ to memory and works on tiles that stay in the cache, while
# NumPy builds a $T \times T$ temporary at each of several steps (scores, mask, exponentials,
# normalisation). (With several threads on a busy machine, the parallel kernel can lose at the smallest
# sizes: starting and synchronising threads costs more than the work.)
# PyTorch's CPU kernel is written in C++ with vectorised intrinsics; matching it is not the goal here.
# `python benchmarks/bench_kernels.py` measures more kernels and sizes.
# Memory is the other half of the gain: the reference's peak above grows as $T^2$, the fused kernel's
# extra memory is one tile per thread ($64 \times 128$ floats) plus $L$.

# %% [markdown]
# ## 3b. A whole training step: fused element-wise kernels, and memory
#
# Attention is one part of a training step. The others are matrix products and element-wise work.
# Written from engine ops, GELU (§3.1) is about ten small ops forward and fifteen backward, each a
# pass over a (batch, tokens, 4·width) array with a temporary of its own; LayerNorm is similar. On the
# numpy and numba backends `F.gelu` and `F.layer_norm` run one **fused** op instead
# (`minigrad/ops/fused.py`): one kernel forward, one backward, whose derivative is written out in
# `backends/numpy_ref.py`. The formula as engine ops stays in `F.gelu_composite` and is what a second
# derivative differentiates (`create_graph=True`). Count the graph nodes and time both, on the numba
# backend, for one GPT MLP activation:

# %%
import minigrad.nn.functional as F


def graph_size(t):
    """Number of op nodes behind tensor t."""
    seen, stack = set(), [t._node]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(getattr(x, "_node", None) for x in node.inputs)
    return len(seen)


h = mg.tensor(rng.standard_normal((12, 64, 512)).astype(np.float32), requires_grad=True)
with mg.backend("numba"):
    fused_y, composite_y = F.gelu(h, "tanh"), F.gelu_composite(h, "tanh")
    print("graph nodes: fused", graph_size(fused_y), "  composite", graph_size(composite_y))
    print("max |fused - composite| =", float(np.abs(fused_y.numpy() - composite_y.numpy()).max()))
    for name, fn in (("fused", lambda: F.gelu(h, "tanh").sum().backward()),
                     ("composite", lambda: F.gelu_composite(h, "tanh").sum().backward())):
        print(f"{name:9s} forward + backward: {best_time(fn):6.2f} ms")

# %% [markdown]
# The second lesson of the training step is about memory, not arithmetic. A step makes hundreds of
# temporaries of 0.1–20 MB and frees them moments later. By default the C library's `malloc` returns
# such blocks to the operating system on `free`, so the next temporary gets fresh pages, and the first
# write to each 4 KiB page is a *page fault*: on the machine this was written on, a GPT step took
# 34,000 of them and ran twice as slowly as it needed to. `minigrad/memory.py` asks `malloc` (through
# `mallopt`) to keep freed blocks for reuse; the counter below is the operating system's count of page
# faults of this process while it allocates and frees 30 arrays of 1.5 MB, ten times:

# %%
import resource


def faults_while_allocating(rounds=10):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        temporaries = [np.ones((12, 64, 512), np.float32) * 2.0 for _ in range(30)]
        del temporaries
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


print("malloc keeps freed memory (minigrad.memory):", mg.memory.malloc_tuned())
print("page faults for 300 arrays of 1.5 MB:", faults_while_allocating(),
      "\n(about 115,000 when every array gets fresh pages, as with MINIGRAD_MALLOC=system; with reuse"
      "\n only memory the process has not used before faults)")

# %% [markdown]
# With matrix products in Numba's thread pool, fused attention, fused GELU / LayerNorm / Linear / AdamW
# and memory reuse, minigrad's GPT step runs at about PyTorch's speed on this machine's CPU
# (`benchmarks/bench_train.py`; the table and what each change bought are in `benchmarks/README.md`).
#
# %% [markdown]
# ## 4. The GPU kernels (numba.cuda)
#
# `minigrad/backends/cuda.py` holds the same names for an NVIDIA GPU, written with `numba.cuda`: a thread
# block handles a block of queries (one thread per query row), the threads load a tile of keys and values
# into shared memory together, and each thread runs the online softmax over the tile. There is no GPU
# here, so the notebook only reads the source (importing the backend without a GPU raises
# `BackendUnavailable` with advice). The update is the recurrence of section 2, one key at a time:

# %%
cuda_src = (Path(backends.__file__).parent / "cuda.py").read_text(encoding="utf-8")
tree = ast.parse(cuda_src)
fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_attention_forward_kernel")
kernel_lines = cuda_src.splitlines()[fn.lineno - 2:fn.end_lineno]
i = next(i for i, s in enumerate(kernel_lines) if "for j0 in range" in s)
print("\n".join(kernel_lines[:12] + ["        ..."] + kernel_lines[i:i + 30]))
print("\ncan the cuda backend run here?", backends.usable("cuda"))

# %% [markdown]
# Without a GPU the kernels can still be *run* (slowly, tiny shapes only) by Numba's CUDA simulator: start
# Python with `NUMBA_ENABLE_CUDASIM=1`; that is how `tests/test_kernels_cuda.py` checks them against the NumPy
# reference on a CPU-only machine, and `python benchmarks/gpu_check.py` compares them on a real GPU.
#
# ## Summary
#
# | idea | formula | minigrad |
# |---|---|---|
# | cost of a matmul | $2nkm$ FLOPs | `numpy_ref.matmul`, `numba_cpu.matmul` |
# | cost of a GPT forward | $L(24TC^2 + 4T^2C) + 2TCV$ | `GPT`, counted above |
# | online softmax | $m^{(j)}, \ell^{(j)}, o^{(j)}$ recurrence; $O = o/\ell$, $L = m + \log\ell$ | `numba_attention._forward_rows`, `cuda._attention_forward_kernel` |
# | choosing kernels | same names, another backend | `mg.set_backend("numba")`, `with mg.backend("numpy"):` |
#
# **Exercises** (`lessons/08_efficiency/`, `minigrad lesson check 8`): Task 8.1 the online-softmax update,
# Task 8.2 blockwise attention equal to the reference (with a causal mask), Task 8.3 the FLOPs of a
# matmul, Task 8.4 the FLOPs of a GPT forward pass. Next (lesson 9): looking inside the model (§8 可解释性).

# %%
print(f"notebook ran in {time.perf_counter() - T0:.0f} s")
