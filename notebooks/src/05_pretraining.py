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
# # Lesson 5 · Pre-training a GPT (§3.2 预训练)
#
# **Chapter section:** §3.2 预训练: "大模型通常在海量数据上进行预训练，学习到通用的语言表示" — a large model is
# pre-trained on a large amount of text and learns a general representation of language. The
# chapter lists three steps, and this lesson runs each of them on a small scale:
# **数据收集** (data collection), **模型训练** (training a Transformer on "the statistical regularities of
# language") and **模型评估** (evaluation, "例如 perplexity 和准确率").
#
# **After this lesson you will be able to**
# - turn a corpus into token ids with a character tokenizer and with byte-pair encoding (BPE),
#   and read the merges a BPE tokenizer learns;
# - state the language-modelling objective (next-token prediction) and build its batches;
# - pre-train a tiny GPT with AdamW, a warm-up + cosine learning-rate schedule and gradient clipping,
#   using `minigrad.train`;
# - compute perplexity = exp(mean cross-entropy) and say what its value means;
# - generate text greedily, with a temperature and with top-k sampling.
#
# Everything is tiny so the notebook runs in well under a minute on two CPU cores: a 2-layer GPT with
# about 62k parameters, trained for 200 steps (about 10 s) on the King James Bible at character level.
# It learns the commonest short words and the shape of the text, not meaning. Real pre-training is the same loop with ~10⁶ times more
# parameters, data and steps.
#
# Exercises: `lessons/05_pretraining/` (`minigrad lesson check 5`).

# %% [markdown] lang="zh"
# # 第 5 课 · 预训练一个 GPT（§3.2 预训练）
#
# **对应章节：** §3.2 预训练——“大模型通常在海量数据上进行预训练，学习到通用的语言表示”。章中把预训练分为三步，
# 本课把每一步都在小规模上做一遍：**数据收集**；**模型训练**，即用 Transformer 学习“语言的统计规律”；
# **模型评估**，“例如 perplexity 和准确率”。
#
# **学完本课，你将能够：**
# - 用字符级分词器和字节对编码（BPE）把语料转换成 token id，并读懂 BPE 分词器学到的合并规则；
# - 写出语言模型的训练目标（预测下一个 token），并据此构造训练批次；
# - 借助 `minigrad.train`，用 AdamW、“预热 + 余弦”学习率调度和梯度裁剪预训练一个小型 GPT；
# - 计算困惑度 = exp(平均交叉熵)，并解释它的数值含义；
# - 用贪心解码、温度采样和 top-k 采样生成文本。
#
# 为了让整个 notebook 在两个 CPU 核上一分钟内跑完，一切都做得很小：一个 2 层、约 6.2 万参数的 GPT，
# 在钦定版圣经（King James Bible）上以字符为单位训练 200 步（约 10 秒）。它能学会最常见的短词和文本的大致样貌，
# 但学不到语义。真正的预训练是同一个循环，只是参数量、数据量和步数都要大上约 10⁶ 倍。
#
# 练习：`lessons/05_pretraining/`（`minigrad lesson check 5`）。

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # tiny matrices: one BLAS thread is fastest on 2 cores
# %matplotlib inline
import math
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.data import LMData, kjv_text, tang_poems, tang_text
from minigrad.i18n import set_language, tr
from minigrad.models.gpt import GPT, GPTConfig
from minigrad.optim import AdamW, clip_grad_norm_
from minigrad.optim.lr_scheduler import WarmupCosine
from minigrad.tokenizers import BPETokenizer, CharTokenizer
from minigrad.viz import cjk_font

set_language("en")
plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font() or "DejaVu Sans"]   # CJK glyphs for Chinese labels 中文标签
mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=3, suppress=True)
T0 = time.perf_counter()

# %% [markdown] lang="en"
# ## 1. Data collection (数据收集)
#
# minigrad bundles two small corpora (no downloads): 唐诗三百首 (about 25 thousand characters) and the King
# James Bible (KJV, about 4.3 million characters). GPT-3 was pre-trained on about 300 billion tokens;
# we will use the first 300 thousand characters of the KJV.

# %% [markdown] lang="zh"
# ## 1. 数据收集
#
# minigrad 自带两份小语料（无需下载）：《唐诗三百首》（约 2.5 万字）和钦定版圣经（KJV，约 430 万个字符）。
# GPT-3 的预训练语料约有 3000 亿个 token；这里只取 KJV 的前 30 万个字符。

