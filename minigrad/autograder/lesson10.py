"""Checks for lesson 10: translation with an encoder and a decoder (§2.3, §6 机器翻译).
Stubs: lessons/10_translation/.

The references come from the library: cross-attention from nn.attention's split_heads and
scaled_dot_product_attention (what MarianAttention runs), the beam step from
models/generation.py's topk_indices, BLEU's counts, brevity penalty and score from
minigrad.metrics (equal to sacreBLEU's).  Titles and nudges are Text(en, zh), the check
names and details tr(en, zh), so a learner reads them in the lesson's language.
"""
from __future__ import annotations

import numpy as np

from .. import metrics
from ..i18n import Text, tr
from ..models.generation import topk_indices
from ..nn.attention import merge_heads, scaled_dot_product_attention, split_heads
from ..tensor import Tensor
from .core import (CheckFailed, Lesson, assert_close, expect_equal, expect_number, get, require,
                   to_array)

LESSON = Lesson(10, "10_translation",
                Text("Translation: encoder, decoder, beam search, BLEU",
                     "机器翻译：编码器、解码器、束搜索与 BLEU"),
                "§2.3, §6 机器翻译")


def _nb(part_en: str, part_zh: str) -> tuple[str, str]:
    return f"Lesson 10's notebook, {part_en}", f"第 10 课的 notebook，{part_zh}"


# --- 10.1 cross-attention -------------------------------------------------------------------------
def _reference_cross_attention(dec, enc, source_mask, w_q, w_k, w_v, n_heads):
    """The library's multi-head attention with Q from the decoder, K and V from the encoder."""
    q = split_heads(Tensor(dec @ w_q), n_heads)                                # (B, nh, T, d_k)
    k = split_heads(Tensor(enc @ w_k), n_heads)                                # (B, nh, S, d_k)
    v = split_heads(Tensor(enc @ w_v), n_heads)
    keep = (np.asarray(source_mask) != 0)[:, None, None, :]                    # (B, 1, 1, S)
    out, w = scaled_dot_product_attention(q, k, v, attn_mask=keep, return_weights=True)
    return merge_heads(out).data, w.data                                       # (B, T, d), (B, nh, T, S)


_NUDGE_10_1 = _nb("part 2 (cross-attention), §4.1", "第 2 部分（交叉注意力），§4.1")


@LESSON.task("10.1", Text("cross-attention (Q from the decoder, K and V from the encoder)",
                          "交叉注意力（Q 来自解码器，K、V 来自编码器）"),
             nudge=Text(f"{_NUDGE_10_1[0]}: the formula of self-attention with two sequences. Q is "
                        "the decoder's states times w_q (T rows); K and V are the encoder's states "
                        "times w_k and w_v (S rows), so the scores are (B, heads, T, S). The source "
                        "mask (B, S) needs two axes of size 1 in the middle to reach every head "
                        "and every query; there is no causal mask here.",
                        f"{_NUDGE_10_1[1]}：两个序列之间的自注意力公式。Q 是解码器状态乘以 w_q（T 行）；"
                        "K 和 V 是编码器输出乘以 w_k、w_v（S 行），所以注意力分数的形状是 "
                        "(B, heads, T, S)。源序列掩码 (B, S) 要在中间补两个长度为 1 的轴，才能广播到"
                        "每个头、每个查询；这里没有因果掩码。"))
