"""Lesson 4 exercises: the Transformer (§3.1 Transformer 架构).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 4

The tasks are described in lessons/04_transformer/README.md; each docstring is the exact spec.
"""
import numpy as np

import minigrad as mg


# --- Task 4.1: split and merge heads ---------------------------------------------------------
def split_heads(x, n_head):
    """(B, T, C) -> (B, n_head, T, hs), hs = C / n_head: one attention per head.

    Head h owns the columns h·hs .. (h+1)·hs - 1 of the last dim.  Reshape to
    (B, T, n_head, hs), then swap the T and head dims (x.transpose(1, 2)).
    x: Tensor (B, T, C).  Returns a Tensor.
    """
    # TODO: reshape to (B, T, n_head, hs), then transpose(1, 2).
    raise NotImplementedError


def merge_heads(x):
    """(B, n_head, T, hs) -> (B, T, n_head·hs): the inverse of split_heads (concatenate the
    heads side by side again).  x: Tensor.  Returns a Tensor."""
    # TODO: transpose(1, 2) back, then reshape to (B, T, n_head * hs).
    raise NotImplementedError


# --- Task 4.2: the sinusoidal position encoding ----------------------------------------------
def sinusoidal_encoding(T, d):
    """The (T, d) sinusoidal table of "Attention Is All You Need" (d even), as an ndarray:

        PE(pos, 2i)   = sin(pos / 10000^(2i/d))
        PE(pos, 2i+1) = cos(pos / 10000^(2i/d))

    Row pos is added to the embedding of the token at position pos.
    """
    # TODO: pos (T, 1) and 2i (1, d/2) as arrays; the angle; fill even columns sin, odd cos.
    raise NotImplementedError


# --- Task 4.3: LayerNorm ---------------------------------------------------------------------
def layer_norm(x, weight, bias, eps=1e-5):
    """LayerNorm over the last dim (§3.1):  y = (x - μ) / √(σ² + ε) · γ + β.

    μ and σ² are the mean and the *biased* variance (divide by C, not C - 1) of each row
    x[..., :];  γ = weight (C,), β = bias (C,).  x: Tensor (..., C).  Returns a Tensor.
    Use Tensor ops (mean, subtraction, sqrt or rsqrt), not F.layer_norm or nn.LayerNorm.
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
    """
    # TODO: two residual additions; the LayerNorm comes *before* each sub-layer.
    raise NotImplementedError


def post_ln_block(x, block):
    """The forward pass of a post-LN block (the original Transformer, BERT):

        x = LN₁(x + Attn(x))
        x = LN₂(x + MLP(x))

    Same parts and rules as pre_ln_block.
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
    """
    # TODO: add up the pieces listed above.
    raise NotImplementedError