# %%
poems = tang_poems()
print(len(poems), "Tang poems;", poems[0].title, "by", poems[0].author)
print(poems[0].text[:48])
kjv = kjv_text(300_000)
print(f"\nKJV: {len(kjv):,} characters; the first lines:\n{kjv[:170]}")

# %% [markdown] lang="en"
# ## 2. Tokenisation: text → ids
#
# A model reads integers. The simplest tokenizer gives every distinct character its own id
# (`CharTokenizer`). For Chinese, a character is already a meaningful unit:

# %% [markdown] lang="zh"
# ## 2. 分词：从文本到 id
#
# 模型读入的是整数。最简单的分词器给每个不同的字符分配一个 id（`CharTokenizer`）。
# 对中文来说，单个汉字本身就是有意义的单位：

# %%
tang_tok = CharTokenizer.from_text(tang_text())
ids = tang_tok.encode("床前明月光")
print("vocabulary:", tang_tok.vocab_size, "characters;  床前明月光 →", ids, "→", tang_tok.decode(ids))

# %% [markdown] lang="en"
# English spelled letter by letter makes long sequences: the model must learn spelling before words.
# **Byte-pair encoding** (BPE, GPT-2's tokenizer) starts from the 256 bytes and repeatedly merges the most
# frequent pair of adjacent symbols into a new symbol. With $c(a, b)$ the number of times $b$ follows $a$
# in the corpus (counted inside words), each training step adds
#
# $$(a^*, b^*) = \arg\max_{(a, b)} c(a, b), \qquad \text{new token } a^*b^*.$$
#
# Training one on 100 thousand characters of the KJV with 300 merges (`Ġ` is GPT-2's sign for a space):

# %% [markdown] lang="zh"
# 英文如果逐个字母切分，序列会很长，模型得先学会拼写才能学到单词。**字节对编码**（BPE，GPT-2 使用的分词器）
# 从 256 个字节出发，反复把语料中出现次数最多的一对相邻符号合并成一个新符号。记 $c(a, b)$ 为语料中
# （在单词内部统计）$b$ 紧跟在 $a$ 之后出现的次数，每一步训练新增
#
# $$(a^*, b^*) = \arg\max_{(a, b)} c(a, b), \qquad \text{new token } a^*b^*.$$
#
# 下面在 KJV 的前 10 万个字符上训练一个做 300 次合并的 BPE 分词器（`Ġ` 是 GPT-2 表示空格的记号）：

# %%
bpe = BPETokenizer.train(kjv[:100_000], vocab_size=256 + 300 + 1)    # bytes + merges + <|endoftext|>
show = lambda s: s.replace("Ġ", "␣")
print("the first 20 merges:", ", ".join(f"{show(a)}+{show(b)}" for a, b in bpe.merges[:20]))
print("merges 280-299:    ", ", ".join(show(a + b) for a, b in bpe.merges[280:300]))
verse = "And God said, Let there be light: and there was light."
pieces = bpe.convert_ids_to_tokens(bpe.encode(verse))
print(f"\n{verse}\n→ {len(pieces)} BPE tokens: {' | '.join(show(p) for p in pieces)}")
char_tok = CharTokenizer.from_text(kjv)
sample = kjv[200_000:260_000]
print(f"\ncharacters per token on unseen KJV text: char {len(sample) / len(char_tok.encode(sample)):.2f}, "
      f"BPE {len(sample) / len(bpe.encode(sample)):.2f}")

# %% [markdown] lang="en"
# The first merges are the commonest English pairs (`th`, `␣th`, `nd`, `␣the`); after a few hundred merges,
# whole words (` the`, ` and`, ` LORD`) are single tokens, and a text needs fewer tokens. GPT-2 has
# 50,000 merges. For the tiny model below we keep the character tokenizer: 62 ids means a small
# output layer and a fast notebook.
#
# ## 3. The objective: predict the next token (§3.2 模型训练, §4.2 损失函数)
#
# A GPT models the probability of a text one token at a time,
# $p_\theta(x_1, \dots, x_T) = \prod_t p_\theta(x_{t+1} \mid x_{\le t})$, and is trained to minimise the mean
# cross-entropy of the next token over every position of every window:
#
# $$\mathcal{L}(\theta) = -\frac{1}{N} \sum_{t} \log p_\theta(x_{t+1} \mid x_1, \dots, x_t).$$
#
# A batch is a set of windows of `block_size + 1` ids; the input is the window without its last id and
# the target the window shifted by one. `LMData` splits the corpus by position, the first 90% for
# training and the last 10% for validation:

