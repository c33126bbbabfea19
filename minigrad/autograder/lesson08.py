"""Checks for lesson 8: efficiency, fused attention and FLOPs (§8 模型效率, 计算成本).
Stubs: lessons/08_efficiency/."""
from __future__ import annotations

import math

import numpy as np

from .. import backends
from ..autograd import no_grad
from ..backends import numpy_ref
from ..i18n import Text, tr
from ..models.gpt import GPT, GPTConfig
from .core import Lesson, assert_close, expect_equal, forbid_function, get, require

LESSON = Lesson(8, "08_efficiency", Text("Efficiency: fused attention and FLOPs",
                                         "模型效率：融合注意力与浮点运算量"), "§8 模型效率, 计算成本")


def _softmax_v(s, v):
    p = np.exp(s - s.max())
    return (p / p.sum()) @ v


@LESSON.task("8.1", Text("the online-softmax update", "在线 softmax 的更新"),
             nudge=Text("Lesson 8's notebook, part 2 (the online softmax): ℓ and o are sums of "
                        "exponentials measured against the running maximum m. When a block raises the "
                        "maximum, everything summed so far must be rescaled by e^(m − m_new) before the "
                        "block's own terms e^(s_j − m_new) are added (the docstring's three formulas). "
                        "Before the first block m = −inf: nothing to rescale.",
                        "第 8 课笔记本第 2 部分（在线 softmax）：ℓ 和 o 都是相对于当前最大值 m 的指数和。"
                        "当某个块抬高了最大值时，在加上这个块自己的项 e^(s_j − m_new) 之前，之前累加的"
                        "一切都要乘以 e^(m − m_new) 重新缩放（文档字符串里的三个公式）。第一个块之前 "
                        "m = −inf：没有什么需要缩放。"))
def check_online_update(ex):
    update = get(ex, "online_softmax_update")
    rng = np.random.default_rng(81)
    s, v = rng.standard_normal(10) * 3, rng.standard_normal((10, 4))
    m, l, o = update(-math.inf, 0.0, np.zeros(4), s, v)
    assert_close(float(m), s.max(), tr("m after one block is max(s)", "一个块之后 m 等于 max(s)"),
                 atol=1e-12)
    assert_close(np.asarray(o) / float(l), _softmax_v(s, v),
                 tr("o / ℓ after one block (= softmax(s) @ v)", "一个块之后的 o / ℓ（= softmax(s) @ v）"),
                 atol=1e-10)
    for sizes in ((3, 3, 4), (1, 9), (5, 1, 1, 3)):
        state = (-math.inf, 0.0, np.zeros(4))
        j = 0
        for n in sizes:
            state = update(*state, s[j:j + n], v[j:j + n])
            j += n
        assert_close(np.asarray(state[2]) / float(state[1]), _softmax_v(s, v),
                     tr(f"o / ℓ after blocks of sizes {sizes}", f"经过大小为 {sizes} 的各块之后的 o / ℓ"),
                     atol=1e-10,
                     nudge=tr("both ℓ and o carry the old maximum: rescale both",
                              "ℓ 和 o 都带着旧的最大值：两个都要重新缩放"))
    rising = np.array([1.0, 2.0, 50.0, 400.0])                # the maximum keeps growing
    state = (-math.inf, 0.0, np.zeros(2))
    vv = rng.standard_normal((4, 2))
    for i in range(4):
        state = update(*state, rising[i:i + 1], vv[i:i + 1])
    assert_close(np.asarray(state[2]) / float(state[1]), _softmax_v(rising, vv),
                 tr("o / ℓ for scores 1, 2, 50, 400 one at a time", "分数 1、2、50、400 逐个输入时的 o / ℓ"),
                 atol=1e-10,
                 nudge=tr("rescale ℓ and o each time the maximum grows", "每当最大值变大，都要重新缩放 ℓ 和 o"))
    require(math.isfinite(float(state[1])) and float(state[1]) >= 1.0,
            tr("ℓ stays finite and at least 1 (it is measured against the running max)",
               "ℓ 保持有限且不小于 1（它是相对于当前最大值计算的）"),
            f"ℓ = {state[1]}")


