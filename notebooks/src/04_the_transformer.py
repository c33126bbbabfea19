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

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.models.gpt import GPT, GPTConfig
from minigrad.nn.attention import merge_heads, split_heads

mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
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

# %%
B, T, C, h = 2, 5, 12, 3
x = mg.randn(B, T, C)
heads = split_heads(x, h)                                    # (B, h, T, d_k)
print("x", x.shape, "→ split_heads →", heads.shape, "→ merge_heads →", merge_heads(heads).shape)
print("head 2 of token 4 is columns 8..11:", np.array_equal(heads.numpy()[1, 2, 4], x.numpy()[1, 4, 8:12]))
print("merge_heads(split_heads(x)) == x:", np.array_equal(merge_heads(heads).numpy(), x.numpy()))

# %% [markdown]
# `nn.MultiHeadAttention` is that formula. Recomputing its output with a loop over heads, one
# `F.scaled_dot_product_attention` per head on that head's columns of the projections:

# %%
mha = nn.MultiHeadAttention(embed_dim=C, num_heads=h)
out, weights, _ = mha(x, need_weights=True)                  # (B, T, C), (B, h, T, T)
Q, K, V = mha.q_proj(x), mha.k_proj(x), mha.v_proj(x)        # (B, T, C)
d_k = C // h
per_head = [F.scaled_dot_product_attention(Q[:, :, i * d_k:(i + 1) * d_k],
                                           K[:, :, i * d_k:(i + 1) * d_k],
                                           V[:, :, i * d_k:(i + 1) * d_k]) for i in range(h)]
by_hand = mha.out_proj(mg.cat(per_head, dim=-1))             # Concat(head_1..h) W^O
print("weights", weights.shape, " max |MHA − loop over heads| =", np.abs(out.numpy() - by_hand.numpy()).max())

# %% [markdown]
# ## 2. Positional encodings (位置编码)
#
# Attention has no notion of order: permute the tokens and the outputs are permuted the same way
# (it is *permutation-equivariant*). "the cat sat" and "sat the cat" would look alike:

# %%
perm = np.array([4, 2, 0, 1, 3])
out_perm = mha(x[:, perm]).output
print("MHA(x[perm]) == MHA(x)[perm]:", np.allclose(out_perm.numpy(), out.numpy()[:, perm], atol=1e-6))

# %% [markdown]
# So a position signal is added to each token embedding. The original Transformer uses fixed
# sinusoids of geometrically spaced frequencies:
#
# $$PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right), \qquad PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right).$$
#
# Each pair of columns is a rotation at its own speed, so $PE_{pos+k}$ is a linear function of $PE_{pos}$, and
# the dot product $PE_{pos}\cdot PE_{pos'}$ depends only on the distance $pos - pos'$. (GPT-2 and BERT learn
# their position table instead: `nn.LearnedPositionalEmbedding`, `wpe`.)

