"""Checks for lesson 3: self-attention (§4.1 自注意力机制).  Stubs: lessons/03_attention/."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..backends import numpy_ref
from ..i18n import Text, tr
from ..nn import attention as _attention
from ..nn import functional as F
from ..tensor import Tensor
from .core import Lesson, assert_close, forbid_function, get, is_tensor, require, to_array, type_name
from .probes import student_gradients

LESSON = Lesson(3, "03_attention", Text("Self-attention", "自注意力机制"), "§4.1 自注意力机制")


@LESSON.task("3.1", Text("the causal mask", "因果掩码"),
             nudge=Text("Lesson 3's notebook, part 4 (masks), §4.1: a language model predicts token t+1 "
                        "from tokens 0..t, so row t (the query) may see columns 0..t (the keys) and "
                        "nothing after: the lower triangle, diagonal included. NumPy has a function for "
                        "the lower triangle of a matrix.",
                        "第 3 课笔记本第 4 部分（掩码）及 §4.1：语言模型由词元 0..t 预测词元 t+1，所以第 t 行"
                        "（查询）只能看到第 0..t 列（键），看不到之后的列：也就是包括对角线在内的下三角。"
                        "NumPy 有一个函数专门取矩阵的下三角。"))
def check_causal_mask(ex):
    causal_mask = get(ex, "causal_mask")
    for T in (1, 4, 7):
        assert_close(causal_mask(T), nn.causal_mask(T), f"causal_mask({T})",
                     nudge=tr("True means the key takes part; row = query, column = key",
                              "True 表示这个键参与计算；行是查询，列是键"))


@LESSON.task("3.2", Text("the backward of softmax", "softmax 的反向传播"),
             nudge=Text("The docstring's derivation: the softmax's Jacobian is yᵢ(δᵢⱼ − yⱼ), so "
                        "∂L/∂xⱼ = yⱼ·(gⱼ−Σᵢgᵢyᵢ), the sum taken along dim for each row separately. "
                        "Never build the Jacobian; keep the summed dim so the sum broadcasts back.",
                        "文档字符串里的推导：softmax 的雅可比矩阵是 yᵢ(δᵢⱼ − yⱼ)，所以 "
                        "∂L/∂xⱼ = yⱼ·(gⱼ−Σᵢgᵢyᵢ)，求和沿 dim 对每一行分别进行。不要构造雅可比矩阵；"
                        "保留求和的维度，和才能广播回去。"))
def check_softmax_backward(ex):
    softmax_backward = get(ex, "softmax_backward")
    rng = np.random.default_rng(9)
    for shape, dim in (((4, 5), -1), ((2, 3, 4), 1), ((6,), 0)):
        x = rng.standard_normal(shape)
        g = rng.standard_normal(shape)
        y = numpy_ref.softmax(x, dim)
        expected = numpy_ref.softmax_backward(y, g, dim)
        t = Tensor(x, requires_grad=True)
        t.softmax(dim).backward(Tensor(g))                       # and the same by autograd
        np.testing.assert_allclose(expected, t.grad.data, atol=1e-12)
        out = softmax_backward(y.copy(), g.copy(), dim)
        require(not is_tensor(out), tr("softmax_backward returns a NumPy array",
                                       "softmax_backward 返回 NumPy 数组"),
                tr("it returned a Tensor (this task is NumPy only)", "它返回了 Tensor（这道题只用 NumPy）"))
        assert_close(out, expected, tr(f"softmax_backward for shape {shape}, dim={dim}",
                                       f"形状为 {shape}、dim={dim} 时的 softmax_backward"), atol=1e-12,
                     nudge="" if dim == -1 else tr("sum along the dim you are given", "沿传入的 dim 求和"))


@LESSON.task("3.3", Text("the padding mask", "填充掩码"),
             nudge=Text("Lesson 3's notebook, part 4 (masks): key s of sequence b is real when "
                        "s < lengths[b]. Comparing a row of positions with a column of lengths "
                        "broadcasts to (B, S); then give it two axes of size 1 in the middle so it "
                        "broadcasts over the heads and the queries of scores (B, n_heads, T, S).",
                        "第 3 课笔记本第 4 部分（掩码）：当 s < lengths[b] 时，序列 b 的键 s 是真实词元。"
                        "把一行位置与一列长度比较，会广播成 (B, S)；再在中间加两个大小为 1 的轴，"
                        "它就能在分数 (B, n_heads, T, S) 的各个头和各个查询上广播。"))
def check_padding_mask(ex):
    padding_mask = get(ex, "padding_mask")
    lengths = np.array([3, 5, 1])
    what = "padding_mask([3, 5, 1], S=5)"        # code: the same in both languages
    out = to_array(padding_mask(lengths, 5), what)
    is_pad = np.arange(5)[None, :] >= lengths[:, None]                   # PyTorch's convention
    assert_close(out, _attention.padding_mask_to_keep(is_pad), what,
                 nudge=tr("True at real tokens, shape (B, 1, 1, S)", "真实词元处为 True，形状为 (B, 1, 1, S)"))


@LESSON.task("3.4", Text("scaled dot-product attention with masks", "带掩码的缩放点积注意力"),
             nudge=Text("§4.1 and Lesson 3's notebook, parts 2-4: Attention(Q, K, V) = "
                        "softmax(QKᵀ/√d_k)·V, the softmax over the keys (the last axis). A masked score "
                        "must become −inf before the softmax so that its weight is exactly 0 (mg.where "
                        "picks between two tensors by a bool mask); Tensor.mT transposes the last two axes.",
                        "§4.1 及第 3 课笔记本第 2-4 部分：Attention(Q, K, V) = softmax(QKᵀ/√d_k)·V，"
                        "softmax 在键上（最后一个轴）进行。被掩盖的分数必须在 softmax 之前变成 −inf，"
                        "它的权重才恰好为 0（mg.where 按布尔掩码在两个张量之间选择）；Tensor.mT 交换"
                        "最后两个轴。"))
def check_attention(ex):
    attend = get(ex, "scaled_dot_product_attention")
    rng = np.random.default_rng(10)
    B, H, T, d = 2, 2, 4, 8
    q, k, v = (Tensor(rng.standard_normal((B, H, T, d)).astype(np.float32)) for _ in range(3))
    causal = np.tril(np.ones((T, T), dtype=bool))
    pad = np.ones((B, 1, 1, T), dtype=bool)
    pad[1, ..., 2:] = False                                              # sequence 1 has length 2
    no_keys = np.ones((T, T), dtype=bool)
    no_keys[0] = False                                                   # query 0 sees no key
    cases = [("no mask", None), ("a causal mask", causal), ("a padding mask (B, 1, 1, S)", pad),
             ("causal & padding", causal & pad), ("a row with every key masked", no_keys)]
    shown = {"no mask": tr("no mask", "无掩码"), "a causal mask": tr("a causal mask", "因果掩码"),
             "a padding mask (B, 1, 1, S)": tr("a padding mask (B, 1, 1, S)", "填充掩码 (B, 1, 1, S)"),
             "causal & padding": tr("causal & padding", "因果掩码与填充掩码"),
             "a row with every key masked": tr("a row with every key masked", "某一行的键全被掩盖")}
    refs = [F.scaled_dot_product_attention(q, k, v, attn_mask=m, return_weights=True)
            for _, m in cases]
    with forbid_function(F.scaled_dot_product_attention):
        for (name, mask), (ref_out, ref_w) in zip(cases, refs):
            result = attend(q, k, v, mask=mask)
            require(isinstance(result, tuple) and len(result) == 2,
                    tr("scaled_dot_product_attention returns (out, weights)",
                       "scaled_dot_product_attention 返回 (out, weights)"),
                    tr(f"it returned a {type_name(result)}", f"它返回了 {type_name(result)}"))
            out, w = result
            assert_close(w, ref_w, tr(f"the attention weights with {shown[name]}",
                                      f"{shown[name]}时的注意力权重"), atol=1e-5,
                         nudge=_WEIGHTS_NUDGE.get(name, ""))
            assert_close(out, ref_out, tr(f"the output with {shown[name]}", f"{shown[name]}时的输出"),
                         atol=1e-5)
        out, _ = attend(q, k, v, mask=no_keys)
        row = to_array(out, "out")[:, :, 0]
        nonzero, largest = int((row != 0).sum()), f"{float(np.abs(row).max()):.3g}"
        require(np.all(row == 0), tr("a query whose keys are all masked gives output 0",
                                     "键全被掩盖的查询输出为 0"),
                tr(f"query 0's output has {nonzero} non-zero entries (largest {largest})",
                   f"查询 0 的输出有 {nonzero} 个非零元素（最大为 {largest}）"),
                nudge=tr("a large negative score still gets weight 1/S when every score is masked; "
                         "−inf gets 0",
                         "当所有分数都被掩盖时，很大的负分数仍会得到 1/S 的权重；−inf 才会得到 0"))
        # gradients flow through the student's composition (float64, causal)
        q64, k64, v64 = (rng.standard_normal((1, 3, 4)) for _ in range(3))
        w = rng.standard_normal((1, 3, 4))
        tril = np.tril(np.ones((3, 3), bool))
        grads = student_gradients(ex, "scaled_dot_product_attention",
                                  [Tensor(a, requires_grad=True) for a in (q64, k64, v64)], w,
                                  "scaled_dot_product_attention(q, k, v, mask)",
                                  kwargs={"mask": tril}, output=0)
        ref = [Tensor(a, requires_grad=True) for a in (q64, k64, v64)]
        (F.scaled_dot_product_attention(*ref, attn_mask=tril) * Tensor(w)).sum().backward()
        for name, g, r in zip("qkv", grads, ref):
            assert_close(g, r.grad, tr(f"the gradient of {name} through your attention (float64, "
                                       "causal), against the exact gradient",
                                       f"经过你的注意力（float64，因果掩码）得到的 {name} 的梯度，"
                                       "与精确梯度比较"), atol=1e-9)


_WEIGHTS_NUDGE = {
    "no mask": Text("the scores are scaled by 1/√d_k, and each query's weights sum to 1 over the keys",
                    "分数要乘以 1/√d_k，且每个查询在所有键上的权重之和为 1"),
    "a causal mask": Text("masked scores become −inf before the softmax, not after it",
                          "被掩盖的分数在 softmax 之前变成 −inf，而不是之后"),
}
