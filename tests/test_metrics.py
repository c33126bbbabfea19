"""BLEU and chrF on hand-computed cases (no sacrebleu needed): clipping, brevity penalty, smoothing,
several references, the 13a and zh tokenisers, chrF's averaging, input errors."""

import math

import pytest

from minigrad.metrics import (BLEUScore, corpus_bleu, corpus_chrf, sentence_bleu, tokenize_13a,
                              tokenize_zh)


def test_perfect_match_is_100():
    hyps = ["In the beginning God created the heaven and the earth.", "And God said, Let there be light."]
    assert corpus_bleu(hyps, [hyps]) == pytest.approx(100.0)
    assert corpus_chrf(hyps, [hyps]) == pytest.approx(100.0)
    zh = ["起初，神创造天地。", "神说：要有光，就有了光。"]
    assert corpus_bleu(zh, [zh], tokenize="zh") == pytest.approx(100.0)
    assert corpus_chrf(zh, [zh]) == pytest.approx(100.0)


def test_modified_precision_clips_repeated_words():
    # Papineni et al.'s example: seven "the" against a reference with two.
    score = corpus_bleu(["the the the the the the the"], [["the cat is on the mat"]])
    assert score.counts[0] == 2 and score.totals[0] == 7
    assert score.precisions[0] == pytest.approx(100 * 2 / 7)
    # With two references the most generous one clips: "the" x2 from the first.
    two = corpus_bleu(["the the the the the the the"], [["the cat is on the mat"], ["there is a cat on the mat"]])
    assert two.counts[0] == 2


def test_brevity_penalty_and_closest_reference_length():
    short = corpus_bleu(["the cat"], [["the cat sat on the mat"]])
    assert (short.sys_len, short.ref_len) == (2, 6)
    assert short.bp == pytest.approx(math.exp(1 - 6 / 2))
    longer = corpus_bleu(["the cat sat on the mat today"], [["the cat sat on the mat"]])
    assert longer.bp == 1.0                                    # no penalty for being longer
    # Reference lengths 3 and 5 are equally close to 4: the shorter one counts.
    tie = corpus_bleu(["a b c d"], [["a b c"], ["a b c d e"]])
    assert tie.ref_len == 3 and tie.bp == 1.0


def test_exponential_smoothing_by_hand():
    # "a b c d" vs "a b x d": 3/4 unigrams, 1/3 bigrams, 0/2 trigrams, 0/1 four-grams.
    score = corpus_bleu(["a b c d"], [["a b x d"]])
    p = [75.0, 100 / 3, 100 / (2 * 2), 100 / (4 * 1)]          # zeros become 1/(2^k total)
    assert score.precisions == pytest.approx(p)
    assert score == pytest.approx(math.exp(sum(map(math.log, p)) / 4))
    no_smoothing = corpus_bleu(["a b c d"], [["a b x d"]], smooth_method="none")
    assert no_smoothing == pytest.approx(0.0, abs=1e-300)


def test_no_match_and_empty_output_score_zero():
    assert corpus_bleu(["x y z"], [["a b c"]]) == 0.0
    empty = corpus_bleu(["", ""], [["a b", "c d"]])
    assert empty == 0.0 and empty.bp == 0.0 and empty.sys_len == 0
    assert corpus_chrf(["", ""], [["a b", "c d"]]) == 0.0


def test_sentence_bleu_uses_effective_order():
    s = sentence_bleu("the cat", ["the cat"])
    assert s == pytest.approx(100.0)                           # only 1- and 2-grams exist
    assert corpus_bleu(["the cat"], [["the cat"]]) == pytest.approx(0.0)   # corpus: no 3-grams -> 0


def test_bleu_corpus_counts_are_summed_before_the_formula():
    a = corpus_bleu(["a b c d", "e f"], [["a b c d", "e g"]])
    assert a.counts == [5, 3, 2, 1] and a.totals == [6, 4, 2, 1]
    assert a == pytest.approx(math.exp(sum(math.log(100 * c / t) for c, t in zip(a.counts, a.totals)) / 4))


def test_tokenize_13a():
    assert tokenize_13a("Hello, world.") == "Hello , world ."
    assert tokenize_13a("It costs 3.14, or 1,000 -- x-ray 5-4.") == "It costs 3.14 , or 1,000 -- x-ray 5 - 4 ."  # "-" splits only after a digit
    assert tokenize_13a("&quot;Yes&quot; &amp; (no)") == '" Yes " & ( no )'
    assert tokenize_13a("  many   spaces\n") == "many spaces"


def test_tokenize_zh():
    assert tokenize_zh("起初，神创造天地。") == "起 初 ， 神 创 造 天 地 。"
    assert tokenize_zh("耶和华说：Let it be, 好。") == "耶 和 华 说 ： Let it be , 好 。"
    # sacreBLEU's ranges: U+2001..U+2A6D count as Chinese (its u'\u20000' typo), so “ ” — split off.
    assert tokenize_zh("“x”—y") == "“ x ” — y"
    assert tokenize_zh("𠀀x") == "𠀀x"                          # CJK Extension B is not in its ranges


def test_chrf_by_hand():
    # char_order 2: unigrams P = 2/2, R = 2/3; bigrams P = 1/1, R = 1/2.
    # chrP = 1, chrR = 7/12; F2 = 5 * chrP * chrR / (4 * chrP + chrR) = 7/11.
    assert corpus_chrf(["ab"], [["abc"]], char_order=2) == pytest.approx(100 * 7 / 11)
    assert corpus_chrf(["a b"], [["ab"]]) == pytest.approx(100.0)   # spaces are not characters here
    assert corpus_chrf(["ab"], [["abc"]], char_order=2, beta=1) == pytest.approx(100 * 2 * (7 / 12) / (1 + 7 / 12))


def test_chrf_picks_the_best_reference_per_sentence():
    one = corpus_chrf(["the cat sat"], [["a dog ran"]])
    best = corpus_chrf(["the cat sat"], [["a dog ran"], ["the cat sat"]])
    assert best == pytest.approx(100.0) and one < 20
    plus = corpus_chrf(["the cat sat"], [["the cat sat"]], word_order=2)
    assert plus == pytest.approx(100.0) and repr(plus) == "chrF2++ = 100.00"


def test_scores_behave_like_floats():
    s = corpus_bleu(["the cat sat on the mat"], [["the cat sat on a mat"]])
    assert isinstance(s, float) and isinstance(s, BLEUScore)
    assert 0 < s < 100 and round(s, 1) == round(s.score, 1) and f"{s:.1f}" == f"{s.score:.1f}"
    assert "BP = 1.000" in repr(s)


def test_bad_inputs_are_refused():
    with pytest.raises(TypeError, match=r"wrap it in a list"):
        corpus_bleu(["a b"], ["a b"])                        # references must be [refs]
    with pytest.raises(ValueError, match="has 1 lines but there are 2"):
        corpus_bleu(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="tokenize"):
        corpus_bleu(["a"], [["a"]], tokenize="13b")
    with pytest.raises(TypeError, match="hypothesis"):
        corpus_chrf([3], [["a"]])
    with pytest.raises(ValueError, match="no reference"):
        corpus_chrf(["a"], [[None]])
    assert corpus_bleu(["a b c d", "e f g h"], [["a b c d", "e f g h"], ["x", None]]) == pytest.approx(100.0)