@LESSON.task("8.2", Text("blockwise attention equals the reference", "分块注意力与参考实现一致"),
             nudge=Text("Lesson 8's notebook, part 2: task 8.1's recurrence for every query row at once, "
                        "with m and ℓ vectors of length T and O a (T, dv) matrix, one key block at a "
                        "time; the scores are scaled by 1/√d; for causal, a key after its query gets "
                        "−inf (careful: a row may have no visible key yet in a block). Divide by ℓ at "
                        "the end.",
                        "第 8 课笔记本第 2 部分：对所有查询行同时使用第 8.1 题的递推，m 和 ℓ 是长度为 T 的"
                        "向量，O 是 (T, dv) 矩阵，每次处理一个键块；分数乘以 1/√d；因果掩码时，位于查询"
                        "之后的键得到 −inf（注意：某一行在某个块里可能还没有可见的键）。最后再除以 ℓ。"))
def check_blockwise(ex):
    blockwise_attention = get(ex, "blockwise_attention")
    rng = np.random.default_rng(82)
    cases = [(6, 6, 8, 5, 4, False), (7, 11, 4, 3, 3, False), (9, 9, 8, 8, 4, True),
             (5, 5, 4, 2, 1, True), (10, 10, 6, 4, 16, True)]
    refs = []
    for T, S, d, dv, block, causal in cases:
        q, k, v = (rng.standard_normal(sh) * 2 for sh in ((T, d), (S, d), (S, dv)))
        out, _ = numpy_ref.attention_forward(q[None], k[None], v[None], None, causal, 1 / math.sqrt(d))
        refs.append((q, k, v, block, causal, out[0]))
    with forbid_function(numpy_ref.attention_forward, numpy_ref._probabilities):
        for (q, k, v, block, causal, ref), case in zip(refs, cases):
            got = blockwise_attention(q, k, v, block=block, causal=causal)
            assert_close(got, ref, f"blockwise_attention(T={case[0]}, S={case[1]}, d={case[2]}, "
                         f"block={block}, causal={causal})", atol=1e-9,
                         nudge=tr("query t sees keys 0..t", "查询 t 能看到键 0..t") if causal else "")
    q = np.array([[1.0, 0.0]])
    k = np.array([[0.0, 0.0], [800.0, 0.0], [900.0, 0.0]])
    v = np.array([[1.0], [2.0], [3.0]])
    got = blockwise_attention(q, k, v, block=1)
    assert_close(got, np.array([[3.0]]), tr("blockwise_attention of scores 0, 566, 636 in blocks of 1",
                                            "分数为 0、566、636、块大小为 1 时的 blockwise_attention"),
                 atol=1e-9, nudge=tr("e^566 overflows: take every exponential relative to the "
                                     "running max", "e^566 会上溢：每个指数都要相对于当前最大值来算"))


@LESSON.task("8.3", Text("the FLOPs of a matrix product", "矩阵乘法的浮点运算量（FLOPs）"),
             nudge=Text("Lesson 8's notebook, part 1 (counting FLOPs, 计算成本): each of the n·m outputs "
                        "is k multiplications and k additions, and a multiply-add counts as 2 FLOPs. "
                        "The batch dims in front broadcast like any NumPy op (np.broadcast_shapes); "
                        "count every matrix of the broadcast batch.",
                        "第 8 课笔记本第 1 部分（计算 FLOPs，计算成本）：n·m 个输出中的每一个都要做 k 次乘法"
                        "和 k 次加法，一次乘加算 2 个 FLOPs。前面的批次维度像任何 NumPy 运算一样广播"
                        "（np.broadcast_shapes）；广播后批次里的每个矩阵都要算上。"))
def check_matmul_flops(ex):
    matmul_flops = get(ex, "matmul_flops")
    for a, b, expected in (((2, 3), (3, 4), 48), ((64, 128), (128, 32), 2 * 64 * 128 * 32),
                           ((5, 2, 3), (3, 4), 5 * 48), ((2, 1, 8, 16), (3, 16, 4), 6 * 2 * 8 * 16 * 4),
                           ((4, 12, 1024, 64), (4, 12, 64, 1024), 2 * 48 * 1024 * 64 * 1024)):
        got = matmul_flops(a, b)
        expect_equal(int(got), expected, f"matmul_flops({a}, {b})",
                     nudge=_ratio_nudge(int(got), expected))


