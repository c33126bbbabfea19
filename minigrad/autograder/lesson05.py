"""Checks for lesson 5: pre-training a GPT (§3.2 预训练).  Stubs: lessons/05_pretraining/."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ..data.datasets import TokenWindows
from ..i18n import Text, tr
from ..models import gpt as _gpt
from ..tokenizers import BPETokenizer
from ..tokenizers.byte_level import bytes_to_unicode, gpt2_pretokenizer
from .core import (CheckFailed, Lesson, assert_close, expect_equal, expect_number,
                   expect_same_items, forbid_function, get)

LESSON = Lesson(5, "05_pretraining", Text("Pre-training a GPT", "预训练一个 GPT"), "§3.2 预训练")


@LESSON.task("5.1", Text("perplexity from batch losses", "由各批次的损失求困惑度"),
             nudge=Text("Lesson 5's notebook, part 6 (evaluation: perplexity), §3.2 模型评估: PPL = exp "
                        "of the mean cross-entropy per token. Each batch's loss is already a mean over "
                        "its own tokens, so the mean over all tokens weights batch b by its count n_b. "
                        "Average first, exponentiate last.",
                        "第 5 课笔记本第 6 部分（评估：困惑度）及 §3.2 模型评估：PPL = 每个词元平均交叉熵的 "
                        "exp。每个批次的损失已经是该批次内各词元的平均，所以对全部词元求平均时，批次 b 要按"
                        "它的词元数 n_b 加权。先求平均，最后再取指数。"))
def check_perplexity(ex):
    perplexity = get(ex, "perplexity")
    expect_number(perplexity([math.log(4.0)], [10]), 4.0, "perplexity([ln 4], [10])",
                  nudge=tr("a model as unsure as a fair 4-sided die has perplexity 4",
                           "一个和均匀四面骰子一样拿不准的模型，困惑度为 4"))
    losses, counts = [2.0, 1.0, 3.0], [100, 20, 5]
    expected = math.exp((2.0 * 100 + 1.0 * 20 + 3.0 * 5) / 125)
    expect_number(perplexity(losses, counts), expected, f"perplexity({losses}, {counts})",
                  nudge=tr("weight each batch by its token count; exp of the mean, not the mean of exp",
                           "按词元数给每个批次加权；是平均值的 exp，而不是 exp 的平均值"))
    rng = np.random.default_rng(5)
    losses, counts = rng.uniform(1, 4, 7), rng.integers(1, 500, 7)
    expected = math.exp(float((losses * counts).sum() / counts.sum()))
    expect_number(perplexity(losses, counts), expected, tr("perplexity of 7 random batches",
                                                           "7 个随机批次的困惑度"))


@LESSON.task("5.2", Text("a language-model batch (inputs and next-token targets)",
                         "语言模型的一个批次（输入与下一个词元的目标）"),
             nudge=Text("Lesson 5's notebook, part 3 (the objective: predict the next token): target t "
                        "is the token that follows input t, so both rows come from one window of "
                        "block_size + 1 tokens, the input without its last token and the target "
                        "without its first. A column of starts plus a row of offsets indexes all "
                        "windows at once.",
                        "第 5 课笔记本第 3 部分（目标：预测下一个词元）：目标 t 是紧跟在输入 t 之后的词元，"
                        "所以两行都来自同一个 block_size + 1 个词元的窗口：输入去掉最后一个词元，目标去掉"
                        "第一个。一列起点加上一行偏移，就能一次索引出所有窗口。"))
def check_lm_batch(ex):
    lm_batch = get(ex, "lm_batch")
    ids = np.arange(100, 160)
    x, y = lm_batch(ids, 4, np.array([0, 10]))
    assert_close(x, np.array([[100, 101, 102, 103], [110, 111, 112, 113]]),
                 tr("x for ids 100..159, block_size 4, starts [0, 10]",
                    "ids 为 100..159、block_size 为 4、起点为 [0, 10] 时的 x"), atol=0)
    assert_close(y, np.array([[101, 102, 103, 104], [111, 112, 113, 114]]),
                 tr("y for ids 100..159, block_size 4, starts [0, 10] (the next tokens)",
                    "ids 为 100..159、block_size 为 4、起点为 [0, 10] 时的 y（下一个词元）"), atol=0,
                 nudge=tr("y is x shifted by one token", "y 就是 x 错开一个词元"))
    rng = np.random.default_rng(6)
    ids = rng.integers(0, 50, 300)
    windows = TokenWindows(ids, 16)
    starts = rng.integers(0, len(windows), 8)
    ref_x, ref_y = windows.windows(starts)
    x, y = lm_batch(ids, 16, starts)
    assert_close(x, ref_x, tr("x for 8 random windows of block_size 16",
                              "8 个 block_size 为 16 的随机窗口的 x"), atol=0)
    assert_close(y, ref_y, tr("y for 8 random windows of block_size 16",
                              "8 个 block_size 为 16 的随机窗口的 y"), atol=0)
    x, y = lm_batch(ids, 16, np.array([len(ids) - 17]))
    assert_close(y[0, -1:], ids[-1:], tr("the last target of the last possible window",
                                         "最后一个可能窗口的最后一个目标"), atol=0)


@LESSON.task("5.3", Text("the sampling distribution: temperature and top-k", "采样分布：温度与 top-k"),
             nudge=Text("Lesson 5's notebook, part 7 (generation: greedy, temperature, top-k): divide the "
                        "logits by τ, give every logit below the row's k-th largest a probability of "
                        "exactly 0 (a logit of −inf does that), then a softmax of each row, stable by "
                        "subtracting the row maximum. Ties with the k-th largest stay in.",
                        "第 5 课笔记本第 7 部分（生成：贪心、温度、top-k）：logits 除以 τ，比该行第 k 大的值"
                        "还小的 logit 概率都设为恰好 0（logit 取 −inf 即可），然后对每行做 softmax，减去行"
                        "最大值以保持数值稳定。与第 k 大的值相等的都保留。"))
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
                     nudge=(tr("a smaller τ sharpens the distribution: the logits are divided by τ",
                               "τ 越小分布越尖锐：logits 要除以 τ")
                            if t != 1.0 and k is None else ""))
    big = np.array([[1000.0, 999.0, -5.0]])
    assert_close(next_token_probs(big, 1.0, None), ref(big, 1.0, None),
                 tr("next_token_probs of logits [1000, 999, -5]",
                    "logits 为 [1000, 999, -5] 时的 next_token_probs"), atol=1e-9,
                 nudge=tr("e^1000 overflows; subtract the row maximum before exp",
                          "e^1000 会上溢；在 exp 之前减去行最大值"))
    p = np.asarray(next_token_probs(logits, 0.01, None))
    expect_equal(p.argmax(-1).tolist(), logits.argmax(-1).tolist(),
                 tr("at temperature 0.01 the most likely token is the argmax of each row (greedy)",
                    "温度为 0.01 时，最可能的词元就是每行的 argmax（贪心）"))
    expect_number(p.max(-1).min(), 1.0, tr("at temperature 0.01 the argmax gets (almost) all the "
                                           "probability", "温度为 0.01 时，argmax（几乎）拿走全部概率"),
                  atol=0.01)


@LESSON.task("5.4", Text("one step of BPE training", "BPE 训练的一步"),
             nudge=Text("Lesson 5's notebook, part 2 (tokenisation): count every pair of neighbouring "
                        "symbols, each word counted as often as it occurs; the winner is the most "
                        "frequent pair and, among equally frequent ones, the pair that sorts first. Then "
                        "walk each word left to right, gluing the pair where it occurs and skipping past "
                        "it (no overlaps).",
                        "第 5 课笔记本第 2 部分（分词）：统计每一对相邻符号，每个词按它出现的次数计数；"
                        "胜出的是出现最多的那一对，频次相同时取排序最靠前的一对。然后从左到右扫描每个词，"
                        "在这一对出现的地方把它们粘起来并跳过它（不重叠）。"))
def check_bpe_merge_step(ex):
    bpe_merge_step = get(ex, "bpe_merge_step")
    snapshot = [list("lower"), list("lowest"), list("newer"), list("wider")]
    freqs = [5, 2, 6, 3]
    words = ex.keep([list(w) for w in snapshot])        # kept there, to see them after the call
    pair, new = _two(bpe_merge_step(words, freqs))
    expect_equal(_pair(pair), ("e", "r"), tr("the most frequent pair of low·er ×5, low·est ×2, "
                                             "new·er ×6, wid·er ×3 (('e', 'r'), 14 times)",
                                             "low·er ×5、low·est ×2、new·er ×6、wid·er ×3 中最常见的"
                                             "一对（('e', 'r')，14 次）"),
                 nudge=tr("weight each pair by its word's frequency", "每一对都按所在词的频次加权"))
    expect_same_items(ex.fetch(words), snapshot,
                      tr("bpe_merge_step leaves its input words as they were",
                         "bpe_merge_step 不改变输入的词"),
                      nudge=tr("build new lists for the merged words", "为合并后的词新建列表"))
    expect_same_items(_words(new), [["l", "o", "w", "er"], list("lowest"), ["n", "e", "w", "er"],
                                    ["w", "i", "d", "er"]],
                      tr("the merged words after gluing ('e', 'r')", "粘合 ('e', 'r') 之后的词"))
    pair, new = _two(bpe_merge_step([list("aaaa"), list("aaa")], [1, 1]))
    expect_equal(_pair(pair), ("a", "a"), tr("the pair chosen in 'aaaa' and 'aaa'",
                                             "在 'aaaa' 和 'aaa' 中选出的一对"))
    expect_same_items(_words(new), [["aa", "aa"], ["aa", "a"]],
                      tr("'aaaa' and 'aaa' merged by ('a', 'a')", "用 ('a', 'a') 合并后的 'aaaa' 和 'aaa'"),
                      nudge=tr("after a merge, continue after the pair: non-overlapping, left to right",
                               "合并之后从这一对的后面继续：不重叠，从左到右"))
    pair, new = _two(bpe_merge_step([list("ab"), list("ba")], [1, 1]))
    expect_equal(_pair(pair), ("a", "b"), tr("a tie between ('a', 'b') and ('b', 'a')",
                                             "('a', 'b') 与 ('b', 'a') 频次相同"),
                 nudge=tr("a tie goes to the pair that sorts first", "频次相同时取排序靠前的一对"))
    pair, new = _two(bpe_merge_step([["x"]], [3]))
    expect_equal((_pair(pair), _words(new)), (None, [["x"]]),
                 tr("a corpus with no pairs gives (None, the words)",
                    "没有任何相邻对的语料返回 (None, 原来的词)"))
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
        expect_equal(_pair(pair), tuple(expected), tr(f"merge {step + 1} on a short English text, "
                                                      f"against BPETokenizer.train",
                                                      f"一段英文短文上的第 {step + 1} 次合并，"
                                                      f"与 BPETokenizer.train 比较"))


def _two(result):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise CheckFailed(tr("bpe_merge_step returns (pair, merged words)",
                             "bpe_merge_step 返回 (pair, 合并后的词)"),
                          tr(f"it returned {result!r:.120}", f"它返回了 {result!r:.120}"))
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
