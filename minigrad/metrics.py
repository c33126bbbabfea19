"""Evaluating translations as the field does: corpus BLEU and chrF, equal to sacreBLEU's numbers.

Chapter §6 (实际应用场景) puts machine translation first among the tasks large models are used for;
a model is only as good as the number it is measured with (§3.2, evaluating the trained model).
A translation is compared with one or more human *references*. Both scores are on sacreBLEU's
0–100 scale, and both are **corpus** scores: the counts are added over all sentences first, and
the formula is applied once (averaging sentence scores would give a different, noisier number).

BLEU (Papineni et al., 2002) — n-gram *precision* with a penalty for short output::

    BLEU = BP · exp( Σ_{n=1..4} w_n · log p_n ),   w_n = 1/4

    p_n = Σ_sentences Σ_{n-grams g of the hypothesis} min(count_hyp(g), max_refs count_ref(g))
          ---------------------------------------------------------------------------------
                         Σ_sentences (number of n-grams in the hypothesis)

    BP  = 1 if c > r else exp(1 - r / c)     c: hypothesis words, r: reference words (closest length)

The ``min`` is the *clipping* ("modified precision"): "the the the the" against "the cat" earns one
"the", not four. Without smoothing a single order with no match makes BLEU 0; sacreBLEU's default
``exp`` smoothing gives the k-th such order ``p_n = 1 / (2^k · total_n)`` instead. Words come from a
tokeniser: ``13a`` (mteval-v13a, WMT's standard: punctuation split off) or, for Chinese, ``zh``,
which first puts spaces around every CJK character, so that Chinese BLEU counts characters.

chrF (Popović, 2015) — an F-score over *character* n-grams (n = 1..6, spaces removed), which gives
credit for partly right words and needs no tokeniser::

    chrP, chrR = average over n of the n-gram precision and recall     (orders with counts only)
    chrF_β     = (1 + β²) · chrP · chrR / (β² · chrP + chrR),   β = 2  (recall weighs more)

``word_order=2`` adds word 1- and 2-grams (chrF++). With several references, each sentence uses
the reference that gives it the best chrF.

Every detail — the tokenisers' regular expressions and Unicode ranges, the closest reference
length, the effective-order averaging in chrF — follows sacreBLEU 2.x, so the numbers are equal to
``sacrebleu.corpus_bleu`` / ``sacrebleu.corpus_chrf`` (tests/test_metrics_interop.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

__all__ = ["corpus_bleu", "sentence_bleu", "corpus_chrf", "BLEUScore", "CHRFScore",
           "tokenize_13a", "tokenize_zh", "TOKENIZERS"]


# ----------------------------------------------------------------- tokenisers
# mteval-v13a's language-dependent part, in sacreBLEU's order:
_13A_RULES = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),   # split off punctuation and symbols
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),                  # . and , unless after a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),                  # . and , unless before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),                       # - after a digit
]


def _regexp_tokenize(line: str) -> str:
    for pattern, replacement in _13A_RULES:
        line = pattern.sub(replacement, line)
    return " ".join(line.split())


def tokenize_13a(line: str) -> str:
    """mteval-v13a tokenisation: ``"Hello, world."`` -> ``"Hello , world ."``."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = (line.replace("&quot;", '"').replace("&amp;", "&")
                .replace("&lt;", "<").replace("&gt;", ">"))
    return _regexp_tokenize(f" {line} ")


# The code points sacreBLEU's `zh` tokeniser treats as Chinese (tokenizer_zh.py). Two of its ranges
# are written with five hex digits, u'\u20000' and u'\u2f800', which Python reads as a four-digit
# escape plus a digit; compared as strings they select U+2001..U+2A6D (General Punctuation to
# Braille: “ ” — … are split off like characters) and U+2F81..U+2FA1, not CJK Extension B.
# We keep the ranges exactly as sacreBLEU applies them, so the scores stay equal.
ZH_RANGES = [
    (0x3400, 0x4DB5), (0x4E00, 0x9FA5), (0x9FA6, 0x9FBB), (0xF900, 0xFA2D), (0xFA30, 0xFA6A),
    (0xFA70, 0xFAD9), (0x2001, 0x2A6D), (0x2F81, 0x2FA1), (0xFF00, 0xFFEF), (0x2E80, 0x2EFF),
    (0x3000, 0x303F), (0x31C0, 0x31EF), (0x2F00, 0x2FDF), (0x2FF0, 0x2FFF), (0x3100, 0x312F),
    (0x31A0, 0x31BF), (0xFE10, 0xFE1F), (0xFE30, 0xFE4F), (0x2600, 0x26FF), (0x2700, 0x27BF),
    (0x3200, 0x32FF), (0x3300, 0x33FF),
]
_ZH_CHAR = re.compile("([" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ZH_RANGES) + "])")


