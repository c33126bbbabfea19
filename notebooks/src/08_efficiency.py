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

# %% [markdown] lang="en"
# # Lesson 8 · Efficiency: FLOPs, fused attention and kernels (§8 模型效率, 计算成本)
#
# **Chapter section:** §8 总结：未来发展趋势与挑战 names **模型效率的提升** as a trend ("研究人员正在探索更有效率的模型架构和训练方法，
# 以降低大模型的计算成本" — more efficient architectures and training methods to lower the computational
# cost) and **计算成本** (computational cost) as a challenge ("训练和部署大模型需要大量的计算资源"). §2.1 lists
# 强大的计算能力 (GPU and TPU) among the reasons deep learning works at all.
#
# **After this lesson you will be able to**
# - count the floating-point operations (FLOPs) of a matrix product and of a GPT forward
#   pass, and check the count against the matmuls minigrad really runs;
# - explain why attention's memory grows as $T^2$ and derive the online softmax that lets a
#   fused kernel avoid storing the $T \times T$ matrix, with its exact recurrence for $m$, $\ell$ and
#   the output;
# - measure, on small sizes, the NumPy reference against minigrad's Numba CPU kernels (and PyTorch when it
#   is installed), and read the ratios sensibly;
# - read the GPU (numba.cuda) version of the same kernel.
#
# All timings are measured in this notebook on whatever machine runs it, at small sizes, so read the
# *ratios*, not the absolute numbers. The notebook runs in well under a minute on two CPU cores.
#
# Exercises: `lessons/08_efficiency/` (`minigrad lesson check 8`).

# %% [markdown] lang="zh"
# # 第 8 课 · 效率：浮点运算量、融合注意力与计算核（§8 模型效率，计算成本）
#
# **对应章节：** §8 总结：未来发展趋势与挑战，把**模型效率的提升**列为发展趋势——“研究人员正在探索更有效率的模型架构和训练方法，
# 以降低大模型的计算成本”；又把**计算成本**列为挑战——“训练和部署大模型需要大量的计算资源”。§2.1 则把
# 强大的计算能力（GPU 和 TPU）列为深度学习得以成功的原因之一。
#
# **学完本课，你将能够：**
# - 计算矩阵乘法和 GPT 一次前向传播的浮点运算次数（FLOPs），并与 minigrad 实际执行的矩阵乘法逐一核对；
# - 解释注意力的内存为什么随 $T^2$ 增长，推导出在线 softmax——它让融合算子无需存储 $T \times T$ 矩阵——
#   并写出 $m$、$\ell$ 和输出的精确递推式；
# - 在小规模上测量 NumPy 参考实现与 minigrad 的 Numba CPU 计算核（装有 PyTorch 时也包括 PyTorch）的速度，并合理解读它们的比值；
# - 读懂同一计算核的 GPU（numba.cuda）版本。
#
# 所有耗时都是在运行本 notebook 的机器上、以小规模测得的，所以请看*比值*，而不是绝对数值。
# 整个 notebook 在两个 CPU 核上一分钟内即可跑完。
#
# 练习：`lessons/08_efficiency/`（`minigrad lesson check 8`）。

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
from minigrad.i18n import set_language, tr
from minigrad.models.gpt import GPT, GPTConfig
from minigrad.viz import cjk_font

set_language("en")
plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font() or "DejaVu Sans"]   # CJK glyphs for Chinese labels 中文标签
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

# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# ## 1. 计算浮点运算量（计算成本）
#
# $n \times k$ 矩阵与 $k \times m$ 矩阵相乘，要算出 $nm$ 个元素，每个元素需要 $k$ 次乘法和 $k$ 次加法：
#
# $$\mathrm{FLOPs}(AB) = 2\,n\,k\,m .$$
#
# 对于宽度为 $C$、共 $L$ 层、词表大小为 $V$ 的 GPT，在 $T$ 个 token 上，每一层要乘以 q、k、v 投影（$C \to 3C$）、
# 输出投影（$C \to C$）和 MLP（$C \to 4C \to C$），共 $2T \cdot 12C^2$；注意力本身要计算 $QK^\top$ 和 $PV$
# （所有头合计各为 $T \times T \times C$），共 $4T^2C$；语言模型输出头再加上 $2TCV$：
#
# $$\mathrm{FLOPs}_{\text{forward}} = L\,(24\,T C^2 + 4\,T^2 C) + 2\,T C V .$$
#
# 下面把公式与 minigrad 的 GPT 实际执行的每一次矩阵乘法核对（通过包装 NumPy 后端的 `matmul` 来计数）：

