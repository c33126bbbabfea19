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
# # Lesson 4 · The Transformer (§3.1 Transformer 架构)
#
# **Chapter section:** §3.1 Transformer 架构: "Transformer 是一种基于注意力机制的神经网络架构 ... 核心思想是使用自注意力机制来捕捉输入序列中不同位置之间的关系" —
# a network built on attention, whose core idea is to capture the relations between positions of
# the input sequence with self-attention (§4.1, lesson 3). This lesson assembles the other parts.
#
# **After this lesson you will be able to**
# - run several attention heads in parallel (多头注意力, multi-head attention) and follow the shapes
#   through split and merge;
# - add position information with sinusoidal positional encodings (位置编码) and see why attention needs it;
# - explain residual connections (残差连接) and layer normalisation (层归一化), and the pre-LN and
#   post-LN blocks;
# - run a tiny GPT forward pass and count its parameters (参数量) by formula.
#
# Exercises: `lessons/04_transformer/` (`minigrad lesson check 4`).
# 中文版：[zh/04_the_transformer.ipynb](zh/04_the_transformer.ipynb).

# %% [markdown] lang="zh"
# # 第 4 课 · Transformer（§3.1 Transformer 架构）
#
# **对应章节：** §3.1 Transformer 架构：“Transformer 是一种基于注意力机制的神经网络架构……
# 核心思想是使用自注意力机制来捕捉输入序列中不同位置之间的关系”。自注意力机制（§4.1）在第 3 课已经讲过，
# 本课把 Transformer 的其余部件逐一装配起来。
#
# **学完本课，你将能够**
# - 让多个注意力头并行计算（多头注意力），并跟踪拆分与合并前后张量形状的变化；
# - 用正弦位置编码为词元加入位置信息，并理解注意力机制为什么离不开它；
# - 讲清楚残差连接和层归一化（LayerNorm）的作用，以及 pre-LN 与 post-LN 两种结构；
# - 跑通一个小型 GPT 的前向计算，并用公式算出它的参数量。
#
# 练习：`lessons/04_transformer/`（用 `minigrad lesson check 4` 检查）。
# English edition: [../04_the_transformer.ipynb](../04_the_transformer.ipynb).

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.i18n import set_language, tr
from minigrad.models.gpt import GPT, GPTConfig
from minigrad.nn.attention import merge_heads, split_heads
from minigrad.viz import cjk_font

set_language("en")
mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=3, suppress=True)
if cjk_font():               # Chinese plot labels: the bundled Noto Sans CJK  图中的中文用自带的思源黑体
    plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font()]

# %% [markdown] lang="en"
# ## 1. Multi-head attention (多头注意力)
#
# One attention computes one weighted average per token. $h$ heads, each with its own projections of
# size $d_k = d_{\text{model}}/h$, can attend to different things at once; their outputs are concatenated
# and mixed:
#
# $$\mathrm{head}_i = \mathrm{Attention}(XW_i^Q, XW_i^K, XW_i^V), \qquad
# \mathrm{MultiHead}(X) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\, W^O.$$
#
# In code all heads share one $d_{\text{model}} \times d_{\text{model}}$ projection; head $i$ owns columns
# $i\cdot d_k \dots (i+1)\cdot d_k - 1$. `split_heads` reshapes (B, T, C) → (B, T, h, d_k) and swaps two axes
# to (B, h, T, d_k), so one batched matmul runs every head; `merge_heads` undoes it.

# %% [markdown] lang="zh"
# ## 1. 多头注意力
#
# 一次注意力计算只为每个词元求出一个加权平均。若使用 $h$ 个头，每个头有自己的投影、维度为
# $d_k = d_{\text{model}}/h$，模型就能同时关注不同方面的信息；各头的输出拼接起来，再经一次线性变换混合：
#
# $$\mathrm{head}_i = \mathrm{Attention}(XW_i^Q, XW_i^K, XW_i^V), \qquad
# \mathrm{MultiHead}(X) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\, W^O.$$
#
# 在代码里，所有头共用一个 $d_{\text{model}} \times d_{\text{model}}$ 的投影矩阵，第 $i$ 个头占据其中第
# $i\cdot d_k \dots (i+1)\cdot d_k - 1$ 列。`split_heads` 先把 (B, T, C) 变形为 (B, T, h, d_k)，
# 再交换两个轴得到 (B, h, T, d_k)，这样一次批量矩阵乘法就能算完所有头；`merge_heads` 则是它的逆操作。

