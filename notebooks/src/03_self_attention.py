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
# # Lesson 3 · Self-attention (§4.1 自注意力机制)
#
# **Chapter section:** §4.1 自注意力机制 (the self-attention mechanism), "Transformer 架构的核心":
# it computes how strongly each position of the input sequence relates to every other position,
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right) V,$$
#
# where $Q$ is the query matrix (查询矩阵), $K$ the key matrix (键矩阵), $V$ the value matrix (值矩阵),
# and $d_k$ the dimension of the key vectors (键向量的维度).
#
# **After this lesson you will be able to**
# - compute the formula term by term with minigrad ops and match `F.scaled_dot_product_attention`;
# - explain, with an experiment, why the scores are divided by $\sqrt{d_k}$;
# - build causal (因果) and padding (填充) masks and predict what an all-masked row gives;
# - draw an attention map (注意力图) and read it.
#
# Exercises: `lessons/03_attention/` (`minigrad lesson check 3`).
# 中文版：[zh/03_self_attention.ipynb](zh/03_self_attention.ipynb).

# %% [markdown] lang="zh"
# # 第 3 课 · 自注意力机制（§4.1）
#
# **对应章节：** §4.1 自注意力机制。它是“Transformer 架构的核心”，计算输入序列中每个位置与其他所有位置之间的相关性：
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right) V,$$
#
# 其中 $Q$ 是查询矩阵，$K$ 是键矩阵，$V$ 是值矩阵，$d_k$ 是键向量的维度。
# 这一行公式看似简单，本课就把它拆成一项一项，用代码逐一算出来。
#
# **学完本课，你将能够**
# - 用 minigrad 的基本运算逐项实现这个公式，并与 `F.scaled_dot_product_attention` 的结果对上；
# - 通过一个实验说明为什么要把注意力分数除以 $\sqrt{d_k}$；
# - 构造因果掩码和填充掩码，并预判某一行全部被遮住时会得到什么；
# - 画出注意力图，并读懂它。
#
# 练习：`lessons/03_attention/`（用 `minigrad lesson check 3` 检查）。
# English edition: [../03_self_attention.ipynb](../03_self_attention.ipynb).

# %%
# %matplotlib inline
import math

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.backends import numpy_ref
from minigrad.i18n import set_language, tr
from minigrad.viz import cjk_font

set_language("en")
mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=3, suppress=True)
if cjk_font():               # Chinese plot labels: the bundled Noto Sans CJK  图中的中文用自带的思源黑体
    plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font()]

# %% [markdown] lang="en"
# ## 1. Queries, keys and values
#
# A sentence of $T$ tokens enters as a matrix $X \in \mathbb{R}^{T \times d_{\text{model}}}$, one embedding per
# row. Three learned projections give every token a query ("what am I looking for?"), a key ("what
# do I contain?") and a value ("what do I pass on?"):
#
# $$Q = X W^Q, \qquad K = X W^K, \qquad V = X W^V.$$

# %% [markdown] lang="zh"
# ## 1. 查询、键和值
#
# 一个由 $T$ 个词元（token）组成的句子，以矩阵 $X \in \mathbb{R}^{T \times d_{\text{model}}}$ 的形式进入模型，
# 每一行是一个词元的嵌入向量。三个可学习的线性投影为每个词元分别生成查询（“我在找什么？”）、
# 键（“我包含什么？”）和值（“我要传递什么？”）：
#
# $$Q = X W^Q, \qquad K = X W^K, \qquad V = X W^V.$$

# %%
tokens = ["the", "cat", "sat", "on", "the", "mat"]
vocab = {w: i for i, w in enumerate(sorted(set(tokens)))}
ids = np.array([vocab[w] for w in tokens])
T, d_model, d_k = len(tokens), 16, 8

embed = nn.Embedding(len(vocab), d_model)
W_q, W_k, W_v = (nn.Linear(d_model, d_k, bias=False) for _ in range(3))

X = embed(ids)                       # (T, d_model)
Q, K, V = W_q(X), W_k(X), W_v(X)     # (T, d_k) each  各为 (T, d_k)
print("X", X.shape, " Q", Q.shape, " K", K.shape, " V", V.shape)

