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
    """
    # TODO: the corpus sums of modified_precision for every order; c and r (closest reference length);
    # TODO: the geometric mean of the p_n (the mean of their logs), times the brevity penalty, times 100.
    raise NotImplementedError
