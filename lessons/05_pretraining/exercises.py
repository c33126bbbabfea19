"""Lesson 5 exercises: pre-training a GPT (§3.2 预训练).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 5

The tasks are described in lessons/05_pretraining/README.md; each docstring is the exact spec.
"""
import math

import numpy as np


# --- Task 5.1: perplexity from losses --------------------------------------------------------
def perplexity(losses, counts):
    """Perplexity (困惑度) of a model over a validation set (§3.2 模型评估):

        PPL = exp( Σ_b n_b · ℓ_b / Σ_b n_b )

    losses[b] is the *mean* cross-entropy (nats per token) of batch b and counts[b] the number
    of tokens it was averaged over, so the mean over all tokens weights each batch by n_b.
    Average the losses first, then exponentiate (not the other way round).
    Returns a Python float.
    """
    # TODO: the token-weighted mean of the losses, then math.exp.
    raise NotImplementedError


# --- Task 5.2: a language-model batch ----------------------------------------------------------
def lm_batch(ids, block_size, starts):
    """Windows of a token stream for next-token prediction (§3.2 模型训练).

    For each start s in `starts`, the input row is ids[s : s + block_size] and the target row
    the same window shifted by one, ids[s + 1 : s + block_size + 1] (target t is the token
    that follows input t).  ids: 1-D int array; starts: 1-D int array of length B.
    Returns (x, y), two int64 arrays of shape (B, block_size).
    """
    # TODO: one index array (B, block_size + 1) from the starts and the offsets; cut it in two.
    raise NotImplementedError


# --- Task 5.3: the sampling distribution -------------------------------------------------------
def next_token_probs(logits, temperature=1.0, top_k=None):
    """The distribution the next token is drawn from during generation (生成):

        p = softmax(z / τ)   over the top_k largest logits z only (the others get p = 0)

    logits: (B, V) float array.  temperature τ > 0 (τ → 0 approaches greedy decoding, τ > 1
    flattens the distribution).  top_k None keeps every token; otherwise the k largest logits
    of each row (ties with the k-th largest are kept).  Returns (B, V) float64, rows summing to 1.
    Compute the softmax stably (subtract the row maximum).
    """
    # TODO: divide by τ; set everything below the k-th largest to -inf; a stable softmax.
    raise NotImplementedError


# --- Task 5.4: one BPE merge ---------------------------------------------------------------------
def bpe_merge_step(words, freqs):
    """One step of byte-pair-encoding training (字节对编码, §3.2 数据收集 → tokenisation).

    words: a list of words, each a list of symbols (str); freqs[i]: how often word i occurs.
    Count every pair of adjacent symbols, weighted by the word's frequency; pick the most
    frequent pair (a tie goes to the pair that sorts first as (str, str)); then, in every
    word, replace each non-overlapping occurrence of that pair, left to right, by the glued
    symbol a + b.  Returns (pair, new_words): the chosen (a, b) and the merged words (new
    lists; do not modify the input).  With no pair at all, return (None, a copy of words).
    """
    # TODO: count pairs (a dict or collections.Counter); choose; rewrite each word.
    raise NotImplementedError