# %% [markdown] lang="en"
# ## 2. The formula, term by term
#
# **Scores.** Entry $(t, s)$ of $QK^\top$ is the dot product $q_t \cdot k_s$: how well query $t$ matches key $s$.
#
# $$S = \frac{QK^\top}{\sqrt{d_k}} \in \mathbb{R}^{T \times T}$$

# %% [markdown] lang="zh"
# ## 2. 逐项拆解公式
#
# **注意力分数。** $QK^\top$ 的第 $(t, s)$ 个元素是点积 $q_t \cdot k_s$，衡量查询 $t$ 与键 $s$ 的匹配程度。
#
# $$S = \frac{QK^\top}{\sqrt{d_k}} \in \mathbb{R}^{T \times T}$$

# %%
scores = (Q @ K.mT) / math.sqrt(d_k)          # S = QKᵀ/√d_k: (T, T)  注意力分数
print(scores.numpy())

# %% [markdown] lang="en"
# **Weights.** A softmax along each row (over the keys $s$) turns scores into attention weights that are
# positive and sum to one:
#
# $$A_{ts} = \frac{e^{S_{ts}}}{\sum_{s'} e^{S_{ts'}}}$$

# %% [markdown] lang="zh"
# **注意力权重。** 沿每一行（即对所有键 $s$）做 softmax，分数就变成了注意力权重：每个权重为正，每行之和为 1。
#
# $$A_{ts} = \frac{e^{S_{ts}}}{\sum_{s'} e^{S_{ts'}}}$$

# %%
A = scores.softmax(dim=-1)                     # A = softmax(S) over keys: (T, T)  对键做 softmax
print(A.numpy())
print(tr("row sums:", "每行之和："), A.numpy().sum(-1))

# %% [markdown] lang="en"
# **Output.** Each output row is the weighted average of the values:
#
# $$\mathrm{out}_t = \sum_s A_{ts}\, v_s, \qquad \mathrm{out} = A V \in \mathbb{R}^{T \times d_k}$$

# %% [markdown] lang="zh"
# **输出。** 输出的每一行都是所有值向量的加权平均：
#
# $$\mathrm{out}_t = \sum_s A_{ts}\, v_s, \qquad \mathrm{out} = A V \in \mathbb{R}^{T \times d_k}$$

# %%
out = A @ V                                    # out = AV: (T, d_k)  值的加权平均
lib_out, lib_A = F.scaled_dot_product_attention(Q, K, V, return_weights=True)
ref_out, _ = numpy_ref.attention_forward(Q.numpy()[None], K.numpy()[None], V.numpy()[None],
                                         scale=1 / math.sqrt(d_k))   # the reference kernel  参考实现
print(tr("by hand vs F.scaled_dot_product_attention:", "手算 vs F.scaled_dot_product_attention："),
      np.abs(out.numpy() - lib_out.numpy()).max())
print(tr("by hand vs numpy_ref.attention_forward:   ", "手算 vs numpy_ref.attention_forward：   "),
      np.abs(out.numpy() - ref_out[0]).max())

# %% [markdown] lang="en"
# Gradients flow through every term (they are ordinary minigrad ops), so $W^Q, W^K, W^V$ and the
# embeddings learn:

# %% [markdown] lang="zh"
# 每一项都是普通的 minigrad 运算，梯度可以经由反向传播流过所有这些项，因此 $W^Q, W^K, W^V$ 和嵌入矩阵都能得到训练：

# %%
F.scaled_dot_product_attention(Q, K, V).sum().backward()
print("W_q.grad", W_q.weight.grad.shape, " embed.grad", embed.weight.grad.shape)
q64, k64, v64 = (mg.randn(2, 4, 8, dtype="float64", requires_grad=True) for _ in range(3))
print("gradcheck:", mg.gradcheck(F.scaled_dot_product_attention, [q64, k64, v64]))

# %% [markdown] lang="en"
# ## 3. Why divide by $\sqrt{d_k}$?
#
# If the entries of $q$ and $k$ are independent with mean 0 and variance 1, then
# $q \cdot k = \sum_{i=1}^{d_k} q_i k_i$ has mean 0 and **variance $d_k$**. Unscaled scores therefore grow like
# $\sqrt{d_k}$; the softmax saturates (one weight near 1, the rest near 0) and its
# gradient, $A_{ts}(\delta_{ss'} - A_{ts'})$, vanishes. Dividing by $\sqrt{d_k}$ brings the variance back to 1 at
# any width. The experiment: random queries and 32 keys, for growing $d_k$, measure the largest
# weight and the entropy $H = -\sum_s A_s \log A_s$ of each row (uniform over 32 keys: $\log 32 \approx 3.47$).