# %%
B, T, C, h = 2, 5, 12, 3
x = mg.randn(B, T, C)
heads = split_heads(x, h)                                    # (B, h, T, d_k)
print("x", x.shape, "→ split_heads →", heads.shape, "→ merge_heads →", merge_heads(heads).shape)
print(tr("head 2 of token 4 is columns 8..11:", "词元 4 的第 2 个头就是第 8..11 列："),
      np.array_equal(heads.numpy()[1, 2, 4], x.numpy()[1, 4, 8:12]))
print("merge_heads(split_heads(x)) == x:", np.array_equal(merge_heads(heads).numpy(), x.numpy()))

# %% [markdown] lang="en"
# `nn.MultiHeadAttention` is that formula. Recomputing its output with a loop over heads, one
# `F.scaled_dot_product_attention` per head on that head's columns of the projections:

# %% [markdown] lang="zh"
# `nn.MultiHeadAttention` 实现的就是这个公式。下面换一种写法重算它的输出：逐个头循环，
# 每个头取投影结果中属于自己的那几列，各调用一次 `F.scaled_dot_product_attention`：

# %%
mha = nn.MultiHeadAttention(embed_dim=C, num_heads=h)
out, weights, _ = mha(x, need_weights=True)                  # (B, T, C), (B, h, T, T)
Q, K, V = mha.q_proj(x), mha.k_proj(x), mha.v_proj(x)        # (B, T, C)
d_k = C // h
per_head = [F.scaled_dot_product_attention(Q[:, :, i * d_k:(i + 1) * d_k],
                                           K[:, :, i * d_k:(i + 1) * d_k],
                                           V[:, :, i * d_k:(i + 1) * d_k]) for i in range(h)]
by_hand = mha.out_proj(mg.cat(per_head, dim=-1))             # Concat(head_1..h) W^O
print("weights", weights.shape, tr(" max |MHA − loop over heads| =", " max |MHA − 逐头循环| ="),
      np.abs(out.numpy() - by_hand.numpy()).max())

# %% [markdown] lang="en"
# ## 2. Positional encodings (位置编码)
#
# Attention has no notion of order: permute the tokens and the outputs are permuted the same way
# (it is *permutation-equivariant*). "the cat sat" and "sat the cat" would look alike:

# %% [markdown] lang="zh"
# ## 2. 位置编码
#
# 注意力机制本身没有顺序的概念：把词元打乱，输出也只是按同样的方式被打乱（称为**置换等变**）。
# 于是 “the cat sat” 和 “sat the cat” 在它看来并无二致：

# %%
perm = np.array([4, 2, 0, 1, 3])
out_perm = mha(x[:, perm]).output
print("MHA(x[perm]) == MHA(x)[perm]:", np.allclose(out_perm.numpy(), out.numpy()[:, perm], atol=1e-6))

# %% [markdown] lang="en"
# So a position signal is added to each token embedding. The original Transformer uses fixed
# sinusoids of geometrically spaced frequencies:
#
# $$PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right), \qquad PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right).$$
#
# Each pair of columns is a rotation at its own speed, so $PE_{pos+k}$ is a linear function of $PE_{pos}$, and
# the dot product $PE_{pos}\cdot PE_{pos'}$ depends only on the distance $pos - pos'$. (GPT-2 and BERT learn
# their position table instead: `nn.LearnedPositionalEmbedding`, `wpe`.)

# %% [markdown] lang="zh"
# 因此要在每个词元的嵌入上加一个表示位置的信号。原始的 Transformer 使用固定的正弦函数，频率按几何级数分布：
#
# $$PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right), \qquad PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right).$$
#
# 每两列构成一个以各自速度旋转的二维向量，所以 $PE_{pos+k}$ 是 $PE_{pos}$ 的线性函数，
# 而点积 $PE_{pos}\cdot PE_{pos'}$ 只取决于两者的距离 $pos - pos'$。
# （GPT-2 和 BERT 则改为学习一张位置表：`nn.LearnedPositionalEmbedding`，即 `wpe`。）

