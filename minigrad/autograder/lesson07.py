"""Checks for lesson 7: the chapter's example on real BERT weights (§5 项目实践).
Stubs: lessons/07_pretrained_bert/."""
from __future__ import annotations

import os
import tempfile

import numpy as np

from ..models import sentence as _sentence
from ..models.bert import BertConfig, BertForSequenceClassification, BertModel, BertPooler
from ..tensor import Tensor
from ..tokenizers import BertTokenizer
from .core import (CheckFailed, Lesson, assert_close, forbid, forbid_function, get, is_tensor,
                   require, type_name)
from .isolation import Build
from .probes import student_gradients

_NOTEBOOK = "Lesson 7's notebook"

LESSON = Lesson(7, "07_pretrained_bert", "The chapter's example on real BERT weights", "§5 项目实践")

_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "this", "is", "a", "great", "movie", "!",
          "terrible", "film", "the", "plot", "was", "boring", "and", "long", ".", "i", "loved", "it",
          "##s", "act", "##ing"]


def _tiny_bert_config(num_labels=2):
    return BertConfig(vocab_size=len(_VOCAB), hidden_size=16, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=32, max_position_embeddings=32,
                      num_labels=num_labels, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


@LESSON.task("7.1", "mean pooling over the real tokens",
             nudge=f"{_NOTEBOOK}, part 5 (sentence embeddings): e_b = Σ_t m_bt h_bt / Σ_t m_bt, "
                   "so padding (m = 0) adds nothing and is not counted. The mask (B, T) needs a "
                   "trailing axis to broadcast over the hidden size; keep h a Tensor so the result "
                   "has a gradient, and guard the division as the docstring says.")
def check_mean_pooling(ex):
    mean_pooling = get(ex, "mean_pooling")
    rng = np.random.default_rng(71)
    h = Tensor(rng.standard_normal((3, 5, 4)))
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
    ref = _sentence.mean_pooling(h, mask)
    with forbid_function(_sentence.mean_pooling, _sentence.pool):
        got = mean_pooling(h, mask)
        assert_close(got, ref, "mean_pooling(h (3, 5, 4), mask with 5, 2 and 1 real tokens)",
                     atol=1e-12, nudge="average over the real tokens only, not over all T")
        assert_close(got.data[2] if is_tensor(got) else np.asarray(got)[2], h.data[2, 0],
                     "a text with one real token: its embedding is that token's vector", atol=1e-12)
        require(is_tensor(got), "mean_pooling returns a Tensor",
                f"it returned a {type_name(got)}", nudge="use Tensor ops on h")
        x, w = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 3))
        m2 = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])
        (g,) = student_gradients(ex, "mean_pooling", [Tensor(x, requires_grad=True), m2], w,
                                 "mean_pooling(h, mask)")
        ref_x = Tensor(x, requires_grad=True)
        (_sentence.mean_pooling(ref_x, m2) * Tensor(w)).sum().backward()
        assert_close(g, ref_x.grad, "the gradient of h through your mean_pooling (autograd), "
                     "against the exact gradient", atol=1e-10,
                     nudge="padding positions get no gradient; real ones 1/(number of real tokens)")


@LESSON.task("7.2", "cosine similarity",
             nudge=f"{_NOTEBOOK}, part 5 (cosine similarity): cos(a, b) = a·b / (‖a‖ ‖b‖). Scale "
                   "every row of a and of b to length 1 (np.linalg.norm over the last axis, kept "
                   "for broadcasting); then all N × M dot products are one matrix product.")
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
                     nudge="the length of a vector must not matter: normalise both sides")
        v = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
        assert_close(cosine_similarity(v, v), np.array([[1, 0, -1], [0, 1, 0], [-1, 0, 1.0]]),
                     "cosine_similarity of [1, 0], [0, 2], [-3, 0] with themselves", atol=1e-12)


def _ref_cos(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return a @ b.T


@LESSON.task("7.3", "the [CLS] pooler",
             nudge=f"{_NOTEBOOK}, part 3 (the head is new): pooled = tanh(W_p h_[CLS] + b_p). "
                   "[CLS] is the first token of every text, so take position 0 of the time axis "
                   "for every text; bert.pooler.dense is the Linear layer W_p, b_p; Tensor has a "
                   "tanh method.")
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
    with forbid(BertPooler, "forward", "use bert.pooler.dense and tanh"):
        got = cls_pooler(Build.module(bert, BertModel, bert.config), h)
    assert_close(got, out.pooler_output, "cls_pooler(bert, last_hidden_state (3, 6, 16))", atol=1e-5,
                 nudge="one token per text, the first; and the tanh after the dense layer")


@LESSON.task("7.4", "the chapter's §5 example, line for line",
             nudge=f"{_NOTEBOOK}, part 1 (the chapter's code, in minigrad), §5 项目实践: tokenise "
                   "the batch padded to the longest text, hand the model every output of the "
                   "tokenizer (the attention mask too, by keyword), take the most likely label, "
                   "and run it all without building a graph (mg.no_grad). Return NumPy arrays.")
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
        raise CheckFailed("predict returns (logits, predictions)", f"it returned a {type_name(out)}")
    logits, pred = out
    assert_close(logits, ref, "the logits of 4 texts padded to the longest", atol=1e-5,
                 nudge="the padded texts need the attention mask: pass all of the tokenizer's "
                       "outputs to the model")
    assert_close(pred, ref.argmax(-1), "the predictions", atol=0)
    require(calls and not calls[0][1], "the model runs under mg.no_grad() (no graph for inference)",
            "the model ran with grad mode on" if calls else "the model was not called",
            nudge="inference needs no graph: see mg.no_grad")


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
