"""Lesson 10 exercises: translation with an encoder and a decoder (§2.3, §6 机器翻译).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 10

The tasks are described in lessons/10_translation/README.md; each docstring is the exact spec.

把每个标有 TODO 的函数补全（替换掉 `raise NotImplementedError`），然后检查：

    minigrad lesson check 10 --lang zh

题目说明见 lessons/10_translation/README.zh.md；每个文档字符串（先英文，后中文）就是精确的规格说明。
"""
import math
from collections import Counter

import numpy as np


# --- Task 10.1: cross-attention -----------------------------------------------------------------
def cross_attention(decoder_states, encoder_states, source_mask, w_q, w_k, w_v, n_heads):
    """Multi-head cross-attention (交叉注意力), in NumPy: §4.1's formula with Q from one
    sequence and K, V from another,

        Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V,
        Q = decoder_states @ w_q,   K = encoder_states @ w_k,   V = encoder_states @ w_v.

    decoder_states: (B, T, d) the decoder's hidden states (the target side: the queries);
    encoder_states: (B, S, d) the encoder output (the source side: the keys and the values);
    source_mask:    (B, S) 1 for a real source token, 0 for padding (Hugging Face's
                    attention_mask of the source); a padded key gets weight exactly 0;
    w_q, w_k, w_v:  (d, d) the projections (no bias);
    n_heads:        the heads; head h uses columns h·d_k .. (h+1)·d_k − 1, d_k = d / n_heads.

    No causal mask: every target position may look at the whole source sentence (the source
    is all known before the translation starts).  T and S are different lengths in general.
    Returns (out, weights): out (B, T, d), the heads' outputs side by side (no output
    projection), and weights (B, n_heads, T, S), each row summing to 1 over the source.

    用 NumPy 实现多头交叉注意力：§4.1 的公式，只是 Q 来自一个序列，K、V 来自另一个序列。
    decoder_states (B, T, d) 是解码器的隐藏状态（目标端，给出查询）；encoder_states (B, S, d)
    是编码器的输出（源端，给出键和值）；source_mask (B, S) 中 1 表示真实的源端词元、0 表示填充，
    被填充的键的权重必须恰好为 0；w_q、w_k、w_v 为 (d, d) 的投影矩阵（无偏置）；第 h 个头使用
    第 h·d_k 到 (h+1)·d_k − 1 列，d_k = d / n_heads。这里没有因果掩码：翻译开始前整句源文都已知，
    每个目标位置都可以看整句源文；T 与 S 一般不相等。返回 (out, weights)：out 为 (B, T, d)，
    各头的输出并排拼接（不做输出投影）；weights 为 (B, n_heads, T, S)，每一行在源端上求和为 1。
    """
    # TODO: Q from the decoder's states, K and V from the encoder's; split each into heads (B, nh, L, d_k).
    # TODO: scores (B, nh, T, S) scaled by 1/√d_k; padded source keys to −inf; softmax over S; merge the heads.
    raise NotImplementedError


# --- Task 10.2: one step of beam search -------------------------------------------------------------
def beam_step(beam_scores, log_probs, k):
    """One step of beam search (束搜索): from the running beams, the k best continuations.

    beam_scores: (nb,) the score of each running beam, the sum of the log-probabilities of
                 its tokens so far (−1e9 for a beam that must not be continued: at the first
                 step only beam 0 is real);
    log_probs:   (nb, V) log p(next token | beam), one row per beam.

    Every beam proposes every token: the candidate (beam b, token t) scores
    beam_scores[b] + log_probs[b, t].  Return the k best of all nb·V candidates, best first,
    as three arrays of length k: (scores float, beams int, tokens int).  Ties: the candidate
    with the smaller flat index b·V + t first (as minigrad/models/generation.py does).

    束搜索的一步：从当前的各条束中选出最好的 k 个延续。beam_scores (nb,) 是每条束到目前为止
    各词元对数概率之和（不能再延续的束记为 −1e9：第一步只有第 0 条束是真的）；log_probs (nb, V)
    是每条束下一个词元的 log p。每条束都可以接任何一个词元：候选 (束 b, 词元 t) 的分数为
    beam_scores[b] + log_probs[b, t]。在全部 nb·V 个候选中返回最好的 k 个（从好到差），
    即三个长度为 k 的数组 (scores 浮点, beams 整数, tokens 整数)。分数相同时，平铺下标
    b·V + t 较小的在前（与 minigrad/models/generation.py 一致）。
    """
    # TODO: the candidates' scores (nb, V), flattened; the k largest, best first (a stable sort);
    # TODO: the flat index back to (beam, token) with // and %.
    raise NotImplementedError