# %%
def gpt_flops(V, L, C, T):
    return L * (24 * T * C**2 + 4 * T**2 * C) + 2 * T * C * V      # L(24TC² + 4T²C) + 2TCV


def counted_flops(model, T):
    total, original = [0], numpy_ref.matmul
    def counting(a, b):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        total[0] += 2 * int(np.prod(batch)) * a.shape[-2] * a.shape[-1] * b.shape[-1]   # 2nkm per matrix
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

# %% [markdown] lang="en"
# So a forward pass costs about 2 FLOPs per parameter per token, plus attention's $4T^2C$ per layer, which
# overtakes the $24TC^2$ of the projections once $T > 6C$. Training (forward + backward, the backward
# costing about twice the forward) is about $6N$ FLOPs per token for $N$ parameters: GPT-3 (175 B
# parameters, 300 B tokens) needed about $6 \times 1.75\cdot10^{11} \times 3\cdot10^{11} \approx 3\cdot10^{23}$ FLOPs.

# %% [markdown] lang="zh"
# 可见一次前向传播对每个 token 约花费“每个参数 2 次浮点运算”，再加上每层注意力的 $4T^2C$；当 $T > 6C$ 时，
# 注意力这一项就超过了投影的 $24TC^2$。训练（前向 + 反向，反向的代价约为前向的两倍）对 $N$ 个参数的模型每个 token
# 约需 $6N$ 次浮点运算：GPT-3（1750 亿参数，3000 亿 token）大约需要
# $6 \times 1.75\cdot10^{11} \times 3\cdot10^{11} \approx 3\cdot10^{23}$ 次浮点运算。

# %%
C, L, V = 768, 12, 50257                                        # GPT-2 small
Ts = np.array([128, 256, 512, 1024, 2048, 4096, 8192])
proj = L * 24 * Ts * C**2
attn = L * 4 * Ts**2 * C
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.loglog(Ts, proj / Ts, "o-", label=tr("projections + MLP ($24TC^2$ per layer)", "投影 + MLP（每层 24TC²）"))
ax.loglog(Ts, attn / Ts, "o-", label=tr("attention scores and values ($4T^2C$ per layer)",
                                        "注意力分数与加权求和（每层 4T²C）"))
ax.loglog(Ts, 2 * Ts * C * V / Ts, "o-", label=tr("language-model head ($2TCV$)", "语言模型输出头（2TCV）"))
ax.axvline(6 * C, ls="--", c="gray"); ax.text(6 * C * 1.05, 1e8, "T = 6C", color="gray")
ax.set_xlabel(tr("context length T", "上下文长度 T")); ax.set_ylabel(tr("FLOPs per token", "每个 token 的 FLOPs"))
ax.legend(fontsize=8)
ax.set_title(tr("GPT-2 small forward: where the FLOPs go", "GPT-2 small 前向传播：浮点运算花在哪里"))
plt.tight_layout(); plt.show()
print(f"GPT-2 small on 1024 tokens: {gpt_flops(V, L, C, 1024) / 1e12:.2f} TFLOP per forward pass")

# %% [markdown] lang="en"
# ## 2. Attention's memory, and the online softmax
#
# The reference attention (`numpy_ref.attention_forward`, §4.1) builds the score matrix
# $S = QK^\top/\sqrt{d}$ and $P = \mathrm{softmax}(S)$ for every head: $T \times S$ numbers, whose memory grows
# as $T^2$ although the output is only $T \times d$. Measured with `tracemalloc` (N = batch × heads = 8, d = 32):

# %% [markdown] lang="zh"
# ## 2. 注意力的内存与在线 softmax
#
# 参考实现的注意力（`numpy_ref.attention_forward`，§4.1 自注意力机制）会为每个头构造分数矩阵 $S = QK^\top/\sqrt{d}$
# 和 $P = \mathrm{softmax}(S)$：共 $T \times S$ 个数，内存随 $T^2$ 增长，而输出只有 $T \times d$。
# 用 `tracemalloc` 测量（N = 批大小 × 头数 = 8，d = 32）：

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

# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# 融合算子从不存储 $P$：它逐块访问键，并为每个查询行维护三个滚动量：迄今为止的最大分数 $m$、归一化因子 $\ell$
# （softmax 的分母，以 $m$ 为基准）和未归一化的输出 $o$。处理完第 $1..j$ 块键之后，以下不变式成立：
#
# $$m^{(j)} = \max_{s \le j} x_s, \qquad \ell^{(j)} = \sum_{s \le j} e^{x_s - m^{(j)}}, \qquad o^{(j)} = \sum_{s \le j} e^{x_s - m^{(j)}} v_s ,$$
#
# 其中 $x_s$ 是某一查询行的分数。来了新的一块分数 $S^{(j)}$ 及其值 $V_j$ 之后，不变式依然成立，因为把旧的项改用新的最大值
# 作基准，相当于给它们乘上 $e^{m^{(j-1)} - m^{(j)}}$：
#
# $$m^{(j)} = \max\!\big(m^{(j-1)}, \max S^{(j)}\big), \qquad
# \ell^{(j)} = e^{m^{(j-1)} - m^{(j)}}\,\ell^{(j-1)} + \sum e^{S^{(j)} - m^{(j)}}, \qquad
# o^{(j)} = e^{m^{(j-1)} - m^{(j)}}\,o^{(j-1)} + e^{S^{(j)} - m^{(j)}}\,V_j .$$
#
# 最后公共因子 $e^{-m}$ 相互抵消，于是 $o/\ell = \sum_s \frac{e^{x_s}}{\sum_{s'} e^{x_{s'}}} v_s$ 恰好就是
# softmax 加权的注意力，而且每个指数都 $\le 1$（不会溢出）。计算核只为每一行保存 $L = m + \log \ell$（即 logsumexp），
# 供反向传播使用，反向时再重新算出 $P = e^{S - L}$。下面用 NumPy 对单个查询行、每块 4 个键演示一遍：

# %%
T, d = 10, 8
q, k, v = rng.standard_normal((1, d)), rng.standard_normal((T, d)) * 3, rng.standard_normal((T, 5))
x = (q @ k.T / math.sqrt(d))[0]                                  # the row's scores (T,)  该行的分数

m, l, o = -np.inf, 0.0, np.zeros(5)
for j0 in range(0, T, 4):
    s_blk, v_blk = x[j0:j0 + 4], v[j0:j0 + 4]
    m_new = max(m, s_blk.max())                                  # m⁽ʲ⁾
    alpha = math.exp(m - m_new)                                  # e^(m⁽ʲ⁻¹⁾ − m⁽ʲ⁾), 0 at the start  开始时为 0
    p = np.exp(s_blk - m_new)
    l = alpha * l + p.sum()                                      # ℓ⁽ʲ⁾
    o = alpha * o + p @ v_blk                                    # o⁽ʲ⁾
    m = m_new
    print(f"keys {j0}..{min(j0 + 4, T) - 1}: m = {m:6.3f}, ℓ = {l:7.4f}")

full = np.exp(x - x.max()) / np.exp(x - x.max()).sum() @ v      # softmax(x) V, all at once  一次算完
ref, lse = numpy_ref.attention_forward(q[None], k[None], v[None], None, False, 1 / math.sqrt(d))
print("blockwise o/ℓ:      ", o / l)
print("full softmax:       ", full)
print("numpy_ref:          ", ref[0, 0], "  logsumexp", lse[0, 0], "= m + log ℓ =", m + math.log(l))

# %% [markdown] lang="en"
# ## 3. The kernels, measured (NumPy reference vs Numba vs PyTorch)
#
# minigrad's kernels sit behind names (`matmul`, `softmax`, `attention_forward`, ...), one module per backend:
# `numpy_ref` (readable, the reference), `numba_cpu` + `numba_attention` (compiled with `@njit`, fused
# attention with the recurrence above, tiles of 64 queries × 128 keys, parallel over heads and query
# blocks), and `cuda` (section 4). The heart of the Numba forward, one block of key columns for a block
# of query rows:

# %% [markdown] lang="zh"
# ## 3. 实测计算核（NumPy 参考实现 vs Numba vs PyTorch）
#
# minigrad 的计算核都以名字（`matmul`、`softmax`、`attention_forward` ……）对外提供，每个后端一个模块：
# `numpy_ref`（易读，作为参考实现）；`numba_cpu` + `numba_attention`（用 `@njit` 编译，按上面的递推式实现融合注意力，
# 分块为 64 个查询 × 128 个键，在头和查询块上并行）；以及 `cuda`（第 4 节）。下面是 Numba 前向计算的核心部分：
# 对一块查询行处理一块键列：

# %%
from minigrad.backends import numba_attention

src = inspect.getsource(numba_attention._forward_rows)
lines = src.splitlines()
start = next(i for i, s in enumerate(lines) if "for j0 in range" in s)
print("\n".join(lines[start:start + 38]))