# %% [markdown] lang="zh"
# 最先合并的是英文里最常见的字母对（`th`、`␣th`、`nd`、`␣the`）；合并几百次之后，整个单词（` the`、` and`、
# ` LORD`）都成了单个 token，同样的文本所需的 token 也更少。GPT-2 做了 5 万次合并。下面的小模型仍使用字符级分词器：
# 只有 62 个 id，输出层小，notebook 跑得快。
#
# ## 3. 训练目标：预测下一个 token（§3.2 模型训练，§4.2 损失函数）
#
# GPT 逐个 token 地对一段文本的概率建模，$p_\theta(x_1, \dots, x_T) = \prod_t p_\theta(x_{t+1} \mid x_{\le t})$，
# 训练时最小化每个窗口、每个位置上“下一个 token”的平均交叉熵，也就是章中所说的交叉熵损失函数：
#
# $$\mathcal{L}(\theta) = -\frac{1}{N} \sum_{t} \log p_\theta(x_{t+1} \mid x_1, \dots, x_t).$$
#
# 一个批次由若干长为 `block_size + 1` 的 id 窗口组成：输入是去掉最后一个 id 的窗口，目标是右移一位的窗口。
# `LMData` 按位置切分语料，前 90% 用于训练，后 10% 用于验证：

# %%
block_size = 48
data = LMData.from_text(kjv, char_tok, block_size)
print(f"training tokens {len(data.train.ids):,}, validation tokens {len(data.val.ids):,}")
x, y = data.train.batch(2, np.random.default_rng(0))
print("x[0]:", repr(char_tok.decode(x[0].tolist())))
print("y[0]:", repr(char_tok.decode(y[0].tolist())), " (the same text, one character later)")

# %% [markdown] lang="en"
# Before any training, the model spreads its probability evenly, so the loss is $\approx \ln V$:

# %% [markdown] lang="zh"
# 训练开始之前，模型把概率近乎均匀地分给所有字符，所以损失约为 $\ln V$：

# %%
config = GPTConfig(vocab_size=char_tok.vocab_size, n_layer=2, n_head=4, n_embd=48,
                   block_size=block_size, dropout=0.0)
model = GPT(config)
loss0 = model(x, y).loss.item()
print(f"{model.num_parameters():,} parameters; first loss {loss0:.3f}, ln V = ln {config.vocab_size} = "
      f"{math.log(config.vocab_size):.3f}")

# %% [markdown] lang="en"
# ## 4. One training step, by hand
#
# Each step: the loss on a batch, its gradient by backpropagation (lesson 1), the gradient's global norm
# clipped to 1, and an AdamW update (Adam with decoupled weight decay). The learning rate follows a
# linear warm-up for $w$ steps, then a cosine decay to $\eta_{\min}$ at step $S$:
#
# $$\eta_t = \eta_{\max}\frac{t}{w} \;\; (t < w), \qquad
# \eta_t = \eta_{\min} + \tfrac12(\eta_{\max} - \eta_{\min})\Big(1 + \cos\big(\pi\,\tfrac{t - w}{S - w}\big)\Big) \;\; (t \ge w).$$

# %% [markdown] lang="zh"
# ## 4. 手动走一步训练
#
# 每一步依次是：在一个批次上算损失；用反向传播求梯度（第 1 课）；把梯度的全局范数裁剪到 1；再做一次 AdamW 更新
# （权重衰减与梯度解耦的 Adam）。学习率先在 $w$ 步内线性预热，之后按余弦曲线在第 $S$ 步衰减到 $\eta_{\min}$：
#
# $$\eta_t = \eta_{\max}\frac{t}{w} \;\; (t < w), \qquad
# \eta_t = \eta_{\min} + \tfrac12(\eta_{\max} - \eta_{\min})\Big(1 + \cos\big(\pi\,\tfrac{t - w}{S - w}\big)\Big) \;\; (t \ge w).$$