# %%
pe = nn.sinusoidal_position_encoding(64, 32).numpy()         # (T=64, d=32)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
im = axes[0].imshow(pe.T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
axes[0].set_xlabel(tr("position", "位置")); axes[0].set_ylabel(tr("dimension", "维度"))
axes[0].set_title(tr("PE table (d = 32)", "位置编码表（d = 32）"))
fig.colorbar(im, ax=axes[0])
for i in (0, 2, 6, 14):
    axes[1].plot(pe[:, i], label=tr(f"dim {i}: sin(pos / 10000^({i}/32))", f"第 {i} 维：sin(pos / 10000^({i}/32))"))
axes[1].set_xlabel(tr("position", "位置")); axes[1].set_title(tr("a few columns", "其中几列")); axes[1].legend(fontsize=7)
sim = pe @ pe.T                                               # PE(pos)·PE(pos') depends on pos − pos' only  只取决于距离
axes[2].imshow(sim, cmap="viridis"); axes[2].set_title("PE(pos) · PE(pos')")
axes[2].set_xlabel("pos'"); axes[2].set_ylabel("pos")
plt.tight_layout(); plt.show()
print("PE(10)·PE(13) =", round(float(pe[10] @ pe[13]), 4), "  PE(40)·PE(43) =", round(float(pe[40] @ pe[43]), 4))

# %% [markdown] lang="en"
# With positions added, the permuted sentence is no longer just a permutation of the output:

# %% [markdown] lang="zh"
# 加上位置编码之后，打乱顺序的句子得到的输出就不再只是原输出的重新排列了：

# %%
enc = nn.SinusoidalPositionalEncoding(C)
print(tr("with positions, MHA(x[perm]) == MHA(x)[perm]:", "加上位置编码后，MHA(x[perm]) == MHA(x)[perm]："),
      np.allclose(mha(enc(x[:, perm])).output.numpy(), mha(enc(x)).output.numpy()[:, perm], atol=1e-6))

# %% [markdown] lang="en"
# ## 3. Residual connections (残差连接) and LayerNorm (层归一化)
#
# A residual connection adds a sub-layer's output to its input, $x + f(x)$: the gradient has a direct path
# $\partial(x + f(x))/\partial x = I + \partial f/\partial x$ through every layer, so deep stacks still train.
# LayerNorm normalises each token's vector to mean 0 and variance 1, then scales and shifts it:
#
# $$\mathrm{LN}(x) = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} \odot \gamma + \beta, \qquad
# \mu = \frac{1}{C}\sum_{j} x_j, \quad \sigma^2 = \frac{1}{C}\sum_j (x_j - \mu)^2.$$

# %% [markdown] lang="zh"
# ## 3. 残差连接与层归一化
#
# 残差连接把子层的输出加回到它的输入上，即 $x + f(x)$。这样梯度在每一层都有一条直通路径，
# $\partial(x + f(x))/\partial x = I + \partial f/\partial x$，因此即便层数很深，网络依然可以训练。
# 层归一化（LayerNorm）把每个词元的向量归一化为均值 0、方差 1，再做缩放和平移：
#
# $$\mathrm{LN}(x) = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} \odot \gamma + \beta, \qquad
# \mu = \frac{1}{C}\sum_{j} x_j, \quad \sigma^2 = \frac{1}{C}\sum_j (x_j - \mu)^2.$$

# %%
v = mg.randn(2, 3, C) * 5 + 3
mu = v.mean(-1, keepdim=True)                                 # μ
var = ((v - mu) ** 2).mean(-1, keepdim=True)                  # σ²
ln = nn.LayerNorm(C)
by_hand = (v - mu) / (var + ln.eps).sqrt() * ln.weight + ln.bias   # (x − μ)/√(σ² + ε) ⊙ γ + β
print(tr("max |by hand − nn.LayerNorm| =", "max |手算 − nn.LayerNorm| ="), np.abs(by_hand.numpy() - ln(v).numpy()).max())
print(tr("per-token mean", "每个词元的均值"), ln(v).numpy().mean(-1).round(6)[0],
      tr(" var", " 方差"), ln(v).numpy().var(-1).round(4)[0])

# %% [markdown] lang="en"
# ## 4. The block: pre-LN and post-LN
#
# A Transformer block is attention (tokens exchange information) followed by a position-wise MLP
# (each token is transformed on its own, $\mathrm{MLP}(x) = W_2\,\mathrm{GELU}(W_1 x + b_1) + b_2$), each in a
# residual connection with a LayerNorm. Where the LayerNorm sits gives the two forms:
#
# $$\text{post-LN (original, BERT):}\quad x \leftarrow \mathrm{LN}(x + \mathrm{Attn}(x)),\qquad x \leftarrow \mathrm{LN}(x + \mathrm{MLP}(x))$$
# $$\text{pre-LN (GPT-2):}\quad x \leftarrow x + \mathrm{Attn}(\mathrm{LN}(x)),\qquad x \leftarrow x + \mathrm{MLP}(\mathrm{LN}(x))$$
#
# `nn.TransformerBlock(norm_first=True)` is pre-LN. Written out from its parts:

# %% [markdown] lang="zh"
# ## 4. Transformer 块：pre-LN 与 post-LN
#
# 一个 Transformer 块先做注意力（词元之间交换信息），再做逐位置的 MLP（每个词元单独变换，
# $\mathrm{MLP}(x) = W_2\,\mathrm{GELU}(W_1 x + b_1) + b_2$），两者都包在带 LayerNorm 的残差连接里。
# LayerNorm 放在哪里，决定了两种不同的结构：
#
# $$\text{post-LN (original, BERT):}\quad x \leftarrow \mathrm{LN}(x + \mathrm{Attn}(x)),\qquad x \leftarrow \mathrm{LN}(x + \mathrm{MLP}(x))$$
# $$\text{pre-LN (GPT-2):}\quad x \leftarrow x + \mathrm{Attn}(\mathrm{LN}(x)),\qquad x \leftarrow x + \mathrm{MLP}(\mathrm{LN}(x))$$
#
# 上式中 post-LN 是原始 Transformer 和 BERT 的做法，pre-LN 是 GPT-2 的做法。
# `nn.TransformerBlock(norm_first=True)` 即 pre-LN，下面用它的各个部件把它展开写一遍：

# %%
block = nn.TransformerBlock(d_model=C, n_head=h, norm_first=True, causal=True)
y = x + block.attn(block.ln_1(x)).output                     # x + Attn(LN₁(x))
y = y + block.mlp(block.ln_2(y))                              # x + MLP(LN₂(x))
print(tr("pre-LN by hand vs block(x):", "手写 pre-LN vs block(x)："), np.abs(y.numpy() - block(x).numpy()).max())

# %% [markdown] lang="en"
# Pre-LN keeps an un-normalised path from the first layer to the last, which makes deep stacks train
# more stably without a learning-rate warm-up; post-LN normalises the sum after every layer. Stacking 24
# fresh blocks of each kind shows the difference: the size of the residual stream after each layer, and
# the gradient that reaches each layer's attention weights:

# %% [markdown] lang="zh"
# pre-LN 保留了一条从第一层直达最后一层、未经归一化的通路，因此即使不做学习率预热，深层网络也能训练得更稳定；
# post-LN 则在每一层之后都对求和结果做归一化。分别把两种新初始化的块各堆叠 24 层，就能看出差别：
# 左图是每层之后残差流的大小，右图是传到每层注意力权重上的梯度：

# %%
def depth_profile(norm_first, n_layers=24, d=32):
    mg.manual_seed(1)
    blocks = [nn.TransformerBlock(d_model=d, n_head=4, norm_first=norm_first, causal=True)
              for _ in range(n_layers)]
    z = mg.randn(4, 8, d)
    norms = []
    for blk in blocks:
        z = blk(z)
        norms.append(float(np.sqrt((z.numpy() ** 2).mean())))   # RMS of the residual stream  残差流的均方根
    readout = mg.randn(4, 8, d)                               # a fixed random linear read-out  固定的随机线性读出
    (z * readout).sum().backward()
    grads = [float(np.linalg.norm(blk.attn.q_proj.weight.grad.numpy())) for blk in blocks]   # ‖∂L/∂W_Q‖
    return norms, grads


fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for norm_first, name in ((True, "pre-LN"), (False, "post-LN")):
    norms, grads = depth_profile(norm_first)
    axes[0].plot(range(1, 25), norms, "o-", ms=3, label=name)
    axes[1].semilogy(range(1, 25), grads, "o-", ms=3, label=name)
axes[0].set_title(tr("RMS of the residual stream after layer ℓ", "第 ℓ 层之后残差流的均方根"))
axes[0].set_xlabel(tr("layer ℓ", "层 ℓ"))
axes[1].set_title(tr("‖∂L/∂W_Q‖ of layer ℓ", "第 ℓ 层的 ‖∂L/∂W_Q‖")); axes[1].set_xlabel(tr("layer ℓ", "层 ℓ"))
for ax in axes:
    ax.legend()
plt.tight_layout(); plt.show()

# %% [markdown] lang="en"
# Pre-LN's stream grows with depth (every block adds to it; GPT-2's final LayerNorm `ln_f` rescales it),
# while post-LN's is renormalised to RMS 1 after every block. At initialisation both pass a gradient to
# every layer, within a small factor of each other: the residual paths do their job. The practical
# difference shows during training: post-LN stacks usually need a learning-rate warm-up to train
# stably, pre-LN stacks much less (Xiong et al., 2020, "On Layer Normalization in the Transformer
# Architecture").
# (GPT-2 adds a final LayerNorm, `ln_f`, after the last pre-LN block.)
#
# ## 5. A tiny GPT
#
# `minigrad.models.gpt.GPT` is GPT-2's architecture (nanoGPT style, GPT-2 parameter names):
# token embeddings `wte` + learned positions `wpe` → $L$ pre-LN blocks with causal attention → `ln_f` →
# `lm_head`, whose weight *is* `wte`'s (tied). A forward pass of a tiny one on a random batch:

# %% [markdown] lang="zh"
# pre-LN 的残差流随深度增大（每个块都往上加一点；GPT-2 最后的 LayerNorm `ln_f` 会把它重新缩放），
# 而 post-LN 的残差流在每个块之后都被重新归一化到均方根为 1。初始化时，两者都能把梯度传到每一层，
# 彼此相差不过一个不大的倍数——残差通路各尽其职。真正的差别出现在训练过程中：post-LN 通常需要学习率预热
# 才能稳定训练，pre-LN 对此的依赖要小得多（Xiong et al., 2020, “On Layer Normalization in the Transformer
# Architecture”）。
#
# ## 5. 一个小型 GPT
#
# `minigrad.models.gpt.GPT` 采用 GPT-2 的架构（nanoGPT 的写法，参数名与 GPT-2 一致）：
# 词元嵌入 `wte` + 可学习的位置嵌入 `wpe` → $L$ 个带因果注意力的 pre-LN 块 → `ln_f` → `lm_head`，
# 其中 `lm_head` 的权重**就是** `wte` 的权重（权重共享）。在一个随机批次上跑一次小模型的前向计算：

# %%
config = GPTConfig(vocab_size=65, n_layer=2, n_head=4, n_embd=64, block_size=32)
model = GPT(config)
idx = mg.randint(0, 65, (2, 16))                              # (B, T) token ids  词元 id
targets = mg.randint(0, 65, (2, 16))
out = model(idx, targets)
print("logits", out.logits.shape, tr(" loss", " 损失"), round(out.loss.item(), 3), " ln(65) =", round(np.log(65), 3))

# %% [markdown] lang="en"
# The first loss is $\approx \ln V$: an untrained model spreads its probability evenly over the 65 tokens.
#
# **Counting parameters.** With $C$ = `n_embd`, $V$ = `vocab_size`, $P$ = `block_size`, $L$ = `n_layer`, a block
# has LayerNorms $2\cdot 2C$, attention $C\cdot 3C + 3C$ (q, k, v) and $C\cdot C + C$ (output), MLP $C\cdot 4C + 4C$ and
# $4C\cdot C + C$, in all $12C^2 + 13C$. With the embeddings and `ln_f` (the tied `lm_head` adds nothing):
#
# $$N = VC + PC + L\,(12C^2 + 13C) + 2C.$$

# %% [markdown] lang="zh"
# 初始损失约为 $\ln V$：未经训练的模型把概率均匀地分给了全部 65 个词元。
#
# **计算参数量。** 记 $C$ = `n_embd`，$V$ = `vocab_size`，$P$ = `block_size`，$L$ = `n_layer`。每个块包含：
# 两个 LayerNorm 共 $2\cdot 2C$；注意力的 q、k、v 投影 $C\cdot 3C + 3C$，输出投影 $C\cdot C + C$；
# MLP 的 $C\cdot 4C + 4C$ 和 $4C\cdot C + C$；合计 $12C^2 + 13C$。再加上嵌入层和 `ln_f`
#（与 `wte` 共享权重的 `lm_head` 不增加参数），总数为
#
# $$N = VC + PC + L\,(12C^2 + 13C) + 2C.$$

# %%
def gpt_params(V, L, C, P):
    return V * C + P * C + L * (12 * C * C + 13 * C) + 2 * C   # N = VC + PC + L(12C² + 13C) + 2C


groups = {}
for name, p in model.named_parameters():
    key = name.split(".")[1] if name.startswith("transformer.") else name
    key = "h (blocks)" if key == "h" else key
    groups[key] = groups.get(key, 0) + p.numel()
for key, n in groups.items():
    print(f"  {key:<12} {n:>8,}")
print(f"  {tr('total', '合计'):<12} {model.num_parameters():>8,}   {tr('formula', '公式')}: {gpt_params(65, 2, 64, 32):,}")
print(tr(f"GPT-2 small (V=50257, L=12, C=768, P=1024): {gpt_params(50257, 12, 768, 1024):,} parameters",
         f"GPT-2 small（V=50257，L=12，C=768，P=1024）：{gpt_params(50257, 12, 768, 1024):,} 个参数"))

# %% [markdown] lang="en"
# ## Summary
#
# | part | formula | minigrad |
# |---|---|---|
# | multi-head attention | $\mathrm{Concat}(\mathrm{head}_1..\mathrm{head}_h)W^O$ | `nn.MultiHeadAttention`, `split_heads`, `merge_heads` |
# | positions | $PE_{(pos,2i)} = \sin(pos/10000^{2i/d})$ … | `nn.sinusoidal_position_encoding`, `wpe` |
# | residual + LayerNorm | $x + f(\mathrm{LN}(x))$ / $\mathrm{LN}(x + f(x))$ | `nn.LayerNorm`, `nn.TransformerBlock(norm_first=...)` |
# | GPT | $N = VC + PC + L(12C^2+13C) + 2C$ | `GPT(GPTConfig(...))`, `num_parameters()` |
#
# **Exercises** (`lessons/04_transformer/`, `minigrad lesson check 4`): Task 4.1 split/merge heads, Task 4.2
# the sinusoidal encoding, Task 4.3 LayerNorm, Task 4.4 pre-LN and post-LN blocks, Task 4.5 a GPT's
# parameter count. Next (lesson 5): pre-training this GPT on text (§3.2 预训练).

# %% [markdown] lang="zh"
# ## 小结
#
# | 部件 | 公式 | minigrad 中的实现 |
# |---|---|---|
# | 多头注意力 | $\mathrm{Concat}(\mathrm{head}_1..\mathrm{head}_h)W^O$ | `nn.MultiHeadAttention`、`split_heads`、`merge_heads` |
# | 位置编码 | $PE_{(pos,2i)} = \sin(pos/10000^{2i/d})$ … | `nn.sinusoidal_position_encoding`、`wpe` |
# | 残差连接 + LayerNorm | $x + f(\mathrm{LN}(x))$ / $\mathrm{LN}(x + f(x))$ | `nn.LayerNorm`、`nn.TransformerBlock(norm_first=...)` |
# | GPT | $N = VC + PC + L(12C^2+13C) + 2C$ | `GPT(GPTConfig(...))`、`num_parameters()` |
#
# **练习**（`lessons/04_transformer/`，用 `minigrad lesson check 4` 检查）：任务 4.1 拆分与合并注意力头；
# 任务 4.2 正弦位置编码；任务 4.3 LayerNorm；任务 4.4 pre-LN 与 post-LN 块；任务 4.5 GPT 的参数量。
# 下一课（第 5 课）：在文本上预训练这个 GPT（§3.2 预训练）。
