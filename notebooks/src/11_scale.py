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
# # Lesson 11 · Training at scale (§8 模型规模 / 计算成本, §9.1)
#
# **Chapter sections:** §9.1 says large models have "数十亿甚至数万亿参数" and are trained "在海量数据上";
# §8 names model scale and compute cost as the field's themes. This lesson counts what that scale costs
# (parameters, activations, optimizer state, FLOPs), runs the techniques that spread it over many
# machines (data parallelism with MPI, ring all-reduce, ZeRO, activation checkpointing) on two processes
# here, and measures a scaling law on 全唐诗.
#
# **After this lesson you will be able to**
# - count the parameters, optimizer-state bytes and activation bytes of GPT-2 small … GPT-3 175B;
# - estimate training compute with C ≈ 6·N·D and check it against the matrix products of a real model;
# - run data-parallel training with 2 MPI processes and see that it gives the one-process numbers;
# - explain the 2(N−1)/N × bytes cost of a ring all-reduce, and what ZeRO-1 and checkpointing save;
# - fit L(N) = E + A/N^α to measured losses and say why its exponent differs from Kaplan's and Chinchilla's.
#
# Runs in about a minute on two CPU cores. Exercises: `lessons/11_scale/` (`minigrad lesson check 11`).

# %% [markdown] lang="zh"
# # 第 11 课 · 大规模训练（§8 模型规模 / 计算成本，§9.1）
#
# **对应章节：** §9.1 说大模型拥有“数十亿甚至数万亿参数”，并且“在海量数据上”训练；§8 把模型规模和计算成本列为
# 这一领域的主题。本课先算清这种规模的代价（参数、激活值、优化器状态、浮点运算量），再在本机用两个进程运行把它分摊到
# 多台机器上的技术（基于 MPI 的数据并行、环形 all-reduce、ZeRO、激活检查点），最后在全唐诗上测量一条缩放定律。
#
# **学完本课，你将能够：**
# - 计算 GPT-2 small 到 GPT-3 175B 的参数量、优化器状态字节数和激活值字节数；
# - 用 C ≈ 6·N·D 估计训练计算量，并与真实模型的矩阵乘法核对；
# - 用 2 个 MPI 进程做数据并行训练，并看到它与单进程得到相同的数值；
# - 解释环形 all-reduce 的 2(N−1)/N × 字节数代价，以及 ZeRO-1 和激活检查点各省下了什么；
# - 用测得的损失拟合 L(N) = E + A/N^α，并说明其指数为何与 Kaplan 和 Chinchilla 的不同。
#
# 在两个 CPU 核上约一分钟跑完。练习：`lessons/11_scale/`（`minigrad lesson check 11`）。

# %%
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad.i18n import set_language, tr
from minigrad.models import GPT, GPTConfig
from minigrad.scaling import CHINCHILLA, KAPLAN_ALPHA_N, chinchilla_loss, fit_power_law, non_embedding_parameters
from minigrad.viz import cjk_font

set_language("en")
plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font() or "DejaVu Sans"]   # CJK glyphs  中文字形
mg.manual_seed(0)
RESULTS = Path("..") / "benchmarks" / "results"
T0 = time.perf_counter()

# %% [markdown] lang="en"
# ## 1. What scale costs: parameters, optimizer state, activations
#
# A GPT with L blocks of width C, vocabulary V and context T has V·C + T·C embedding parameters and
# L·(12C² + 13C) + 2C in the blocks (4C² attention, 8C² MLP, biases and LayerNorms). Training with AdamW
# in mixed precision keeps 16 bytes per parameter (2 for bf16 weights, 2 for gradients, 12 for the fp32
# master copy and the two moments; ZeRO paper). Activations kept for backward are about
# T·B·C·(34 + 5·a·T/C) bytes per layer in 16-bit (Korthikanti et al. 2022, a heads), for a batch of B sequences.

# %% [markdown] lang="zh"
# ## 1. 规模的代价：参数、优化器状态、激活值
#
# 一个有 L 个块、宽度 C、词表 V、上下文 T 的 GPT，嵌入层有 V·C + T·C 个参数，各块共有 L·(12C² + 13C) + 2C 个参数
# （注意力 4C²，MLP 8C²，外加偏置和 LayerNorm）。用 AdamW 做混合精度训练，每个参数要保存 16 字节（bf16 权重 2、
# 梯度 2、fp32 主权重和两个矩各 4，共 12；见 ZeRO 论文）。为反向传播保留的激活值，每层约为
# T·B·C·(34 + 5·a·T/C) 字节（16 位；Korthikanti 等 2022，a 为头数），B 为一批的序列数。

