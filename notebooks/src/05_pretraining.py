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
# # Lesson 5 · Pre-training a GPT (§3.2 预训练)
#
# **Chapter section:** §3.2 预训练: "大模型通常在海量数据上进行预训练，学习到通用的语言表示" — a large model is
# pre-trained (预训练) on a large amount of text and learns a general representation of language. The
# chapter lists three steps, and this lesson runs each of them on a small scale:
# **数据收集** (data collection), **模型训练** (training a Transformer on "the statistical regularities of
# language", 语言的统计规律), and **模型评估** (evaluation, "例如 perplexity 和准确率").
#
# **After this lesson you will be able to**
# - turn a corpus into token ids with a character tokenizer and with byte-pair encoding (BPE, 字节对编码),
#   and read the merges a BPE tokenizer learns;
# - state the language-modelling objective (next-token prediction, 下一个词预测) and build its batches;
# - pre-train a tiny GPT with AdamW, a warm-up + cosine learning-rate schedule and gradient clipping,
#   using `minigrad.train`;
# - compute perplexity (困惑度) = exp(mean cross-entropy) and say what its value means;
# - generate text greedily, with a temperature (温度) and with top-k sampling.
#
# Everything is tiny so the notebook runs in well under a minute on two CPU cores: a 2-layer GPT with
# about 62k parameters, trained for 200 steps (about 10 s) on the King James Bible at character level.
# It learns the commonest short words and the shape of the text, not meaning. Real pre-training is the same loop with ~10⁶ times more
# parameters, data and steps.
#
# Exercises: `lessons/05_pretraining/` (`minigrad lesson check 5`).

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
from minigrad.models.gpt import GPT, GPTConfig
from minigrad.optim import AdamW, clip_grad_norm_
from minigrad.optim.lr_scheduler import WarmupCosine
from minigrad.tokenizers import BPETokenizer, CharTokenizer

mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=3, suppress=True)
T0 = time.perf_counter()

# %% [markdown]
# ## 1. Data collection (数据收集)
#
# minigrad bundles two small corpora (no downloads): 唐诗三百首 (about 25 thousand characters) and the King
# James Bible (KJV, about 4.3 million characters). GPT-3 was pre-trained on about 300 billion tokens;
# we will use the first 300 thousand characters of the KJV.

# %%
poems = tang_poems()
print(len(poems), "Tang poems;", poems[0].title, "by", poems[0].author)
print(poems[0].text[:48])
kjv = kjv_text(300_000)
print(f"\nKJV: {len(kjv):,} characters; the first lines:\n{kjv[:170]}")

# %% [markdown]
# ## 2. Tokenisation (分词): text → ids
#
# A model reads integers. The simplest tokenizer gives every distinct character its own id
# (`CharTokenizer`). For Chinese, a character is already a meaningful unit:

# %%
tang_tok = CharTokenizer.from_text(tang_text())
ids = tang_tok.encode("床前明月光")
print("vocabulary:", tang_tok.vocab_size, "characters;  床前明月光 →", ids, "→", tang_tok.decode(ids))

# %% [markdown]
# English spelled letter by letter makes long sequences: the model must learn spelling before words.
# **Byte-pair encoding** (BPE, GPT-2's tokenizer) starts from the 256 bytes and repeatedly merges the most
# frequent pair of adjacent symbols into a new symbol. With $c(a, b)$ the number of times $b$ follows $a$
# in the corpus (counted inside words), each training step adds
#
# $$(a^*, b^*) = \arg\max_{(a, b)} c(a, b), \qquad \text{new token } a^*b^*.$$
#
# Training one on 100 thousand characters of the KJV with 300 merges (`Ġ` is GPT-2's sign for a space):

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

# %% [markdown]
# The first merges are the commonest English pairs (`th`, `␣th`, `nd`, `␣the`); after a few hundred merges,
# whole words (` the`, ` and`, ` LORD`) are single tokens, and a text needs fewer tokens. GPT-2 has
# 50,000 merges. For the tiny model below we keep the character tokenizer: 62 ids means a small
# output layer and a fast notebook.
#
# ## 3. The objective: predict the next token (§3.2 模型训练, §4.2 损失函数)
#
# A GPT models the probability of a text one token at a time,
# $p_\theta(x_1, \dots, x_T) = \prod_t p_\theta(x_{t+1} \mid x_{\le t})$, and is trained to minimise the mean
# cross-entropy (交叉熵) of the next token over every position of every window:
#
# $$\mathcal{L}(\theta) = -\frac{1}{N} \sum_{t} \log p_\theta(x_{t+1} \mid x_1, \dots, x_t).$$
#
# A batch is a set of windows of `block_size + 1` ids; the input is the window without its last id and
# the target the window shifted by one. `LMData` splits the corpus by position, the first 90% for
# training and the last 10% for validation:

