"""Checks for lesson 6: fine-tuning and transfer learning (§3.3 微调, §2.3 迁移学习).
Stubs: lessons/06_finetuning/."""
from __future__ import annotations

import numpy as np

from ..models.bert import BertConfig, BertForSequenceClassification
from ..tensor import Tensor
from .core import (CheckFailed, Lesson, assert_close, expect_equal, expect_number, forbid, get,
                   is_tensor, require, type_name)
from .isolation import Build

_NOTEBOOK = "Lesson 6's notebook"

LESSON = Lesson(6, "06_finetuning", "Fine-tuning and transfer learning", "§3.3 微调, §2.3 迁移学习")


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


@LESSON.task("6.1", "freeze the pretrained body, train the head",
             nudge=f"{_NOTEBOOK}, part 3 (fine-tuning vs training from scratch), §3.3 微调: a "
                   "frozen parameter is one with requires_grad off, so backward leaves it alone. "
                   "Module.named_parameters gives every parameter with its dotted name; decide "
                   "each one from its name (str.startswith accepts a tuple), both ways, and count "
                   "the scalars (numel) of the trainable ones.")
def check_freeze(ex):
    freeze_except = get(ex, "freeze_except")
    reference = _tiny_bert()
    sizes = {n: p.numel() for n, p in reference.named_parameters()}
    model = ex.keep(_same_bert(reference))               # the model stays in the student's process
    head = sum(k for n, k in sizes.items() if n.startswith("classifier"))
    n = freeze_except(model, ["classifier"])
    expect_equal(n, head, "the count returned by freeze_except(model, ['classifier']) (the head: "
                          "16 × 3 weights + 3 biases)", nudge="count scalars (numel), not tensors")
    flags = ex.run(parameter_flags, model)
    for name in sizes:
        expect_equal(flags[name][0], name.startswith("classifier"),
                     f"{name}.requires_grad after freeze_except(model, ['classifier'])")
    flags = ex.run(loss_backward, model, np.array([[1, 5, 7, 2]]), np.array([1]))
    frozen_grads = [n for n in sizes if not n.startswith("classifier") and flags[n][1]]
    require(not frozen_grads, "frozen parameters receive no gradient",
            f"{len(frozen_grads)} did, e.g. {frozen_grads[:3]}")
    prefixes = ("classifier", "bert.pooler", "bert.encoder.layer.1.")
    expected = sum(k for n, k in sizes.items() if n.startswith(prefixes))
    n = freeze_except(model, prefixes)
    expect_equal(n, expected, "the count after unfreezing the head, the pooler and the last layer",
                 nudge="a second call must also turn requires_grad back on")
    flags = ex.run(parameter_flags, model)
    for name in ("bert.encoder.layer.1.attention.self.query.weight",
                 "bert.embeddings.word_embeddings.weight"):
        expect_equal(flags[name][0], name.startswith(prefixes),
                     f"{name}.requires_grad after unfreezing the last layer")
    expect_equal(freeze_except(model, []), 0, "freeze_except(model, []) freezes everything")


@LESSON.task("6.2", "the classification head and its loss, from the model's parts",
             nudge=f"{_NOTEBOOK}, part 2 (the task and the head), §3.3 模型调整: the docstring's "
                   "three formulas, one per line: BERT's pooled [CLS] vector, dropout, the linear "
                   "head, then the cross-entropy of §4.2. The padded texts only give the right "
                   "logits when the attention mask reaches model.bert.")
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
    with forbid(BertForSequenceClassification, "forward", "use model.bert, model.dropout and "
                "model.classifier, not model(...)"):
        out = classification_loss(theirs, ids, mask, labels)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailed("classification_loss returns (logits, loss)",
                          f"it returned a {type_name(out)}")
    logits, loss = out
    assert_close(logits, ref.logits, "the logits of 4 texts, two of them padded", atol=1e-5,
                 nudge="pass the attention mask to model.bert; take its pooled output")
    assert_close(loss, ref.loss, "the loss", atol=1e-5)
    require(is_tensor(loss) and loss.requires_grad, "the loss is a Tensor with a graph",
            f"it is a {type_name(loss)}" + (" without a graph" if is_tensor(loss) else ""),
            nudge="use Tensor ops / F.cross_entropy, not NumPy")
    names = ("classifier.weight", "bert.embeddings.word_embeddings.weight")
    reached = ex.run(backward_reaches, theirs, loss, list(names))
    missing = [n for n in names if not reached[n]]
    require(not missing, "loss.backward() reaches the head and the embeddings",
            f"no gradient in {', '.join(missing)}")


@LESSON.task("6.3", "accuracy",
             nudge=f"{_NOTEBOOK}, part 4 (evaluation), §3.2 模型评估: the prediction is the most "
                   "likely class, the argmax over the classes (the last axis of (N, K)); the "
                   "accuracy is the share of predictions equal to the label. A Tensor's values "
                   "are its .data.")
def check_accuracy(ex):
    accuracy = get(ex, "accuracy")
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.5, 0.2, 0.9], [1.0, 0.0, 0.0]])
    expect_number(accuracy(logits, np.array([0, 1, 0, 0])), 0.75,
                  "accuracy on 4 examples with 3 right", atol=1e-12)
    rng = np.random.default_rng(63)
    logits = rng.standard_normal((50, 7))
    labels = rng.integers(0, 7, 50)
    expected = float((logits.argmax(-1) == labels).mean())
    expect_number(accuracy(logits, labels), expected, "accuracy on 50 random examples", atol=1e-12)
    square = rng.standard_normal((4, 4))               # argmax over the wrong axis is caught here
    lab = square.argmax(-1)
    expect_number(accuracy(square, lab), 1.0, "accuracy of logits (4, 4) against their own argmax "
                  "over the classes", atol=1e-12, nudge="the classes are the last axis")
    expect_number(accuracy(Tensor(logits), labels), expected, "accuracy of logits given as a Tensor",
                  atol=1e-12)


@LESSON.task("6.4", "the confusion matrix",
             nudge=f"{_NOTEBOOK}, part 4 (accuracy and the confusion matrix): C[i, j] counts the "
                   "examples of true class i predicted as j (rows: the truth), a K × K integer "
                   "array even when some classes never occur. np.add.at adds at repeated indices; "
                   "a plain loop works as well.")
def check_confusion(ex):
    confusion_matrix = get(ex, "confusion_matrix")
    C = confusion_matrix(np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 1]), 3)
    assert_close(C, np.array([[1, 0, 0], [0, 1, 1], [0, 1, 2]]), "confusion_matrix(predictions "
                 "[0 1 1 2 2 2], labels [0 1 2 2 2 1], 3)", atol=0,
                 nudge="rows are the true class, columns the prediction")
    rng = np.random.default_rng(64)
    pred, lab = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    ref = np.zeros((5, 5), np.int64)
    for t, p in zip(lab, pred):
        ref[t, p] += 1
    assert_close(confusion_matrix(pred, lab, 5), ref, "200 random predictions, 5 classes", atol=0)
    C = np.asarray(confusion_matrix(np.array([0, 0]), np.array([0, 0]), 4))
    expect_equal(C.shape, (4, 4), "the shape for num_labels=4 with only class 0 seen")