# %%
steps, warmup = 200, 20
opt = AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
sched = WarmupCosine(opt, warmup_steps=warmup, total_steps=steps, min_lr=3e-4)
lrs = [sched.lr_at(t, 3e-3, 0) for t in range(steps)]
print("learning rate at steps 0, 10, 20, 100, 199:", [f"{lrs[t]:.2e}" for t in (0, 10, 20, 100, 199)])

loss = model(x, y).loss                                  # forward: mean cross-entropy  前向：平均交叉熵
opt.zero_grad()
loss.backward()                                          # backward: every parameter's .grad  反向：每个参数的梯度
norm = clip_grad_norm_(model.parameters(), 1.0)          # rescale if the global norm exceeds 1  全局范数超过 1 则缩放
opt.step(); sched.step()                                 # AdamW update, next learning rate  AdamW 更新，下一步学习率
print(f"one step: loss {loss.item():.3f}, gradient norm before clipping {float(norm):.3f}")

# %% [markdown] lang="en"
# ## 5. Pre-training with `minigrad.train`
#
# `minigrad.train.Trainer` runs exactly that step in a loop (plus evaluation, checkpoints and resuming).
# `LMTask` supplies the batches and evaluates on the validation split. 200 steps of 32 windows is
# about 300 thousand characters seen, one pass over the training text:

# %% [markdown] lang="zh"
# ## 5. 用 `minigrad.train` 预训练
#
# `minigrad.train.Trainer` 就是把上面这一步放进循环里（外加评估、检查点和断点续训）。`LMTask` 负责提供批次，
# 并在验证集上评估。200 步、每步 32 个窗口，模型共看到约 30 万个字符，恰好把训练文本过一遍：

# %%
from minigrad.train import LMTask, Trainer, TrainConfig

mg.manual_seed(0)
model = GPT(config)
task = LMTask(data, eval_windows=64)
run_dir = tempfile.mkdtemp(prefix="lesson05-")
cfg = TrainConfig(steps=steps, batch_size=32, lr=3e-3, min_lr=3e-4, warmup_steps=warmup,
                  weight_decay=0.01, eval_every=50, ckpt_every=10**9, out_dir=run_dir,
                  progress=False, plot=False, seed=0)
start = time.perf_counter()
result = Trainer(model, task, cfg, model_config=config.to_dict(), tokenizer=char_tok, log=lambda *a: None).fit()
print(f"{steps} steps in {time.perf_counter() - start:.1f} s;  final training loss "
      f"{np.mean(result.history['loss'][-20:]):.3f} (mean of the last 20 steps)")

# %%
hist = result.history
evals = hist["eval"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(hist["step"], hist["loss"], lw=0.8, alpha=0.6, label=tr("training loss (per batch)", "训练损失（每个批次）"))
axes[0].plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "o-", label=tr("validation loss", "验证损失"))
axes[0].axhline(math.log(config.vocab_size), ls="--", c="gray", label=tr("ln V (uniform guess)", "ln V（均匀猜测）"))
axes[0].set_xlabel(tr("step", "步数")); axes[0].set_ylabel(tr("cross-entropy (nats/char)", "交叉熵（nats/字符）"))
axes[0].legend()
axes[1].plot(hist["step"], hist["lr"]); axes[1].set_title(tr("learning rate: warm-up + cosine", "学习率：预热 + 余弦衰减"))
axes[1].set_xlabel(tr("step", "步数"))
plt.tight_layout(); plt.show()

# %% [markdown] lang="en"
# ## 6. Evaluation: perplexity (§3.2 模型评估)
#
# Perplexity is the exponential of the mean cross-entropy over the $N$ tokens of held-out text:
#
# $$\mathrm{PPL} = \exp\!\Big(-\frac{1}{N}\sum_{t=1}^{N} \log p_\theta(x_{t+1} \mid x_{\le t})\Big).$$
#
# It reads as "the model is as unsure as a uniform choice among PPL tokens": a model that knows nothing
# has PPL = $V$, a perfect one PPL = 1. By hand, over the validation windows, weighting each batch's mean
# loss by its number of tokens (exercise 5.1), and compared with `LMTask.evaluate`:

# %% [markdown] lang="zh"
# ## 6. 模型评估：困惑度（§3.2 模型评估）
#
# 困惑度（perplexity）是模型在留出文本的 $N$ 个 token 上平均交叉熵的指数：
#
# $$\mathrm{PPL} = \exp\!\Big(-\frac{1}{N}\sum_{t=1}^{N} \log p_\theta(x_{t+1} \mid x_{\le t})\Big).$$
#
# 可以这样理解：模型的不确定程度，相当于在 PPL 个 token 中均匀地随机挑一个。一无所知的模型 PPL = $V$，
# 完美的模型 PPL = 1。下面在验证窗口上手动计算：每个批次的平均损失按其 token 数加权（练习 5.1），
# 再与 `LMTask.evaluate` 的结果对照：

# %%
losses, counts = [], []
with mg.no_grad():
    for xv, yv in data.val.eval_batches(32, max_windows=64):
        losses.append(model(xv, yv).loss.item())
        counts.append(yv.size)
mean_ce = float(np.dot(losses, counts) / np.sum(counts))
print(f"validation: mean cross-entropy {mean_ce:.3f} nats/char → perplexity {math.exp(mean_ce):.2f} "
      f"(untrained: {config.vocab_size});  LMTask.evaluate: {task.evaluate(model)['perplexity']:.2f}")

# %% [markdown] lang="en"
# A perplexity of about 8.5 after one pass (from 62 untrained) means the model has narrowed each next
# character to a handful of candidates; a longer run keeps lowering it (300 steps give about 7.3). Perplexities are only comparable with the same tokenizer: per BPE token the number
# would be larger, since each token carries more text.
#
# ## 7. Generation: greedy, temperature, top-k
#
# To generate, feed a prompt, take the logits $z$ of the last position, choose a token, append it, repeat.
# *Greedy* decoding takes $\arg\max_i z_i$. *Sampling* draws from
#
# $$p_i = \frac{e^{z_i/\tau}}{\sum_j e^{z_j/\tau}},$$
#
# where the temperature $\tau$ sharpens ($\tau < 1$) or flattens ($\tau > 1$) the distribution, and top-k
# first keeps only the $k$ largest logits. The next-character distribution after "And the LOR":

# %% [markdown] lang="zh"
# 过一遍数据后困惑度约为 8.5（未训练时为 62），说明模型已经把每个“下一个字符”缩小到少数几个候选；训练得更久还会继续下降
# （300 步约为 7.3）。只有分词器相同时困惑度才能互相比较：按 BPE token 计算的数值会更大，因为每个 token 承载的文本更多。
#
# ## 7. 文本生成：贪心、温度与 top-k
#
# 生成的过程是：输入提示词，取最后一个位置的 logits $z$，选出一个 token 接到末尾，如此重复。*贪心*解码取
# $\arg\max_i z_i$；*采样*则从下面的分布中抽取：
#
# $$p_i = \frac{e^{z_i/\tau}}{\sum_j e^{z_j/\tau}},$$
#
# 其中温度 $\tau$ 让分布变尖（$\tau < 1$）或变平（$\tau > 1$）；top-k 先只保留最大的 $k$ 个 logits。
# 下图是 “And the LOR” 之后下一个字符的分布：

# %%
prompt = "And the LOR"
with mg.no_grad():
    z = model(np.array([char_tok.encode(prompt)])).logits.numpy()[0, -1].astype(np.float64)
top = np.argsort(-z)[:8]
fig, ax = plt.subplots(figsize=(9, 3))
for i, tau in enumerate((0.5, 1.0, 2.0)):
    p = np.exp(z / tau - (z / tau).max()); p /= p.sum()           # softmax(z/τ)
    ax.bar(np.arange(8) + (i - 1) * 0.27, p[top], width=0.27, label=f"τ = {tau}")
ax.set_xticks(range(8)); ax.set_xticklabels([repr(char_tok.decode([int(t)])) for t in top])
ax.set_ylabel(tr("p(next char)", "p(下一个字符)")); ax.set_title(tr(f"after {prompt!r}", f"{prompt!r} 之后"))
ax.legend()
plt.tight_layout(); plt.show()

# %% [markdown] lang="en"
# The model has learnt that "LOR" is followed by "D" (about half its probability at τ = 1); τ = 0.5 makes it
# almost certain, τ = 2 spreads the probability over unlikely characters. Three ways of continuing a prompt:

# %% [markdown] lang="zh"
# 模型已经学到 “LOR” 后面跟的是 “D”（τ = 1 时约占一半概率）；τ = 0.5 时几乎确定是它，τ = 2 则把概率分散到了
# 不太可能的字符上。下面用三种方式续写同一个提示词：

# %%
start_ids = np.array([char_tok.encode("And God said")])
def show_sample(name, **kw):
    mg.manual_seed(1)
    out = model.generate(start_ids, max_new_tokens=120, **kw).numpy()[0]
    print(f"--- {name}\n{char_tok.decode(out.tolist())}\n")

show_sample("greedy", do_sample=False)
show_sample("temperature 0.8, top-k 10", temperature=0.8, top_k=10)
show_sample("temperature 1.5 (too random)", temperature=1.5)

# %% [markdown] lang="en"
# Greedy decoding quickly falls into a loop (the same most likely continuation again and again);
# sampling with a moderate temperature and top-k gives more varied text made of short real words
# ("the", "and", "of") and word-like fragments; a high temperature gives near-random letters. After
# 200 steps (10 seconds) the model has learnt letter and short-word statistics, not words, grammar or
# meaning: that takes more parameters, data and steps, which is exactly what §3.2 scales up.
#
# ## Summary
#
# | step of §3.2 | formula | minigrad |
# |---|---|---|
# | 数据收集 (data collection) | a corpus | `minigrad.data.kjv_text`, `tang_text` |
# | tokenisation | merge $\arg\max c(a, b)$ | `CharTokenizer`, `BPETokenizer.train` |
# | 模型训练 (training) | $-\frac1N\sum\log p(x_{t+1}\mid x_{\le t})$, AdamW, warm-up + cosine | `GPT(...)(x, y).loss`, `minigrad.train.Trainer`, `LMTask` |
# | 模型评估 (evaluation) | $\mathrm{PPL} = \exp(\text{mean CE})$ | `LMTask.evaluate` |
# | generation | $\mathrm{softmax}(z/\tau)$, top-k | `model.generate(ids, temperature=..., top_k=..., do_sample=...)` |
#
# **Exercises** (`lessons/05_pretraining/`, `minigrad lesson check 5`): Task 5.1 perplexity from batch losses,
# Task 5.2 a language-model batch, Task 5.3 the sampling distribution, Task 5.4 one step of BPE training.
# Next (lesson 6): reusing a pre-trained model for a new task (§3.3 微调).

# %% [markdown] lang="zh"
# 贪心解码很快陷入循环（一遍又一遍地重复同一个最可能的续写）；温度适中并配合 top-k 的采样能生成更多样的文本，
# 由真实的短词（“the”“and”“of”）和像单词的片段组成；温度过高则得到近乎随机的字母。训练 200 步（10 秒）之后，
# 模型学到的只是字母和短词的统计规律，还谈不上单词、语法或语义——那需要更多的参数、数据和训练步数，
# 而这正是 §3.2 所说的“海量数据上的预训练”要扩大的东西。
#
# ## 小结
#
# | §3.2 的步骤 | 公式 | minigrad |
# |---|---|---|
# | 数据收集 | 一份语料 | `minigrad.data.kjv_text`、`tang_text` |
# | 分词 | 合并 $\arg\max c(a, b)$ | `CharTokenizer`、`BPETokenizer.train` |
# | 模型训练 | $-\frac1N\sum\log p(x_{t+1}\mid x_{\le t})$，AdamW，预热 + 余弦 | `GPT(...)(x, y).loss`、`minigrad.train.Trainer`、`LMTask` |
# | 模型评估 | $\mathrm{PPL} = \exp(\text{平均交叉熵})$ | `LMTask.evaluate` |
# | 文本生成 | $\mathrm{softmax}(z/\tau)$，top-k | `model.generate(ids, temperature=..., top_k=..., do_sample=...)` |
#
# **练习**（`lessons/05_pretraining/`，`minigrad lesson check 5`）：任务 5.1 由各批次损失计算困惑度；
# 任务 5.2 构造语言模型的训练批次；任务 5.3 采样分布；任务 5.4 BPE 训练的一步。
# 下一课（第 6 课）：把预训练好的模型用到新任务上（§3.3 微调）。

# %%
print(f"notebook ran in {time.perf_counter() - T0:.0f} s")