# %% [markdown] lang="en"
# Numba compiles a kernel the first time it is called (just-in-time, JIT) and caches the machine code on
# disk, so the first call can take seconds and later ones (and later runs) do not. Timing the first call
# separately, then the best of 5 runs, for causal attention with N = 8 heads, d = 32, float32:

# %% [markdown] lang="zh"
# Numba 在第一次调用时即时编译（JIT）计算核，并把机器码缓存到磁盘上，所以第一次调用可能要几秒钟，之后的调用
# （以及之后的运行）就不需要了。下面先单独计时第一次调用，再对因果注意力（N = 8 个头，d = 32，float32）取 5 次运行中最快的一次：

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
ax.set_ylabel(tr("ms (best of 5, 1 thread)", "毫秒（5 次取最快，单线程）")); ax.set_yscale("log"); ax.legend()
ax.set_title(tr("causal attention forward, 8 heads, d = 32, float32", "因果注意力前向，8 个头，d = 32，float32"))
plt.tight_layout(); plt.show()

# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# 如何解读：上面打印的比值只在这台机器、这些小规模、单线程的条件下成立。这里融合计算核比 NumPy 参考实现快好几倍，
# 因为它跳过了因果矩阵中被遮住的那一半，从不把 $P$ 写入内存，并且在能留在缓存里的小块上计算；而 NumPy 在好几个步骤
# （分数、掩码、指数、归一化）中都要构造一个 $T \times T$ 的临时数组。（在繁忙的机器上用多线程时，并行计算核在最小的规模下
# 可能反而更慢：启动和同步线程的开销比计算本身还大。）PyTorch 的 CPU 计算核是用带向量化指令的 C++ 写的，与它比肩不是本课的目标。
# `python benchmarks/bench_kernels.py` 会测量更多的计算核和规模。内存是另一半收益：上面参考实现的峰值内存随 $T^2$ 增长，
# 而融合计算核的额外内存只是每个线程一个分块（$64 \times 128$ 个浮点数）再加上 $L$。

# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# ## 3b. 完整的一步训练：融合逐元素计算核与内存
#
# 注意力只是一步训练中的一部分，其余是矩阵乘法和逐元素运算。如果用引擎的基本算子来写，GELU（§3.1）前向约需十个小算子、
# 反向约十五个，每个都要遍历一遍形状为（批大小, token 数, 4·宽度）的数组，并各自产生一个临时数组；LayerNorm 也类似。
# 在 numpy 和 numba 后端上，`F.gelu` 和 `F.layer_norm` 改为执行一个**融合**算子（`minigrad/ops/fused.py`）：
# 前向一个计算核，反向一个计算核，其导数在 `backends/numpy_ref.py` 中显式写出。用基本算子表达的公式保留在
# `F.gelu_composite` 中，求二阶导数（`create_graph=True`）时对它求导。下面在 numba 后端上，针对 GPT 中一个 MLP 激活，
# 统计两者的计算图节点数并计时：

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

# %% [markdown] lang="en"
# The second lesson of the training step is about memory, not arithmetic. A step makes hundreds of
# temporaries of 0.1–20 MB and frees them moments later. By default the C library's `malloc` returns
# such blocks to the operating system on `free`, so the next temporary gets fresh pages, and the first
# write to each 4 KiB page is a *page fault*: on the machine this was written on, a GPT step took
# 34,000 of them and ran twice as slowly as it needed to. `minigrad/memory.py` asks `malloc` (through
# `mallopt`) to keep freed blocks for reuse; the counter below is the operating system's count of page
# faults of this process while it allocates and frees 30 arrays of 1.5 MB, ten times:

# %% [markdown] lang="zh"
# 训练步的第二个教训关乎内存，而不是算术。一步训练会创建数百个 0.1–20 MB 的临时数组，又在片刻之后释放。默认情况下，
# C 库的 `malloc` 在 `free` 时会把这样的内存块还给操作系统，于是下一个临时数组拿到的是全新的内存页，而对每个 4 KiB
# 页面的第一次写入都会触发一次*缺页异常*：在编写本课的机器上，一步 GPT 训练触发了 34,000 次，速度因此慢了一倍。
# `minigrad/memory.py` 通过 `mallopt` 让 `malloc` 保留已释放的内存块以便复用；下面的计数器是操作系统统计的本进程缺页次数，
# 期间反复分配并释放 30 个 1.5 MB 的数组，共十轮：

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

