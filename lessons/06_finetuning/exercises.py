"""Lesson 6 exercises: fine-tuning and transfer learning (§3.3 微调, §2.3 迁移学习).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 6

The tasks are described in lessons/06_finetuning/README.md; each docstring is the exact spec.
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
    """
    # TODO: three lines, one per formula.
    raise NotImplementedError


# --- Task 6.3: accuracy ----------------------------------------------------------------------------
def accuracy(logits, labels):
    """The share of examples whose most likely class (argmax over the last axis of the
    (N, K) logits) equals the label (§3.2 模型评估: 准确率).  Returns a float in [0, 1]."""
    # TODO: argmax over the classes, compare, mean.
    raise NotImplementedError


# --- Task 6.4: the confusion matrix ----------------------------------------------------------------
def confusion_matrix(predictions, labels, num_labels):
    """C[i, j] = the number of examples of true class i predicted as class j, a (K, K) int
    array (rows: the truth, columns: the prediction).  Its diagonal holds the correct ones,
    so accuracy = trace(C) / C.sum(); a row shows which classes the model confuses class i with."""
    # TODO: a (K, K) int array of zeros, then count each (label, prediction) pair.
    raise NotImplementedError