def is_chinese_char(ch: str) -> bool:
    return any(a <= ord(ch) <= b for a, b in ZH_RANGES)


def tokenize_zh(line: str) -> str:
    """sacreBLEU's ``zh``: every CJK character becomes a word, the rest is cut as 13a does.

    ``"起初，神创造天地。"`` -> ``"起 初 ， 神 创 造 天 地 。"``
    """
    return _regexp_tokenize(_ZH_CHAR.sub(r" \1 ", line.strip()))


TOKENIZERS = {"13a": tokenize_13a, "zh": tokenize_zh, "none": lambda line: line}


# ----------------------------------------------------------------- checking the inputs
def _reference_sets(hypotheses, references, metric: str) -> list[list[str]]:
    """sacreBLEU's layout — ``references = [stream_1, stream_2, ...]``, each a list with one
    reference per hypothesis — turned into one list of references per hypothesis."""
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence):
        raise TypeError(f"{metric}: hypotheses must be a list of strings, got {type(hypotheses).__name__}")
    for h in hypotheses:
        if not isinstance(h, str):
            raise TypeError(f"{metric}: every hypothesis must be a str, got {type(h).__name__}: {h!r:.60}")
    if isinstance(references, str) or not isinstance(references, Sequence) or not references:
        raise TypeError(f"{metric}: references must be a list of reference streams, "
                        f"e.g. [refs] for one reference per sentence")
    if all(isinstance(r, str) for r in references):
        raise TypeError(f"{metric}: references is a list of strings; wrap it in a list, [references] "
                        f"(sacreBLEU's layout: one list per set of references)")
    for k, stream in enumerate(references):
        if isinstance(stream, str) or not isinstance(stream, Sequence):
            raise TypeError(f"{metric}: reference stream {k} must be a list of strings")
        if len(stream) != len(hypotheses):
            raise ValueError(f"{metric}: reference stream {k} has {len(stream)} lines but there are "
                             f"{len(hypotheses)} hypotheses")
    sets = [[r for r in refs if r is not None] for refs in zip(*references)]
    for i, refs in enumerate(sets):
        if not refs:
            raise ValueError(f"{metric}: hypothesis {i} has no reference (all are None)")
    return sets


# ----------------------------------------------------------------- BLEU
class BLEUScore(float):
    """A BLEU score: a float (0–100) that also carries the statistics behind it.

    ``counts[n-1]`` clipped matches and ``totals[n-1]`` hypothesis n-grams for each order n;
    ``precisions`` (percent), ``bp`` (brevity penalty), ``sys_len`` / ``ref_len`` (words), ``ratio``.
    """

    def __new__(cls, score, counts, totals, precisions, bp, sys_len, ref_len, tokenize="13a"):
        self = super().__new__(cls, score)
        self.score, self.counts, self.totals = float(score), list(counts), list(totals)
        self.precisions, self.bp, self.sys_len, self.ref_len = list(precisions), bp, sys_len, ref_len
        self.ratio = sys_len / ref_len if ref_len else 0.0
        self.tokenize = tokenize
        return self

    def __repr__(self) -> str:
        prec = "/".join(f"{p:.1f}" for p in self.precisions)
        return (f"BLEU = {self.score:.2f} {prec} (BP = {self.bp:.3f} ratio = {self.ratio:.3f} "
                f"hyp_len = {self.sys_len} ref_len = {self.ref_len}; tok = {self.tokenize})")

    __str__ = __repr__


def _ngrams(words: list[str], max_order: int) -> Counter:
    """All n-grams of orders 1..max_order, as tuples, with their counts."""
    return Counter(tuple(words[i:i + n]) for n in range(1, max_order + 1) for i in range(len(words) - n + 1))


def _closest_ref_len(hyp_len: int, ref_lens: list[int]) -> int:
    """The reference length closest to the hypothesis length (the shorter one on a tie)."""
    return min(ref_lens, key=lambda r: (abs(hyp_len - r), r))