# %%
MODELS = {  # name: (layers L, width C, heads a, context T), vocabulary 50257 (GPT-3 paper, table 2.1)
    "GPT-2 small": (12, 768, 12, 1024), "GPT-2 medium": (24, 1024, 16, 1024),
    "GPT-2 large": (36, 1280, 20, 1024), "GPT-2 XL": (48, 1600, 25, 1024),
    "GPT-3 6.7B": (32, 4096, 32, 2048), "GPT-3 175B": (96, 12288, 96, 2048)}
V = 50257


def gpt_parameters(L, C, T, V=V):
    return V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C


def activation_bytes(L, C, a, T, B=1):
    return L * T * B * C * (34 + 5 * a * T / C)        # 16-bit, no checkpointing  16 位、无检查点


# minigrad's own GPT agrees with the formula (GPT-2 small's shapes, counted without building it in full)
small = GPT(GPTConfig(vocab_size=V, n_layer=1, n_embd=768, n_head=12, block_size=1024))
assert small.num_parameters() == gpt_parameters(1, 768, 1024)
print(f"{tr('model', '模型'):>13} | {tr('parameters', '参数'):>10} | {tr('weights bf16', '权重 bf16'):>12} | "
      f"{tr('AdamW state', 'AdamW 状态'):>12} | {tr('activations/seq', '每序列激活'):>15}")
for name, (L, C, a, T) in MODELS.items():
    n = gpt_parameters(L, C, T)
    print(f"{name:>13} | {n / 1e9:9.3f}B | {2 * n / 1e9:9.1f} GB | {16 * n / 1e9:9.1f} GB | "
          f"{activation_bytes(L, C, a, T) / 1e9:12.1f} GB")

# %% [markdown] lang="en"
# GPT-3 175B needs 2.8 TB for its training state alone, 35 GPUs of 80 GB before a single activation:
# that is why the state is sharded (ZeRO, §4 below) and activations are recomputed (§5).
#
# ## 2. Compute: C ≈ 6·N·D
#
# Each weight does one multiply-add per token in the forward (2 FLOPs) and two in the backward (the
# gradient of the input and of the weight: 4 FLOPs), so training on D tokens costs about 6·N·D FLOPs.
# We check it on a small minigrad GPT by **counting from the shapes** of every matrix product it runs
# (each Linear, the attention scores and the weighted sum, the tied output layer), forward × 3 for training.

# %% [markdown] lang="zh"
# GPT-3 175B 光训练状态就要 2.8 TB，一个激活值都还没算就需要 35 块 80 GB 的 GPU：这就是为什么要把状态分片
# （ZeRO，下文第 4 节），并在反向时重算激活值（第 5 节）。
#
# ## 2. 计算量：C ≈ 6·N·D
#
# 每个权重在前向中对每个词元做一次乘加（2 次浮点运算），在反向中做两次（对输入的梯度和对权重的梯度：4 次），
# 所以在 D 个词元上训练约需 6·N·D 次浮点运算。我们在一个小的 minigrad GPT 上核对：**根据形状统计**它执行的每个矩阵乘法
# （每个 Linear、注意力分数和加权求和、共享权重的输出层），训练量取前向的 3 倍。

# %%
from minigrad.nn import Linear

L_, C_, T_, V_ = 4, 128, 64, 4971                      # a scaling-sweep-sized model, the 全唐诗 vocabulary
model = GPT(GPTConfig(vocab_size=V_, n_layer=L_, n_head=4, n_embd=C_, block_size=T_))
linear = sum(2 * m.weight.shape[0] * m.weight.shape[1] for m in model.modules()
             if isinstance(m, Linear) and m is not model.lm_head)         # per token  每个词元
attention = L_ * 2 * (2 * T_ * C_)                    # QKᵀ and A·V per token (dense T×T)  注意力分数与加权求和
head = 2 * C_ * V_                                    # logits  输出层
forward_per_token = linear + attention + head
N_all, N_ne = model.num_parameters(), non_embedding_parameters(model)
print(tr(f"forward FLOPs per token, from shapes: {forward_per_token:,} (Linear {linear:,}, attention {attention:,}, "
         f"output layer {head:,})", f"根据形状统计的每词元前向浮点运算：{forward_per_token:,}（Linear {linear:,}，"
         f"注意力 {attention:,}，输出层 {head:,}）"))