def check_cross_attention(ex):
    cross_attention = get(ex, "cross_attention")
    rng = np.random.default_rng(101)
    # (B, T, S, d, heads, source lengths): T ≠ S both ways, one head and several
    cases = [(2, 3, 5, 8, 2, (5, 3)), (1, 6, 4, 8, 1, (4,)), (3, 4, 7, 12, 3, (7, 2, 5))]
    for B, T, S, d, nh, lengths in cases:
        dec = rng.standard_normal((B, T, d))
        enc = rng.standard_normal((B, S, d))
        mask = (np.arange(S)[None, :] < np.array(lengths)[:, None]).astype(np.int64)   # (B, S) 1 = real
        w_q, w_k, w_v = (rng.standard_normal((d, d)) / np.sqrt(d) for _ in range(3))
        ref_out, ref_w = _reference_cross_attention(dec, enc, mask, w_q, w_k, w_v, nh)
        name = tr(f"B={B}, T={T} target positions, S={S} source tokens (lengths {list(lengths)}), "
                  f"{nh} head{'s' * (nh > 1)}",
                  f"B={B}，目标位置 T={T}，源词元 S={S}（长度 {list(lengths)}），{nh} 个头")
        result = cross_attention(dec.copy(), enc.copy(), mask.copy(), w_q, w_k, w_v, nh)
        require(isinstance(result, (tuple, list)) and len(result) == 2,
                tr("cross_attention returns (out, weights)", "cross_attention 返回 (out, weights)"),
                tr(f"it returned {type(result).__name__}", f"它返回了 {type(result).__name__}"))
        out = to_array(result[0], "out")
        w = to_array(result[1], "weights")
        require(w.shape == (B, nh, T, S), tr(f"the shape of the weights, {name}",
                                             f"注意力权重的形状，{name}"),
                tr(f"got {w.shape}, expected (B, heads, T, S) = {(B, nh, T, S)}",
                   f"得到 {w.shape}，应为 (B, heads, T, S) = {(B, nh, T, S)}"),
                nudge=tr("one row per target position (the queries), one column per source token "
                         "(the keys)", "每个目标位置（查询）一行，每个源词元（键）一列"))
        require(out.shape == (B, T, d), tr(f"the shape of the output, {name}", f"输出的形状，{name}"),
                tr(f"got {out.shape}, expected (B, T, d) = {(B, T, d)}",
                   f"得到 {out.shape}，应为 (B, T, d) = {(B, T, d)}"),
                nudge=tr("one output per target position, the heads side by side",
                         "每个目标位置一个输出，各个头的结果并排拼接"))
        padded = w[np.broadcast_to((mask == 0)[:, None, None, :], w.shape)]        # weights on padding
        require(np.all(padded == 0), tr(f"padded source tokens get weight 0, {name}",
                                        f"填充的源词元权重为 0，{name}"),
                tr(f"{int((padded != 0).sum())} weights on padding are not 0 (largest "
                   f"{float(np.abs(padded).max()) if padded.size else 0:.3g})",
                   f"填充位置上有 {int((padded != 0).sum())} 个权重不为 0（最大 "
                   f"{float(np.abs(padded).max()) if padded.size else 0:.3g}）"),
                nudge=tr("a masked score becomes −inf before the softmax, so its weight is exactly 0",
                         "被屏蔽的分数要在 softmax 之前设为 −inf，权重才会恰好为 0"))
        assert_close(w.sum(-1), np.ones((B, nh, T)),
                     tr(f"each row of the weights sums to 1 over the source, {name}",
                        f"权重的每一行在源序列上求和为 1，{name}"), atol=1e-9,
                     nudge=tr("the softmax runs over the last axis, the source tokens",
                              "softmax 沿最后一个轴（源词元）计算"))
        assert_close(w, ref_w, tr(f"the attention weights, {name}", f"注意力权重，{name}"), atol=1e-9,
                     nudge=tr("scores = Q Kᵀ / √d_k with d_k the width of one head; no causal mask",
                              "分数 = Q Kᵀ / √d_k，d_k 是一个头的宽度；没有因果掩码"))
        assert_close(out, ref_out, tr(f"the output, {name}", f"输出，{name}"), atol=1e-9,
                     nudge=tr("the weights times V per head, then the heads back side by side "
                              "(head h in columns h·d_k ...)",
                              "每个头用权重乘 V，再把各头按列拼回去（第 h 个头在第 h·d_k 列起）"))


# --- 10.2 one step of beam search -------------------------------------------------------------------
def _reference_beam_step(beam_scores, log_probs, k):
    """generation.py's steps 1-2: every beam × every token, the best k (ties: lower flat index)."""
    cand = (np.asarray(beam_scores, np.float64)[:, None] + log_probs).reshape(1, -1)   # (1, nb·V)
    top = topk_indices(cand, k)[0]                                                     # (k,)
    V = log_probs.shape[1]
    return cand[0, top], top // V, top % V


def _log_softmax(x):
    z = x - x.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


_NUDGE_10_2 = _nb("part 4 (greedy and beam search)", "第 4 部分（贪心搜索与束搜索）")


@LESSON.task("10.2", Text("one step of beam search", "束搜索的一步"),
             nudge=Text(f"{_NUDGE_10_2[0]}, and the docstring of minigrad/models/generation.py "
                        "(steps 1-2): a candidate's score is its beam's score plus the token's "
                        "log-probability, and the k best are chosen among all beams × all tokens "
                        "together, not k per beam. In the flattened array, position i belongs to "
                        "beam i // V and token i % V.",
                        f"{_NUDGE_10_2[1]}，以及 minigrad/models/generation.py 的文档字符串（第 1-2 步）："
                        "候选的分数 = 所在束的分数 + 该词元的对数概率；在所有束 × 所有词元中一起选出最好的 "
                        "k 个，而不是每个束各选 k 个。展平之后，第 i 个位置属于第 i // V 个束、"
                        "第 i % V 个词元。"))
