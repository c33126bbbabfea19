"""Lesson 7 exercises: the chapter's example on real BERT weights (§5 项目实践).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 7

The tasks are described in lessons/07_pretrained_bert/README.md; each docstring is the exact spec.
"""
import numpy as np

import minigrad as mg


# --- Task 7.1: mean pooling with an attention mask ----------------------------------------------
def mean_pooling(last_hidden_state, attention_mask):
    """One vector per text (句向量, sentence embedding): the mean of its token vectors over the
    real tokens only (padding excluded):

        e_b = Σ_t m_bt h_bt / Σ_t m_bt

    last_hidden_state: Tensor (B, T, H); attention_mask: (B, T) array of 1 (real) / 0 (pad).
    Returns a Tensor (B, H) (differentiable: use Tensor ops for h).  Guard the division by
    max(Σ_t m_bt, 1e-9), as sentence-transformers does.
    """
    # TODO: the mask as a float (B, T, 1) array; the masked sum over T, divided by the count.
    raise NotImplementedError


# --- Task 7.2: cosine similarity ----------------------------------------------------------------
def cosine_similarity(a, b):
    """cos(a_i, b_j) = a_i · b_j / (‖a_i‖ ‖b_j‖) for every row of a (N, H) and of b (M, H):
    an (N, M) NumPy array, 1 for the same direction, 0 for orthogonal, -1 for opposite.
    Inputs are NumPy arrays."""
    # TODO: normalise each row to length 1, then one matrix product.
    raise NotImplementedError


# --- Task 7.3: the [CLS] pooler ------------------------------------------------------------------
def cls_pooler(bert, last_hidden_state):
    """BERT's pooler, the input of the classification head (§5):

        pooled = tanh(W_p h_[CLS] + b_p)

    h_[CLS] is the hidden state of the first token ([CLS]) of each text; W_p, b_p are
    bert.pooler.dense (a Linear).  bert: a BertModel; last_hidden_state: Tensor (B, T, H).
    Returns a Tensor (B, H).  Do not call bert.pooler(...) itself.
    """
    # TODO: take position 0, apply the dense layer, then tanh.
    raise NotImplementedError


# --- Task 7.4: the chapter's example, line for line -----------------------------------------------
def predict(model, tokenizer, texts):
    """The chapter's §5 example in minigrad: tokenise the texts (a batch, padded to the
    longest, as NumPy arrays), run the classification model on *all* the tokenizer's outputs
    (input_ids, attention_mask, token_type_ids), and take the most likely label:

        inputs = tokenizer(texts, padding=True, return_tensors="np")
        outputs = model(**inputs)
        predictions = outputs.logits.argmax(-1)

    Run it without building a graph (mg.no_grad()).  Returns (logits, predictions) as NumPy
    arrays of shapes (N, num_labels) and (N,).
    """
    # TODO: the three lines of the chapter, inside `with mg.no_grad():`.
    raise NotImplementedError