print(tr(f"training per token: counted 3 × forward = {3 * forward_per_token:,}; 6·N with N = all parameters "
         f"{6 * N_all:,}, with N = non-embedding {6 * N_ne:,}",
         f"每词元训练量：统计值 3 × 前向 = {3 * forward_per_token:,}；6·N（N 取全部参数）{6 * N_all:,}，"
         f"（N 取非嵌入参数）{6 * N_ne:,}"))
B_ = 8
x = np.random.default_rng(0).integers(0, V_, size=(B_, T_))
t = time.perf_counter()
for _ in range(3):
    out = model(x, x)
    model.zero_grad()
    out.loss.backward()
step = (time.perf_counter() - t) / 3
print(tr(f"a training step of {B_ * T_} tokens: {step * 1e3:.0f} ms, {3 * forward_per_token * B_ * T_ / step / 1e9:.1f} "
         f"GFLOP/s achieved", f"一个 {B_ * T_} 词元的训练步：{step * 1e3:.0f} 毫秒，实际 "
         f"{3 * forward_per_token * B_ * T_ / step / 1e9:.1f} GFLOP/s"))

# %% [markdown] lang="en"
# The count and 6·N (all parameters) agree within a few per cent; the difference is mostly the attention
# term, 12·L·T·C per token, which 6·N leaves out and which is small once C ≫ T. With the *non-embedding* N of Kaplan et al. the rule
# misses the output layer, which at this tiny width and a 4,971-character vocabulary is most of the work;
# for GPT-3 (C = 12,288) it is under 1%.
#
# ## 3. Data parallelism, for real: 2 MPI processes
#
# Each rank holds the whole model and computes the gradient of its half of the batch; an all-reduce
# averages the gradients, so every rank takes the same step as one process on the whole batch.
# `minigrad.distributed.DistributedDataParallel` sends the gradients in **buckets** (25 MB by default,
# filled in reverse parameter order, task 11.1) as soon as backward has produced them, overlapping
# communication with the rest of backward. The script `scripts/ddp_demo.py` trains 5 steps that way,
# then with ZeRO-1, and compares with one process.

# %% [markdown] lang="zh"
# 计数结果与 6·N（N 取全部参数）相差几个百分点，差别主要是注意力项，即每词元 12·L·T·C，6·N 不含这一项，当 C ≫ T 时它很小。若用 Kaplan 等人
# 的*非嵌入*参数 N，这条规则就漏掉了输出层，而在这么小的宽度和 4,971 个字符的词表下，输出层占了大部分计算；对 GPT-3
# （C = 12,288）而言它不到 1%。
#
# ## 3. 真正运行数据并行：2 个 MPI 进程
#
# 每个 rank 持有完整模型，计算它那一半批次的梯度；all-reduce 对梯度取平均，于是每个 rank 走的一步与单进程在整个批次上走的一步相同。
# `minigrad.distributed.DistributedDataParallel` 把梯度分**桶**发送（默认 25 MB，按参数逆序装桶，练习 11.1），
# 反向传播一产生就发出，让通信与反向传播的其余部分重叠。脚本 `scripts/ddp_demo.py` 这样训练 5 步，
# 再用 ZeRO-1 训练 5 步，并与单进程比较。

# %%
saved = RESULTS / "lesson11_ddp.json"
mpiexec = shutil.which("mpiexec") or (shutil.which("mpiexec", path=str(Path(sys.executable).parent)))
try:
    import mpi4py  # noqa: F401
    have_mpi = mpiexec is not None
except ImportError:
    have_mpi = False
