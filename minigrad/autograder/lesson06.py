"""Checks for lesson 6: fine-tuning and transfer learning (§3.3 微调, §2.3 迁移学习).
Stubs: lessons/06_finetuning/."""
from __future__ import annotations

import numpy as np

from ..i18n import Text, tr
from ..models.bert import BertConfig, BertForSequenceClassification
from ..tensor import Tensor
from .core import (CheckFailed, Lesson, assert_close, expect_equal, expect_number, forbid, get,
                   is_tensor, require, type_name)
from .isolation import Build

LESSON = Lesson(6, "06_finetuning", Text("Fine-tuning and transfer learning", "微调与迁移学习"),
                "§3.3 微调, §2.3 迁移学习")


def _tiny_bert_config(num_labels=3, dropout=0.0):
    return BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=16, num_labels=num_labels,
                      hidden_dropout_prob=dropout, attention_probs_dropout_prob=0.0)


def _tiny_bert(num_labels=3, dropout=0.0):
    return BertForSequenceClassification(_tiny_bert_config(num_labels, dropout))


def _same_bert(model):
    """The spec of the same model, built in the student's process (these weights and mode)."""
    return Build.module(model, BertForSequenceClassification, model.config)


# --- in the student's process --------------------------------------------------------------
def parameter_flags(student, model) -> dict:
    """name -> [requires_grad, has a gradient] for each parameter of `model`."""
    return {n: [bool(p.requires_grad), p.grad is not None] for n, p in model.named_parameters()}


def loss_backward(student, model, ids, labels) -> dict:
    """model(ids, labels=labels).loss.backward(), then parameter_flags."""
    model(ids, labels=labels).loss.backward()
    return parameter_flags(student, model)


def backward_reaches(student, model, loss, names) -> dict:
    """model.zero_grad(); loss.backward(): name -> whether parameter `name` got a gradient."""
    model.zero_grad()
    loss.backward()
    params = dict(model.named_parameters())
    return {n: params[n].grad is not None for n in names}


@LESSON.task("6.1", Text("freeze the pretrained body, train the head", "冻结预训练主体，只训练分类头"),
             nudge=Text("Lesson 6's notebook, part 3 (fine-tuning vs training from scratch), §3.3 微调: a "
                        "frozen parameter is one with requires_grad off, so backward leaves it alone. "
                        "Module.named_parameters gives every parameter with its dotted name; decide "
                        "each one from its name (str.startswith accepts a tuple), both ways, and count "
                        "the scalars (numel) of the trainable ones.",
                        "第 6 课笔记本第 3 部分（微调与从头训练）及 §3.3 微调：冻结的参数就是 requires_grad "
                        "关闭的参数，反向传播不会碰它。Module.named_parameters 给出每个参数及其带点号的名字；"
                        "根据名字决定每个参数冻结还是解冻（两个方向都要设置；str.startswith 可以接受元组），"
                        "并统计可训练参数的标量个数（numel）。"))
