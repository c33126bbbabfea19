"""Checks for lesson 7: the chapter's example on real BERT weights (§5 项目实践).
Stubs: lessons/07_pretrained_bert/."""
from __future__ import annotations

import os
import tempfile

import numpy as np

from ..i18n import Text, tr
from ..models import sentence as _sentence
from ..models.bert import BertConfig, BertForSequenceClassification, BertModel, BertPooler
from ..tensor import Tensor
from ..tokenizers import BertTokenizer
from .core import (CheckFailed, Lesson, assert_close, forbid, forbid_function, get, is_tensor,
                   require, type_name)
from .isolation import Build
from .probes import student_gradients

LESSON = Lesson(7, "07_pretrained_bert", Text("The chapter's example on real BERT weights",
                                               "在真实的 BERT 权重上运行本章的示例"), "§5 项目实践")

_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "this", "is", "a", "great", "movie", "!",
          "terrible", "film", "the", "plot", "was", "boring", "and", "long", ".", "i", "loved", "it",
          "##s", "act", "##ing"]


def _tiny_bert_config(num_labels=2):
    return BertConfig(vocab_size=len(_VOCAB), hidden_size=16, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=32, max_position_embeddings=32,
                      num_labels=num_labels, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


@LESSON.task("7.1", Text("mean pooling over the real tokens", "在真实词元上做平均池化"),
             nudge=Text("Lesson 7's notebook, part 5 (sentence embeddings): e_b = Σ_t m_bt h_bt / Σ_t m_bt, "
                        "so padding (m = 0) adds nothing and is not counted. The mask (B, T) needs a "
                        "trailing axis to broadcast over the hidden size; keep h a Tensor so the result "
                        "has a gradient, and guard the division as the docstring says.",
                        "第 7 课笔记本第 5 部分（句向量）：e_b = Σ_t m_bt h_bt / Σ_t m_bt，所以填充位置"
                        "（m = 0）既不贡献数值也不计数。掩码 (B, T) 需要在末尾加一个轴，才能在隐藏维度上"
                        "广播；h 要保持为 Tensor，结果才有梯度；除法要按文档字符串说的那样加以保护。"))
def check_mean_pooling(ex):
    mean_pooling = get(ex, "mean_pooling")
    rng = np.random.default_rng(71)
    h = Tensor(rng.standard_normal((3, 5, 4)))
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
    ref = _sentence.mean_pooling(h, mask)
    with forbid_function(_sentence.mean_pooling, _sentence.pool):
        got = mean_pooling(h, mask)
        assert_close(got, ref, tr("mean_pooling(h (3, 5, 4), mask with 5, 2 and 1 real tokens)",
                                  "mean_pooling(h (3, 5, 4), 掩码分别有 5、2、1 个真实词元)"),
                     atol=1e-12, nudge=tr("average over the real tokens only, not over all T",
                                          "只在真实词元上求平均，而不是在全部 T 个位置上"))
        assert_close(got.data[2] if is_tensor(got) else np.asarray(got)[2], h.data[2, 0],
                     tr("a text with one real token: its embedding is that token's vector",
                        "只有一个真实词元的文本：它的向量就是这个词元的向量"), atol=1e-12)
        require(is_tensor(got), tr("mean_pooling returns a Tensor", "mean_pooling 返回 Tensor"),
                tr(f"it returned a {type_name(got)}", f"它返回了 {type_name(got)}"),
                nudge=tr("use Tensor ops on h", "对 h 使用 Tensor 运算"))
        x, w = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 3))
        m2 = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])
        (g,) = student_gradients(ex, "mean_pooling", [Tensor(x, requires_grad=True), m2], w,
                                 "mean_pooling(h, mask)")
        ref_x = Tensor(x, requires_grad=True)
        (_sentence.mean_pooling(ref_x, m2) * Tensor(w)).sum().backward()
        assert_close(g, ref_x.grad, tr("the gradient of h through your mean_pooling (autograd), "
                                       "against the exact gradient",
                                       "经过你的 mean_pooling（自动微分）得到的 h 的梯度，与精确梯度比较"),
                     atol=1e-10,
                     nudge=tr("padding positions get no gradient; real ones 1/(number of real tokens)",
                              "填充位置没有梯度；真实位置的梯度是 1/(真实词元数)"))