def check_beam_step(ex):
    beam_step = get(ex, "beam_step")
    rng = np.random.default_rng(102)
    cases = []
    # the first step: only beam 0 is real (the others −1e9, as generation.py starts)
    first = np.array([0.0, -1e9, -1e9])
    cases.append((tr("the first step (beams 1 and 2 at −1e9), V=6, k=4",
                     "第一步（第 1、2 个束为 −1e9），V=6，k=4"),
                  first, _log_softmax(rng.standard_normal((3, 6))), 4))
    # a later step: a good beam with poor tokens against a poor beam with one sure token
    lp = np.log(np.array([[0.3, 0.3, 0.2, 0.2], [0.01, 0.97, 0.01, 0.01]]))
    cases.append((tr("beam scores [−1.0, −1.5]: the best continuations need not come from the "
                     "best beam", "束分数 [−1.0, −1.5]：最好的延续不一定来自最好的束"),
                  np.array([-1.0, -1.5]), lp, 4))
    # ties: equal candidates in order of beam, then token
    cases.append((tr("ties (equal scores): the smaller beam, then the smaller token first",
                     "分数相同：束编号小的在前，其次词元编号小的在前"),
                  np.array([-0.5, -0.5]), np.log(np.full((2, 3), 1 / 3)), 4))
    levels = np.log(np.array([0.05, 0.1, 0.2]))               # many ties in a larger array
    cases.append((tr("3 beams × 40 tokens with many equal scores, k=12",
                     "3 个束 × 40 个词元，许多分数相同，k=12"),
                  np.array([-1.0, -1.0, -1.0]), rng.choice(levels, (3, 40)), 12))
    for nb, V, k in ((4, 11, 8), (5, 30, 10), (2, 7, 2)):
        scores = np.sort(rng.uniform(-8, -1, nb))[::-1].copy()
        cases.append((tr(f"{nb} beams × {V} tokens, k={k}", f"{nb} 个束 × {V} 个词元，k={k}"),
                      scores, _log_softmax(rng.standard_normal((nb, V)) * 2), k))
    for name, beam_scores, log_probs, k in cases:
        ref_scores, ref_beams, ref_tokens = _reference_beam_step(beam_scores, log_probs, k)
        result = beam_step(beam_scores.copy(), log_probs.copy(), k)
        require(isinstance(result, (tuple, list)) and len(result) == 3,
                tr("beam_step returns (scores, beams, tokens)", "beam_step 返回 (scores, beams, tokens)"),
                tr(f"it returned {type(result).__name__}", f"它返回了 {type(result).__name__}"))
        got_scores, got_beams, got_tokens = (to_array(x, what) for x, what in
                                             zip(result, ("scores", "beams", "tokens")))
        for got, what, what_zh in ((got_beams, "beams", "束编号"), (got_tokens, "tokens", "词元编号")):
            require(got.dtype.kind in "iu", tr(f"the {what} are integers, {name}", f"{what_zh}是整数，{name}"),
                    tr(f"dtype {got.dtype}", f"数据类型为 {got.dtype}"))
        assert_close(got_scores, ref_scores, tr(f"the candidates' scores, {name}",
                                                f"候选的分数，{name}"), atol=1e-9,
                     nudge=tr("score = beam score + log p(token); the best first",
                              "分数 = 束分数 + log p(词元)；从高到低排列"))
        assert_close(got_beams, ref_beams, tr(f"the beam each candidate continues, {name}",
                                              f"每个候选延续的束，{name}"), atol=0,
                     nudge=tr("flat index i: beam i // V", "展平下标 i 对应第 i // V 个束"))
        assert_close(got_tokens, ref_tokens, tr(f"the token each candidate adds, {name}",
                                                f"每个候选新增的词元，{name}"), atol=0,
                     nudge=tr("flat index i: token i % V", "展平下标 i 对应第 i % V 个词元"))


# --- 10.3 modified precision ----------------------------------------------------------------------
def _library_counts(hyps, refs, n):
    """(matches, totals) of order n from minigrad.metrics.corpus_bleu on pre-split tokens."""
    width = max(len(r) for r in refs)
    streams = [[" ".join(r[j]) if j < len(r) else None for r in refs] for j in range(width)]
    score = metrics.corpus_bleu([" ".join(h) for h in hyps], streams, tokenize="none",
                                max_ngram_order=n, smooth_method="none")
    return score.counts[n - 1], score.totals[n - 1]


