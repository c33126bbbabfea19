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

    对一个查询行做一步在线 softmax（与 FlashAttention 中相同）：把新的一块分数 s (n,) 及其值
    v (n, dv) 并入当前状态：m_new = max(m, max_j s_j)，ℓ_new = e^(m - m_new) ℓ + Σ_j e^(s_j - m_new)，
    o_new = e^(m - m_new) o + Σ_j e^(s_j - m_new) v_j。m 是当前最大值（float，第一块之前为 -inf），ℓ 是当前的
    归一化因子，o 是 (dv,) 的未归一化输出。最后一块之后，o / ℓ = softmax(全部 s) @ 全部 v。返回 (m_new, l_new, o_new)。
    可以假定每一块至少有一个有限的分数。
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

    按键分块计算 softmax(QKᵀ/√d) V，始终不保存完整的 (T, S) 分数矩阵：对每个键块 K_j、V_j
    （每次 `block` 个键，最后一块可以更短），用第 8.1 题的递推对所有查询行同时更新当前最大值 m (T,)、归一化因子 ℓ (T,)
    和输出 O (T, dv)。causal=True 时查询 t 只能看到键 s <= t（T == S）。q (T, d)、k (S, d)、v (S, dv) 是浮点数组；
    返回 O (T, dv)。
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
    the broadcast batch.  Returns an int.

    a (..., n, k) 与 b (..., k, m)（批次维度可广播）做 a @ b 的浮点运算次数：每个输出元素要做 k 次乘法和
    k 次加法（一次乘加算 2 个 FLOPs），所以每个矩阵是 2·n·k·m，再乘以广播后批次中矩阵的个数。返回 int。
    """
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

    minigrad 的 GPT 在一个 T 个词元的序列（批次为 1）上做一次前向传播的矩阵乘法 FLOPs，只计矩阵乘法
    （逐元素运算只占一小部分）：每层有 q、k、v 投影（C → 3C）、注意力分数 QKᵀ（所有头合计 T × T × C）、
    加权求和 PV（T × T × C）、输出投影（C → C）和 MLP（C → 4C → C）；最后还有语言模型头（C → V）。
    返回 int（一次乘加算 2 个 FLOPs）。
    """
    # TODO: one term per matmul listed above (task 8.3's rule), per layer, plus the head.
    C = n_embd
    per_layer = 2 * T * C * 3 * C + 2 * T * T * C * 2 + 2 * T * C * C + 2 * T * C * 4 * C * 2
    return int(n_layer * per_layer + 2 * T * C * vocab_size)