@LESSON.task("7.2", Text("cosine similarity", "余弦相似度"),
             nudge=Text("Lesson 7's notebook, part 5 (cosine similarity): cos(a, b) = a·b / (‖a‖ ‖b‖). "
                        "Scale every row of a and of b to length 1 (np.linalg.norm over the last axis, "
                        "kept for broadcasting); then all N × M dot products are one matrix product.",
                        "第 7 课笔记本第 5 部分（余弦相似度）：cos(a, b) = a·b / (‖a‖ ‖b‖)。把 a 和 b 的每"
                        "一行都缩放到长度 1（在最后一个轴上用 np.linalg.norm，并保留该轴以便广播）；"
                        "这样全部 N × M 个点积就是一次矩阵乘法。"))
def check_cosine(ex):
    cosine_similarity = get(ex, "cosine_similarity")
    rng = np.random.default_rng(72)
    a, b = rng.standard_normal((4, 6)) * 3, rng.standard_normal((5, 6))
    with forbid_function(_sentence.cos_sim):
        got = cosine_similarity(a, b)
        assert_close(got, _ref_cos(a, b),
                     "cosine_similarity(a (4, 6), b (5, 6))", atol=1e-9)
        assert_close(cosine_similarity(a, 10 * a), _ref_cos(a, a),
                     "cosine_similarity(a, 10·a)", atol=1e-9,
                     nudge=tr("the length of a vector must not matter: normalise both sides",
                              "向量的长度不应当有影响：两边都要归一化"))
        v = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
        assert_close(cosine_similarity(v, v), np.array([[1, 0, -1], [0, 1, 0], [-1, 0, 1.0]]),
                     tr("cosine_similarity of [1, 0], [0, 2], [-3, 0] with themselves",
                        "[1, 0]、[0, 2]、[-3, 0] 与自身的 cosine_similarity"), atol=1e-12)


