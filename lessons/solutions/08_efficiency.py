"""Lesson 8 exercises: efficiency, fused attention and FLOPs (§8 模型效率, 计算成本) -- REFERENCE SOLUTION (for teachers).

Check it with:  minigrad lesson check 8 --file lessons/solutions/08_efficiency.py
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
    s = np.asarray(s, dtype=np.float64)
    m_new = max(m, float(s.max()))
    alpha = math.exp(m - m_new) if m != -math.inf else 0.0
    p = np.exp(s - m_new)                                                # (n,)
    return m_new, alpha * l + p.sum(), alpha * np.asarray(o) + p @ np.asarray(v)


# --- Task 8.2: blockwise attention -------------------------------------------------------------
def blockwise_attention(q, k, v, block=4, causal=False):
    """softmax(QKᵀ/√d) V computed block by block over the keys, never holding the whole (T, S)
    score matrix: for each key block K_j, V_j (`block` keys at a time, the last block may be
    shorter) update a running max m (T,), normaliser ℓ (T,) and output O (T, dv) with the
    recurrence of task 8.1, applied to every query row at once.  causal=True: query t sees
    keys s <= t (T == S).  q (T, d), k (S, d), v (S, dv) float arrays; returns O (T, dv).
    """
    # TODO: running m, l (T,) and O (T, dv); one key block at a time (task 8.1); divide at the end.
    T, d = q.shape
    S = k.shape[0]
    m = np.full(T, -np.inf)
    l = np.zeros(T)
    o = np.zeros((T, v.shape[1]))
    for j0 in range(0, S, block):
        s = q @ k[j0:j0 + block].T / math.sqrt(d)                        # (T, n)
        if causal:
            cols = np.arange(j0, min(j0 + block, S))
            s = np.where(cols[None, :] <= np.arange(T)[:, None], s, -np.inf)
        m_new = np.maximum(m, s.max(axis=1))                             # (T,)
        alpha = np.where(np.isfinite(m_new), np.exp(m - m_new), 0.0)     # rows with no key yet
        p = np.where(np.isfinite(m_new)[:, None], np.exp(s - m_new[:, None]), 0.0)   # (T, n)
        l = alpha * l + p.sum(axis=1)
        o = alpha[:, None] * o + p @ v[j0:j0 + block]
        m = m_new
    return o / l[:, None]


# --- Task 8.3: the FLOPs of a matrix product ---------------------------------------------------
def matmul_flops(a_shape, b_shape):
    """Floating-point operations (浮点运算次数) of a @ b for a (..., n, k) and b (..., k, m)
    with broadcast batch dims: every output entry is k multiplications and k additions (one
    multiply-add counts as 2 FLOPs), so 2·n·k·m per matrix, times the number of matrices in
    the broadcast batch.  Returns an int."""
    # TODO: the broadcast batch (np.broadcast_shapes), then the count of the docstring.
    batch = np.broadcast_shapes(tuple(a_shape[:-2]), tuple(b_shape[:-2]))
    n, k = a_shape[-2:]
    m = b_shape[-1]
    return int(2 * int(np.prod(batch, dtype=np.int64)) * n * k * m)


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
    C = n_embd
    per_layer = 2 * T * C * 3 * C + 2 * T * T * C * 2 + 2 * T * C * C + 2 * T * C * 4 * C * 2
    return int(n_layer * per_layer + 2 * T * C * vocab_size)