if have_mpi:
    live = Path("ddp_demo_out.json")
    t = time.perf_counter()
    proc = subprocess.run([mpiexec, "-n", "2", sys.executable, "scripts/ddp_demo.py", str(live)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        raise RuntimeError("mpiexec -n 2 failed")
    ddp = json.loads(live.read_text())
    live.unlink()
    print(tr(f"ran mpiexec -n 2 just now ({time.perf_counter() - t:.1f} s)",
             f"刚刚运行了 mpiexec -n 2（{time.perf_counter() - t:.1f} 秒）"))
else:
    ddp = json.loads(saved.read_text())
    print(tr(f"mpiexec/mpi4py are not installed here (pip install -e \".[distributed]\"): showing the run saved "
             f"in {saved} when the notebook was built",
             f"此处未安装 mpiexec/mpi4py（pip install -e \".[distributed]\"）：下面是构建本 notebook 时保存在 {saved} 的结果"))
print(tr("step | 2 ranks × 4 sequences | 1 process × 8", "步 | 2 个 rank × 4 条序列 | 1 个进程 × 8 条"))
for i, (a, b) in enumerate(zip(ddp["ddp_losses"], ddp["single_losses"])):
    print(f"{i + 1:4d} | {a:.7f} | {b:.7f}")
print(tr(f"largest parameter difference after 5 steps: DDP {ddp['max_param_diff_ddp']:.1e}, ZeRO-1 "
         f"{ddp['max_param_diff_zero']:.1e} (float32 rounding: the sums run in another order)",
         f"5 步后参数的最大差异：DDP {ddp['max_param_diff_ddp']:.1e}，ZeRO-1 {ddp['max_param_diff_zero']:.1e}"
         f"（float32 舍入：求和顺序不同）"))

# %% [markdown] lang="en"
# ## 4. Ring all-reduce and ZeRO
#
# In a ring, rank r sends only to rank r+1. The vector is cut into N chunks; N−1 **reduce-scatter** steps
# leave each rank with the full sum of one chunk, N−1 **all-gather** steps pass the sums around. Each
# rank sends 2(N−1) chunks of bytes/N: **2(N−1)/N × bytes**, almost independent of N (task 11.2, 11.3).
# Measured above: an all-reduce of 4 MB between the two processes on this machine (shared memory).
#
# ZeRO stage 1 splits AdamW's two moments (8 bytes per parameter in float32) across the ranks: rank r
# keeps and updates only its slice [numel·r//N, numel·(r+1)//N) (task 11.4) and an all-gather hands the
# updated weights to everyone.

# %% [markdown] lang="zh"
# ## 4. 环形 all-reduce 与 ZeRO
#
# 在环中，rank r 只发给 rank r+1。向量被切成 N 块；N−1 步 **reduce-scatter** 之后每个 rank 持有某一块的完整和，
# 再经 N−1 步 **all-gather** 把这些和传遍全环。每个 rank 共发送 2(N−1) 块、每块 字节数/N：**2(N−1)/N × 字节数**，
# 几乎与 N 无关（练习 11.2、11.3）。上面测得：本机两个进程之间（共享内存）对 4 MB 做一次 all-reduce。
#
# ZeRO 第 1 阶段把 AdamW 的两个矩（float32 下每个参数 8 字节）分到各 rank：rank r 只保存并更新自己的切片
# [numel·r//N, numel·(r+1)//N)（练习 11.4），再由 all-gather 把更新后的权重交给所有 rank。

# %%
nbytes = 4e6
sec = ddp["allreduce_4MB_seconds"]
n = ddp["world_size"]
print(tr(f"measured: 4 MB all-reduce over {n} ranks in {sec * 1e3:.2f} ms -> {2 * (n - 1) / n * nbytes / sec / 1e9:.1f} "
         f"GB/s of ring bandwidth", f"实测：{n} 个 rank 上 4 MB 的 all-reduce 用时 {sec * 1e3:.2f} 毫秒 -> 环带宽 "
         f"{2 * (n - 1) / n * nbytes / sec / 1e9:.1f} GB/s"))
for N in (2, 8, 64, 1024):
    print(f"N = {N:5d}: 2(N−1)/N = {2 * (N - 1) / N:.3f}; GPT-2 small {2 * gpt_parameters(12, 768, 1024) / 1e6:.0f} MB "
          f"(bf16) " + tr("at 100 GB/s:", "在 100 GB/s 下：")
          + f" {2 * (N - 1) / N * 2 * gpt_parameters(12, 768, 1024) / 100e9 * 1e3:.1f} ms")
print(tr(f"ZeRO-1 optimizer state on rank 0: {ddp['zero_state_bytes_rank0']:,} bytes vs AdamW's "
         f"{ddp['adamw_state_bytes']:,} ({ddp['zero_state_bytes_rank0'] / ddp['adamw_state_bytes']:.2f} = 1/{n})",
         f"rank 0 上 ZeRO-1 的优化器状态：{ddp['zero_state_bytes_rank0']:,} 字节，AdamW 为 {ddp['adamw_state_bytes']:,}"
         f"（{ddp['zero_state_bytes_rank0'] / ddp['adamw_state_bytes']:.2f} = 1/{n}）"))

# %% [markdown] lang="en"
# ## 5. Activation checkpointing: memory for time
#
# `model.gradient_checkpointing_enable()` keeps only each block's input in the forward and recomputes the
# block in backward: the activations of L blocks shrink to those of one, at the price of a second forward
# (about a third more time). Measured with `tracemalloc` (NumPy's allocations), same gradients.

# %% [markdown] lang="zh"
# ## 5. 激活检查点：用时间换内存
#
# `model.gradient_checkpointing_enable()` 在前向时只保留每个块的输入，反向时重算这个块：L 个块的激活值缩减为一个块的，
# 代价是再做一次前向（约多三分之一的时间）。用 `tracemalloc`（统计 NumPy 的内存分配）测量，梯度相同。

# %%
def peak_and_time(checkpointing):
    mg.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=256, n_layer=6, n_head=4, n_embd=128, block_size=128))
    if checkpointing:
        m.gradient_checkpointing_enable()
    xs = np.random.default_rng(1).integers(0, 256, size=(8, 128))
    tracemalloc.start()
    t = time.perf_counter()
    m(xs, xs).loss.backward()
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, seconds, m.transformer.h[0].attn.c_attn.weight.grad.data.copy()


