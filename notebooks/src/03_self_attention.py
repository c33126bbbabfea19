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

# %%
# %matplotlib inline
import math

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.backends import numpy_ref

mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. Queries, keys and values
#
# A sentence of $T$ tokens enters as a matrix $X \in \mathbb{R}^{T \times d_{\text{model}}}$, one embedding per
# row. Three learned projections give every token a query ("what am I looking for?"), a key ("what
# do I contain?") and a value ("what do I pass on?"):
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
Q, K, V = W_q(X), W_k(X), W_v(X)     # (T, d_k) each
print("X", X.shape, " Q", Q.shape, " K", K.shape, " V", V.shape)

# %% [markdown]
# ## 2. The formula, term by term
#
# **Scores.** Entry $(t, s)$ of $QK^\top$ is the dot product $q_t \cdot k_s$: how well query $t$ matches key $s$.
#
# $$S = \frac{QK^\top}{\sqrt{d_k}} \in \mathbb{R}^{T \times T}$$

# %%
scores = (Q @ K.mT) / math.sqrt(d_k)          # (T, T)
print(scores.numpy())

# %% [markdown]
# **Weights.** A softmax along each row (over the keys $s$) turns scores into attention weights that are
# positive and sum to one:
#
# $$A_{ts} = \frac{e^{S_{ts}}}{\sum_{s'} e^{S_{ts'}}}$$

# %%
A = scores.softmax(dim=-1)                     # (T, T)
print(A.numpy())
print("row sums:", A.numpy().sum(-1))

# %% [markdown]
# **Output.** Each output row is the weighted average of the values:
#
# $$\mathrm{out}_t = \sum_s A_{ts}\, v_s, \qquad \mathrm{out} = A V \in \mathbb{R}^{T \times d_k}$$

# %%
out = A @ V                                    # (T, d_k)
lib_out, lib_A = F.scaled_dot_product_attention(Q, K, V, return_weights=True)
ref_out, _ = numpy_ref.attention_forward(Q.numpy()[None], K.numpy()[None], V.numpy()[None],
                                         scale=1 / math.sqrt(d_k))   # the reference kernel
print("by hand vs F.scaled_dot_product_attention:", np.abs(out.numpy() - lib_out.numpy()).max())
print("by hand vs numpy_ref.attention_forward:   ", np.abs(out.numpy() - ref_out[0]).max())

# %% [markdown]
# Gradients flow through every term (they are ordinary minigrad ops), so $W^Q, W^K, W^V$ and the
# embeddings learn:

# %%
F.scaled_dot_product_attention(Q, K, V).sum().backward()
print("W_q.grad", W_q.weight.grad.shape, " embed.grad", embed.weight.grad.shape)
q64, k64, v64 = (mg.randn(2, 4, 8, dtype="float64", requires_grad=True) for _ in range(3))
print("gradcheck:", mg.gradcheck(F.scaled_dot_product_attention, [q64, k64, v64]))

# %% [markdown]
# ## 3. Why divide by $\sqrt{d_k}$?
#
# If the entries of $q$ and $k$ are independent with mean 0 and variance 1, then
# $q \cdot k = \sum_{i=1}^{d_k} q_i k_i$ has mean 0 and **variance $d_k$**. Unscaled scores therefore grow like
# $\sqrt{d_k}$; the softmax saturates (所有权重集中在一个键上: one weight near 1, the rest near 0) and its
# gradient, $A_{ts}(\delta_{ss'} - A_{ts'})$, vanishes. Dividing by $\sqrt{d_k}$ brings the variance back to 1 at
# any width. The experiment: random queries and 32 keys, for growing $d_k$, measure the largest
# weight and the entropy $H = -\sum_s A_s \log A_s$ of each row (uniform over 32 keys: $\log 32 \approx 3.47$).

# %%
rng = np.random.default_rng(0)
dims = [4, 16, 64, 256, 1024]
stats = {"unscaled": ([], [], []), "scaled by 1/√d_k": ([], [], [])}
for d in dims:
    q = mg.tensor(rng.standard_normal((200, 1, d)))         # 200 queries
    k = mg.tensor(rng.standard_normal((200, 32, d)))        # 32 keys each
    raw = (q @ k.mT)[:, 0, :]                               # (200, 32)
    for name, s in (("unscaled", raw), ("scaled by 1/√d_k", raw / math.sqrt(d))):
        p = s.softmax(-1).numpy()
        entropy = -(p * np.log(np.clip(p, 1e-30, None))).sum(-1)
        grad_norm = (p * (1 - p)).sum(-1)                   # the diagonal of softmax's Jacobian, summed
        stats[name][0].append(p.max(-1).mean())
        stats[name][1].append(entropy.mean())
        stats[name][2].append(grad_norm.mean())

fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
for name, (pmax, ent, gn) in stats.items():
    axes[0].plot(dims, pmax, "o-", label=name)
    axes[1].plot(dims, ent, "o-", label=name)
    axes[2].plot(dims, gn, "o-", label=name)
axes[1].axhline(np.log(32), ls="--", c="gray", label="uniform (log 32)")
for ax, title in zip(axes, ["mean of the largest weight", "mean entropy of a row (nats)",
                            "softmax slope Σ A(1−A)"]):
    ax.set_xscale("log", base=2); ax.set_xlabel("d_k"); ax.set_title(title); ax.legend(fontsize=8)
plt.tight_layout(); plt.show()
print("std of q·k at d_k=1024:", float(raw.numpy().std()), " after scaling:", float((raw / 32.0).numpy().std()))

# %% [markdown]
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

# %%
causal = nn.causal_mask(T)
print(causal.astype(int))
scores_masked = mg.where(mg.tensor(causal), scores, float("-inf"))
A_causal = scores_masked.softmax(-1)
print(A_causal.numpy())
lib = F.scaled_dot_product_attention(Q, K, V, is_causal=True)
print("by hand vs is_causal=True:", np.abs((A_causal @ V).numpy() - lib.numpy()).max())

# %% [markdown]
# **Padding mask.** Sentences in a batch have different lengths and are padded to the same length $S$.
# The padded keys must get no weight. A mask of shape (B, 1, 1, S) broadcasts over heads and queries:

# %%
lengths = np.array([6, 4])                                    # sentence 1 has 2 padding tokens
keep = np.arange(T)[None, :] < lengths[:, None]               # (B, S) True = real token
mask = keep[:, None, None, :]                                 # (B, 1, 1, S)
Qb, Kb, Vb = (mg.randn(2, 1, T, d_k) for _ in range(3))       # (B, heads, T, d_k)
_, w = F.scaled_dot_product_attention(Qb, Kb, Vb, attn_mask=mask, return_weights=True)
print("sentence 1, weights of query 0:", w.numpy()[1, 0, 0], "(keys 4, 5 are padding)")

# %% [markdown]
# **A query with every key masked.** Its row of scores is all $-\infty$, and $\frac{0}{0}$ is undefined.
# minigrad's softmax (`numpy_ref.softmax`) returns zeros for such a row, so the output is 0 and the
# gradients are 0, not NaN — what a padded *query* needs. (A large finite negative such as $-10^9$
# instead gives a uniform row: the average of all values.)

# %%
none_for_0 = np.ones((T, T), dtype=bool)
none_for_0[0] = False                                         # query 0 may see no key
o, w = F.scaled_dot_product_attention(Q, K, V, attn_mask=none_for_0, return_weights=True)
print("weights of query 0:", w.numpy()[0], " output of query 0:", o.numpy()[0])
print("numpy_ref.softmax of [-inf, -inf, -inf]:", numpy_ref.softmax(np.full(3, -np.inf), 0))

# %% [markdown]
# ## 5. Attention maps (注意力图)
#
# Row $t$ of $A$ shows where token $t$ looks. Without training the weights are nearly random; after
# training (lesson 5) they become structure. Plotting $A$ with the tokens as labels:

# %%
def attention_map(ax, weights, labels, title):
    im = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("key (looked at)"); ax.set_ylabel("query (looking)"); ax.set_title(title)
    for (t, s), value in np.ndenumerate(weights):
        if value > 0.005:
            ax.text(s, t, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value < 0.6 else "black")
    return im


fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
attention_map(axes[0], A.numpy(), tokens, "self-attention")
im = attention_map(axes[1], A_causal.numpy(), tokens, "causal self-attention")
axes[1].set_ylabel("")
fig.colorbar(im, ax=axes, shrink=0.8, label="attention weight")
plt.show()

# %% [markdown]
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