_NUDGE_10_3 = _nb("part 5 (BLEU by hand), and minigrad/metrics.py's docstring",
                  "第 5 部分（手算 BLEU），以及 minigrad/metrics.py 的文档字符串")


@LESSON.task("10.3", Text("BLEU's modified n-gram precision", "BLEU 的修正 n 元语法精确率"),
             nudge=Text(f"{_NUDGE_10_3[0]}: an n-gram is a tuple of n consecutive tokens. Count "
                        "those of the hypothesis; each one is credited at most as many times as "
                        "the reference that contains it most often (the maximum over the "
                        "references, not their sum). The total is the number of hypothesis "
                        "n-grams, repeats included.",
                        f"{_NUDGE_10_3[1]}：n 元语法是 n 个相邻词元组成的元组。统计译文中的 n 元语法；"
                        "每一个最多按“含它最多的那条参考译文”中的次数计分（对各条参考译文取最大值，"
                        "而不是求和）。分母是译文中 n 元语法的总数，重复的也算。"))
def check_modified_precision(ex):
    modified_precision = get(ex, "modified_precision")
    hyp = "the the the the the the the".split()
    refs = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    got = modified_precision(hyp, refs, 1)
    expect_equal(_pair(got, "modified_precision"), (2, 7),
                 tr("Papineni's example: 'the' × 7 against two references, n=1",
                    "Papineni 的例子：7 个 'the' 对两条参考译文，n=1"),
                 nudge=tr("'the' occurs at most twice in one reference: 2 of 7",
                          "'the' 在一条参考译文中最多出现两次：7 个中只算 2 个"))
    cases = [
        (list("起初神创造天地"), [list("起初神创造天地")], (1, 2, 4)),
        (list("神说要有光就有了光"), [list("神说要有光就有了光"), list("神说要光")], (1, 2, 3)),
        (list("耶和华说耶和华说"), [list("耶和华对摩西说"), list("耶和华说")], (1, 2, 3)),
        ("in the beginning god made the earth".split(),
         ["in the beginning god created the heaven and the earth".split()], (1, 2, 3, 4)),
        (["short"], [["a", "longer", "reference"]], (1, 2)),
    ]
    rng = np.random.default_rng(103)
    words = list("神说光天地人")
    for _ in range(3):
        hyp = [str(w) for w in rng.choice(words, rng.integers(3, 12))]
        refs = [[str(w) for w in rng.choice(words, rng.integers(3, 12))]
                for _ in range(rng.integers(1, 4))]
        cases.append((hyp, refs, (1, 2, 3)))
    for hyp, refs, orders in cases:
        for n in orders:
            expected = _library_counts([hyp], [refs], n)
            what = tr(f"modified_precision({_short(hyp)}, {len(refs)} reference"
                      f"{'s' * (len(refs) > 1)}, n={n}), against minigrad.metrics.corpus_bleu's counts",
                      f"modified_precision({_short(hyp)}，{len(refs)} 条参考译文，n={n})，"
                      f"与 minigrad.metrics.corpus_bleu 的计数比较")
            expect_equal(_pair(modified_precision(hyp, refs, n), what), expected, what,
                         nudge=tr("(clipped matches, number of hypothesis n-grams)",
                                  "（截断后的匹配数，译文 n 元语法总数）"))


def _pair(got, what):
    try:
        m, t = got
        return int(m), int(t)
    except Exception:  # noqa: BLE001  (a student's value may be anything)
        raise CheckFailed(what, tr(f"expected a pair (matches, total), got {got!r:.80}",
                                   f"应返回一对 (matches, total)，得到 {got!r:.80}")) from None


def _short(tokens):
    text = " ".join(tokens) if any(len(t) > 1 for t in tokens) else "".join(tokens)
    return repr(text if len(text) <= 40 else text[:37] + "...")


# --- 10.4 brevity penalty and corpus BLEU ----------------------------------------------------------
def _library_bp(c, r):
    return metrics.bleu_from_counts([1], [1], c, r, smooth_method="none").bp


_NUDGE_10_4 = _nb("part 5 (BLEU by hand), and minigrad/metrics.py's docstring",
                  "第 5 部分（手算 BLEU），以及 minigrad/metrics.py 的文档字符串")


