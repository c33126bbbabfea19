"""Checks for lesson 5: pre-training a GPT (§3.2 预训练).  Stubs: lessons/05_pretraining/."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ..data.datasets import TokenWindows
from ..models import gpt as _gpt
from ..tokenizers import BPETokenizer
from ..tokenizers.byte_level import bytes_to_unicode, gpt2_pretokenizer
from .core import CheckFailed, Lesson, assert_close, forbid_function, get, require

LESSON = Lesson(5, "05_pretraining", "Pre-training a GPT", "§3.2 预训练")


@LESSON.task("5.1", "perplexity from batch losses",
             hint="ppl = exp(sum(losses * counts) / sum(counts)): average the cross-entropy over "
                  "tokens first, then exponentiate")
def check_perplexity(ex):
    perplexity = get(ex, "perplexity")
    got = perplexity([math.log(4.0)], [10])
    require(abs(float(got) - 4.0) < 1e-9, f"perplexity([ln 4], [10]) = {got}; a model as unsure as "
                                          f"a fair 4-sided die has perplexity 4")
    losses, counts = [2.0, 1.0, 3.0], [100, 20, 5]
    expected = math.exp((2.0 * 100 + 1.0 * 20 + 3.0 * 5) / 125)
    got = perplexity(losses, counts)
    require(abs(float(got) - expected) < 1e-9 * expected,
            f"perplexity({losses}, {counts}) = {got}, expected {expected:.6g} (weight each batch "
            f"by its token count; exp of the mean, not the mean of exp)")
    rng = np.random.default_rng(5)
    losses, counts = rng.uniform(1, 4, 7), rng.integers(1, 500, 7)
    expected = math.exp(float((losses * counts).sum() / counts.sum()))
    got = perplexity(losses, counts)
    require(abs(float(got) - expected) < 1e-9 * expected, f"perplexity of 7 random batches = {got}, "
                                                          f"expected {expected:.6g}")


@LESSON.task("5.2", "a language-model batch (inputs and next-token targets)",
             hint="idx = starts[:, None] + np.arange(block_size + 1); w = ids[idx]; "
                  "return w[:, :-1], w[:, 1:]")
def check_lm_batch(ex):
    lm_batch = get(ex, "lm_batch")
    ids = np.arange(100, 160)
    x, y = lm_batch(ids, 4, np.array([0, 10]))
    assert_close(x, np.array([[100, 101, 102, 103], [110, 111, 112, 113]]), "x for ids 100..159, "
                 "block_size 4, starts [0, 10]", atol=0)
    assert_close(y, np.array([[101, 102, 103, 104], [111, 112, 113, 114]]), "y (the next tokens)",
                 atol=0)
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
             hint="z = logits / temperature; keep z >= the k-th largest (np.sort(z)[:, -k]); "
                  "p = exp(z - max) / sum")
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
                     f"top_k={k})", atol=1e-9)
    big = np.array([[1000.0, 999.0, -5.0]])
    assert_close(next_token_probs(big, 1.0, None), ref(big, 1.0, None), "logits [1000, 999, -5] "
                 "(subtract the maximum before exp)", atol=1e-9)
    p = np.asarray(next_token_probs(logits, 0.01, None))
    require(np.array_equal(p.argmax(-1), logits.argmax(-1)) and p.max(-1).min() > 0.99,
            "at temperature 0.01 the distribution should be (almost) all on the argmax: greedy")


@LESSON.task("5.4", "one step of BPE training",
             hint="count pairs over zip(word, word[1:]) weighted by freq; best = min(counts, "
                  "key=lambda p: (-counts[p], p)); rewrite each word left to right")
def check_bpe_merge_step(ex):
    bpe_merge_step = get(ex, "bpe_merge_step")
    words = [list("lower"), list("lowest"), list("newer"), list("wider")]
    freqs = [5, 2, 6, 3]
    snapshot = [list(w) for w in words]
    pair, new = bpe_merge_step(words, freqs)
    require(pair is not None and tuple(pair) == ("e", "r"),
            f"on low·er ×5, low·est ×2, new·er ×6, wid·er ×3 the most frequent pair is ('e', 'r') "
            f"(14 times), you chose {pair}")
    require(words == snapshot, "bpe_merge_step modified its input words (return new lists)")
    require([list(w) for w in new] == [["l", "o", "w", "er"], list("lowest"), ["n", "e", "w", "er"],
                                       ["w", "i", "d", "er"]], f"merged words: got {new}")
    pair, new = bpe_merge_step([list("aaaa"), list("aaa")], [1, 1])
    require(tuple(pair) == ("a", "a") and [list(w) for w in new] == [["aa", "aa"], ["aa", "a"]],
            f"'aaaa' and 'aaa' should become [aa, aa] and [aa, a] (non-overlapping, left to right), "
            f"got {pair}, {new}")
    pair, new = bpe_merge_step([list("ab"), list("ba")], [1, 1])
    require(tuple(pair) == ("a", "b"), f"a tie between ('a', 'b') and ('b', 'a') goes to ('a', 'b'), "
                                       f"got {pair}")
    pair, new = bpe_merge_step([["x"]], [3])
    require(pair is None and [list(w) for w in new] == [["x"]], "a corpus with no pairs: return "
                                                               "(None, the words)")
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
            pair, words = bpe_merge_step(words, freqs)
        if pair is None or tuple(pair) != tuple(expected):
            raise CheckFailed(f"merge {step + 1} on a short English text: you chose {pair}, "
                              f"BPETokenizer.train chose {tuple(expected)}")