# %% [markdown] lang="zh"
# ## 3. 为什么要除以 $\sqrt{d_k}$？
#
# 假设 $q$ 和 $k$ 的各分量相互独立、均值为 0、方差为 1，那么 $q \cdot k = \sum_{i=1}^{d_k} q_i k_i$
# 的均值为 0，**方差为 $d_k$**。不做缩放的话，分数的量级会随 $\sqrt{d_k}$ 增长，softmax 随之饱和——
# 所有权重集中在一个键上，一个接近 1，其余接近 0；它的梯度 $A_{ts}(\delta_{ss'} - A_{ts'})$ 也就趋于零。
# 除以 $\sqrt{d_k}$ 之后，无论维度多大，方差都回到 1。
# 实验如下：取随机的查询和 32 个键，逐步增大 $d_k$，统计每行的最大权重和熵 $H = -\sum_s A_s \log A_s$
#（32 个键上的均匀分布对应 $\log 32 \approx 3.47$）。

# %%
rng = np.random.default_rng(0)
dims = [4, 16, 64, 256, 1024]
UNSCALED, SCALED = tr("unscaled", "不缩放"), tr("scaled by 1/√d_k", "乘以 1/√d_k")
stats = {UNSCALED: ([], [], []), SCALED: ([], [], [])}
for d in dims:
    q = mg.tensor(rng.standard_normal((200, 1, d)))         # 200 queries  200 个查询
    k = mg.tensor(rng.standard_normal((200, 32, d)))        # 32 keys each  每个查询 32 个键
    raw = (q @ k.mT)[:, 0, :]                               # q·k: (200, 32), variance d  方差为 d
    for name, s in ((UNSCALED, raw), (SCALED, raw / math.sqrt(d))):
        p = s.softmax(-1).numpy()
        entropy = -(p * np.log(np.clip(p, 1e-30, None))).sum(-1)   # H = −Σ A log A
        grad_norm = (p * (1 - p)).sum(-1)                   # the diagonal of softmax's Jacobian, summed  softmax 雅可比矩阵对角线之和
        stats[name][0].append(p.max(-1).mean())
        stats[name][1].append(entropy.mean())
        stats[name][2].append(grad_norm.mean())

fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
for name, (pmax, ent, gn) in stats.items():
    axes[0].plot(dims, pmax, "o-", label=name)
    axes[1].plot(dims, ent, "o-", label=name)
    axes[2].plot(dims, gn, "o-", label=name)
axes[1].axhline(np.log(32), ls="--", c="gray", label=tr("uniform (log 32)", "均匀分布（log 32）"))
titles = [tr("mean of the largest weight", "最大权重的均值"),
          tr("mean entropy of a row (nats)", "每行熵的均值（nats）"),
          tr("softmax slope Σ A(1−A)", "softmax 的斜率 Σ A(1−A)")]
for ax, title in zip(axes, titles):
    ax.set_xscale("log", base=2); ax.set_xlabel("d_k"); ax.set_title(title); ax.legend(fontsize=8)
plt.tight_layout(); plt.show()
print(tr("std of q·k at d_k=1024:", "d_k=1024 时 q·k 的标准差："), float(raw.numpy().std()),
      tr(" after scaling:", " 缩放后："), float((raw / 32.0).numpy().std()))

# %% [markdown] lang="en"
# Unscaled, the largest weight approaches 1 and the entropy collapses as $d_k$ grows: each query sees
# one key only, and almost no gradient reaches the scores. Scaled, the statistics do not depend on $d_k$.
#
# ## 4. Masks (掩码)
#
# A mask removes some keys from a query's softmax by setting their scores to $-\infty$ (so
# $e^{-\infty} = 0$):
#
# $$A = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}} + M\right), \qquad M_{ts} = \begin{cases} 0 & \text{key } s \text{ allowed}\\ -\infty & \text{masked}\end{cases}$$
#
# **Causal mask.** A language model predicts token $t+1$ from tokens $\le t$, so query $t$ may only see
# keys $s \le t$: the lower triangle. `nn.causal_mask(T)` gives it as bools (True = allowed), and
# `is_causal=True` applies it.