def check_freeze(ex):
    freeze_except = get(ex, "freeze_except")
    reference = _tiny_bert()
    sizes = {n: p.numel() for n, p in reference.named_parameters()}
    model = ex.keep(_same_bert(reference))               # the model stays in the student's process
    head = sum(k for n, k in sizes.items() if n.startswith("classifier"))
    n = freeze_except(model, ["classifier"])
    expect_equal(n, head, tr("the count returned by freeze_except(model, ['classifier']) (the head: "
                             "16 × 3 weights + 3 biases)",
                             "freeze_except(model, ['classifier']) 返回的个数（分类头：16 × 3 个权重 + "
                             "3 个偏置）"),
                 nudge=tr("count scalars (numel), not tensors", "统计标量个数（numel），而不是张量个数"))
    flags = ex.run(parameter_flags, model)
    for name in sizes:
        expect_equal(flags[name][0], name.startswith("classifier"),
                     tr(f"{name}.requires_grad after freeze_except(model, ['classifier'])",
                        f"freeze_except(model, ['classifier']) 之后的 {name}.requires_grad"))
    flags = ex.run(loss_backward, model, np.array([[1, 5, 7, 2]]), np.array([1]))
    frozen_grads = [n for n in sizes if not n.startswith("classifier") and flags[n][1]]
    require(not frozen_grads, tr("frozen parameters receive no gradient", "冻结的参数收不到梯度"),
            tr(f"{len(frozen_grads)} did, e.g. {frozen_grads[:3]}",
               f"有 {len(frozen_grads)} 个收到了，例如 {frozen_grads[:3]}"))
    prefixes = ("classifier", "bert.pooler", "bert.encoder.layer.1.")
    expected = sum(k for n, k in sizes.items() if n.startswith(prefixes))
    n = freeze_except(model, prefixes)
    expect_equal(n, expected, tr("the count after unfreezing the head, the pooler and the last layer",
                                 "解冻分类头、池化层和最后一层之后的个数"),
                 nudge=tr("a second call must also turn requires_grad back on",
                          "第二次调用还必须把 requires_grad 重新打开"))
    flags = ex.run(parameter_flags, model)
    for name in ("bert.encoder.layer.1.attention.self.query.weight",
                 "bert.embeddings.word_embeddings.weight"):
        expect_equal(flags[name][0], name.startswith(prefixes),
                     tr(f"{name}.requires_grad after unfreezing the last layer",
                        f"解冻最后一层之后的 {name}.requires_grad"))
    expect_equal(freeze_except(model, []), 0, tr("freeze_except(model, []) freezes everything",
                                                 "freeze_except(model, []) 冻结全部参数"))


@LESSON.task("6.2", Text("the classification head and its loss, from the model's parts",
                         "用模型的各部分实现分类头及其损失"),
             nudge=Text("Lesson 6's notebook, part 2 (the task and the head), §3.3 模型调整: the "
                        "docstring's three formulas, one per line: BERT's pooled [CLS] vector, dropout, "
                        "the linear head, then the cross-entropy of §4.2. The padded texts only give the "
                        "right logits when the attention mask reaches model.bert.",
                        "第 6 课笔记本第 2 部分（任务与分类头）及 §3.3 模型调整：文档字符串里的三个公式，"
                        "每个一行：BERT 池化后的 [CLS] 向量、dropout、线性分类头，然后是 §4.2 的交叉熵。"
                        "只有把注意力掩码传给 model.bert，填充过的文本才能得到正确的 logits。"))
def check_classification_loss(ex):
    classification_loss = get(ex, "classification_loss")
    model = _tiny_bert()
    model.eval()
    rng = np.random.default_rng(62)
    ids = rng.integers(3, 40, (4, 6))
    mask = np.ones((4, 6), np.int64)
    mask[1, 4:] = 0
    mask[3, 2:] = 0
    labels = np.array([0, 2, 1, 2])
    ref = model(ids, attention_mask=mask, labels=labels)
    theirs = ex.keep(_same_bert(model))
    with forbid(BertForSequenceClassification, "forward",
                tr("use model.bert, model.dropout and model.classifier, not model(...)",
                   "用 model.bert、model.dropout 和 model.classifier，不要调用 model(...)")):
        out = classification_loss(theirs, ids, mask, labels)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailed(tr("classification_loss returns (logits, loss)",
                             "classification_loss 返回 (logits, loss)"),
                          tr(f"it returned a {type_name(out)}", f"它返回了 {type_name(out)}"))
    logits, loss = out
    assert_close(logits, ref.logits, tr("the logits of 4 texts, two of them padded",
                                        "4 条文本（其中两条做了填充）的 logits"), atol=1e-5,
                 nudge=tr("pass the attention mask to model.bert; take its pooled output",
                          "把注意力掩码传给 model.bert；取它的池化输出"))
    assert_close(loss, ref.loss, tr("the loss", "损失"), atol=1e-5)
    require(is_tensor(loss) and loss.requires_grad, tr("the loss is a Tensor with a graph",
                                                       "损失是带计算图的 Tensor"),
            tr(f"it is a {type_name(loss)}", f"它是 {type_name(loss)}")
            + (tr(" without a graph", "，没有计算图") if is_tensor(loss) else ""),
            nudge=tr("use Tensor ops / F.cross_entropy, not NumPy",
                     "用 Tensor 运算或 F.cross_entropy，不要用 NumPy"))
    names = ("classifier.weight", "bert.embeddings.word_embeddings.weight")
    reached = ex.run(backward_reaches, theirs, loss, list(names))
    missing = [n for n in names if not reached[n]]
    require(not missing, tr("loss.backward() reaches the head and the embeddings",
                            "loss.backward() 能传到分类头和嵌入层"),
            tr(f"no gradient in {', '.join(missing)}", f"{', '.join(missing)} 没有梯度"))