def bleu_from_counts(correct, total, sys_len: int, ref_len: int, smooth_method: str = "exp",
                     smooth_value: float | None = None, effective_order: bool = False,
                     tokenize: str = "13a") -> BLEUScore:
    """The BLEU formula on the corpus statistics (sacreBLEU's ``compute_bleu``)."""
    defaults = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}
    if smooth_method not in defaults:
        raise ValueError(f"smooth_method must be one of {sorted(defaults)}, not {smooth_method!r}")
    if smooth_value is None:
        smooth_value = defaults[smooth_method]
    correct, total = list(correct), list(total)
    max_order = len(correct)
    bp = 1.0                                                    # brevity penalty
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    precisions = [0.0] * max_order
    if not any(correct):
        return BLEUScore(0.0, correct, total, precisions, bp, sys_len, ref_len, tokenize)
    smooth_mteval, eff_order = 1.0, max_order
    for n in range(1, max_order + 1):
        if smooth_method == "add-k" and n > 1:
            correct[n - 1] += smooth_value
            total[n - 1] += smooth_value
        if total[n - 1] == 0:
            break
        if effective_order:
            eff_order = n
        if correct[n - 1] == 0:
            if smooth_method == "exp":                          # 1/2, 1/4, ... of one match
                smooth_mteval *= 2
                precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1])
            elif smooth_method == "floor":
                precisions[n - 1] = 100.0 * smooth_value / total[n - 1]
        else:
            precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
    # log(0) is floored to a huge negative number, as sacreBLEU does: the score becomes 0.
    logs = [math.log(p) if p != 0.0 else -9999999999 for p in precisions[:eff_order]]
    score = bp * math.exp(sum(logs) / eff_order)
    return BLEUScore(score, correct, total, precisions, bp, sys_len, ref_len, tokenize)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]], tokenize: str = "13a",
                smooth_method: str = "exp", smooth_value: float | None = None, lowercase: bool = False,
                max_ngram_order: int = 4, effective_order: bool = False) -> BLEUScore:
    """Corpus BLEU of ``hypotheses`` (one string per sentence) against ``references``.

    ``references`` is a list of reference *streams*, as in sacreBLEU: ``[refs]`` for one reference
    per sentence, ``[refs_a, refs_b]`` for two (a ``None`` entry means "no such reference here").
    ``tokenize``: ``"13a"`` (default), ``"zh"`` for Chinese, or ``"none"``.

    >>> corpus_bleu(["the cat sat on the mat"], [["the cat sat on the mat"]])
    BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6; tok = 13a)
    """
    if tokenize not in TOKENIZERS:
        raise ValueError(f"tokenize must be one of {sorted(TOKENIZERS)}, not {tokenize!r}")
    tok = TOKENIZERS[tokenize]
    ref_sets = _reference_sets(hypotheses, references, "corpus_bleu")

    def words(text: str) -> list[str]:
        return tok((text.lower() if lowercase else text).rstrip()).split()

    correct, total = [0] * max_ngram_order, [0] * max_ngram_order
    sys_len = ref_len = 0
    for hyp, refs in zip(hypotheses, ref_sets):
        ref_counts: Counter = Counter()
        ref_lens = []
        for ref in refs:
            ref_words = words(ref)
            ref_lens.append(len(ref_words))
            for gram, count in _ngrams(ref_words, max_ngram_order).items():
                ref_counts[gram] = max(ref_counts[gram], count)     # clip by the most generous reference
        hyp_words = words(hyp)
        sys_len += len(hyp_words)
        ref_len += _closest_ref_len(len(hyp_words), ref_lens)
        for gram, count in _ngrams(hyp_words, max_ngram_order).items():
            total[len(gram) - 1] += count
            correct[len(gram) - 1] += min(count, ref_counts.get(gram, 0))
    return bleu_from_counts(correct, total, sys_len, ref_len, smooth_method, smooth_value, effective_order,
                            tokenize)


def sentence_bleu(hypothesis: str, references: Sequence[str], tokenize: str = "13a",
                  smooth_method: str = "exp", smooth_value: float | None = None) -> BLEUScore:
    """BLEU of one sentence (``effective_order``: orders longer than the sentence are left out).
    Sentence BLEU is noisy; report corpus BLEU for a system."""
    if isinstance(references, str):
        references = [references]
    return corpus_bleu([hypothesis], [[r] for r in references], tokenize, smooth_method, smooth_value,
                       effective_order=True)


