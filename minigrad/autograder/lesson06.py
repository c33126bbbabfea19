"""Checks for lesson 6: fine-tuning and transfer learning (§3.3 微调, §2.3 迁移学习).
Stubs: lessons/06_finetuning/."""
from __future__ import annotations

import numpy as np

from ..models.bert import BertConfig, BertForSequenceClassification
from ..nn import functional as F
from ..tensor import Tensor
from .core import CheckFailed, Lesson, assert_close, forbid, get, require

LESSON = Lesson(6, "06_finetuning", "Fine-tuning and transfer learning", "§3.3 微调, §2.3 迁移学习")


def _tiny_bert(num_labels=3, dropout=0.0):
    cfg = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=16, num_labels=num_labels,
                     hidden_dropout_prob=dropout, attention_probs_dropout_prob=0.0)
    return BertForSequenceClassification(cfg)


@LESSON.task("6.1", "freeze the pretrained body, train the head",
             hint="for name, p in model.named_parameters(): p.requires_grad = "
                  "name.startswith(tuple(prefixes)); count p.numel() of the trainable ones")
def check_freeze(ex):
    freeze_except = get(ex, "freeze_except")
    model = _tiny_bert()
    head = sum(p.numel() for n, p in model.named_parameters() if n.startswith("classifier"))
    n = freeze_except(model, ["classifier"])
    require(n == head, f"freeze_except(model, ['classifier']) returned {n}; the head has {head} "
                       f"trainable numbers (16 × 3 weights + 3 biases)")
    for name, p in model.named_parameters():
        if p.requires_grad != name.startswith("classifier"):
            raise CheckFailed(f"after freeze_except(model, ['classifier']), {name}.requires_grad is "
                              f"{p.requires_grad}")
    ids = np.array([[1, 5, 7, 2]])
    model(ids, labels=np.array([1])).loss.backward()
    frozen_grads = [n for n, p in model.named_parameters() if not n.startswith("classifier")
                    and p.grad is not None]
    require(not frozen_grads, f"frozen parameters still received gradients: {frozen_grads[:3]}")
    expected = sum(p.numel() for n, p in model.named_parameters()
                   if n.startswith(("classifier", "bert.pooler", "bert.encoder.layer.1.")))
    n = freeze_except(model, ("classifier", "bert.pooler", "bert.encoder.layer.1."))
    require(n == expected, f"unfreezing the head, the pooler and the last layer: {n} trainable, "
                           f"expected {expected}")
    require(model.bert.encoder.layer[1].attention.self.query.weight.requires_grad
            and not model.bert.embeddings.word_embeddings.weight.requires_grad,
            "the last layer must be trainable again and the embeddings frozen")
    require(freeze_except(model, []) == 0, "freeze_except(model, []) must freeze everything")


@LESSON.task("6.2", "the classification head and its loss, from the model's parts",
             hint="pooled = model.bert(ids, attention_mask=mask).pooler_output; "
                  "logits = model.classifier(model.dropout(pooled)); F.cross_entropy(logits, labels)")
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
    with forbid(BertForSequenceClassification, "forward", "use model.bert, model.dropout and "
                "model.classifier, not model(...)"):
        out = classification_loss(model, ids, mask, labels)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise CheckFailed("classification_loss must return (logits, loss)")
    logits, loss = out
    assert_close(logits, ref.logits, "logits (4 texts, two of them padded)", atol=1e-5)
    assert_close(loss, ref.loss, "the loss", atol=1e-5)
    require(isinstance(loss, Tensor) and loss.requires_grad, "the loss must be a Tensor with a graph "
                                                             "(use Tensor ops / F.cross_entropy)")
    model.zero_grad()
    loss.backward()
    require(model.classifier.weight.grad is not None and
            model.bert.embeddings.word_embeddings.weight.grad is not None,
            "loss.backward() must reach the head and the embeddings")


@LESSON.task("6.3", "accuracy",
             hint="(logits.argmax(axis=-1) == labels).mean(), as a float")
def check_accuracy(ex):
    accuracy = get(ex, "accuracy")
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.5, 0.2, 0.9], [1.0, 0.0, 0.0]])
    got = accuracy(logits, np.array([0, 1, 0, 0]))
    require(abs(float(got) - 0.75) < 1e-12, f"accuracy on 4 examples with 3 right = {got}, expected 0.75")
    rng = np.random.default_rng(63)
    logits = rng.standard_normal((50, 7))
    labels = rng.integers(0, 7, 50)
    expected = float((logits.argmax(-1) == labels).mean())
    got = accuracy(logits, labels)
    require(abs(float(got) - expected) < 1e-12, f"accuracy on 50 random examples = {got}, "
                                                f"expected {expected}")
    square = rng.standard_normal((4, 4))               # argmax over the wrong axis is caught here
    lab = square.argmax(-1)
    require(abs(float(accuracy(square, lab)) - 1.0) < 1e-12, "accuracy(logits (4, 4), their own "
                                                             "argmax over the classes) must be 1.0")
    got = accuracy(Tensor(logits), labels)
    require(abs(float(got) - expected) < 1e-12, "accuracy must also accept logits as a Tensor")


@LESSON.task("6.4", "the confusion matrix",
             hint="C = np.zeros((K, K), int); for t, p in zip(labels, predictions): C[t, p] += 1")
def check_confusion(ex):
    confusion_matrix = get(ex, "confusion_matrix")
    C = confusion_matrix(np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 1]), 3)
    assert_close(C, np.array([[1, 0, 0], [0, 1, 1], [0, 1, 2]]), "confusion_matrix(predictions "
                 "[0 1 1 2 2 2], labels [0 1 2 2 2 1], 3) (rows: true class)", atol=0)
    rng = np.random.default_rng(64)
    pred, lab = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    ref = np.zeros((5, 5), np.int64)
    for t, p in zip(lab, pred):
        ref[t, p] += 1
    assert_close(confusion_matrix(pred, lab, 5), ref, "200 random predictions, 5 classes", atol=0)
    C = np.asarray(confusion_matrix(np.array([0, 0]), np.array([0, 0]), 4))
    require(C.shape == (4, 4), f"num_labels=4 with only class 0 seen: shape {C.shape}, expected (4, 4)")