@LESSON.task("8.4", Text("the FLOPs of a GPT forward pass (counted against the real matmuls)",
                         "GPT 一次前向传播的 FLOPs（与实际的矩阵乘法对照）"),
             nudge=Text("Lesson 8's notebook, part 1: list every matrix product of one layer, as the "
                        "docstring does (the q, k, v projection, the scores QKᵀ, the weighted values, "
                        "the output projection, the MLP's two Linears), count each with task 8.3's rule "
                        "for T tokens, and add the language-model head once at the end. The "
                        "element-wise ops are not counted.",
                        "第 8 课笔记本第 1 部分：像文档字符串那样列出一层里的每个矩阵乘法（q、k、v 投影，"
                        "分数 QKᵀ，加权求和的值，输出投影，MLP 的两个 Linear），对 T 个词元用第 8.3 题的"
                        "规则逐个计数，最后再加上一次语言模型头。逐元素运算不计入。"))
def check_gpt_flops(ex):
    gpt_forward_flops = get(ex, "gpt_forward_flops")
    for V, L, C, T, nh in ((50, 2, 16, 8, 2), (30, 1, 24, 12, 4), (70, 3, 8, 5, 1)):
        model = GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=nh, n_embd=C, block_size=16))
        counted = _count_matmul_flops(model, T)
        got = gpt_forward_flops(V, L, C, T)
        off = f"{int(got) - counted:+,}"
        require(int(got) == counted, tr(f"gpt_forward_flops({V}, {L}, {C}, {T}) against the matmuls "
                                        f"of minigrad's GPT forward on {T} tokens",
                                        f"gpt_forward_flops({V}, {L}, {C}, {T}) 与 minigrad 的 GPT 在 "
                                        f"{T} 个词元上前向传播的矩阵乘法比较"),
                tr(f"got {int(got):,}, counted {counted:,} (off by {off})",
                   f"得到 {int(got):,}，实际计数 {counted:,}（相差 {off}）"),
                nudge=_flops_slip(int(got) - counted, V, L, C, T))
    got = gpt_forward_flops(50257, 12, 768, 1024)
    expected = 12 * (24 * 1024 * 768 ** 2 + 4 * 1024 ** 2 * 768) + 2 * 1024 * 768 * 50257
    expect_equal(int(got), expected, tr("GPT-2 small on 1024 tokens (about 0.29 TFLOP)",
                                        "GPT-2 small 在 1024 个词元上（约 0.29 TFLOP）"))


def _flops_slip(off: int, V: int, L: int, C: int, T: int) -> str:
    """A nudge when the count is off by whole pieces of one kind (computed from the offset)."""
    if off == -2 * T * C * V:
        return tr("the language-model head (C → V) is a matmul too", "语言模型头（C → V）也是一次矩阵乘法")
    if off % (L * 2 * T * T * C) == 0:
        return tr("the attention's two products, QKᵀ and PV, are T × T × C each, in every layer",
                  "注意力的两个乘积 QKᵀ 和 PV 在每一层都各是 T × T × C")
    if off % (L * 2 * T * C * C) == 0:
        return tr("a Linear layer C → n on T tokens is 2·T·C·n FLOPs; every layer has four of them",
                  "T 个词元经过一个 C → n 的 Linear 层是 2·T·C·n 个 FLOPs；每层有四个这样的层")
    return ""


def _ratio_nudge(got: int, expected: int) -> str:
    """A nudge for the two usual slips: multiply-adds counted once, or the batch forgotten."""
    if got * 2 == expected:
        return tr("a multiply-add is 2 FLOPs", "一次乘加是 2 个 FLOPs")
    if got and expected % got == 0:
        return tr("count every matrix of the broadcast batch", "广播后批次里的每个矩阵都要算上")
    return ""


def _count_matmul_flops(model, T) -> int:
    """Run the model once on the numpy backend, adding up 2·n·k·m over every backend matmul."""
    total = [0]
    original = numpy_ref.matmul

    def counting(a, b):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        total[0] += 2 * int(np.prod(batch, dtype=np.int64)) * a.shape[-2] * a.shape[-1] * b.shape[-1]
        return original(a, b)

    numpy_ref.matmul = counting
    try:
        with backends.backend("numpy"), no_grad():
            model(np.zeros((1, T), dtype=np.int64))
    finally:
        numpy_ref.matmul = original
    return total[0]
