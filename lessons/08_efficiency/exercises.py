"""Lesson 8 exercises: efficiency, fused attention and FLOPs (§8 模型效率, 计算成本).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 8

The tasks are described in lessons/08_efficiency/README.md; each docstring is the exact spec.
"""
import math

import numpy as np


# --- Task 8.1: the online-softmax update -------------------------------------------------------
def online_softmax_update(m, l, o, s, v):
    """One step of the online softmax (在线 softmax) for one query row, as in FlashAttention:
    fold a new block of scores s (n,) with their values v (n, dv) into the running state

        m_new = max(m, max_j s_j)
        ℓ_new = e^(m - m_new) ℓ + Σ_j e^(s_j - m_new)
        o_new = e^(m - m_new) o + Σ_j e^(s_j - m_new) v_j

    m: the running maximum (a float, -inf before the first block); ℓ: the running normaliser;
    o: (dv,) the unnormalised output.  After the last block, o / ℓ = softmax(all s) @ all v.
    Returns (m_new, l_new, o_new).  Assume every block has at least one finite score.
    """
    # TODO: the new maximum; the rescale factor alpha = e^(m - m_new) (0 when m = -inf); update.
    raise NotImplementedError


# --- Task 8.2: blockwise attention -------------------------------------------------------------
def blockwise_attention(q, k, v, block=4, causal=False):
    """softmax(QKᵀ/√d) V computed block by block over the keys, never holding the whole (T, S)
    score matrix: for each key block K_j, V_j (`block` keys at a time, the last block may be
    shorter) update a running max m (T,), normaliser ℓ (T,) and output O (T, dv) with the
    recurrence of task 8.1, applied to every query row at once.  causal=True: query t sees
    keys s <= t (T == S).  q (T, d), k (S, d), v (S, dv) float arrays; returns O (T, dv).
    """
    # TODO: running m, l (T,) and O (T, dv); one key block at a time (task 8.1); divide at the end.
    raise NotImplementedError


# --- Task 8.3: the FLOPs of a matrix product ---------------------------------------------------
def matmul_flops(a_shape, b_shape):
    """Floating-point operations (浮点运算次数) of a @ b for a (..., n, k) and b (..., k, m)
    with broadcast batch dims: every output entry is k multiplications and k additions (one
    multiply-add counts as 2 FLOPs), so 2·n·k·m per matrix, times the number of matrices in
    the broadcast batch.  Returns an int."""
    # TODO: the broadcast batch (np.broadcast_shapes), then the count of the docstring.
    raise NotImplementedError


# --- Task 8.4: the FLOPs of a GPT forward pass ---------------------------------------------------
def gpt_forward_flops(vocab_size, n_layer, n_embd, T):
    """The matrix-product FLOPs of one forward pass of minigrad's GPT over one sequence of T
    tokens (batch 1), counting only matmuls (the element-wise ops are a small rest):

      per layer:  q, k, v projections (C → 3C), attention scores QKᵀ (all heads together:
                  T × T × C), the weighted values PV (T × T × C), the output projection
                  (C → C), and the MLP (C → 4C → C);
      at the end: the language-model head (C → V).

    Returns an int (2 FLOPs per multiply-add).
    """
    # TODO: one term per matmul listed above (task 8.3's rule), per layer, plus the head.
    raise NotImplementedError