@LESSON.task("10.4", Text("the brevity penalty and corpus BLEU", "简短惩罚与语料级 BLEU"),
             nudge=Text(f"{_NUDGE_10_4[0]} (the formula of BLEU): BP is 1 only for a hypothesis "
                        "longer than its reference. Corpus BLEU adds up the counts of all "
                        "sentences before dividing (one p_n per order for the whole corpus, not a "
                        "mean of sentence scores), and r adds, per sentence, the reference length "
                        "nearest to the hypothesis's. The mean is geometric: average the logs.",
                        f"{_NUDGE_10_4[1]}（BLEU 的公式）：只有译文比参考译文长时 BP 才等于 1。"
                        "语料级 BLEU 先把所有句子的计数加起来再相除（整个语料每个阶数一个 p_n，"
                        "而不是句子分数的平均），r 是每句中与译文长度最接近的参考译文长度之和。"
                        "平均是几何平均：对对数取平均。"))
def check_bleu(ex):
    brevity_penalty = get(ex, "brevity_penalty")
    for c, r in ((10, 8), (8, 8), (7, 10), (1, 5), (12, 30), (0, 4)):
        expect_number(brevity_penalty(c, r), _library_bp(c, r),
                      tr(f"brevity_penalty(c={c}, r={r}), against minigrad.metrics",
                         f"brevity_penalty(c={c}, r={r})，与 minigrad.metrics 比较"),
                      rtol=1e-12, atol=1e-15,
                      nudge=tr("exp(1 − r/c) when the hypothesis is not longer; 0 for an empty one",
                               "译文不比参考译文长时为 exp(1 − r/c)；空译文为 0"))
    corpus_bleu_score = get(ex, "corpus_bleu_score")
    gen = list("起初神创造天地地是空虚混沌渊面黑暗神的灵运行在水面上")
    cases = [
        (tr("one perfect translation", "一句完全正确的译文"),
         [list("起初神创造天地")], [[list("起初神创造天地")]]),
        (tr("two sentences, one reference each (the counts are added before dividing)",
            "两句、各一条参考译文（先求和再相除）"),
         [list("起初神创造了天地"), list("神说要有光就有光")],
         [[list("起初神创造天地")], [list("神说要有光就有了光")]]),
        (tr("a short hypothesis (the brevity penalty)", "较短的译文（简短惩罚）"),
         [list("神说要有光"), list("起初神创造天地")],
         [[list("神说要有光就有了光")], [list("起初神创造天地")]]),
        (tr("several references of different lengths (the closest length counts; on a tie the "
            "shorter)", "长度不同的多条参考译文（取最接近的长度；一样接近时取较短的）"),
         [list("耶和华对摩西说"), list("神看光是好的")],
         [[list("耶和华晓谕摩西说"), list("耶和华说")], [list("神看着光是好的"), list("神看光是好")]]),
        (tr("English words", "英文单词"),
         ["in the beginning god created the heaven and the earth".split(),
          "and god said let there be light".split()],
         [["in the beginning god created the heaven and the earth".split()],
          ["and god said , let there be light : and there was light".split()]]),
        (tr("no 4-gram in common (BLEU 0 without smoothing)", "没有共同的 4 元语法（不平滑时 BLEU 为 0）"),
         [list("神说光")], [[list("神说有光")]]),
    ]
    rng = np.random.default_rng(104)
    hyps, refs = [], []
    for _ in range(6):
        start = int(rng.integers(0, 10))
        ref = gen[start:start + int(rng.integers(8, 14))]
        hyp = list(ref)
        for _ in range(int(rng.integers(0, 3))):                   # a few edits
            del hyp[int(rng.integers(0, len(hyp)))]
        hyps.append(hyp)
        refs.append([ref, gen[start:start + 6]])
    cases.append((tr("six noisy copies of verses, two references each",
                     "六句带错的经文，每句两条参考译文"), hyps, refs))
    for name, hyps, refs in cases:
        expected = _library_bleu(hyps, refs)
        expect_number(corpus_bleu_score(hyps, refs), expected,
                      tr(f"corpus_bleu_score: {name}, against minigrad.metrics.corpus_bleu "
                         f"(smooth_method='none')",
                         f"corpus_bleu_score：{name}，与 minigrad.metrics.corpus_bleu"
                         f"（smooth_method='none'）比较"),
                      rtol=1e-9, atol=1e-9,
                      nudge=tr("100 · BP · exp(mean of log p_n), the counts summed over the corpus",
                               "100 · BP · exp(log p_n 的平均)，计数先在整个语料上求和"))


def _library_bleu(hyps, refs):
    width = max(len(r) for r in refs)
    streams = [[" ".join(r[j]) if j < len(r) else None for r in refs] for j in range(width)]
    return metrics.corpus_bleu([" ".join(h) for h in hyps], streams, tokenize="none",
                               smooth_method="none").score