# --- Task 10.3: BLEU's modified n-gram precision -------------------------------------------------------
def modified_precision(hypothesis, references, n):
    """BLEU's modified (clipped) n-gram precision of one sentence (Papineni et al., 2002).

    hypothesis: a list of tokens (words, or Chinese characters: sacreBLEU's `zh` counts
    characters); references: a list of token lists, one per human translation; n: the order.

    Each n-gram of the hypothesis counts at most as often as it occurs in the one reference
    that has it most often:  matches = Σ_g min(count_hyp(g), max_r count_r(g)).
    "the the the the" against "the cat" earns 1 match, not 4.
    Returns (matches, total) as ints: total is the number of n-grams in the hypothesis
    (len(hypothesis) − n + 1, or 0 when it is shorter than n).

    一个句子的 BLEU 修正（截断）n 元精确率（Papineni 等, 2002）。hypothesis 是词元列表（英文的词，
    或中文的字：sacreBLEU 的 `zh` 分词按字计数）；references 是参考译文的词元列表的列表；n 为阶数。
    译文中每个 n 元组的匹配次数，最多只算到它在出现次数最多的那条参考译文中的次数：
    matches = Σ_g min(count_hyp(g), max_r count_r(g))。"the the the the" 对 "the cat" 只得 1 次匹配，
    而不是 4 次。以整数返回 (matches, total)：total 是译文中 n 元组的个数
    （len(hypothesis) − n + 1；译文比 n 短时为 0）。
    """
    # TODO: count the hypothesis's n-grams (tuples of n tokens; collections.Counter);
    # TODO: per n-gram, the largest count in any one reference; clip; sum.
    raise NotImplementedError


# --- Task 10.4: the brevity penalty and corpus BLEU ----------------------------------------------------
def brevity_penalty(hyp_len, ref_len):
    """BLEU's brevity penalty (简短惩罚): precision alone rewards saying little, so a
    translation shorter than the reference is penalised,

        BP = 1                  if c > r
        BP = exp(1 − r / c)     if 0 < c ≤ r
        BP = 0                  if c = 0

    c = hyp_len, r = ref_len (numbers of tokens).  Returns a float.

    BLEU 的简短惩罚：只看精确率会鼓励少说，所以比参考译文短的译文要受罚：c > r 时 BP = 1；
    0 < c ≤ r 时 BP = exp(1 − r / c)；c = 0 时 BP = 0。c = hyp_len，r = ref_len（词元个数）。返回浮点数。
    """
    # TODO: the three cases above.
    raise NotImplementedError


def corpus_bleu_score(hypotheses, references, max_n=4):
    """Corpus BLEU on the 0–100 scale, without smoothing (sacreBLEU's smooth_method="none").

    hypotheses: a list of token lists; references: for each hypothesis, a list of its
    reference token lists.  A *corpus* score: add the matches and totals of every order over
    all sentences first (modified_precision), then

        p_n  = Σ matches_n / Σ totals_n,          n = 1 .. max_n
        c    = Σ len(hypothesis),   r = Σ (the reference length closest to the hypothesis's
               length; the shorter one on a tie)
        BLEU = 100 · BP(c, r) · exp( (1/max_n) Σ_n log p_n )     (0 when some p_n is 0)

    语料级 BLEU（0–100 分制，不做平滑，即 sacreBLEU 的 smooth_method="none"）。hypotheses 是译文的
    词元列表的列表；references 对每条译文给出它的参考译文词元列表的列表。这是*语料级*分数：先把所有
    句子各阶的匹配数和总数分别加起来（用 modified_precision），再按上面的公式计算：p_n 为各阶匹配总数
    除以 n 元组总数；c 为译文总长度，r 为每句中与译文长度最接近的参考长度之和（一样近时取较短的）；
    某个 p_n 为 0 时 BLEU 为 0。
    """
    # TODO: the corpus sums of modified_precision for every order; c and r (closest reference length);
    # TODO: the geometric mean of the p_n (the mean of their logs), times the brevity penalty, times 100.
    raise NotImplementedError