# ----------------------------------------------------------------- chrF
class CHRFScore(float):
    """A chrF score: a float (0–100) with ``char_order``, ``word_order``, ``beta`` and ``stats``
    (``[hyp n-grams, ref n-grams, matches]`` per order, summed over the corpus)."""

    def __new__(cls, score, char_order, word_order, beta, stats):
        self = super().__new__(cls, score)
        self.score, self.char_order, self.word_order, self.beta = float(score), char_order, word_order, beta
        self.stats = list(stats)
        return self

    def __repr__(self) -> str:
        return f"chrF{self.beta}{'+' * self.word_order} = {self.score:.2f}"

    __str__ = __repr__


_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _words_for_chrf(sent: str) -> list[str]:
    """chrF++'s word split: one punctuation mark is cut off the end (else the start) of a word."""
    out = []
    for w in sent.split():
        if len(w) == 1:
            out.append(w)
        elif w[-1] in _PUNCTUATION:
            out += [w[:-1], w[-1]]
        elif w[0] in _PUNCTUATION:
            out += [w[0], w[1:]]
        else:
            out.append(w)
    return out


def _chrf_ngrams(sent: str, char_order: int, word_order: int, whitespace: bool) -> list[Counter]:
    chars = sent if whitespace else "".join(sent.split())
    grams = [Counter(chars[i:i + n] for i in range(len(chars) - n + 1)) for n in range(1, char_order + 1)]
    if word_order:
        words = _words_for_chrf(sent)
        grams += [Counter(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
                  for n in range(1, word_order + 1)]
    return grams


def chrf_from_stats(stats, order: int, beta: float = 2, eps_smoothing: bool = False) -> float:
    """The chrF formula on ``[hyp, ref, match]`` counts per order (sacreBLEU's ``_compute_f_score``)."""
    eps, factor = 1e-16, beta ** 2
    score, effective_order, avg_prec, avg_rec = 0.0, 0, 0.0, 0.0
    for i in range(order):
        n_hyp, n_ref, n_match = stats[3 * i: 3 * i + 3]
        prec = n_match / n_hyp if n_hyp > 0 else eps
        rec = n_match / n_ref if n_ref > 0 else eps
        denom = factor * prec + rec
        score += ((1 + factor) * prec * rec / denom) if denom > 0 else eps
        if n_hyp > 0 and n_ref > 0:            # average only over the orders that have n-grams
            avg_prec += prec
            avg_rec += rec
            effective_order += 1
    if eps_smoothing:
        return 100 * score / order
    if effective_order == 0:
        avg_prec = avg_rec = 0.0
    else:
        avg_prec /= effective_order
        avg_rec /= effective_order
    if avg_prec + avg_rec:
        score = (1 + factor) * avg_prec * avg_rec
        score /= (factor * avg_prec) + avg_rec
        return 100 * score
    return 0.0


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[Sequence[str]], char_order: int = 6,
                word_order: int = 0, beta: float = 2, lowercase: bool = False, whitespace: bool = False,
                eps_smoothing: bool = False) -> CHRFScore:
    """Corpus chrF (``word_order=2``: chrF++) of ``hypotheses`` against ``references`` (sacreBLEU's
    layout, as in ``corpus_bleu``). Spaces are not part of the character n-grams unless
    ``whitespace=True``.

    >>> corpus_chrf(["起初，神创造天地。"], [["起初，神创造天地。"]])
    chrF2 = 100.00
    """
    ref_sets = _reference_sets(hypotheses, references, "corpus_chrf")
    order = char_order + word_order
    totals = [0] * (3 * order)
    prep = (lambda s: s.lower()) if lowercase else (lambda s: s)
    for hyp, refs in zip(hypotheses, ref_sets):
        hyp_grams = _chrf_ngrams(prep(hyp), char_order, word_order, whitespace)
        best, best_f = None, -1.0
        for ref in refs:                      # the reference that gives this sentence the best chrF
            stats = []
            for h, r in zip(hyp_grams, _chrf_ngrams(prep(ref), char_order, word_order, whitespace)):
                match = sum(min(c, r[g]) for g, c in h.items() if g in r)
                stats += [sum(h.values()) if r else 0, sum(r.values()), match]
            f = chrf_from_stats(stats, order, beta, eps_smoothing)
            if f > best_f:
                best, best_f = stats, f
        totals = [t + s for t, s in zip(totals, best)]
    return CHRFScore(chrf_from_stats(totals, order, beta, eps_smoothing), char_order, word_order, beta, totals)
