"""Lesson 5 exercises: pre-training a GPT (§3.2 预训练).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 5

The tasks are described in lessons/05_pretraining/README.md; each docstring is the exact spec.

把每个标有 TODO 的函数补全（替换掉 `raise NotImplementedError`），然后检查：

    minigrad lesson check 5 --lang zh

题目说明见 lessons/05_pretraining/README.zh.md；每个文档字符串（先英文，后中文）就是精确的规格说明。
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

    模型在验证集上的困惑度（§3.2 模型评估）：PPL = exp( Σ_b n_b · ℓ_b / Σ_b n_b )。losses[b] 是批次 b 的
    *平均*交叉熵（每个词元的 nat 数），counts[b] 是求平均时用的词元数，所以对全部词元求平均时每个批次要按 n_b 加权。
    先对损失求平均，再取指数（不要反过来）。返回 Python float。
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

    从词元流中切出用于预测下一个词元的窗口（§3.2 模型训练）。对 `starts` 中的每个起点 s，输入行是
    ids[s : s + block_size]，目标行是错开一个词元的同一窗口 ids[s + 1 : s + block_size + 1]（目标 t 是紧跟在输入 t
    之后的词元）。ids 是一维整数数组，starts 是长度为 B 的一维整数数组。返回 (x, y)，两个形状为 (B, block_size) 的
    int64 数组。
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

    生成时抽取下一个词元所用的分布：只在最大的 top_k 个 logits z 上计算 p = softmax(z / τ)
    （其余的 p = 0）。logits 是 (B, V) 浮点数组；温度 τ > 0（τ → 0 趋近贪心解码，τ > 1 使分布更平坦）。top_k 为 None
    时保留所有词元，否则保留每行最大的 k 个 logits（与第 k 大相等的也保留）。返回 (B, V) float64，每行之和为 1。
    softmax 要稳定地计算（减去每行最大值）。
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

    字节对编码（BPE）训练的一步（§3.2 数据收集 → 分词）。words 是词的列表，每个词是符号（str）的列表；
    freqs[i] 是第 i 个词出现的次数。按词频加权统计每一对相邻符号，选出最常见的一对（频次相同时取按 (str, str) 排序
    最靠前的一对）；然后在每个词里从左到右把这一对的每次不重叠出现替换为粘合后的符号 a + b。返回 (pair, new_words)：
    选中的 (a, b) 和合并后的词（新列表；不要修改输入）。如果一对都没有，返回 (None, words 的副本)。
    """
    # TODO: count pairs (a dict or collections.Counter); choose; rewrite each word.
    raise NotImplementedError