# %%
block_size = 48
data = LMData.from_text(kjv, char_tok, block_size)
print(f"training tokens {len(data.train.ids):,}, validation tokens {len(data.val.ids):,}")
x, y = data.train.batch(2, np.random.default_rng(0))
print("x[0]:", repr(char_tok.decode(x[0].tolist())))
print("y[0]:", repr(char_tok.decode(y[0].tolist())), " (the same text, one character later)")

# %% [markdown]
# Before any training, the model spreads its probability evenly, so the loss is $\approx \ln V$:

# %%
config = GPTConfig(vocab_size=char_tok.vocab_size, n_layer=2, n_head=4, n_embd=48,
                   block_size=block_size, dropout=0.0)
model = GPT(config)
loss0 = model(x, y).loss.item()
print(f"{model.num_parameters():,} parameters; first loss {loss0:.3f}, ln V = ln {config.vocab_size} = "
      f"{math.log(config.vocab_size):.3f}")

# %% [markdown]
# ## 4. One training step, by hand
#
# Each step: the loss on a batch, its gradient by backpropagation (lesson 1), the gradient's global norm
# clipped to 1, and an AdamW update (Adam with decoupled weight decay). The learning rate follows a
# linear warm-up (预热) for $w$ steps, then a cosine decay to $\eta_{\min}$ at step $S$:
#
# $$\eta_t = \eta_{\max}\frac{t}{w} \;\; (t < w), \qquad
# \eta_t = \eta_{\min} + \tfrac12(\eta_{\max} - \eta_{\min})\Big(1 + \cos\big(\pi\,\tfrac{t - w}{S - w}\big)\Big) \;\; (t \ge w).$$

# %%
steps, warmup = 200, 20
opt = AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
sched = WarmupCosine(opt, warmup_steps=warmup, total_steps=steps, min_lr=3e-4)
lrs = [sched.lr_at(t, 3e-3, 0) for t in range(steps)]
print("learning rate at steps 0, 10, 20, 100, 199:", [f"{lrs[t]:.2e}" for t in (0, 10, 20, 100, 199)])

loss = model(x, y).loss                                  # forward: mean cross-entropy
opt.zero_grad()
loss.backward()                                          # backward: every parameter's .grad
norm = clip_grad_norm_(model.parameters(), 1.0)          # rescale if the global norm exceeds 1
opt.step(); sched.step()                                 # AdamW update, next learning rate
print(f"one step: loss {loss.item():.3f}, gradient norm before clipping {float(norm):.3f}")

# %% [markdown]
# ## 5. Pre-training with `minigrad.train`
#
# `minigrad.train.Trainer` runs exactly that step in a loop (plus evaluation, checkpoints and resuming).
# `LMTask` supplies the batches and evaluates on the validation split. 200 steps of 32 windows is
# about 300 thousand characters seen, one pass over the training text:

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
axes[0].plot(hist["step"], hist["loss"], lw=0.8, alpha=0.6, label="training loss (per batch)")
axes[0].plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "o-", label="validation loss")
axes[0].axhline(math.log(config.vocab_size), ls="--", c="gray", label="ln V (uniform guess)")
axes[0].set_xlabel("step"); axes[0].set_ylabel("cross-entropy (nats/char)"); axes[0].legend()
axes[1].plot(hist["step"], hist["lr"]); axes[1].set_title("learning rate: warm-up + cosine")
axes[1].set_xlabel("step")
plt.tight_layout(); plt.show()

# %% [markdown]
# ## 6. Evaluation: perplexity (§3.2 模型评估)
#
# Perplexity is the exponential of the mean cross-entropy over the $N$ tokens of held-out text:
#
# $$\mathrm{PPL} = \exp\!\Big(-\frac{1}{N}\sum_{t=1}^{N} \log p_\theta(x_{t+1} \mid x_{\le t})\Big).$$
#
# It reads as "the model is as unsure as a uniform choice among PPL tokens": a model that knows nothing
# has PPL = $V$, a perfect one PPL = 1. By hand, over the validation windows, weighting each batch's mean
# loss by its number of tokens (exercise 5.1), and compared with `LMTask.evaluate`:

