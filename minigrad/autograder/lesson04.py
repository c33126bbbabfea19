"""Checks for lesson 4: the Transformer (§3.1 Transformer 架构).  Stubs: lessons/04_transformer/."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..i18n import Text, tr
from ..models.gpt import GPT, GPTConfig
from ..nn import attention as _attention
from ..nn import functional as F
from ..nn import positional as _positional
from ..tensor import Tensor
from .core import (CheckFailed, Lesson, assert_close, compare_arrays, forbid_function, get,
                   is_tensor, require, type_name)
from .isolation import Build
from .probes import student_gradients

LESSON = Lesson(4, "04_transformer", Text("The Transformer", "Transformer 架构"), "§3.1 Transformer 架构")


@LESSON.task("4.1", Text("split and merge attention heads", "拆分与合并注意力头"),
             nudge=Text("Lesson 4's notebook, part 1 (multi-head attention): head h owns columns h·hs "
                        "to (h+1)·hs − 1 of each token. A reshape only regroups the last dim in memory "
                        "order; the axes then have to be swapped so that the heads come before the "
                        "tokens. merge undoes both steps in the opposite order.",
                        "第 4 课笔记本第 1 部分（多头注意力）：第 h 个头拥有每个词元的第 h·hs 到 "
                        "(h+1)·hs − 1 列。reshape 只按内存顺序重新划分最后一维；之后还得交换轴，让头"
                        "排在词元之前。merge 按相反的顺序撤销这两步。"))
def check_heads(ex):
    split_heads, merge_heads = get(ex, "split_heads"), get(ex, "merge_heads")
    rng = np.random.default_rng(11)
    x = Tensor(rng.standard_normal((2, 5, 12)).astype(np.float32))
    ref = _attention.split_heads(x, 3)
    y = Tensor(rng.standard_normal((1, 4, 3, 2)).astype(np.float32))
    ref_y = _attention.merge_heads(y)
    with forbid_function(_attention.split_heads, _attention.merge_heads):
        heads = split_heads(x, 3)
        assert_close(heads, ref, tr("split_heads(x (2, 5, 12), 3), of shape (B, nh, T, hs) = "
                                    "(2, 3, 5, 4)",
                                    "split_heads(x (2, 5, 12), 3)，形状为 (B, nh, T, hs) = (2, 3, 5, 4)"),
                     atol=0, nudge=tr("reshaping straight to (B, nh, T, hs) mixes tokens into the heads",
                                      "直接 reshape 成 (B, nh, T, hs) 会把不同词元混进同一个头"))
        assert_close(heads.data[1, 2, 4], x.data[1, 4, 8:12],
                     tr("head 2 of token 4 in batch 1 is columns 8..11 of that token",
                        "批次 1 中词元 4 的第 2 个头是该词元的第 8..11 列"), atol=0)
        assert_close(merge_heads(heads), x, "merge_heads(split_heads(x))", atol=0)
        assert_close(merge_heads(y), ref_y, "merge_heads(y (1, 4, 3, 2))", atol=0)


@LESSON.task("4.2", Text("the sinusoidal position encoding", "正弦位置编码"),
             nudge=Text("Lesson 4's notebook, part 2 (positional encodings), §3.1: PE(pos, 2i) = "
                        "sin(pos / 10000^(2i/d)) and PE(pos, 2i+1) = cos of the same angle. One "
                        "angle per (position, pair of columns): a column of positions against a row "
                        "of 2i broadcasts to (T, d/2); even columns take the sine, odd the cosine.",
                        "第 4 课笔记本第 2 部分（位置编码）及 §3.1：PE(pos, 2i) = sin(pos / 10000^(2i/d))，"
                        "PE(pos, 2i+1) 是同一角度的 cos。每个（位置，列对）一个角度：一列位置与一行 2i "
                        "广播成 (T, d/2)；偶数列取正弦，奇数列取余弦。"))
def check_sinusoidal(ex):
    sinusoidal_encoding = get(ex, "sinusoidal_encoding")
    refs = {(T, d): _positional.sinusoidal_position_encoding(T, d, dtype="float64").data
            for T, d in ((10, 8), (50, 64))}
    with forbid_function(_positional.sinusoidal_position_encoding):
        for (T, d), ref in refs.items():
            assert_close(sinusoidal_encoding(T, d), ref, f"sinusoidal_encoding({T}, {d})", atol=1e-6,
                         nudge=tr("row 0 is sin 0 = 0 in the even columns and cos 0 = 1 in the odd",
                                  "第 0 行在偶数列是 sin 0 = 0，在奇数列是 cos 0 = 1"))


@LESSON.task("4.3", Text("LayerNorm from mean and variance", "用均值和方差实现层归一化（LayerNorm）"),
             nudge=Text("Lesson 4's notebook, part 3 (LayerNorm), §3.1: y = (x − μ)/√(σ² + ε)·γ + β over "
                        "the last dim, with μ the mean and σ² the biased variance (divide by C) of each "
                        "row; ε goes inside the square root. Keep the reduced dim (keepdim) so μ and "
                        "σ² broadcast back over the row.",
                        "第 4 课笔记本第 3 部分（LayerNorm）及 §3.1：在最后一维上计算 "
                        "y = (x − μ)/√(σ² + ε)·γ + β，μ 是每行的均值，σ² 是每行的有偏方差（除以 C）；"
                        "ε 加在平方根里面。保留被归约的维度（keepdim），μ 和 σ² 才能沿行广播回去。"))
def check_layer_norm(ex):
    layer_norm = get(ex, "layer_norm")
    rng = np.random.default_rng(12)
    x = Tensor(rng.standard_normal((2, 3, 6)) * 4 + 1)
    w, b = Tensor(rng.standard_normal(6)), Tensor(rng.standard_normal(6))
    ref = F.layer_norm(x, (6,), w, b, eps=1e-5)
    ref_eps = F.layer_norm(x, (6,), w, b, eps=0.5)
    with forbid_function(F.layer_norm):
        out = layer_norm(x, w, b)
        require(is_tensor(out), tr("layer_norm returns a Tensor", "layer_norm 返回 Tensor"),
                tr(f"it returned a {type_name(out)}", f"它返回了 {type_name(out)}"),
                nudge=tr("use Tensor ops", "用 Tensor 运算"))
        assert_close(out, ref, "layer_norm(x (2, 3, 6), γ, β)", atol=1e-10,
                     nudge=_layer_norm_slip(out, x.data, w.data, b.data, 1e-5))
        out = layer_norm(x, w, b, eps=0.5)
        assert_close(out, ref_eps, tr("layer_norm with eps=0.5", "eps=0.5 时的 layer_norm"), atol=1e-10,
                     nudge=_layer_norm_slip(out, x.data, w.data, b.data, 0.5)
                     or tr("use the eps you are given", "用传入的 eps"))
        values = [rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(5)]
        up = rng.standard_normal((3, 5))
        grads = student_gradients(ex, "layer_norm", [Tensor(v, requires_grad=True) for v in values],
                                  up, "layer_norm(x, γ, β)")
        ref = [Tensor(v, requires_grad=True) for v in values]
        (F.layer_norm(ref[0], (5,), ref[1], ref[2], eps=1e-5) * Tensor(up)).sum().backward()
        for name, g, r in zip(("x", "γ", "β"), grads, ref):
            assert_close(g, r.grad, tr(f"the gradient of {name} through your layer_norm (autograd), "
                                       "against the exact gradient",
                                       f"经过你的 layer_norm（自动微分）得到的 {name} 的梯度，与精确梯度比较"),
                         atol=1e-9)


def _layer_norm_slip(out, x, w, b, eps) -> str:
    """A nudge when the student's values are those of a usual slip (computed, so it is only
    given when it is that slip): the unbiased variance, or ε outside the square root."""
    try:
        got = np.asarray(out.data if is_tensor(out) else out, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    mu = x.mean(-1, keepdims=True)
    slips = {tr("Tensor.var divides by C − 1 (the unbiased variance); LayerNorm's σ² divides by C",
                "Tensor.var 除以 C − 1（无偏方差）；LayerNorm 的 σ² 除以 C"):
             (x - mu) / np.sqrt(x.var(-1, ddof=1, keepdims=True) + eps) * w + b,
             tr("ε is added to the variance, inside the square root", "ε 加在方差上，位于平方根里面"):
             (x - mu) / (np.sqrt(x.var(-1, keepdims=True)) + eps) * w + b}
    for nudge, values in slips.items():
        if got.shape == values.shape and not compare_arrays(got, values, atol=1e-10):
            return nudge
    return ""


@LESSON.task("4.4", Text("a pre-LN and a post-LN block, from the block's parts",
                         "用模块的各部分搭建 pre-LN 与 post-LN 模块"),
             nudge=Text("Lesson 4's notebook, part 4 (the block: pre-LN and post-LN), §3.1 残差连接: "
                        "each sub-layer (attention, then the MLP) sits on a residual path. Pre-LN "
                        "normalises the sub-layer's input and adds its output to the unnormalised x; "
                        "post-LN adds first and normalises the sum. block.attn returns a tuple-like "
                        "result whose .output is the tensor.",
                        "第 4 课笔记本第 4 部分（模块：pre-LN 与 post-LN）及 §3.1 残差连接：每个子层（先是"
                        "注意力，然后是 MLP）都位于一条残差路径上。pre-LN 先对子层的输入做归一化，再把子层"
                        "输出加到未归一化的 x 上；post-LN 先相加，再对和做归一化。block.attn 返回一个类似"
                        "元组的结果，它的 .output 才是张量。"))
def check_blocks(ex):
    pre_ln_block, post_ln_block = get(ex, "pre_ln_block"), get(ex, "post_ln_block")
    rng = np.random.default_rng(13)
    block = nn.TransformerBlock(d_model=16, n_head=4, causal=True)
    block.eval()
    for p in block.parameters():                      # LayerNorms away from (1, 0): a real test
        p.data += rng.standard_normal(p.shape).astype(p.dtype) * 0.1
    x = Tensor(rng.standard_normal((2, 5, 16)).astype(np.float32))
    block.norm_first = True
    ref_pre = block(x)
    block.norm_first = False
    ref_post = block(x)
    # each function gets the block built the other way round, so block(x) gives the wrong answer
    # (the same block is built in the student's process: these weights, eval mode)
    def built(norm_first):
        return Build.module(block, nn.TransformerBlock, d_model=16, n_head=4, causal=True,
                            attrs={"norm_first": norm_first})
    assert_close(pre_ln_block(x, built(False)), ref_pre, "pre_ln_block(x, block)", atol=1e-5,
                 nudge=tr("the block handed to you is built post-LN: calling block(x) gives the "
                          "other answer",
                          "传给你的模块是按 post-LN 搭建的：直接调用 block(x) 得到的是另一种答案"))
    assert_close(post_ln_block(x, built(True)), ref_post, "post_ln_block(x, block)", atol=1e-5,
                 nudge=tr("the block handed to you is built pre-LN: calling block(x) gives the "
                          "other answer",
                          "传给你的模块是按 pre-LN 搭建的：直接调用 block(x) 得到的是另一种答案"))


@LESSON.task("4.5", Text("count a GPT's parameters", "数一数 GPT 的参数量"),
             nudge=Text("Lesson 4's notebook, part 5 (a tiny GPT): count each piece the docstring lists: "
                        "two embedding tables, per block two LayerNorms (γ and β) and four Linear layers "
                        "(weight and bias, with sizes C→3C, C→C, C→4C, 4C→C), the final LayerNorm. "
                        "The output head shares the token embedding's matrix (weight tying).",
                        "第 4 课笔记本第 5 部分（一个微型 GPT）：逐项数出文档字符串列出的各部分：两张嵌入表，"
                        "每个模块两个 LayerNorm（γ 和 β）和四个 Linear 层（权重和偏置，尺寸分别为 C→3C、"
                        "C→C、C→4C、4C→C），以及最后的 LayerNorm。输出头与词元嵌入共用同一个矩阵（权重共享）。"))
def check_num_params(ex):
    gpt_num_params = get(ex, "gpt_num_params")
    for V, L, C, P in ((65, 2, 32, 16), (100, 1, 8, 4), (30, 3, 24, 40)):
        model = GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=4, n_embd=C, block_size=P))
        expected = model.num_parameters()
        got = _integer(gpt_num_params(V, L, C, P), f"gpt_num_params({V}, {L}, {C}, {P})")
        off = f"{int(got) - expected:+,}"
        require(int(got) == expected, tr(f"gpt_num_params({V}, {L}, {C}, {P}) against "
                                         f"GPT(config).num_parameters()",
                                         f"gpt_num_params({V}, {L}, {C}, {P}) 与 "
                                         f"GPT(config).num_parameters() 比较"),
                tr(f"got {int(got):,}, expected {expected:,} (off by {off})",
                   f"得到 {int(got):,}，应为 {expected:,}（相差 {off}）"),
                nudge=_num_params_slip(int(got) - expected, V, L, C, P))
    got = _integer(gpt_num_params(50257, 12, 768, 1024), "gpt_num_params(50257, 12, 768, 1024)")
    off = f"{int(got) - 124_439_808:+,}"
    require(int(got) == 124_439_808, tr("GPT-2 small (V=50257, 12 layers, C=768, 1024 positions)",
                                        "GPT-2 small（V=50257，12 层，C=768，1024 个位置）"),
            tr(f"got {int(got):,}, expected 124,439,808 (off by {off})",
               f"得到 {int(got):,}，应为 124,439,808（相差 {off}）"))


def _integer(got, what):
    """A count the student's function returned, as an int, or a failure saying what it was."""
    try:
        return int(got)
    except (TypeError, ValueError, OverflowError):
        raise CheckFailed(what, tr(f"got {got!r:.80}, expected an integer",
                                   f"得到 {got!r:.80}，应为整数")) from None


def _num_params_slip(off: int, V: int, L: int, C: int, P: int) -> str:
    """A nudge when the count is off by exactly one of the usual pieces."""
    two_norms = tr("each block has two LayerNorms, each with γ and β",
                   "每个模块有两个 LayerNorm，各有 γ 和 β")
    pieces = {V * C: tr("lm_head shares wte's matrix (weight tying): count it once",
                        "lm_head 与 wte 共用矩阵（权重共享）：只算一次"),
              -V * C: tr("the token embedding wte (V × C) is a parameter too",
                         "词元嵌入 wte（V × C）也是参数"),
              -P * C: tr("the position embedding wpe (block_size × C) is a parameter too",
                         "位置嵌入 wpe（block_size × C）也是参数"),
              -2 * C: tr("the final LayerNorm ln_f has γ and β", "最后的 LayerNorm ln_f 有 γ 和 β"),
              -2 * C * L: two_norms,
              -4 * C * L: two_norms}
    if off in pieces:
        return pieces[off]
    if off % L == 0:
        return tr("the difference is the same in every block: recount one block's pieces",
                  "每个模块差得一样多：重新数一数一个模块的各部分")
    return ""
