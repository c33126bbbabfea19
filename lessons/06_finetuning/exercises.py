"""Lesson 6 exercises: fine-tuning and transfer learning (§3.3 微调, §2.3 迁移学习).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 6

The tasks are described in lessons/06_finetuning/README.md; each docstring is the exact spec.

把每个标有 TODO 的函数补全（替换掉 `raise NotImplementedError`），然后检查：

    minigrad lesson check 6 --lang zh

题目说明见 lessons/06_finetuning/README.zh.md；每个文档字符串（先英文，后中文）就是精确的规格说明。
"""
import numpy as np

import minigrad.nn.functional as F


# --- Task 6.1: freezing the pretrained body ------------------------------------------------------
def freeze_except(model, trainable_prefixes):
    """Freeze (冻结) every parameter of `model` except those whose name starts with one of
    `trainable_prefixes` (e.g. ["classifier"]: train only the new head, the "linear probe").

    Set p.requires_grad = False on the frozen ones and True on the others (so calling it
    again with other prefixes unfreezes).  Names are those of model.named_parameters().
    Returns the number of trainable scalars (Σ p.numel() over the trainable parameters).

    冻结 `model` 的全部参数，只保留名字以 `trainable_prefixes` 中某个前缀开头的参数（例如 ["classifier"]：
    只训练新的分类头，即“线性探测”）。对冻结的参数设 p.requires_grad = False，其余设为 True（这样用别的前缀再调用一次
    就能解冻）。名字取自 model.named_parameters()。返回可训练标量的个数（对可训练参数求 Σ p.numel()）。
    """
    # TODO: decide each parameter of model.named_parameters() by its name; count the trainable.
    raise NotImplementedError


# --- Task 6.2: the classification head, by hand --------------------------------------------------
def classification_loss(model, input_ids, attention_mask, labels):
    """BertForSequenceClassification's forward pass from its parts (§3.3 模型调整: 添加特定任务的输出层):

        pooled = model.bert(input_ids, attention_mask).pooler_output        # (B, H), from [CLS]
        logits = model.classifier(model.dropout(pooled))                    # (B, num_labels)
        loss   = mean cross-entropy of logits against labels                # §4.2

    Use model.bert, model.dropout and model.classifier and F.cross_entropy; do not call
    model(...) itself.  Returns (logits, loss), both Tensors (the loss differentiable).

    用 BertForSequenceClassification 的各部分实现它的前向传播（§3.3 模型调整：添加特定任务的输出层）：
    pooled = model.bert(input_ids, attention_mask).pooler_output（(B, H)，来自 [CLS]），
    logits = model.classifier(model.dropout(pooled))（(B, num_labels)），loss = logits 相对于 labels 的平均交叉熵（§4.2）。
    使用 model.bert、model.dropout、model.classifier 和 F.cross_entropy；不要直接调用 model(...)。返回 (logits, loss)，
    两者都是 Tensor（损失可微）。
    """
    # TODO: three lines, one per formula.
    raise NotImplementedError


# --- Task 6.3: accuracy ----------------------------------------------------------------------------
def accuracy(logits, labels):
    """The share of examples whose most likely class (argmax over the last axis of the
    (N, K) logits) equals the label (§3.2 模型评估: 准确率).  Returns a float in [0, 1].

    最可能的类别（在 (N, K) logits 的最后一个轴上取 argmax）等于标签的样本所占的比例（§3.2 模型评估：准确率）。
    返回 [0, 1] 之间的 float。
    """
    # TODO: argmax over the classes, compare, mean.
    raise NotImplementedError


# --- Task 6.4: the confusion matrix ----------------------------------------------------------------
def confusion_matrix(predictions, labels, num_labels):
    """C[i, j] = the number of examples of true class i predicted as class j, a (K, K) int
    array (rows: the truth, columns: the prediction).  Its diagonal holds the correct ones,
    so accuracy = trace(C) / C.sum(); a row shows which classes the model confuses class i with.

    C[i, j] = 真实类别为 i、被预测为类别 j 的样本数，一个 (K, K) 的整数数组（行是真实类别，列是预测）。
    对角线上是预测正确的样本，所以 accuracy = trace(C) / C.sum()；第 i 行显示模型把类别 i 和哪些类别弄混了。
    """
    # TODO: a (K, K) int array of zeros, then count each (label, prediction) pair.
    raise NotImplementedError
