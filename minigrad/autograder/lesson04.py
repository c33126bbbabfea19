"""Checks for lesson 4: the Transformer (§3.1 Transformer 架构).  Stubs: lessons/04_transformer/."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..gradcheck import GradcheckError, gradcheck
from ..models.gpt import GPT, GPTConfig
from ..nn import attention as _attention
from ..nn import functional as F
from ..nn import positional as _positional
from ..tensor import Tensor
from .core import CheckFailed, Lesson, assert_close, forbid_function, get, require

LESSON = Lesson(4, "04_transformer", "The Transformer", "§3.1 Transformer 架构")


@LESSON.task("4.1", "split and merge attention heads",
             hint="split: x.reshape(B, T, nh, C // nh).transpose(1, 2); "
                  "merge: x.transpose(1, 2).reshape(B, T, nh * hs)")
def check_heads(ex):
    split_heads, merge_heads = get(ex, "split_heads"), get(ex, "merge_heads")
    rng = np.random.default_rng(11)
    x = Tensor(rng.standard_normal((2, 5, 12)).astype(np.float32))
    ref = _attention.split_heads(x, 3)
    y = Tensor(rng.standard_normal((1, 4, 3, 2)).astype(np.float32))
    ref_y = _attention.merge_heads(y)
    with forbid_function(_attention.split_heads, _attention.merge_heads):
        heads = split_heads(x, 3)
        assert_close(heads, ref, "split_heads(x (2, 5, 12), 3), expected shape (B, nh, T, hs) = "
                     "(2, 3, 5, 4)", atol=0)
        assert_close(heads.data[1, 2, 4], x.data[1, 4, 8:12], "head 2 of token 4 in batch 1 "
                     "(it must be columns 8..11)", atol=0)
        assert_close(merge_heads(heads), x, "merge_heads(split_heads(x))", atol=0)
        assert_close(merge_heads(y), ref_y, "merge_heads(y (1, 4, 3, 2))", atol=0)


@LESSON.task("4.2", "the sinusoidal position encoding",
             hint="angle = np.arange(T)[:, None] / 10000 ** (np.arange(0, d, 2)[None, :] / d); "
                  "pe[:, 0::2] = sin(angle); pe[:, 1::2] = cos(angle)")
def check_sinusoidal(ex):
    sinusoidal_encoding = get(ex, "sinusoidal_encoding")
    refs = {(T, d): _positional.sinusoidal_position_encoding(T, d, dtype="float64").data
            for T, d in ((10, 8), (50, 64))}
    with forbid_function(_positional.sinusoidal_position_encoding):
        for (T, d), ref in refs.items():
            assert_close(sinusoidal_encoding(T, d), ref, f"sinusoidal_encoding({T}, {d})", atol=1e-6)


@LESSON.task("4.3", "LayerNorm from mean and variance",
             hint="mu = x.mean(-1, keepdim=True); var = ((x - mu) ** 2).mean(-1, keepdim=True) "
                  "(biased); return (x - mu) / (var + eps).sqrt() * weight + bias")
def check_layer_norm(ex):
    layer_norm = get(ex, "layer_norm")
    rng = np.random.default_rng(12)
    x = Tensor(rng.standard_normal((2, 3, 6)) * 4 + 1)
    w, b = Tensor(rng.standard_normal(6)), Tensor(rng.standard_normal(6))
    ref = F.layer_norm(x, (6,), w, b, eps=1e-5)
    ref_eps = F.layer_norm(x, (6,), w, b, eps=0.5)
    with forbid_function(F.layer_norm):
        out = layer_norm(x, w, b)
        require(isinstance(out, Tensor), "layer_norm must return a Tensor (use Tensor ops)")
        assert_close(out, ref, "layer_norm(x (2, 3, 6), γ, β)", atol=1e-10)
        assert_close(layer_norm(x, w, b, eps=0.5), ref_eps, "layer_norm with eps=0.5 (use eps "
                     "inside the square root)", atol=1e-10)
        inputs = [Tensor(rng.standard_normal((3, 5)), requires_grad=True),
                  Tensor(rng.standard_normal(5), requires_grad=True),
                  Tensor(rng.standard_normal(5), requires_grad=True)]
        try:
            gradcheck(lambda a, g, c: layer_norm(a, g, c), inputs)
        except GradcheckError as e:
            raise CheckFailed(f"the gradient through your layer_norm is wrong: {e}") from None


@LESSON.task("4.4", "a pre-LN and a post-LN block, from the block's parts",
             hint="pre-LN: x = x + block.attn(block.ln_1(x)).output; x + block.mlp(block.ln_2(x)). "
                  "post-LN: x = block.ln_1(x + block.attn(x).output); block.ln_2(x + block.mlp(x))")
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
    assert_close(pre_ln_block(x, block), ref_pre, "pre_ln_block(x, block)", atol=1e-5)
    block.norm_first = True
    assert_close(post_ln_block(x, block), ref_post, "post_ln_block(x, block)", atol=1e-5)


@LESSON.task("4.5", "count a GPT's parameters",
             hint="V·C + block_size·C + n_layer·(12·C² + 13·C) + 2·C: embeddings, blocks, ln_f; "
                  "lm_head is tied to wte")
def check_num_params(ex):
    gpt_num_params = get(ex, "gpt_num_params")
    for V, L, C, P in ((65, 2, 32, 16), (100, 1, 8, 4), (30, 3, 24, 40)):
        model = GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=4, n_embd=C, block_size=P))
        expected = model.num_parameters()
        got = gpt_num_params(V, L, C, P)
        require(int(got) == expected, f"gpt_num_params({V}, {L}, {C}, {P}) = {got}; minigrad's GPT "
                                      f"has {expected:,}")
    got = gpt_num_params(50257, 12, 768, 1024)
    require(int(got) == 124_439_808, f"GPT-2 small: got {got}, expected 124,439,808")