@LESSON.task("6.3", Text("accuracy", "准确率"),
             nudge=Text("Lesson 6's notebook, part 4 (evaluation), §3.2 模型评估: the prediction is the "
                        "most likely class, the argmax over the classes (the last axis of (N, K)); the "
                        "accuracy is the share of predictions equal to the label. A Tensor's values "
                        "are its .data.",
                        "第 6 课笔记本第 4 部分（评估）及 §3.2 模型评估：预测就是最可能的类别，即在类别上"
                        "（(N, K) 的最后一个轴）取 argmax；准确率是预测等于标签的比例。Tensor 的值在它的 "
                        ".data 里。"))
def check_accuracy(ex):
    accuracy = get(ex, "accuracy")
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.5, 0.2, 0.9], [1.0, 0.0, 0.0]])
    expect_number(accuracy(logits, np.array([0, 1, 0, 0])), 0.75,
                  tr("accuracy on 4 examples with 3 right", "4 个样本对了 3 个时的准确率"), atol=1e-12)
    rng = np.random.default_rng(63)
    logits = rng.standard_normal((50, 7))
    labels = rng.integers(0, 7, 50)
    expected = float((logits.argmax(-1) == labels).mean())
    expect_number(accuracy(logits, labels), expected, tr("accuracy on 50 random examples",
                                                         "50 个随机样本上的准确率"), atol=1e-12)
    square = rng.standard_normal((4, 4))               # argmax over the wrong axis is caught here
    lab = square.argmax(-1)
    expect_number(accuracy(square, lab), 1.0, tr("accuracy of logits (4, 4) against their own argmax "
                                                 "over the classes",
                                                 "logits (4, 4) 与它们自己在类别上的 argmax 比较的准确率"),
                  atol=1e-12, nudge=tr("the classes are the last axis", "类别是最后一个轴"))
    expect_number(accuracy(Tensor(logits), labels), expected,
                  tr("accuracy of logits given as a Tensor", "logits 以 Tensor 给出时的准确率"),
                  atol=1e-12)


@LESSON.task("6.4", Text("the confusion matrix", "混淆矩阵"),
             nudge=Text("Lesson 6's notebook, part 4 (accuracy and the confusion matrix): C[i, j] counts "
                        "the examples of true class i predicted as j (rows: the truth), a K × K integer "
                        "array even when some classes never occur. np.add.at adds at repeated indices; "
                        "a plain loop works as well.",
                        "第 6 课笔记本第 4 部分（准确率与混淆矩阵）：C[i, j] 统计真实类别为 i、被预测为 j 的"
                        "样本数（行是真实类别），即使有的类别从未出现，它也是一个 K × K 的整数数组。"
                        "np.add.at 可以在重复的下标处累加；普通的循环也行。"))
def check_confusion(ex):
    confusion_matrix = get(ex, "confusion_matrix")
    C = confusion_matrix(np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 1]), 3)
    assert_close(C, np.array([[1, 0, 0], [0, 1, 1], [0, 1, 2]]),
                 tr("confusion_matrix(predictions [0 1 1 2 2 2], labels [0 1 2 2 2 1], 3)",
                    "confusion_matrix(预测 [0 1 1 2 2 2], 标签 [0 1 2 2 2 1], 3)"), atol=0,
                 nudge=tr("rows are the true class, columns the prediction", "行是真实类别，列是预测"))
    rng = np.random.default_rng(64)
    pred, lab = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    ref = np.zeros((5, 5), np.int64)
    for t, p in zip(lab, pred):
        ref[t, p] += 1
    assert_close(confusion_matrix(pred, lab, 5), ref, tr("200 random predictions, 5 classes",
                                                         "200 个随机预测，5 个类别"), atol=0)
    C = np.asarray(confusion_matrix(np.array([0, 0]), np.array([0, 0]), 4))
    expect_equal(C.shape, (4, 4), tr("the shape for num_labels=4 with only class 0 seen",
                                     "num_labels=4 且只出现类别 0 时的形状"))
