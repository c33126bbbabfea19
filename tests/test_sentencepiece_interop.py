"""SentencePiece parity with the ``sentencepiece`` package (skipped when it is not installed).

Real models are trained with ``sentencepiece.SentencePieceTrainer`` on the bundled corpora — KJV
verses (English) and the Tang/Song poems (Chinese; the test lines add CUV verses when
corpora/cuv.tsv.gz is bundled) — with the default ``nmt_nfkc`` normaliser,
unigram and BPE, byte fallback off and on, plus user-defined/control symbols, the identity
normaliser without dummy prefix, and whitespace-as-suffix. minigrad must give the same ids on
every line, and decode every id sequence to the same text.
"""

import random
from pathlib import Path

import pytest

from fixtures.corpora import chinese, cuv, english
from fixtures.spm_models import UNUSED, build_charsmap, model_bytes, specials
from minigrad.tokenizers import SentencePieceTokenizer
from minigrad.tokenizers.protobuf import read_model_proto

pytestmark = pytest.mark.interop
spm = pytest.importorskip("sentencepiece")

U = "\u2581"

EN = english()
ZH = chinese()
EN_TEST = EN[::10]                                     # 3,111 verses from every book
ZH_TEST = ZH + cuv()[::10]                             # 2,827 lines of poems (+ ~3,100 CUV verses once bundled)
TRICKY = [
    "", " ", "   ", "\t\n", "Hello  world ", "  ｆｕｌｌ\u3000ｗｉｄｔｈ ①②③ ﬁ ﬂ ㈱ ½ ™ ｶﾞ",
    "e\u0301 A\u030a \u212b café naïve", "a\u00a0b\u200bc\ufeffd\u2028e", "\x01\x02x\x7f",
    "龘龘 龘x鱻 𠀀𠀁", "😀 emoji 😀😀 👍🏽", "In the beginning 起初，神创造天地。 God",
    "God<sep>the earth <ctl> <s> </s> <unk> <pad>", "1234 5678 12.5 ３４５", "ʻOkina Ελληνικά русский עברית",
    "▁already▁escaped ▁ ▁▁", "trailing space   ", "\u3000\u3000全角空格\u3000",
]


def _random_texts(n, seed):
    rng = random.Random(seed)
    alphabet = [lambda: chr(rng.randrange(32, 127)), lambda: chr(rng.randrange(0x80, 0x2FFF)),
                lambda: chr(rng.randrange(0x4E00, 0x9FFF)), lambda: " ", lambda: "\u3000",
                lambda: rng.choice("的之不人一而天山风"), lambda: rng.choice(["the ", "and ", "God "])]
    return ["".join(rng.choice(alphabet)() for _ in range(rng.randrange(0, 25))) for _ in range(n)]