# %%
pe = nn.sinusoidal_position_encoding(64, 32).numpy()         # (T=64, d=32)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
im = axes[0].imshow(pe.T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
axes[0].set_xlabel("position"); axes[0].set_ylabel("dimension"); axes[0].set_title("PE table (d = 32)")
fig.colorbar(im, ax=axes[0])
for i in (0, 2, 6, 14):
    axes[1].plot(pe[:, i], label=f"dim {i}: sin(pos / 10000^({i}/32))")
axes[1].set_xlabel("position"); axes[1].set_title("a few columns"); axes[1].legend(fontsize=7)
sim = pe @ pe.T
axes[2].imshow(sim, cmap="viridis"); axes[2].set_title("PE(pos) · PE(pos')")
axes[2].set_xlabel("pos'"); axes[2].set_ylabel("pos")
plt.tight_layout(); plt.show()
print("PE(10)·PE(13) =", round(float(pe[10] @ pe[13]), 4), "  PE(40)·PE(43) =", round(float(pe[40] @ pe[43]), 4))

# %% [markdown]
# With positions added, the permuted sentence is no longer just a permutation of the output:

# %%
enc = nn.SinusoidalPositionalEncoding(C)
print("with positions, MHA(x[perm]) == MHA(x)[perm]:",
      np.allclose(mha(enc(x[:, perm])).output.numpy(), mha(enc(x)).output.numpy()[:, perm], atol=1e-6))

# %% [markdown]
# ## 3. Residual connections (残差连接) and LayerNorm (层归一化)
#
# A residual connection adds a sub-layer's output to its input, $x + f(x)$: the gradient has a direct path
# $\partial(x + f(x))/\partial x = I + \partial f/\partial x$ through every layer, so deep stacks still train.
# LayerNorm normalises each token's vector to mean 0 and variance 1, then scales and shifts it:
#
# $$\mathrm{LN}(x) = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} \odot \gamma + \beta, \qquad
# \mu = \frac{1}{C}\sum_{j} x_j, \quad \sigma^2 = \frac{1}{C}\sum_j (x_j - \mu)^2.$$

# %%
v = mg.randn(2, 3, C) * 5 + 3
mu = v.mean(-1, keepdim=True)
var = ((v - mu) ** 2).mean(-1, keepdim=True)
ln = nn.LayerNorm(C)
by_hand = (v - mu) / (var + ln.eps).sqrt() * ln.weight + ln.bias
print("max |by hand − nn.LayerNorm| =", np.abs(by_hand.numpy() - ln(v).numpy()).max())
print("per-token mean", ln(v).numpy().mean(-1).round(6)[0], " var", ln(v).numpy().var(-1).round(4)[0])

# %% [markdown]
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

# %%
block = nn.TransformerBlock(d_model=C, n_head=h, norm_first=True, causal=True)
y = x + block.attn(block.ln_1(x)).output                     # x + Attn(LN₁(x))
y = y + block.mlp(block.ln_2(y))                              # x + MLP(LN₂(x))
print("pre-LN by hand vs block(x):", np.abs(y.numpy() - block(x).numpy()).max())

# %% [markdown]
# Pre-LN keeps an un-normalised path from the first layer to the last, which makes deep stacks train
# more stably without a learning-rate warm-up; post-LN normalises the sum after every layer. Stacking 24
# fresh blocks of each kind shows the difference: the size of the residual stream after each layer, and
# the gradient that reaches each layer's attention weights:

# %%
def depth_profile(norm_first, n_layers=24, d=32):
    mg.manual_seed(1)
    blocks = [nn.TransformerBlock(d_model=d, n_head=4, norm_first=norm_first, causal=True)
              for _ in range(n_layers)]
    z = mg.randn(4, 8, d)
    norms = []
    for blk in blocks:
        z = blk(z)
        norms.append(float(np.sqrt((z.numpy() ** 2).mean())))
    readout = mg.randn(4, 8, d)                               # a fixed random linear read-out
    (z * readout).sum().backward()
    grads = [float(np.linalg.norm(blk.attn.q_proj.weight.grad.numpy())) for blk in blocks]
    return norms, grads


fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for norm_first, name in ((True, "pre-LN"), (False, "post-LN")):
    norms, grads = depth_profile(norm_first)
    axes[0].plot(range(1, 25), norms, "o-", ms=3, label=name)
    axes[1].semilogy(range(1, 25), grads, "o-", ms=3, label=name)
axes[0].set_title("RMS of the residual stream after layer ℓ"); axes[0].set_xlabel("layer ℓ")
axes[1].set_title("‖∂L/∂W_Q‖ of layer ℓ"); axes[1].set_xlabel("layer ℓ")
for ax in axes:
    ax.legend()
plt.tight_layout(); plt.show()

# %% [markdown]
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

# %%
config = GPTConfig(vocab_size=65, n_layer=2, n_head=4, n_embd=64, block_size=32)
model = GPT(config)
idx = mg.randint(0, 65, (2, 16))                              # (B, T) token ids
targets = mg.randint(0, 65, (2, 16))
out = model(idx, targets)
print("logits", out.logits.shape, " loss", round(out.loss.item(), 3), " ln(65) =", round(np.log(65), 3))

# %% [markdown]
# The first loss is $\approx \ln V$: an untrained model spreads its probability evenly over the 65 tokens.
#
# **Counting parameters.** With $C$ = `n_embd`, $V$ = `vocab_size`, $P$ = `block_size`, $L$ = `n_layer`, a block
# has LayerNorms $2\cdot 2C$, attention $C\cdot 3C + 3C$ (q, k, v) and $C\cdot C + C$ (output), MLP $C\cdot 4C + 4C$ and
# $4C\cdot C + C$, in all $12C^2 + 13C$. With the embeddings and `ln_f` (the tied `lm_head` adds nothing):
#
# $$N = VC + PC + L\,(12C^2 + 13C) + 2C.$$

# %%
def gpt_params(V, L, C, P):
    return V * C + P * C + L * (12 * C * C + 13 * C) + 2 * C


groups = {}
for name, p in model.named_parameters():
    key = name.split(".")[1] if name.startswith("transformer.") else name
    key = "h (blocks)" if key == "h" else key
    groups[key] = groups.get(key, 0) + p.numel()
for key, n in groups.items():
    print(f"  {key:<12} {n:>8,}")
print(f"  {'total':<12} {model.num_parameters():>8,}   formula: {gpt_params(65, 2, 64, 32):,}")
print(f"GPT-2 small (V=50257, L=12, C=768, P=1024): {gpt_params(50257, 12, 768, 1024):,} parameters")

# %% [markdown]
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
