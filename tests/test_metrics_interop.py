"""minigrad.metrics against sacreBLEU (skipped when sacrebleu is not installed).

Hypotheses are made by damaging real sentences — KJV verses for English (13a), the Tang/Song poems
for Chinese (zh): words or characters dropped, swapped, replaced — so every n-gram order and the
brevity penalty are exercised. One and two reference streams (the second with gaps: None).
"""

import random

import pytest

from fixtures.corpora import chinese, english
from minigrad import metrics

pytestmark = pytest.mark.interop
sacrebleu = pytest.importorskip("sacrebleu")

TOL = 1e-9
EN, ZH = english(), chinese()


def _damage(text, lang, rng):
    units = text.split() if lang == "en" else list(text)
    units = [u for u in units if rng.random() > 0.15]
    for _ in range(rng.randrange(3)):
        if len(units) > 1:
            i = rng.randrange(len(units) - 1)
            units[i], units[i + 1] = units[i + 1], units[i]
    if units and rng.random() < 0.3:
        units[rng.randrange(len(units))] = rng.choice(["the", "God", "LORD", ",", "神", "之", "。", "and"])
    return (" " if lang == "en" else "").join(units)


def _corpus(lang, n, seed):
    rng = random.Random(seed)
    src = EN[::7][:n] if lang == "en" else ZH[:n]
    hyps = [_damage(s, lang, rng) for s in src]
    second = [_damage(s, lang, rng) if rng.random() < 0.8 else None for s in src]
    return hyps, src, second


@pytest.mark.parametrize("lang,tokenize", [("en", "13a"), ("zh", "zh"), ("zh", "13a"), ("en", "zh")])
def test_corpus_bleu_equals_sacrebleu(lang, tokenize):
    hyps, ref, ref2 = _corpus(lang, 1000, seed=1)
    variants = (dict(), dict(lowercase=True), dict(smooth_method="floor"), dict(smooth_method="none"),
                dict(smooth_method="add-k"), dict(effective_order=True))
    if (lang, tokenize) not in {("en", "13a"), ("zh", "zh")}:   # cross cases: default settings only
        hyps, ref, ref2, variants = hyps[:300], ref[:300], ref2[:300], variants[:1]
    for refs in ([ref], [ref, ref2]):
        for kwargs in variants:
            ours = metrics.corpus_bleu(hyps, refs, tokenize=tokenize, **kwargs)
            theirs = sacrebleu.corpus_bleu(hyps, refs, tokenize=tokenize, force=True, **{
                "use_effective_order" if k == "effective_order" else k: v for k, v in kwargs.items()})
            assert abs(ours.score - theirs.score) <= TOL, (kwargs, ours, theirs)
            assert ours.counts == theirs.counts and ours.totals == theirs.totals
            assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
            assert ours.bp == pytest.approx(theirs.bp, abs=TOL)
            assert ours.precisions == pytest.approx(theirs.precisions, abs=TOL)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_corpus_chrf_equals_sacrebleu(lang):
    hyps, ref, ref2 = _corpus(lang, 500 if lang == "en" else 1000, seed=2)
    for refs in ([ref], [ref, ref2]):
        for kwargs in (dict(), dict(word_order=2), dict(lowercase=True), dict(whitespace=True),
                       dict(eps_smoothing=True), dict(beta=1, char_order=4)):
            ours = metrics.corpus_chrf(hyps, refs, **kwargs)
            theirs = sacrebleu.metrics.CHRF(**kwargs).corpus_score(hyps, refs)
            assert abs(ours.score - theirs.score) <= TOL, (kwargs, ours, theirs)


def test_small_and_degenerate_corpora():
    rng = random.Random(3)
    words = ["a", "b", "c", "d", ".", ",", "1", "2-3", "神", "之", "，"]
    for _ in range(300):
        n = rng.randrange(1, 4)
        hyps = [" ".join(rng.choice(words) for _ in range(rng.randrange(0, 6))) for _ in range(n)]
        refs = [[" ".join(rng.choice(words) for _ in range(rng.randrange(0, 6))) for _ in range(n)]]
        for tok in ("13a", "zh"):
            assert abs(metrics.corpus_bleu(hyps, refs, tokenize=tok).score
                       - sacrebleu.corpus_bleu(hyps, refs, tokenize=tok).score) <= TOL, (hyps, refs)
        assert abs(metrics.corpus_chrf(hyps, refs).score - sacrebleu.corpus_chrf(hyps, refs).score) <= TOL
        h, r = hyps[0], [x[0] for x in refs]
        assert abs(metrics.sentence_bleu(h, r).score - sacrebleu.sentence_bleu(h, r).score) <= TOL


def test_tokenisers_equal_sacrebleu():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh
    t13a, tzh = Tokenizer13a(), TokenizerZh()
    lines = EN[::50] + ZH[::5] + ["&quot;a&amp;b&lt;c&gt;", "x-\ny<skipped>z", "3.5, 1,000. 4-5 a-b", "“引号”——破折号…"]
    for line in lines:
        assert metrics.tokenize_13a(line) == t13a(line)
        assert metrics.tokenize_zh(line) == tzh(line)
    # The character ranges, code point by code point over the Basic Multilingual Plane.
    bmp = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    assert [metrics.is_chinese_char(c) for c in bmp] == [TokenizerZh._is_chinese_char(c) for c in bmp]
    astral = [chr(c) for c in range(0x10000, 0x110000, 97)]
    assert [metrics.is_chinese_char(c) for c in astral] == [TokenizerZh._is_chinese_char(c) for c in astral]