def _ref_cos(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return a @ b.T


@LESSON.task("7.3", Text("the [CLS] pooler", "[CLS] 池化层"),
             nudge=Text("Lesson 7's notebook, part 3 (the head is new): pooled = tanh(W_p h_[CLS] + b_p). "
                        "[CLS] is the first token of every text, so take position 0 of the time axis "
                        "for every text; bert.pooler.dense is the Linear layer W_p, b_p; Tensor has a "
                        "tanh method.",
                        "第 7 课笔记本第 3 部分（分类头是新的）：pooled = tanh(W_p h_[CLS] + b_p)。[CLS] 是"
                        "每条文本的第一个词元，所以对每条文本取时间轴上的位置 0；bert.pooler.dense 就是"
                        "线性层 W_p、b_p；Tensor 有 tanh 方法。"))
def check_pooler(ex):
    cls_pooler = get(ex, "cls_pooler")
    bert = BertModel(_tiny_bert_config())
    bert.eval()
    rng = np.random.default_rng(73)
    for p in bert.pooler.parameters():
        p.data += rng.standard_normal(p.shape).astype(p.dtype) * 0.5
    ids = rng.integers(5, len(_VOCAB), (3, 6))
    ids[:, 0] = 2                                                        # [CLS]
    out = bert(ids)
    h = out.last_hidden_state
    with forbid(BertPooler, "forward", tr("use bert.pooler.dense and tanh",
                                          "用 bert.pooler.dense 和 tanh")):
        got = cls_pooler(Build.module(bert, BertModel, bert.config), h)
    assert_close(got, out.pooler_output, "cls_pooler(bert, last_hidden_state (3, 6, 16))", atol=1e-5,
                 nudge=tr("one token per text, the first; and the tanh after the dense layer",
                          "每条文本取一个词元，也就是第一个；线性层之后还有 tanh"))


@LESSON.task("7.4", Text("the chapter's §5 example, line for line", "逐行实现本章 §5 的示例"),
             nudge=Text("Lesson 7's notebook, part 1 (the chapter's code, in minigrad), §5 项目实践: "
                        "tokenise the batch padded to the longest text, hand the model every output of "
                        "the tokenizer (the attention mask too, by keyword), take the most likely label, "
                        "and run it all without building a graph (mg.no_grad). Return NumPy arrays.",
                        "第 7 课笔记本第 1 部分（用 minigrad 写本章的代码）及 §5 项目实践：对这批文本分词，"
                        "按最长的文本填充；把分词器的全部输出都交给模型（注意力掩码也要，用关键字参数）；"
                        "取最可能的标签；整个过程不构建计算图（mg.no_grad）。返回 NumPy 数组。"))
def check_predict(ex):
    get(ex, "predict")
    tok = _bert_tokenizer(_VOCAB)
    model = BertForSequenceClassification(_tiny_bert_config(num_labels=3))
    model.eval()
    rng = np.random.default_rng(74)
    for p in model.parameters():                          # a larger head: distinct predictions
        p.data += rng.standard_normal(p.shape).astype(p.dtype) * 0.3
    texts = ["This is a great movie!", "the plot was boring and long.", "I loved it",
             "terrible acting"]
    enc = tok(texts, padding=True, return_tensors="np")
    ref = model(**enc).logits.data
    seen = ex.run(watch_predict, Build.module(model, BertForSequenceClassification, model.config),
                  Build(_bert_tokenizer, _VOCAB), texts)
    out, calls = seen["result"], seen["calls"]
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailed(tr("predict returns (logits, predictions)", "predict 返回 (logits, predictions)"),
                          tr(f"it returned a {type_name(out)}", f"它返回了 {type_name(out)}"))
    logits, pred = out
    assert_close(logits, ref, tr("the logits of 4 texts padded to the longest",
                                 "按最长文本填充后的 4 条文本的 logits"), atol=1e-5,
                 nudge=tr("the padded texts need the attention mask: pass all of the tokenizer's "
                          "outputs to the model",
                          "填充过的文本需要注意力掩码：把分词器的全部输出都传给模型"))
    assert_close(pred, ref.argmax(-1), tr("the predictions", "预测结果"), atol=0)
    require(calls and not calls[0][1], tr("the model runs under mg.no_grad() (no graph for inference)",
                                          "模型在 mg.no_grad() 下运行（推理不需要计算图）"),
            tr("the model ran with grad mode on", "模型运行时梯度模式是开着的") if calls else
            tr("the model was not called", "模型没有被调用"),
            nudge=tr("inference needs no graph: see mg.no_grad", "推理不需要计算图：参见 mg.no_grad"))


def _bert_tokenizer(vocab):
    """A BertTokenizer of this vocabulary (written to a file in a temporary folder)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "vocab.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(vocab) + "\n")
        return BertTokenizer(path)


def watch_predict(student, model, tok, texts) -> dict:
    """In the student's process: predict(model, tok, texts) with the model's forward watched:
    the result, and for each call of the model its keyword names and whether grad mode was on."""
    from ..autograd import mode

    calls = []
    original = BertForSequenceClassification.forward

    def spy(self, *args, **kwargs):
        calls.append((sorted(kwargs), bool(mode.grad_enabled)))
        return original(self, *args, **kwargs)

    BertForSequenceClassification.forward = spy
    try:
        result = student.predict(model, tok, texts)
    finally:
        BertForSequenceClassification.forward = original
    return {"result": result, "calls": calls}