# %% [markdown] lang="en"
# With matrix products in Numba's thread pool, fused attention, fused GELU / LayerNorm / Linear / AdamW
# and memory reuse, minigrad's GPT step runs at about PyTorch's speed on this machine's CPU
# (`benchmarks/bench_train.py`; the table and what each change bought are in `benchmarks/README.md`).

# %% [markdown] lang="zh"
# 矩阵乘法放进 Numba 的线程池，加上融合注意力、融合的 GELU / LayerNorm / Linear / AdamW 以及内存复用，
# minigrad 的 GPT 训练步在这台机器的 CPU 上跑得与 PyTorch 差不多快（`benchmarks/bench_train.py`；
# 结果表以及每项改动带来的收益见 `benchmarks/README.md`）。

# %% [markdown] lang="en"
# ## 4. The GPU kernels (numba.cuda)
#
# `minigrad/backends/cuda.py` holds the same names for an NVIDIA GPU, written with `numba.cuda`: a thread
# block handles a block of queries (one thread per query row), the threads load a tile of keys and values
# into shared memory together, and each thread runs the online softmax over the tile. There is no GPU
# here, so the notebook only reads the source (importing the backend without a GPU raises
# `BackendUnavailable` with advice). The update is the recurrence of section 2, one key at a time:

# %% [markdown] lang="zh"
# ## 4. GPU 计算核（numba.cuda）
#
# `minigrad/backends/cuda.py` 用 `numba.cuda` 为 NVIDIA GPU 实现了同名的计算核：一个线程块负责一块查询（每个查询行一个线程），
# 块内线程一起把一块键和值载入共享内存，然后每个线程在这块数据上执行在线 softmax。这里没有 GPU，所以 notebook 只读源代码
# （在没有 GPU 的机器上导入该后端会抛出 `BackendUnavailable`，并附上建议）。其中的更新就是第 2 节的递推式，每次处理一个键：

# %%
cuda_src = (Path(backends.__file__).parent / "cuda.py").read_text(encoding="utf-8")
tree = ast.parse(cuda_src)
fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_attention_forward_kernel")
kernel_lines = cuda_src.splitlines()[fn.lineno - 2:fn.end_lineno]
i = next(i for i, s in enumerate(kernel_lines) if "for j0 in range" in s)
end = next(j for j in range(i + 1, len(kernel_lines)) if kernel_lines[j].strip() == "cuda.syncthreads()"
           and kernel_lines[j].startswith(" " * 12) and not kernel_lines[j].startswith(" " * 13)
           and j > i + 10)                                         # the loop's closing barrier
print("\n".join(kernel_lines[:12] + ["        ..."] + kernel_lines[i:end + 1]))
print("\ncan the cuda backend run here?", backends.usable("cuda"))

# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# 没有 GPU 时，仍然可以借助 Numba 的 CUDA 模拟器*运行*这些计算核（很慢，只适合极小的形状）：用 `NUMBA_ENABLE_CUDASIM=1`
# 启动 Python 即可；`tests/test_kernels_cuda.py` 就是这样在只有 CPU 的机器上把它们与 NumPy 参考实现对照的，
# 而 `python benchmarks/gpu_check.py` 则在真实的 GPU 上做比较。
#
# ## 小结
#
# | 概念 | 公式 | minigrad |
# |---|---|---|
# | 矩阵乘法的代价 | $2nkm$ 次浮点运算 | `numpy_ref.matmul`、`numba_cpu.matmul` |
# | GPT 前向传播的代价 | $L(24TC^2 + 4T^2C) + 2TCV$ | `GPT`，上文已实测计数 |
# | 在线 softmax | $m^{(j)}, \ell^{(j)}, o^{(j)}$ 的递推；$O = o/\ell$，$L = m + \log\ell$ | `numba_attention._forward_rows`、`cuda._attention_forward_kernel` |
# | 选择计算核 | 同样的名字，换一个后端 | `mg.set_backend("numba")`、`with mg.backend("numpy"):` |
#
# **练习**（`lessons/08_efficiency/`，`minigrad lesson check 8`）：任务 8.1 在线 softmax 的更新；任务 8.2 与参考实现一致的分块注意力
# （含因果掩码）；任务 8.3 矩阵乘法的浮点运算量；任务 8.4 GPT 前向传播的浮点运算量。下一课（第 9 课）：深入模型内部（§8 可解释性）。

# %%
print(f"notebook ran in {time.perf_counter() - T0:.0f} s")
