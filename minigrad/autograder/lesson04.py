"""Checks for lesson 4: the Transformer (§3.1 Transformer 架构).  Stubs: lessons/04_transformer/."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..models.gpt import GPT, GPTConfig
from ..nn import attention as _attention
from ..nn import functional as F
from ..nn import positional as _positional
from ..tensor import Tensor
from .core import (CheckFailed, Lesson, assert_close, compare_arrays, forbid_function, get,
                   is_tensor, require, type_name)
from .isolation import Build
from .probes import student_gradients

_NOTEBOOK = "Lesson 4's notebook"

LESSON = Lesson(4, "04_transformer", "The Transformer", "§3.1 Transformer 架构")


@LESSON.task("4.1", "split and merge attention heads",
             nudge=f"{_NOTEBOOK}, part 1 (multi-head attention): head h owns columns h·hs to "
                   "(h+1)·hs − 1 of each token. A reshape only regroups the last dim in memory "
                   "order; the axes then have to be swapped so that the heads come before the "
                   "tokens. merge undoes both steps in the opposite order.")
def check_heads(ex):
    split_heads, merge_heads = get(ex, "split_heads"), get(ex, "merge_heads")
    rng = np.random.default_rng(11)
    x = Tensor(rng.standard_normal((2, 5, 12)).astype(np.float32))
    ref = _attention.split_heads(x, 3)
    y = Tensor(rng.standard_normal((1, 4, 3, 2)).astype(np.float32))
    ref_y = _attention.merge_heads(y)
    with forbid_function(_attention.split_heads, _attention.merge_heads):
        heads = split_heads(x, 3)
        assert_close(heads, ref, "split_heads(x (2, 5, 12), 3), of shape (B, nh, T, hs) = "
                     "(2, 3, 5, 4)", atol=0,
                     nudge="reshaping straight to (B, nh, T, hs) mixes tokens into the heads")
        assert_close(heads.data[1, 2, 4], x.data[1, 4, 8:12], "head 2 of token 4 in batch 1 "
                     "is columns 8..11 of that token", atol=0)
        assert_close(merge_heads(heads), x, "merge_heads(split_heads(x))", atol=0)
        assert_close(merge_heads(y), ref_y, "merge_heads(y (1, 4, 3, 2))", atol=0)


@LESSON.task("4.2", "the sinusoidal position encoding",
             nudge=f"{_NOTEBOOK}, part 2 (positional encodings), §3.1: PE(pos, 2i) = "
                   "sin(pos / 10000^(2i/d)) and PE(pos, 2i+1) = cos of the same angle. One "
                   "angle per (position, pair of columns): a column of positions against a row "
                   "of 2i broadcasts to (T, d/2); even columns take the sine, odd the cosine.")
def check_sinusoidal(ex):
    sinusoidal_encoding = get(ex, "sinusoidal_encoding")
    refs = {(T, d): _positional.sinusoidal_position_encoding(T, d, dtype="float64").data
            for T, d in ((10, 8), (50, 64))}
    with forbid_function(_positional.sinusoidal_position_encoding):
        for (T, d), ref in refs.items():
            assert_close(sinusoidal_encoding(T, d), ref, f"sinusoidal_encoding({T}, {d})", atol=1e-6,
                         nudge="row 0 is sin 0 = 0 in the even columns and cos 0 = 1 in the odd")


@LESSON.task("4.3", "LayerNorm from mean and variance",
             nudge=f"{_NOTEBOOK}, part 3 (LayerNorm), §3.1: y = (x − μ)/√(σ² + ε)·γ + β over the "
                   "last dim, with μ the mean and σ² the biased variance (divide by C) of each "
                   "row; ε goes inside the square root. Keep the reduced dim (keepdim) so μ and "
                   "σ² broadcast back over the row.")
def check_layer_norm(ex):
    layer_norm = get(ex, "layer_norm")
    rng = np.random.default_rng(12)
    x = Tensor(rng.standard_normal((2, 3, 6)) * 4 + 1)
    w, b = Tensor(rng.standard_normal(6)), Tensor(rng.standard_normal(6))
    ref = F.layer_norm(x, (6,), w, b, eps=1e-5)
    ref_eps = F.layer_norm(x, (6,), w, b, eps=0.5)
    with forbid_function(F.layer_norm):
        out = layer_norm(x, w, b)
        require(is_tensor(out), "layer_norm returns a Tensor",
                f"it returned a {type_name(out)}", nudge="use Tensor ops")
        assert_close(out, ref, "layer_norm(x (2, 3, 6), γ, β)", atol=1e-10,
                     nudge=_layer_norm_slip(out, x.data, w.data, b.data, 1e-5))
        out = layer_norm(x, w, b, eps=0.5)
        assert_close(out, ref_eps, "layer_norm with eps=0.5", atol=1e-10,
                     nudge=_layer_norm_slip(out, x.data, w.data, b.data, 0.5)
                     or "use the eps you are given")
        values = [rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(5)]
        up = rng.standard_normal((3, 5))
        grads = student_gradients(ex, "layer_norm", [Tensor(v, requires_grad=True) for v in values],
                                  up, "layer_norm(x, γ, β)")
        ref = [Tensor(v, requires_grad=True) for v in values]
        (F.layer_norm(ref[0], (5,), ref[1], ref[2], eps=1e-5) * Tensor(up)).sum().backward()
        for name, g, r in zip(("x", "γ", "β"), grads, ref):
            assert_close(g, r.grad, f"the gradient of {name} through your layer_norm (autograd), "
                         "against the exact gradient", atol=1e-9)


def _layer_norm_slip(out, x, w, b, eps) -> str:
    """A nudge when the student's values are those of a usual slip (computed, so it is only
    given when it is that slip): the unbiased variance, or ε outside the square root."""
    try:
        got = np.asarray(out.data if is_tensor(out) else out, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    mu = x.mean(-1, keepdims=True)
    slips = {"Tensor.var divides by C − 1 (the unbiased variance); LayerNorm's σ² divides by C":
             (x - mu) / np.sqrt(x.var(-1, ddof=1, keepdims=True) + eps) * w + b,
             "ε is added to the variance, inside the square root":
             (x - mu) / (np.sqrt(x.var(-1, keepdims=True)) + eps) * w + b}
    for nudge, values in slips.items():
        if got.shape == values.shape and not compare_arrays(got, values, atol=1e-10):
            return nudge
    return ""


@LESSON.task("4.4", "a pre-LN and a post-LN block, from the block's parts",
             nudge=f"{_NOTEBOOK}, part 4 (the block: pre-LN and post-LN), §3.1 残差连接: each "
                   "sub-layer (attention, then the MLP) sits on a residual path. Pre-LN normalises "
                   "the sub-layer's input and adds its output to the unnormalised x; post-LN adds "
                   "first and normalises the sum. block.attn returns a tuple-like result whose "
                   ".output is the tensor.")
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
                 nudge="the block handed to you is built post-LN: calling block(x) gives the "
                       "other answer")
    assert_close(post_ln_block(x, built(True)), ref_post, "post_ln_block(x, block)", atol=1e-5,
                 nudge="the block handed to you is built pre-LN: calling block(x) gives the "
                       "other answer")


@LESSON.task("4.5", "count a GPT's parameters",
             nudge=f"{_NOTEBOOK}, part 5 (a tiny GPT): count each piece the docstring lists: two "
                   "embedding tables, per block two LayerNorms (γ and β) and four Linear layers "
                   "(weight and bias, with sizes C→3C, C→C, C→4C, 4C→C), the final LayerNorm. "
                   "The output head shares the token embedding's matrix (weight tying).")
def check_num_params(ex):
    gpt_num_params = get(ex, "gpt_num_params")
    for V, L, C, P in ((65, 2, 32, 16), (100, 1, 8, 4), (30, 3, 24, 40)):
        model = GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=4, n_embd=C, block_size=P))
        expected = model.num_parameters()
        got = _integer(gpt_num_params(V, L, C, P), f"gpt_num_params({V}, {L}, {C}, {P})")
        require(int(got) == expected, f"gpt_num_params({V}, {L}, {C}, {P}) against "
                                      f"GPT(config).num_parameters()",
                f"got {int(got):,}, expected {expected:,} (off by {int(got) - expected:+,})",
                nudge=_num_params_slip(int(got) - expected, V, L, C, P))
    got = _integer(gpt_num_params(50257, 12, 768, 1024), "gpt_num_params(50257, 12, 768, 1024)")
    require(int(got) == 124_439_808, "GPT-2 small (V=50257, 12 layers, C=768, 1024 positions)",
            f"got {int(got):,}, expected 124,439,808 (off by {int(got) - 124_439_808:+,})")


def _integer(got, what):
    """A count the student's function returned, as an int, or a failure saying what it was."""
    try:
        return int(got)
    except (TypeError, ValueError, OverflowError):
        raise CheckFailed(what, f"got {got!r:.80}, expected an integer") from None


def _num_params_slip(off: int, V: int, L: int, C: int, P: int) -> str:
    """A nudge when the count is off by exactly one of the usual pieces."""
    pieces = {V * C: "lm_head shares wte's matrix (weight tying): count it once",
              -V * C: "the token embedding wte (V × C) is a parameter too",
              -P * C: "the position embedding wpe (block_size × C) is a parameter too",
              -2 * C: "the final LayerNorm ln_f has γ and β",
              -2 * C * L: "each block has two LayerNorms, each with γ and β",
              -4 * C * L: "each block has two LayerNorms, each with γ and β"}
    if off in pieces:
        return pieces[off]
    if off % L == 0:
        return "the difference is the same in every block: recount one block's pieces"
    return ""