# %%
losses, counts = [], []
with mg.no_grad():
    for xv, yv in data.val.eval_batches(32, max_windows=64):
        losses.append(model(xv, yv).loss.item())
        counts.append(yv.size)
mean_ce = float(np.dot(losses, counts) / np.sum(counts))
print(f"validation: mean cross-entropy {mean_ce:.3f} nats/char → perplexity {math.exp(mean_ce):.2f} "
      f"(untrained: {config.vocab_size});  LMTask.evaluate: {task.evaluate(model)['perplexity']:.2f}")

# %% [markdown]
# A perplexity of about 8.5 after one pass (from 62 untrained) means the model has narrowed each next
# character to a handful of candidates; a longer run keeps lowering it (300 steps give about 7.3). Perplexities are only comparable with the same tokenizer: per BPE token the number
# would be larger, since each token carries more text.
#
# ## 7. Generation (生成): greedy, temperature, top-k
#
# To generate, feed a prompt, take the logits $z$ of the last position, choose a token, append it, repeat.
# *Greedy* decoding takes $\arg\max_i z_i$. *Sampling* draws from
#
# $$p_i = \frac{e^{z_i/\tau}}{\sum_j e^{z_j/\tau}},$$
#
# where the temperature $\tau$ sharpens ($\tau < 1$) or flattens ($\tau > 1$) the distribution, and top-k
# first keeps only the $k$ largest logits. The next-character distribution after "And the LOR":

# %%
prompt = "And the LOR"
with mg.no_grad():
    z = model(np.array([char_tok.encode(prompt)])).logits.numpy()[0, -1].astype(np.float64)
top = np.argsort(-z)[:8]
fig, ax = plt.subplots(figsize=(9, 3))
for i, tau in enumerate((0.5, 1.0, 2.0)):
    p = np.exp(z / tau - (z / tau).max()); p /= p.sum()
    ax.bar(np.arange(8) + (i - 1) * 0.27, p[top], width=0.27, label=f"τ = {tau}")
ax.set_xticks(range(8)); ax.set_xticklabels([repr(char_tok.decode([int(t)])) for t in top])
ax.set_ylabel("p(next char)"); ax.set_title(f"after {prompt!r}"); ax.legend()
plt.tight_layout(); plt.show()

# %% [markdown]
# The model has learnt that "LOR" is followed by "D" (about half its probability at τ = 1); τ = 0.5 makes it
# almost certain, τ = 2 spreads the probability over unlikely characters. Three ways of continuing a prompt:

# %%
start_ids = np.array([char_tok.encode("And God said")])
def show_sample(name, **kw):
    mg.manual_seed(1)
    out = model.generate(start_ids, max_new_tokens=120, **kw).numpy()[0]
    print(f"--- {name}\n{char_tok.decode(out.tolist())}\n")

show_sample("greedy", do_sample=False)
show_sample("temperature 0.8, top-k 10", temperature=0.8, top_k=10)
show_sample("temperature 1.5 (too random)", temperature=1.5)

# %% [markdown]
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
# | 数据收集 | a corpus | `minigrad.data.kjv_text`, `tang_text` |
# | tokenisation | merge $\arg\max c(a, b)$ | `CharTokenizer`, `BPETokenizer.train` |
# | 模型训练 | $-\frac1N\sum\log p(x_{t+1}\mid x_{\le t})$, AdamW, warm-up + cosine | `GPT(...)(x, y).loss`, `minigrad.train.Trainer`, `LMTask` |
# | 模型评估 | $\mathrm{PPL} = \exp(\text{mean CE})$ | `LMTask.evaluate` |
# | generation | $\mathrm{softmax}(z/\tau)$, top-k | `model.generate(ids, temperature=..., top_k=..., do_sample=...)` |
#
# **Exercises** (`lessons/05_pretraining/`, `minigrad lesson check 5`): Task 5.1 perplexity from batch losses,
# Task 5.2 a language-model batch, Task 5.3 the sampling distribution, Task 5.4 one step of BPE training.
# Next (lesson 6): reusing a pre-trained model for a new task (§3.3 微调).

# %%
print(f"notebook ran in {time.perf_counter() - T0:.0f} s")
