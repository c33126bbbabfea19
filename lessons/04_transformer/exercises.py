"""Lesson 4 exercises: the Transformer (§3.1 Transformer 架构).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 4

The tasks are described in lessons/04_transformer/README.md; each docstring is the exact spec.

把每个标有 TODO 的函数补全（替换掉 `raise NotImplementedError`），然后检查：

    minigrad lesson check 4 --lang zh

题目说明见 lessons/04_transformer/README.zh.md；每个文档字符串（先英文，后中文）就是精确的规格说明。
"""
import numpy as np

import minigrad as mg


# --- Task 4.1: split and merge heads ---------------------------------------------------------
def split_heads(x, n_head):
    """(B, T, C) -> (B, n_head, T, hs), hs = C / n_head: one attention per head.

    Head h owns the columns h·hs .. (h+1)·hs - 1 of the last dim.  Reshape to
    (B, T, n_head, hs), then swap the T and head dims (x.transpose(1, 2)).
    x: Tensor (B, T, C).  Returns a Tensor.

    (B, T, C) -> (B, n_head, T, hs)，hs = C / n_head：每个头做一次注意力。第 h 个头拥有最后一维的第
    h·hs .. (h+1)·hs - 1 列。先 reshape 成 (B, T, n_head, hs)，再交换 T 和头这两维（x.transpose(1, 2)）。
    x 是 Tensor (B, T, C)，返回 Tensor。
    """
    # TODO: reshape to (B, T, n_head, hs), then transpose(1, 2).
    raise NotImplementedError


def merge_heads(x):
    """(B, n_head, T, hs) -> (B, T, n_head·hs): the inverse of split_heads (concatenate the
    heads side by side again).  x: Tensor.  Returns a Tensor.

    (B, n_head, T, hs) -> (B, T, n_head·hs)：split_heads 的逆运算（把各个头重新并排拼接起来）。
    x 是 Tensor，返回 Tensor。
    """
    # TODO: transpose(1, 2) back, then reshape to (B, T, n_head * hs).
    raise NotImplementedError


# --- Task 4.2: the sinusoidal position encoding ----------------------------------------------
def sinusoidal_encoding(T, d):
    """The (T, d) sinusoidal table of "Attention Is All You Need" (d even), as an ndarray:

        PE(pos, 2i)   = sin(pos / 10000^(2i/d))
        PE(pos, 2i+1) = cos(pos / 10000^(2i/d))

    Row pos is added to the embedding of the token at position pos.

    《Attention Is All You Need》中的 (T, d) 正弦位置编码表（d 为偶数），以 ndarray 返回：
    PE(pos, 2i) = sin(pos / 10000^(2i/d))，PE(pos, 2i+1) = cos(pos / 10000^(2i/d))。第 pos 行加到位置 pos 上
    词元的嵌入上。
    """
    # TODO: pos (T, 1) and 2i (1, d/2) as arrays; the angle; fill even columns sin, odd cos.
    raise NotImplementedError


# --- Task 4.3: LayerNorm ---------------------------------------------------------------------
def layer_norm(x, weight, bias, eps=1e-5):
    """LayerNorm over the last dim (§3.1):  y = (x - μ) / √(σ² + ε) · γ + β.

    μ and σ² are the mean and the *biased* variance (divide by C, not C - 1) of each row
    x[..., :];  γ = weight (C,), β = bias (C,).  x: Tensor (..., C).  Returns a Tensor.
    Use Tensor ops (mean, subtraction, sqrt or rsqrt), not F.layer_norm or nn.LayerNorm.

    在最后一维上做层归一化（§3.1）：y = (x - μ) / √(σ² + ε) · γ + β。μ 和 σ² 是每行 x[..., :] 的均值和
    *有偏*方差（除以 C，而不是 C - 1）；γ = weight (C,)，β = bias (C,)。x 是 Tensor (..., C)，返回 Tensor。
    用 Tensor 运算（mean、减法、sqrt 或 rsqrt），不要用 F.layer_norm 或 nn.LayerNorm。
    """
    # TODO: the mean and the biased variance of each row (keepdim=True), then the formula.
    raise NotImplementedError


# --- Task 4.4: a pre-LN and a post-LN block --------------------------------------------------
def pre_ln_block(x, block):
    """The forward pass of a pre-LN Transformer block (GPT-2), from the block's parts:

        x = x + Attn(LN₁(x))
        x = x + MLP(LN₂(x))

    block: an nn.TransformerBlock; use block.ln_1, block.attn, block.ln_2 and block.mlp
    (block.attn(h) returns (output, weights, cache); you need .output).  Do not call
    block(x) itself: the check hands you a block built the other way round.
    x: Tensor (B, T, C).  Returns a Tensor (B, T, C).

    用模块的各部分实现 pre-LN Transformer 模块（GPT-2）的前向传播：x = x + Attn(LN₁(x))，
    x = x + MLP(LN₂(x))。block 是一个 nn.TransformerBlock；使用 block.ln_1、block.attn、block.ln_2 和 block.mlp
    （block.attn(h) 返回 (output, weights, cache)，你需要 .output）。不要直接调用 block(x)：检查交给你的模块是按
    另一种方式搭建的。x 是 Tensor (B, T, C)，返回 Tensor (B, T, C)。
    """
    # TODO: two residual additions; the LayerNorm comes *before* each sub-layer.
    raise NotImplementedError


def post_ln_block(x, block):
    """The forward pass of a post-LN block (the original Transformer, BERT):

        x = LN₁(x + Attn(x))
        x = LN₂(x + MLP(x))

    Same parts and rules as pre_ln_block.

    post-LN 模块（原始 Transformer、BERT）的前向传播：x = LN₁(x + Attn(x))，x = LN₂(x + MLP(x))。
    所用的部分和规则与 pre_ln_block 相同。
    """
    # TODO: two residual additions; the LayerNorm comes *after* each addition.
    raise NotImplementedError


# --- Task 4.5: counting a GPT's parameters ---------------------------------------------------
def gpt_num_params(vocab_size, n_layer, n_embd, block_size):
    """The number of parameters of minigrad's GPT (GPT-2 architecture, biases on), as an int.

    Count, with C = n_embd and V = vocab_size:
      * token embeddings wte (V, C) and position embeddings wpe (block_size, C);
      * per block: ln_1 and ln_2 (γ and β, C each); attention c_attn (C → 3C, weight and
        bias) and c_proj (C → C); the MLP c_fc (C → 4C) and c_proj (4C → C);
      * the final LayerNorm ln_f;
      * lm_head (C → V, no bias) is *tied* to wte: the same matrix, counted once.
    GPT-2 small (V=50257, 12 layers, C=768, block_size 1024) has 124,439,808.

    minigrad 的 GPT（GPT-2 架构，带偏置）的参数量，返回 int。记 C = n_embd、V = vocab_size，要数的有：
    词元嵌入 wte (V, C) 和位置嵌入 wpe (block_size, C)；每个模块中的 ln_1 和 ln_2（γ 和 β，各 C 个）、注意力的
    c_attn（C → 3C，权重和偏置）和 c_proj（C → C）、MLP 的 c_fc（C → 4C）和 c_proj（4C → C）；最后的 LayerNorm ln_f；
    lm_head（C → V，无偏置）与 wte *共享权重*：是同一个矩阵，只算一次。GPT-2 small（V=50257，12 层，C=768，
    block_size 1024）有 124,439,808 个参数。
    """
    # TODO: add up the pieces listed above.
    raise NotImplementedError
