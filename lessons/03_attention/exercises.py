"""Lesson 3 exercises: self-attention (§4.1 自注意力机制).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 3

The tasks are described in lessons/03_attention/README.md; each docstring is the exact spec.

把每个标有 TODO 的函数补全（替换掉 `raise NotImplementedError`），然后检查：

    minigrad lesson check 3 --lang zh

题目说明见 lessons/03_attention/README.zh.md；每个文档字符串（先英文，后中文）就是精确的规格说明。
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

    (T, T) 的布尔因果掩码：查询 t 可以关注键 s（即 s <= t）的位置为 True。语言模型由词元 0..t 预测词元 t+1，
    所以位置 t 不能看到未来。第 t 行在第 0..t 列为 True，之后为 False（下三角）。返回 dtype 为 bool 的 ndarray。
    """
    # TODO: the lower triangle of a (T, T) array of True (np.tril).
    raise NotImplementedError


# --- Task 3.2: the backward of softmax -------------------------------------------------------
def softmax_backward(y, g, dim=-1):
    """Given y = softmax(x) along `dim` and g = ∂L/∂y, return ∂L/∂x (NumPy arrays).

    The softmax's Jacobian is ∂yᵢ/∂xⱼ = yᵢ (δᵢⱼ - yⱼ), so

        ∂L/∂xⱼ = Σᵢ gᵢ yᵢ (δᵢⱼ - yⱼ) = yⱼ (gⱼ - Σᵢ gᵢ yᵢ)

    along `dim` (every other index is a separate row).  Never form the Jacobian matrix.

    已知沿 `dim` 的 y = softmax(x) 和 g = ∂L/∂y，返回 ∂L/∂x（都是 NumPy 数组）。softmax 的雅可比矩阵是
    ∂yᵢ/∂xⱼ = yᵢ (δᵢⱼ - yⱼ)，所以沿 `dim` 有 ∂L/∂xⱼ = Σᵢ gᵢ yᵢ (δᵢⱼ - yⱼ) = yⱼ (gⱼ - Σᵢ gᵢ yᵢ)（其余下标各自是
    独立的一行）。不要构造雅可比矩阵。
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

    一批填充到长度 S 的序列的键填充掩码，形状适合注意力计算。lengths 是整数 ndarray (B,)，每个序列的真实长度
    （其余是填充）。返回布尔 ndarray (B, 1, 1, S)：键 s 是真实词元（s < lengths[b]）处为 True，填充处为 False；
    它能与形状为 (B, n_heads, T, S) 的分数广播，于是每个头、每个查询都会忽略被填充的键。
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

    Attention(Q, K, V) = softmax(QKᵀ / √d_k) V（§4.1），可带掩码。q 为 (..., T, d_k)，
    k 为 (..., S, d_k)，v 为 (..., S, d_v)；mask 为 None，或可广播到 (..., T, S) 的布尔数组：True 表示该键参与，
    False 表示在 softmax 之前把分数换成 -inf（于是它的权重为 0）。返回 (out, weights)：out 为 (..., T, d_v)，
    weights 是注意力概率 (..., T, S)。用 minigrad 的运算（q @ k.mT、除法、mg.where、.softmax(dim=-1)、@），
    不要用 F.scaled_dot_product_attention。被掩盖的分数用 -inf（不要用 -1e9）：键全被掩盖的查询，权重和输出都必须为 0
    （minigrad 的 softmax 会把全是 -inf 的一行变成 0），而不是 v 的平均。
    """
    # TODO: the scaled scores; masked scores to -inf (mg.where); softmax over the keys; weight v.
    raise NotImplementedError
