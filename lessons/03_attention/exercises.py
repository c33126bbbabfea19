"""Lesson 3 exercises: self-attention (§4.1 自注意力机制).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 3

The tasks are described in lessons/03_attention/README.md; each docstring is the exact spec.
"""
import math

import numpy as np

import minigrad as mg


# --- Task 3.1: the causal mask ---------------------------------------------------------------
def causal_mask(T):
    """The (T, T) bool causal mask: True where query t may attend to key s, i.e. s <= t.

    A language model predicts token t+1 from tokens 0..t, so position t must not see the
    future.  Row t is True in columns 0..t and False after (the lower triangle).
    Returns an ndarray of dtype bool.
    """
    # TODO: the lower triangle of a (T, T) array of True (np.tril).
    raise NotImplementedError


# --- Task 3.2: the backward of softmax -------------------------------------------------------
def softmax_backward(y, g, dim=-1):
    """Given y = softmax(x) along `dim` and g = ∂L/∂y, return ∂L/∂x (NumPy arrays).

    The softmax's Jacobian is ∂yᵢ/∂xⱼ = yᵢ (δᵢⱼ - yⱼ), so

        ∂L/∂xⱼ = Σᵢ gᵢ yᵢ (δᵢⱼ - yⱼ) = yⱼ (gⱼ - Σᵢ gᵢ yᵢ)

    along `dim` (every other index is a separate row).  Never form the Jacobian matrix.
    """
    # TODO: one line, the formula above (the sum along dim with keepdims=True).
    raise NotImplementedError


# --- Task 3.3: the padding mask --------------------------------------------------------------
def padding_mask(lengths, S):
    """The key-padding mask of a batch of sequences padded to length S, shaped for attention.

    lengths: int ndarray (B,), the real length of each sequence (the rest is padding).
    Returns a bool ndarray (B, 1, 1, S), True where key s is a real token (s < lengths[b]),
    False at padding: it broadcasts against scores of shape (B, n_heads, T, S), so every
    head and every query ignores the padded keys.
    """
    # TODO: compare np.arange(S) with lengths[:, None], then add the two middle axes.
    raise NotImplementedError


# --- Task 3.4: scaled dot-product attention with a mask ---------------------------------------
def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention(Q, K, V) = softmax(QKᵀ / √d_k) V  (§4.1), with an optional mask.

    q: Tensor (..., T, d_k);  k: Tensor (..., S, d_k);  v: Tensor (..., S, d_v).
    mask: None, or a bool ndarray broadcastable to (..., T, S): True = the key takes part,
          False = the score is replaced by -inf before the softmax (so its weight is 0).
    Returns (out, weights): out (..., T, d_v) and the attention probabilities (..., T, S).

    Use minigrad ops (q @ k.mT, division, mg.where, .softmax(dim=-1), @), not
    F.scaled_dot_product_attention.  Use -inf (not -1e9) for masked scores: a query whose
    keys are all masked must then get weights 0 and output 0 (minigrad's softmax turns an
    all -inf row into zeros), not the average of v.
    """
    # TODO: the scaled scores; masked scores to -inf (mg.where); softmax over the keys; weight v.
    raise NotImplementedError