# %% [markdown] lang="zh"
# 不缩放时，随着 $d_k$ 增大，最大权重逼近 1，熵迅速塌缩：每个查询只看得见一个键，几乎没有梯度能传回分数。
# 缩放之后，这些统计量与 $d_k$ 无关。
#
# ## 4. 掩码
#
# 掩码的作用是把某些键从查询的 softmax 中剔除：把它们的分数设为 $-\infty$，于是 $e^{-\infty} = 0$：
#
# $$A = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}} + M\right), \qquad M_{ts} = \begin{cases} 0 & \text{key } s \text{ allowed}\\ -\infty & \text{masked}\end{cases}$$
#
# **因果掩码。** 语言模型要根据位置 $\le t$ 的词元预测第 $t+1$ 个词元，所以查询 $t$ 只能看到 $s \le t$ 的键，
# 即矩阵的下三角部分。`nn.causal_mask(T)` 以布尔矩阵给出它（True 表示允许），`is_causal=True` 则直接应用它。

# %%
causal = nn.causal_mask(T)
print(causal.astype(int))
scores_masked = mg.where(mg.tensor(causal), scores, float("-inf"))   # S + M  加上掩码
A_causal = scores_masked.softmax(-1)
print(A_causal.numpy())
lib = F.scaled_dot_product_attention(Q, K, V, is_causal=True)
print(tr("by hand vs is_causal=True:", "手算 vs is_causal=True："), np.abs((A_causal @ V).numpy() - lib.numpy()).max())

# %% [markdown] lang="en"
# **Padding mask.** Sentences in a batch have different lengths and are padded to the same length $S$.
# The padded keys must get no weight. A mask of shape (B, 1, 1, S) broadcasts over heads and queries:

# %% [markdown] lang="zh"
# **填充掩码。** 同一批次中的句子长短不一，要填充到相同的长度 $S$。填充出来的键不应分到任何权重。
# 形状为 (B, 1, 1, S) 的掩码会在注意力头和查询两个维度上广播：

# %%
lengths = np.array([6, 4])                                    # sentence 1 has 2 padding tokens  句子 1 有 2 个填充词元
keep = np.arange(T)[None, :] < lengths[:, None]               # (B, S) True = real token  True 表示真实词元
mask = keep[:, None, None, :]                                 # (B, 1, 1, S)
Qb, Kb, Vb = (mg.randn(2, 1, T, d_k) for _ in range(3))       # (B, heads, T, d_k)
_, w = F.scaled_dot_product_attention(Qb, Kb, Vb, attn_mask=mask, return_weights=True)
print(tr("sentence 1, weights of query 0:", "句子 1 中查询 0 的权重："), w.numpy()[1, 0, 0],
      tr("(keys 4, 5 are padding)", "（键 4、5 是填充）"))

# %% [markdown] lang="en"
# **A query with every key masked.** Its row of scores is all $-\infty$, and $\frac{0}{0}$ is undefined.
# minigrad's softmax (`numpy_ref.softmax`) returns zeros for such a row, so the output is 0 and the
# gradients are 0, not NaN — what a padded *query* needs. (A large finite negative such as $-10^9$
# instead gives a uniform row: the average of all values.)

# %% [markdown] lang="zh"
# **所有键都被遮住的查询。** 这一行的分数全是 $-\infty$，softmax 变成 $\frac{0}{0}$，没有定义。
# minigrad 的 softmax（`numpy_ref.softmax`）对这样的行返回全零，于是输出为 0，梯度也为 0，而不是 NaN——
# 这正是填充出来的**查询**所需要的。（如果改用一个很大的有限负数，比如 $-10^9$，得到的则是均匀分布的一行，
# 即所有值向量的平均。）

