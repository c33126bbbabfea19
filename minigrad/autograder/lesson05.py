"""Checks for lesson 5: pre-training a GPT (§3.2 预训练).  Stubs: lessons/05_pretraining/."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ..data.datasets import TokenWindows
from ..models import gpt as _gpt
from ..tokenizers import BPETokenizer
from ..tokenizers.byte_level import bytes_to_unicode, gpt2_pretokenizer
from .core import (CheckFailed, Lesson, assert_close, expect_equal, expect_number,
                   expect_same_items, forbid_function, get)

_NOTEBOOK = "Lesson 5's notebook"

LESSON = Lesson(5, "05_pretraining", "Pre-training a GPT", "§3.2 预训练")


@LESSON.task("5.1", "perplexity from batch losses",
             nudge=f"{_NOTEBOOK}, part 6 (evaluation: perplexity), §3.2 模型评估: PPL = exp of the "
                   "mean cross-entropy per token. Each batch's loss is already a mean over its "
                   "own tokens, so the mean over all tokens weights batch b by its count n_b. "
                   "Average first, exponentiate last.")
def check_perplexity(ex):
    perplexity = get(ex, "perplexity")
    expect_number(perplexity([math.log(4.0)], [10]), 4.0, "perplexity([ln 4], [10])",
                  nudge="a model as unsure as a fair 4-sided die has perplexity 4")
    losses, counts = [2.0, 1.0, 3.0], [100, 20, 5]
    expected = math.exp((2.0 * 100 + 1.0 * 20 + 3.0 * 5) / 125)
    expect_number(perplexity(losses, counts), expected, f"perplexity({losses}, {counts})",
                  nudge="weight each batch by its token count; exp of the mean, not the mean of exp")
    rng = np.random.default_rng(5)
    losses, counts = rng.uniform(1, 4, 7), rng.integers(1, 500, 7)
    expected = math.exp(float((losses * counts).sum() / counts.sum()))
    expect_number(perplexity(losses, counts), expected, "perplexity of 7 random batches")


@LESSON.task("5.2", "a language-model batch (inputs and next-token targets)",
             nudge=f"{_NOTEBOOK}, part 3 (the objective: predict the next token): target t is the "
                   "token that follows input t, so both rows come from one window of "
                   "block_size + 1 tokens, the input without its last token and the target "
                   "without its first. A column of starts plus a row of offsets indexes all "
                   "windows at once.")
def check_lm_batch(ex):
    lm_batch = get(ex, "lm_batch")
    ids = np.arange(100, 160)
    x, y = lm_batch(ids, 4, np.array([0, 10]))
    assert_close(x, np.array([[100, 101, 102, 103], [110, 111, 112, 113]]), "x for ids 100..159, "
                 "block_size 4, starts [0, 10]", atol=0)
    assert_close(y, np.array([[101, 102, 103, 104], [111, 112, 113, 114]]), "y for ids 100..159, "
                 "block_size 4, starts [0, 10] (the next tokens)", atol=0,
                 nudge="y is x shifted by one token")
    rng = np.random.default_rng(6)
    ids = rng.integers(0, 50, 300)
    windows = TokenWindows(ids, 16)
    starts = rng.integers(0, len(windows), 8)
    ref_x, ref_y = windows.windows(starts)
    x, y = lm_batch(ids, 16, starts)
    assert_close(x, ref_x, "x for 8 random windows of block_size 16", atol=0)
    assert_close(y, ref_y, "y for 8 random windows of block_size 16", atol=0)
    x, y = lm_batch(ids, 16, np.array([len(ids) - 17]))
    assert_close(y[0, -1:], ids[-1:], "the last target of the last possible window", atol=0)


@LESSON.task("5.3", "the sampling distribution: temperature and top-k",
             nudge=f"{_NOTEBOOK}, part 7 (generation: greedy, temperature, top-k): divide the "
                   "logits by τ, give every logit below the row's k-th largest a probability of "
                   "exactly 0 (a logit of −inf does that), then a softmax of each row, stable by "
                   "subtracting the row maximum. Ties with the k-th largest stay in.")
def check_next_token_probs(ex):
    next_token_probs = get(ex, "next_token_probs")
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((3, 20)) * 3

    def ref(z, t, k):
        z = z / t
        if k is not None:
            z = _gpt.top_k_filter(z, k)
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    for t, k in ((1.0, None), (0.5, None), (2.0, 5), (0.7, 1), (1.0, 20)):
        got = next_token_probs(logits, temperature=t, top_k=k)
        assert_close(got, ref(logits, t, k), f"next_token_probs(logits (3, 20), temperature={t}, "
                     f"top_k={k})", atol=1e-9,
                     nudge=("a smaller τ sharpens the distribution: the logits are divided by τ"
                            if t != 1.0 and k is None else ""))
    big = np.array([[1000.0, 999.0, -5.0]])
    assert_close(next_token_probs(big, 1.0, None), ref(big, 1.0, None), "next_token_probs of "
                 "logits [1000, 999, -5]", atol=1e-9,
                 nudge="e^1000 overflows; subtract the row maximum before exp")
    p = np.asarray(next_token_probs(logits, 0.01, None))
    expect_equal(p.argmax(-1).tolist(), logits.argmax(-1).tolist(),
                 "at temperature 0.01 the most likely token is the argmax of each row (greedy)")
    expect_number(p.max(-1).min(), 1.0, "at temperature 0.01 the argmax gets (almost) all the "
                  "probability", atol=0.01)


@LESSON.task("5.4", "one step of BPE training",
             nudge=f"{_NOTEBOOK}, part 2 (tokenisation): count every pair of neighbouring symbols, "
                   "each word counted as often as it occurs; the winner is the most frequent pair "
                   "and, among equally frequent ones, the pair that sorts first. Then walk each "
                   "word left to right, gluing the pair where it occurs and skipping past it (no "
                   "overlaps).")
def check_bpe_merge_step(ex):
    bpe_merge_step = get(ex, "bpe_merge_step")
    snapshot = [list("lower"), list("lowest"), list("newer"), list("wider")]
    freqs = [5, 2, 6, 3]
    words = ex.keep([list(w) for w in snapshot])        # kept there, to see them after the call
    pair, new = _two(bpe_merge_step(words, freqs))
    expect_equal(_pair(pair), ("e", "r"), "the most frequent pair of low·er ×5, low·est ×2, "
                 "new·er ×6, wid·er ×3 (('e', 'r'), 14 times)",
                 nudge="weight each pair by its word's frequency")
    expect_same_items(ex.fetch(words), snapshot, "bpe_merge_step leaves its input words as they were",
                      nudge="build new lists for the merged words")
    expect_same_items(_words(new), [["l", "o", "w", "er"], list("lowest"), ["n", "e", "w", "er"],
                                    ["w", "i", "d", "er"]], "the merged words after gluing ('e', 'r')")
    pair, new = _two(bpe_merge_step([list("aaaa"), list("aaa")], [1, 1]))
    expect_equal(_pair(pair), ("a", "a"), "the pair chosen in 'aaaa' and 'aaa'")
    expect_same_items(_words(new), [["aa", "aa"], ["aa", "a"]], "'aaaa' and 'aaa' merged by "
                      "('a', 'a')", nudge="after a merge, continue after the pair: non-overlapping, "
                                          "left to right")
    pair, new = _two(bpe_merge_step([list("ab"), list("ba")], [1, 1]))
    expect_equal(_pair(pair), ("a", "b"), "a tie between ('a', 'b') and ('b', 'a')",
                 nudge="a tie goes to the pair that sorts first")
    pair, new = _two(bpe_merge_step([["x"]], [3]))
    expect_equal((_pair(pair), _words(new)), (None, [["x"]]),
                 "a corpus with no pairs gives (None, the words)")
    # the first merges of minigrad's byte-level BPE on a short text (no ties at the top)
    text = ("the theme of the thesis: then the other three threw the thread there. " * 3 +
            "and the land and the hand and the sand")
    byte_chars = bytes_to_unicode()
    counts = Counter(gpt2_pretokenizer().findall(text))
    words = [[byte_chars[b] for b in w.encode("utf-8")] for w in counts]
    freqs = list(counts.values())
    tok = BPETokenizer.train(text, 256 + 6 + 1)
    for step, expected in enumerate(tok.merges[:6]):
        with forbid_function(BPETokenizer.train.__func__):
            pair, words = _two(bpe_merge_step(words, freqs))
        expect_equal(_pair(pair), tuple(expected), f"merge {step + 1} on a short English text, "
                     f"against BPETokenizer.train")


def _two(result):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise CheckFailed("bpe_merge_step returns (pair, merged words)",
                          f"it returned {result!r:.120}")
    return result


def _pair(pair):
    try:
        return None if pair is None else tuple(pair)
    except TypeError:
        return pair


def _words(words):
    try:
        return [list(w) for w in words]
    except TypeError:
        return words