plain, ckpt = peak_and_time(False), peak_and_time(True)
print(tr(f"peak memory: {plain[0] / 1e6:.0f} MB without, {ckpt[0] / 1e6:.0f} MB with checkpointing; time "
         f"{plain[1]:.2f} s vs {ckpt[1]:.2f} s; gradients equal: {np.allclose(plain[2], ckpt[2], atol=1e-6)}",
         f"峰值内存：不用检查点 {plain[0] / 1e6:.0f} MB，用检查点 {ckpt[0] / 1e6:.0f} MB；时间 {plain[1]:.2f} 秒对 "
         f"{ckpt[1]:.2f} 秒；梯度一致：{np.allclose(plain[2], ckpt[2], atol=1e-6)}"))

# %% [markdown] lang="en"
# ## 6. A scaling law on 全唐诗
#
# `benchmarks/scaling.py` trained six GPTs, N = 7 thousand to 0.8 million non-embedding parameters, on the
# same 1.2 million characters of 全唐诗 each, and scored them on held-out test poems (nats per character).
# The notebook reads the saved sweep and fits L(N) = E + A/N^α by least squares (`minigrad.scaling`).

# %% [markdown] lang="zh"
# ## 6. 全唐诗上的缩放定律
#
# `benchmarks/scaling.py` 训练了 6 个 GPT，非嵌入参数 N 从 7 千到 80 万，每个都在同样的 120 万个全唐诗字符上训练，
# 并在留出的测试诗上评分（每字符 nat）。本 notebook 读取保存的结果，用最小二乘拟合 L(N) = E + A/N^α（`minigrad.scaling`）。

# %%
sweep = json.loads((RESULTS / "scaling.json").read_text(encoding="utf-8"))
rows = sweep["models"]
N = np.array([r["non_embedding"] for r in rows], float)
loss = np.array([r["test_loss"] for r in rows])
fit = fit_power_law(N, loss)
print(f"{'L×a×C':>9} | {'N':>9} | {tr('test loss', '测试损失'):>9} | {tr('perplexity', '困惑度'):>8}")
for r in rows:
    print(f"{r['n_layer']}×{r['n_head']}×{r['n_embd']:<5} | {r['non_embedding']:9,} | {r['test_loss']:9.4f} | "
          f"{np.exp(r['test_loss']):8.1f}")
print(tr(f"fit: L(N) = {fit.E:.3f} + {fit.A:.3g}/N^{fit.alpha:.3f} (rmse {fit.rmse:.3f} nats); "
         f"Kaplan α_N ≈ {KAPLAN_ALPHA_N}, Chinchilla α = {CHINCHILLA['alpha']}",
         f"拟合：L(N) = {fit.E:.3f} + {fit.A:.3g}/N^{fit.alpha:.3f}（均方根误差 {fit.rmse:.3f} nat）；"
         f"Kaplan α_N ≈ {KAPLAN_ALPHA_N}，Chinchilla α = {CHINCHILLA['alpha']}"))