MODELS = {
    # name: (language, options)
    "en_unigram": ("en", dict(model_type="unigram")),
    "en_unigram_bytes": ("en", dict(model_type="unigram", byte_fallback=True)),
    "en_bpe": ("en", dict(model_type="bpe")),
    "en_bpe_bytes": ("en", dict(model_type="bpe", byte_fallback=True)),
    "zh_unigram": ("zh", dict(model_type="unigram")),
    "zh_unigram_bytes": ("zh", dict(model_type="unigram", byte_fallback=True)),
    "zh_bpe": ("zh", dict(model_type="bpe")),
    "zh_bpe_bytes": ("zh", dict(model_type="bpe", byte_fallback=True)),
    "en_unigram_user": ("en", dict(model_type="unigram", user_defined_symbols=["God", "<sep>", "the earth", "中文"],
                                   control_symbols=["<ctl>"], pad_id=3)),
    "en_bpe_user": ("en", dict(model_type="bpe", user_defined_symbols=["God", "<sep>", "the earth"])),
    "en_unigram_identity": ("en", dict(model_type="unigram", normalization_rule_name="identity",
                                       add_dummy_prefix=False, remove_extra_whitespaces=False)),
    "en_bpe_suffix_nfkc_cf": ("en", dict(model_type="bpe", treat_whitespace_as_suffix=True,
                                         normalization_rule_name="nfkc_cf")),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("spm")
    (root / "en.txt").write_text("\n".join(EN[::3]), encoding="utf-8")
    (root / "zh.txt").write_text("\n".join(ZH), encoding="utf-8")
    paths = {}
    for name, (lang, options) in MODELS.items():
        size = 2000 if lang == "en" else 3000
        extra = {} if lang == "en" else dict(character_coverage=0.98)
        spm.SentencePieceTrainer.train(input=str(root / f"{lang}.txt"), model_prefix=str(root / name),
                                       vocab_size=size, minloglevel=2, num_threads=2, **extra, **options)
        paths[name] = str(root / f"{name}.model")
    return paths


def _compare(ours, theirs, texts):
    enc_bad, dec_bad = [], []
    for text in texts:
        want = theirs.encode(text)
        if ours.encode(text) != want:
            enc_bad.append((text, ours.encode(text, out_type=str), theirs.encode(text, out_type=str)))
        if ours.decode(want) != theirs.decode(want):
            dec_bad.append((text, ours.decode(want), theirs.decode(want)))
    assert not enc_bad, f"{len(enc_bad)}/{len(texts)} lines encode differently, e.g. {enc_bad[:3]}"
    assert not dec_bad, f"{len(dec_bad)}/{len(texts)} id sequences decode differently, e.g. {dec_bad[:3]}"


@pytest.mark.parametrize("name", list(MODELS))
def test_same_ids_as_sentencepiece(trained, name):
    ours, theirs = SentencePieceTokenizer(trained[name]), spm.SentencePieceProcessor(model_file=trained[name])
    lang = MODELS[name][0]
    own, other = (EN_TEST, ZH_TEST) if lang == "en" else (ZH_TEST, EN_TEST)
    if name.count("_") > 1 and not name.endswith("_bytes"):
        own = own[::4]                                  # the special variants: a quarter of the lines
    texts = own + other[::8] + TRICKY + _random_texts(500, seed=len(name))
    _compare(ours, theirs, texts)
    # Any id sequence (bytes that are not UTF-8, control ids, <unk> in the middle) decodes the same.
    rng = random.Random(0)
    for _ in range(300):
        ids = [rng.randrange(len(theirs)) for _ in range(rng.randrange(1, 12))]
        assert ours.decode(ids) == theirs.decode(ids), ids
    assert len(ours) == len(theirs)
    assert [ours.id_to_piece(i) for i in range(len(ours))] == [theirs.id_to_piece(i) for i in range(len(theirs))]
    assert (ours.unk_id, ours.bos_id, ours.eos_id, ours.pad_id) == \
        (theirs.unk_id(), theirs.bos_id(), theirs.eos_id(), theirs.pad_id())
    for text in TRICKY[:8]:
        assert ours.normalize(text) == theirs.normalize(text)
        assert ours.encode(text, add_bos=True, add_eos=True) == theirs.encode(text, add_bos=True, add_eos=True)


def test_unused_pieces_match(trained):
    """Pieces marked UNUSED (as ``SetVocabulary`` does) are skipped by Viterbi and split back by BPE."""
    for name in ("en_unigram", "en_bpe"):
        proto = read_model_proto(Path(trained[name]).read_bytes())
        rng = random.Random(1)
        pieces = [(p["piece"], p["score"], UNUSED if p["type"] == 1 and len(p["piece"]) > 2 and rng.random() < 0.3
                   else p["type"]) for p in proto["pieces"]]
        norm = proto["normalizer_spec"]
        data = model_bytes(pieces, "unigram" if name == "en_unigram" else "bpe", name=norm["name"],
                           charsmap=norm["precompiled_charsmap"])
        ours, theirs = SentencePieceTokenizer(model_proto=data), spm.SentencePieceProcessor(model_proto=data)
        assert sum(t == UNUSED for _, _, t in pieces) > 100
        _compare(ours, theirs, EN_TEST[::3] + TRICKY)


def test_hand_built_fixture_models_match(tmp_path):
    """The test-side writer and charsmap builder make files that sentencepiece reads the same way."""
    rules = {"Ａ": "A", "e\u0301": "é", "\u3000": " ", "ﬁ": "fi", "\x01": "", "a": "1", "ab": "2", "\t": " "}
    pieces = specials() + [(U, -2.0), ("A", -3), ("é", -3), ("f", -3), ("i", -3), ("1", -3), ("2", -3),
                           ("c", -3), (U + "fi", -1.0), ("b", -4)]
    for model_type in ("unigram", "bpe"):
        for options in (dict(), dict(add_dummy_prefix=False), dict(remove_extra_whitespaces=False),
                        dict(byte_fallback=True, add_byte_pieces=True), dict(treat_whitespace_as_suffix=True)):
            data = model_bytes(pieces, model_type, charsmap=build_charsmap(rules), name="custom", **options)
            ours, theirs = SentencePieceTokenizer(model_proto=data), spm.SentencePieceProcessor(model_proto=data)
            _compare(ours, theirs, ["ﬁ\u3000Ａe\u0301", "abc a", " \t a\x01b  ", "e\u0301e", "xyz ab", ""]
                     + _random_texts(200, seed=3))