# %%
none_for_0 = np.ones((T, T), dtype=bool)
none_for_0[0] = False                                         # query 0 may see no key  查询 0 看不到任何键
o, w = F.scaled_dot_product_attention(Q, K, V, attn_mask=none_for_0, return_weights=True)
print(tr("weights of query 0:", "查询 0 的权重："), w.numpy()[0], tr(" output of query 0:", " 查询 0 的输出："), o.numpy()[0])
print(tr("numpy_ref.softmax of [-inf, -inf, -inf]:", "numpy_ref.softmax([-inf, -inf, -inf])："),
      numpy_ref.softmax(np.full(3, -np.inf), 0))

# %% [markdown] lang="en"
# ## 5. Attention maps (注意力图)
#
# Row $t$ of $A$ shows where token $t$ looks. Without training the weights are nearly random; after
# training (lesson 5) they become structure. Plotting $A$ with the tokens as labels:

# %% [markdown] lang="zh"
# ## 5. 注意力图
#
# $A$ 的第 $t$ 行显示词元 $t$ 把注意力放在了哪里。未经训练时，这些权重近乎随机；
# 经过训练（第 5 课）之后，它们会呈现出清晰的结构。下面以词元为坐标标签画出 $A$：

# %%
def attention_map(ax, weights, labels, title):
    im = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel(tr("key (looked at)", "键（被关注者）")); ax.set_ylabel(tr("query (looking)", "查询（关注者）"))
    ax.set_title(title)
    for (t, s), value in np.ndenumerate(weights):
        if value > 0.005:
            ax.text(s, t, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value < 0.6 else "black")
    return im


fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
attention_map(axes[0], A.numpy(), tokens, tr("self-attention", "自注意力"))
im = attention_map(axes[1], A_causal.numpy(), tokens, tr("causal self-attention", "因果自注意力"))
axes[1].set_ylabel("")
fig.colorbar(im, ax=axes, shrink=0.8, label=tr("attention weight", "注意力权重"))
plt.show()

# %% [markdown] lang="en"
# Note the two "the" tokens: they have the same embedding, hence the same query and key, so their rows
# in the unmasked map are identical. Attention alone does not know *where* a token is — lesson 4 adds
# positional encodings.
#
# ## Summary
#
# | term | shape | minigrad |
# |---|---|---|
# | $Q = XW^Q, K = XW^K, V = XW^V$ | (T, d_k) | `nn.Linear(d_model, d_k)` |
# | $QK^\top/\sqrt{d_k}$ | (T, S) | `q @ k.mT / math.sqrt(d_k)` |
# | $+M$ (masks) | (T, S) | `mg.where(mask, scores, -inf)`, `nn.causal_mask`, `is_causal=True` |
# | softmax over keys | (T, S) | `.softmax(-1)`, `numpy_ref.softmax` (all −inf row → 0) |
# | $AV$ | (T, d_v) | `@`; all of it: `F.scaled_dot_product_attention` |
#
# **Exercises** (`lessons/03_attention/`, `minigrad lesson check 3`): Task 3.1 the causal mask, Task 3.2
# the backward of softmax, Task 3.3 the padding mask, Task 3.4 masked scaled dot-product attention.

# %% [markdown] lang="zh"
# 注意那两个“the”：它们的嵌入相同，查询和键也就相同，所以在不加掩码的注意力图里，这两行一模一样。
# 单靠注意力机制，模型并不知道词元位于**哪个位置**——第 4 课会引入位置编码来解决这个问题。
#
# ## 小结
#
# | 项 | 形状 | minigrad 中的实现 |
# |---|---|---|
# | $Q = XW^Q, K = XW^K, V = XW^V$ | (T, d_k) | `nn.Linear(d_model, d_k)` |
# | $QK^\top/\sqrt{d_k}$ | (T, S) | `q @ k.mT / math.sqrt(d_k)` |
# | $+M$（掩码） | (T, S) | `mg.where(mask, scores, -inf)`、`nn.causal_mask`、`is_causal=True` |
# | 对键做 softmax | (T, S) | `.softmax(-1)`、`numpy_ref.softmax`（全为 −inf 的行 → 0） |
# | $AV$ | (T, d_v) | `@`；整个过程：`F.scaled_dot_product_attention` |
#
# **练习**（`lessons/03_attention/`，用 `minigrad lesson check 3` 检查）：任务 3.1 因果掩码；
# 任务 3.2 softmax 的反向计算；任务 3.3 填充掩码；任务 3.4 带掩码的缩放点积注意力。