grid = np.geomspace(N.min() / 2, N.max() * 2, 100)
fig, ax = plt.subplots(1, 2, figsize=(11, 4))
ax[0].loglog(N, loss - fit.E, "o", label=tr("measured, minus E", "实测值减去 E"))
ax[0].loglog(grid, fit.A / grid ** fit.alpha, "-", label=f"A/N^{fit.alpha:.2f}")
ax[0].set_xlabel(tr("non-embedding parameters N", "非嵌入参数 N"))
ax[0].set_ylabel(tr("reducible loss L − E (nats/char)", "可约损失 L − E（nat/字符）"))
ax[0].set_title(tr("全唐诗: L(N) − E, log–log", "全唐诗：L(N) − E，双对数坐标"))
ax[0].legend()
ax[1].semilogx(N, loss, "o", label=tr("measured (nats/char)", "实测（nat/字符）"))
ax[1].semilogx(grid, fit(grid), "-", label=tr("fit", "拟合"))
ax[1].semilogx(grid, chinchilla_loss(grid), "--", label=tr("Chinchilla L(N) (nats/BPE token)", "Chinchilla L(N)（nat/BPE 词元）"))
ax[1].semilogx(grid, loss[0] * (grid / N[0]) ** -KAPLAN_ALPHA_N, ":",
               label=tr("slope of Kaplan α_N = 0.076", "Kaplan α_N = 0.076 的斜率"))
ax[1].set_xlabel(tr("non-embedding parameters N", "非嵌入参数 N"))
ax[1].set_ylabel(tr("test loss", "测试损失"))
ax[1].legend(fontsize=8)
plt.tight_layout()
plt.show()
print(tr(f"notebook ran in {time.perf_counter() - T0:.0f} s", f"notebook 运行了 {time.perf_counter() - T0:.0f} 秒"))

# %% [markdown] lang="en"
# **What differs at this scale, and why.** The loss falls with N, but it bends towards a floor E ≈ 5.2
# nats per character within two decades, and the fitted α is far larger than Kaplan's 0.076 (and larger
# than Chinchilla's 0.34), with E soaking up what the largest models did not learn:
# - **a fixed budget, not compute-optimal**: every model saw the same 1.2 M characters (about 1.5 characters
#   per parameter for the largest; Chinchilla's optimum is ~20 tokens per parameter), so the big models are
#   under-trained and the data term B/D^β of Chinchilla's law, left out of L(N), ends up inside E;
# - **tiny N**: 10⁴–10⁶ parameters, where the output layer over 4,971 characters dominates the work and the
#   power law has not settled; Kaplan's fit covers 10⁵–10⁹ parameters;
# - **a character-level vocabulary**: a character of classical Chinese carries more information than a BPE
#   token of English, so nats per character are not comparable with Chinchilla's nats per token (E = 1.69);
# - **six points, one seed**: α, A and E are strongly correlated; a few hundredths of a nat move α a lot.
# The direction — more parameters, lower held-out loss, with diminishing returns — is what the chapter's §9.1 claims.

# %% [markdown] lang="zh"
# **这种规模下有何不同，为什么。** 损失随 N 下降，但在两个数量级之内就弯向下限 E ≈ 5.2 nat/字符，拟合出的 α 远大于
# Kaplan 的 0.076（也大于 Chinchilla 的 0.34），而最大的几个模型没学到的部分都被 E 吸收了：
# - **固定预算，而非计算最优**：每个模型都只看了同样的 120 万个字符（最大的模型每个参数约 1.5 个字符；Chinchilla 的最优约为
#   每个参数 20 个词元），所以大模型训练不足，Chinchilla 定律中被 L(N) 略去的数据项 B/D^β 落进了 E；
# - **N 极小**：10⁴–10⁶ 个参数，此时 4,971 个字符上的输出层占了大部分计算，幂律尚未稳定；Kaplan 的拟合覆盖 10⁵–10⁹ 个参数；
# - **字符级词表**：一个文言汉字比一个英文 BPE 词元携带更多信息，因此每字符 nat 与 Chinchilla 的每词元 nat（E = 1.69）不可直接比较；
# - **6 个点、一个随机种子**：α、A、E 高度相关，几百分之一 nat 的差异就会让 α 变化很大。
# 方向——参数越多，留出数据上的损失越低，但收益递减——正是本章 §9.1 所说的。
