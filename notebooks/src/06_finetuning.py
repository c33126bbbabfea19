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
# # Lesson 6 · Fine-tuning and transfer learning (§3.3 微调, §2.3 迁移学习)
#
# **Chapter sections:** §2.3 迁移学习: "将在一个任务上学到的知识应用到另一个相关任务中" — transfer learning
# applies what was learnt on one task to a related one; §3.3 微调: after pre-training, a model is
# fine-tuned for a downstream task in three steps: **数据准备** (a labelled data set for the
# task), **模型调整** ("添加特定任务的输出层", add a task-specific output layer) and **模型训练** (train the
# parameters on the task's data).
#
# **After this lesson you will be able to**
# - pre-train a small BERT with the masked-language-model objective on unlabelled text;
# - put a classification head on it (`BertForSequenceClassification`) and say which weights are
#   pre-trained and which are new;
# - freeze parameters and count what is left to train;
# - fine-tune from pre-trained weights and from scratch with the same budget, and read the two accuracy
#   curves honestly (accuracy, confusion matrix).
#
# The task: tell a 五言 poem (5-character lines) from a 七言 poem (7-character lines) in 唐诗三百首, with
# only 40 labelled poems. Everything is tiny so the notebook runs in well under a minute on two CPU
# cores: a 2-layer BERT (≈0.1 M parameters), 150 pre-training steps, 60 fine-tuning steps per run.
#
# Exercises: `lessons/06_finetuning/` (`minigrad lesson check 6`).

# %% [markdown] lang="zh"
# # 第 6 课 · 微调与迁移学习（§3.3 微调，§2.3 迁移学习）
#
# **对应章节：** §2.3 迁移学习——“将在一个任务上学到的知识应用到另一个相关任务中”；§3.3 微调——预训练之后，
# 大模型可以针对特定的下游任务进行微调，分三步：**数据准备**（收集该任务带标注的数据集）、**模型调整**
# （“添加特定任务的输出层”）和**模型训练**（用该任务的数据训练模型参数）。
#
# **学完本课，你将能够：**
# - 在无标注文本上用掩码语言模型（MLM）目标预训练一个小型 BERT；
# - 在它之上加一个分类头（`BertForSequenceClassification`），并说清哪些权重来自预训练、哪些是新的；
# - 冻结参数，并统计剩下多少参数需要训练；
# - 在相同的训练预算下分别从预训练权重和从零开始微调，实事求是地解读两条准确率曲线（准确率、混淆矩阵）。
#
# 任务：在《唐诗三百首》中区分五言诗（每句 5 个字）和七言诗（每句 7 个字），只用 40 首带标注的诗。
# 为了让 notebook 在两个 CPU 核上一分钟内跑完，一切都很小：2 层 BERT（约 0.1 M 参数），预训练 150 步，
# 每次微调 60 步。
#
# 练习：`lessons/06_finetuning/`（`minigrad lesson check 6`）。

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # tiny matrices: one BLAS thread is fastest on 2 cores
# %matplotlib inline
import tempfile
import time
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad.data import LMData, classification_task, tang_text
from minigrad.i18n import set_language, tr
from minigrad.models.bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, mask_tokens
from minigrad.tokenizers import CharTokenizer
from minigrad.train import ClassificationTask, MLMTask, Trainer, TrainConfig
from minigrad.viz import cjk_font

set_language("en")
plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font() or "DejaVu Sans"]   # CJK glyphs for Chinese labels 中文标签
mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=3, suppress=True)
T0 = time.perf_counter()
RUN_DIR = tempfile.mkdtemp(prefix="lesson06-")


def train(model, task, steps, lr, batch_size, eval_every, seed=0):
    """minigrad.train's loop (AdamW, warm-up + cosine, clipping), quietly, in a temporary folder."""
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, min_lr=lr / 10,
                      warmup_steps=max(1, steps // 10), weight_decay=0.01, eval_every=eval_every,
                      ckpt_every=10**9, out_dir=RUN_DIR, progress=False, plot=False, seed=seed)
    return Trainer(model, task, cfg, model_config={}, log=lambda *a: None).fit()

# %% [markdown] lang="en"
# ## 1. Pre-training on unlabelled text (§3.2 预训练, the source task)
#
# BERT is pre-trained by hiding 15% of the tokens and predicting them from both sides (lesson 4: no
# causal mask). With $M$ the set of masked positions and $\tilde{x}$ the corrupted input,
#
# $$\mathcal{L}_{\text{MLM}} = -\frac{1}{|M|}\sum_{i \in M} \log p_\theta(x_i \mid \tilde{x}).$$
#
# A character tokenizer over the 600 commonest characters of the poems (the rarer ones become `[UNK]`,
# about a fifth of the text: it keeps the output layer small), with BERT's special tokens:

# %% [markdown] lang="zh"
# ## 1. 在无标注文本上预训练（§3.2 预训练，即源任务）
#
# BERT 的预训练方式是遮住 15% 的 token，再根据两侧的上下文把它们预测出来（第 4 课：没有因果掩码），
# 这就是掩码语言模型。记 $M$ 为被遮住的位置集合，$\tilde{x}$ 为被破坏后的输入，则
#
# $$\mathcal{L}_{\text{MLM}} = -\frac{1}{|M|}\sum_{i \in M} \log p_\theta(x_i \mid \tilde{x}).$$
#
# 分词器只收录诗中最常见的 600 个汉字（更少见的字记作 `[UNK]`，约占文本的五分之一，这样输出层可以小一些），
# 再加上 BERT 的特殊 token：

# %%
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
common = sorted(c for c, _ in Counter(tang_text()).most_common(600))
tok = CharTokenizer(SPECIALS + common, SPECIALS, pad_token="[PAD]", unk_token="[UNK]",
                    cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
ids = np.array([tok.encode("举头望明月，低头思故乡。")])
inputs, labels = mask_tokens(ids, tok.mask_token_id, tok.vocab_size, tok.all_special_ids, mlm_probability=0.3)
print("input :", tok.decode(ids[0].tolist()))
print("masked:", " ".join(tok.convert_ids_to_tokens(inputs.numpy()[0].tolist())))
print("labels:", labels.numpy()[0], "(-100 = not predicted)")

# %%
config = BertConfig(vocab_size=tok.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=128, max_position_embeddings=80, num_labels=2,
                    hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.0)
mlm = BertForMaskedLM(config)
lm_data = LMData.from_text(tang_text(), tok, block_size=47)
start = time.perf_counter()
pre = train(mlm, MLMTask(lm_data, eval_windows=32), steps=150, lr=2e-3, batch_size=32, eval_every=150)
ev = pre.history["eval"][-1]
print(f"pre-training: 150 steps in {time.perf_counter() - start:.0f} s; masked-character loss "
      f"{pre.history['loss'][0]:.2f} → {np.mean(pre.history['loss'][-10:]):.2f} "
      f"(ln V = {np.log(tok.vocab_size):.2f}); validation accuracy on masked characters {ev['accuracy']:.1%}")

# %% [markdown] lang="en"
# About one masked character in eight right is little (a real BERT recovers most masked *words*), but
# the encoder has started to learn which characters go together and where the punctuation falls.
#
# ## 2. The task and the head (§3.3 数据准备, 模型调整)
#
# The labelled data: 155 五言 and 136 七言 poems (`minigrad.data.tang_form`), split 80/20 with each label
# keeping its share; we keep only 40 of the training poems (balanced) to imitate a small downstream set.

# %% [markdown] lang="zh"
# 被遮住的字大约只猜对八分之一，确实不多（真正的 BERT 能还原大部分被遮住的*词*），但编码器已经开始学到
# 哪些字常常一起出现、标点落在什么位置。
#
# ## 2. 任务与分类头（§3.3 数据准备、模型调整）
#
# 带标注的数据：155 首五言诗和 136 首七言诗（`minigrad.data.tang_form`），按 80/20 划分，且每个类别保持原有比例；
# 训练集只保留 40 首（两类各半），模拟一个很小的下游任务数据集。

# %%
train_set, test_set = classification_task("tang-form", seed=0)
small = train_set.sample(40, seed=0)
print("training:", small.counts(), " test:", test_set.counts())
print(small.label_names[small.labels[0]], "·", small.texts[0][:24], "…")

# %% [markdown] lang="en"
# The new output layer reads BERT's pooled [CLS] vector, $\mathrm{pooled} = \tanh(W_p h_{\text{[CLS]}} + b_p)$,
# and gives one score per label, trained with cross-entropy (§4.2):
#
# $$\mathrm{logits} = W_c\,\mathrm{pooled} + b_c, \qquad \mathcal{L} = -\frac{1}{B}\sum_b \log \mathrm{softmax}(\mathrm{logits}_b)_{y_b}.$$
#
# `BertForSequenceClassification` is BERT + pooler + that layer. Loading the pre-trained encoder into it,
# the names tell what is reused and what is new:

# %% [markdown] lang="zh"
# 新的输出层读取 BERT 池化后的 [CLS] 向量 $\mathrm{pooled} = \tanh(W_p h_{\text{[CLS]}} + b_p)$，为每个类别给出一个分数，
# 用交叉熵损失函数训练（§4.2）：
#
# $$\mathrm{logits} = W_c\,\mathrm{pooled} + b_c, \qquad \mathcal{L} = -\frac{1}{B}\sum_b \log \mathrm{softmax}(\mathrm{logits}_b)_{y_b}.$$
#
# `BertForSequenceClassification` 就是 BERT + 池化层 + 这个输出层。把预训练好的编码器载入其中，
# 从参数名就能看出哪些被复用、哪些是新加的：

# %%
def classifier(pretrained: bool):
    mg.manual_seed(1)                                   # the same head and pooler in both runs
    model = BertForSequenceClassification(config)
    if pretrained:
        encoder = {k: v for k, v in mlm.state_dict().items() if k.startswith("bert.")}
        missing, unexpected = model.load_state_dict(encoder, strict=False)
        print("new (randomly initialised):", sorted(missing))
    return model


model = classifier(pretrained=True)
total = model.num_parameters()
for name, p in model.named_parameters():                 # freeze everything but the head
    p.requires_grad = name.startswith(("classifier", "bert.pooler"))
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(f"{total:,} parameters; frozen body → {trainable:,} trainable ({trainable / total:.1%})")

# %% [markdown] lang="en"
# (The MLM head `cls.*` is dropped: it was only needed for the pre-training task.) Freezing the body and
# training the head only is the cheapest transfer; here we fine-tune *all* the weights, the usual
# choice for BERT.
#
# ## 3. Fine-tuning vs training from scratch (§3.3 模型训练)
#
# Same architecture, same 40 poems, same batches, same 60 steps and learning rate; the only
# difference is where the encoder's weights start. Test accuracy every 5 steps:

# %% [markdown] lang="zh"
# （MLM 头 `cls.*` 被丢掉了：它只在预训练任务中有用。）冻结主体、只训练分类头是代价最小的迁移方式；
# 这里我们微调*全部*权重，这也是 BERT 的常规做法。
#
# ## 3. 微调与从零训练的对比（§3.3 模型训练）
#
# 架构相同、40 首诗相同、批次相同、60 步和学习率也相同，唯一的区别是编码器权重的起点。每 5 步测一次测试集准确率：

# %%
task = ClassificationTask(small, test_set, tok, max_length=64)
curves = {}
for name, pretrained in (("pre-trained encoder", True), ("from scratch", False)):
    model = classifier(pretrained)
    start = time.perf_counter()
    result = train(model, task, steps=60, lr=1e-3, batch_size=16, eval_every=5)
    curves[name] = (result.history["eval"], model)
    print(f"{name:20s} {time.perf_counter() - start:4.1f} s   test accuracy by step: "
          + " ".join(f"{e['accuracy']:.2f}" for e in result.history["eval"]))

# %%
run_label = {"pre-trained encoder": tr("pre-trained encoder", "预训练编码器"),
             "from scratch": tr("from scratch", "从零训练")}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for name, (evals, _) in curves.items():
    steps = [e["step"] for e in evals]
    axes[0].plot(steps, [e["accuracy"] for e in evals], "o-", ms=3, label=run_label[name])
    axes[1].plot(steps, [e["val_loss"] for e in evals], "o-", ms=3, label=run_label[name])
axes[0].axhline(max(test_set.counts().values()) / len(test_set), ls="--", c="gray",
                label=tr("majority class", "多数类基线"))
axes[0].set_title(tr(f"test accuracy ({len(test_set)} poems)", f"测试集准确率（{len(test_set)} 首诗）"))
axes[1].set_title(tr("test loss", "测试集损失"))
for ax in axes:
    ax.set_xlabel(tr("fine-tuning step", "微调步数")); ax.legend()
plt.tight_layout(); plt.show()

# %% [markdown] lang="en"
# **What these numbers show, and what they do not.** The test set has 58 poems, so one poem is 1.7 points
# of accuracy, and each curve is one run with one seed. What the pre-trained run gains here is
# *speed*: its encoder already separates the two line lengths well enough that the new head can read it
# after a few steps. The task is easy (the comma comes after 5 or after 7 characters), so the model
# trained from scratch also gets there with enough steps; on harder tasks and with fewer labels the
# gap is larger and lasts, which is why large models are pre-trained once and fine-tuned many times
# (§2.3). A fair comparison would repeat the runs over several seeds and data splits.
#
# ## 4. Evaluation: accuracy and the confusion matrix (§3.2 模型评估)
#
# Accuracy is the share of right answers, $\frac{1}{N}\sum_n [\arg\max_k \mathrm{logits}_{nk} = y_n]$; the
# confusion matrix $C_{ij}$ counts the test poems of class $i$ predicted as $j$ (rows: truth):

# %% [markdown] lang="zh"
# **这些数字说明了什么，又不能说明什么。** 测试集只有 58 首诗，一首诗就相当于 1.7 个百分点的准确率，
# 而且每条曲线都只是一个随机种子下的一次运行。预训练在这里带来的是*速度*：它的编码器已经能较好地区分两种句长，
# 新的分类头只需几步就能读出来。这个任务很简单（逗号出现在第 5 个字还是第 7 个字之后），所以从零训练的模型
# 只要步数够多也能做到；在更难的任务、更少的标注上，差距会更大也更持久——这正是大模型“预训练一次、微调多次”的原因（§2.3）。
# 要做公平的比较，应当在多个随机种子和多种数据划分上重复实验。
#
# ## 4. 模型评估：准确率与混淆矩阵（§3.2 模型评估）
#
# 准确率是答对的比例，$\frac{1}{N}\sum_n [\arg\max_k \mathrm{logits}_{nk} = y_n]$；混淆矩阵 $C_{ij}$
# 统计真实类别为 $i$、被预测为 $j$ 的测试诗数（行是真实类别）：

# %%
for name, (_, model) in curves.items():
    model.eval()
    with mg.no_grad():
        logits = model(task.test_ids, attention_mask=task.test_mask).logits.numpy()
    pred = logits.argmax(-1)
    C = np.zeros((2, 2), dtype=int)
    np.add.at(C, (test_set.labels, pred), 1)                 # C[truth, prediction] += 1  真实类别 × 预测类别
    print(f"{name}: accuracy {(pred == test_set.labels).mean():.1%};  confusion matrix "
          f"(rows 五言, 七言):\n{C}")

# %% [markdown] lang="en"
# ## Summary
#
# | step | formula | minigrad |
# |---|---|---|
# | pre-training (source task) | $-\frac{1}{\lvert M\rvert}\sum_{i\in M}\log p(x_i\mid\tilde x)$ | `mask_tokens`, `BertForMaskedLM`, `minigrad.train.MLMTask` |
# | 数据准备 (data preparation) | labelled texts | `minigrad.data.tang_form`, `classification_task`, `.sample(n)` |
# | 模型调整 (a new output layer) | $W_c \tanh(W_p h_{\text{[CLS]}} + b_p) + b_c$ | `BertForSequenceClassification`, `load_state_dict(..., strict=False)` |
# | freezing | train only some parameters | `p.requires_grad = False` |
# | 模型训练 / 评估 (training, evaluation) | cross-entropy; accuracy, confusion matrix | `ClassificationTask`, `Trainer` |
#
# **Exercises** (`lessons/06_finetuning/`, `minigrad lesson check 6`): Task 6.1 freezing all but the head,
# Task 6.2 the classification head and its loss from the model's parts, Task 6.3 accuracy, Task 6.4 the
# confusion matrix. Next (lesson 7): the chapter's §5 example on a real pre-trained BERT.

# %% [markdown] lang="zh"
# ## 小结
#
# | 步骤 | 公式 | minigrad |
# |---|---|---|
# | 预训练（源任务） | $-\frac{1}{\lvert M\rvert}\sum_{i\in M}\log p(x_i\mid\tilde x)$ | `mask_tokens`、`BertForMaskedLM`、`minigrad.train.MLMTask` |
# | 数据准备 | 带标注的文本 | `minigrad.data.tang_form`、`classification_task`、`.sample(n)` |
# | 模型调整 | $W_c \tanh(W_p h_{\text{[CLS]}} + b_p) + b_c$ | `BertForSequenceClassification`、`load_state_dict(..., strict=False)` |
# | 冻结参数 | 只训练部分参数 | `p.requires_grad = False` |
# | 模型训练 / 评估 | 交叉熵；准确率、混淆矩阵 | `ClassificationTask`、`Trainer` |
#
# **练习**（`lessons/06_finetuning/`，`minigrad lesson check 6`）：任务 6.1 冻结分类头以外的全部参数；
# 任务 6.2 用模型的各个部件搭出分类头及其损失；任务 6.3 准确率；任务 6.4 混淆矩阵。
# 下一课（第 7 课）：在真实的预训练 BERT 上运行章节 §5 的示例。

# %%
print(f"notebook ran in {time.perf_counter() - T0:.0f} s")
