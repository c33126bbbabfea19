"""SentencePiece from scratch, without the ``sentencepiece`` package: hand-built model files
(tests/fixtures/spm_models.py) and hand-computed segmentations.

* protobuf wire format: varints, negative int32, floats, unknown fields, truncated/corrupt data;
* the normaliser: a hand-built double-array charsmap (longest match, multi-character keys),
  whitespace rules (extra spaces, dummy prefix, escaping, suffix);
* unigram: Viterbi beats greedy longest-match; equals a brute-force search over all segmentations;
  unknown characters (merged, byte fallback); user-defined and unused pieces;
* BPE: merge order by score, leftmost on ties, unused pieces split back;
* decode: ``▁`` -> space, dummy prefix, control / unknown / byte pieces.
"""

import itertools
import math

import pytest
from hypothesis import given, strategies as st

from fixtures.spm_models import (BYTE, NORMAL, UNKNOWN, UNUSED, USER_DEFINED, build_charsmap,
                                 model_bytes, specials, write_model)
from minigrad.tokenizers import SentencePieceTokenizer
from minigrad.tokenizers import protobuf as pb
from minigrad.tokenizers.sentencepiece import SentencePieceError
from minigrad.tokenizers.spm_normalizer import DoubleArray, Normalizer

U = "\u2581"


def spm(pieces, model_type="unigram", **kw):
    return SentencePieceTokenizer(model_proto=model_bytes(pieces, model_type, **kw))


def pieces_of(sp, text):
    return sp.encode(text, out_type=str)


# ----------------------------------------------------------------- protobuf
def test_varint_examples_from_the_protobuf_docs():
    assert pb.read_varint(b"\x01", 0) == (1, 1)
    assert pb.read_varint(b"\xac\x02", 0) == (300, 2)
    assert pb.read_varint(b"\x00\x96\x01", 1) == (150, 3)


def test_negative_int32_float_and_unknown_fields():
    data = model_bytes(specials() + [(U, -1.5)])
    proto = pb.read_model_proto(data + b"\xa8\x1f\x07")        # field 501 (an extension), varint 7
    assert proto["trainer_spec"]["pad_id"] == -1                # a 10-byte varint
    assert proto["trainer_spec"]["bos_id"] == 1                 # absent: the .proto default
    assert proto["pieces"][3] == {"piece": U, "score": -1.5, "type": NORMAL, "_present": {"piece", "score"}}
    assert proto["normalizer_spec"]["name"] == "identity"
    assert proto["denormalizer_spec"] is None


def test_corrupt_protobuf_is_refused_with_a_reason():
    data = model_bytes(specials() + [(U, -1.5)])
    with pytest.raises(pb.ProtobufError, match="truncated|past the end"):
        pb.read_model_proto(data[:-3])
    with pytest.raises(pb.ProtobufError, match="wire type"):
        pb.read_model_proto(b"\x0b\x00")                        # field 1, wire type 3 (a group)
    with pytest.raises(pb.ProtobufError, match="should be a sub-message"):
        pb.read_model_proto(b"\x08\x01")                        # pieces (field 1) as a varint
    with pytest.raises(SentencePieceError, match="not a SentencePiece model"):
        SentencePieceTokenizer(model_proto=b"\xff" * 12)


def test_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        SentencePieceTokenizer(tmp_path / "missing.spm")
    with pytest.raises(SentencePieceError, match="no UNKNOWN piece"):
        spm([("a", -1.0)])
    with pytest.raises(SentencePieceError, match="defined twice"):
        spm(specials() + [("a", -1.0), ("a", -2.0)])
    with pytest.raises(SentencePieceError, match="byte_fallback is false"):
        spm(specials() + [("<0x41>", 0.0, BYTE)])
    with pytest.raises(SentencePieceError, match="all 256 byte pieces"):
        spm(specials() + [("<0x41>", 0.0, BYTE)], byte_fallback=True)
    path = write_model(tmp_path / "m.spm", specials() + [(U, -1.0)])
    sp = SentencePieceTokenizer(path)
    assert len(sp) == 4 and sp.id_to_piece(3) == U and sp.piece_to_id(U) == 3
    assert sp.piece_to_id("not a piece") == sp.unk_id == 0
    assert (sp.bos_id, sp.eos_id, sp.pad_id) == (1, 2, -1)
    with pytest.raises(IndexError):
        sp.id_to_piece(4)


def test_add_bos_and_eos():
    sp = spm(specials() + [(U, -1.0), ("a", -1.0)])
    assert sp.encode("a", add_bos=True, add_eos=True) == [1, 3, 4, 2]
    assert sp.encode("", add_bos=True, add_eos=True) == [1, 2]          # <s> first even with no pieces
    no_bos = spm([("<unk>", 0.0, UNKNOWN), (U, -1.0)])
    with pytest.raises(ValueError, match="add_bos=True"):
        no_bos.encode("x", add_bos=True)


# ----------------------------------------------------------------- the normaliser
RULES = {"Ａ": "A", "e\u0301": "é", "\u3000": " ", "ﬁ": "fi", "\x01": "", "a": "1", "ab": "2", "\t": " "}


def test_double_array_common_prefix_search():
    blob = build_charsmap(RULES)
    trie = DoubleArray(blob[4:4 + int.from_bytes(blob[:4], "little")])
    found = trie.common_prefix_search("abc".encode())
    assert [length for length, _ in found] == [1, 2]            # "a" and "ab" are both prefixes
    assert trie.common_prefix_search("xyz".encode()) == []
    assert [n for n, _ in trie.common_prefix_search("e\u0301x".encode())] == [3]   # e + U+0301: 3 bytes
    assert trie.common_prefix_search("e".encode()) == []


def norm(text, **spec):
    full = dict(name="custom", precompiled_charsmap=build_charsmap(RULES), add_dummy_prefix=True,
                remove_extra_whitespaces=True, escape_whitespaces=True)
    full.update(spec)
    return Normalizer(full)(text)


def test_charsmap_longest_match_and_multi_character_keys():
    assert norm("ﬁ\u3000Ａe\u0301") == f"{U}fi{U}Aé"
    assert norm("abc a") == f"{U}2c{U}1"                       # "ab" beats "a"
    assert norm(" \t a\x01b  ") == f"{U}1b"                      # tab -> space, \x01 -> nothing
    assert norm("e\u0301e") == f"{U}ée"


def test_whitespace_rules():
    assert norm("  x   y  ") == f"{U}x{U}y"
    assert norm("   ") == "" and norm("") == ""
    assert norm("  x   y ", remove_extra_whitespaces=False) == f"{U}{U}{U}x{U}{U}{U}y{U}"
    assert norm(" x y", add_dummy_prefix=False) == f"x{U}y"
    assert norm("x  y", escape_whitespaces=False) == " x y"
    spec = dict(name="identity", precompiled_charsmap=b"", add_dummy_prefix=True,
                remove_extra_whitespaces=True, escape_whitespaces=True)
    assert Normalizer(spec, treat_whitespace_as_suffix=True)("x  y") == f"x{U}y{U}"
    assert Normalizer(spec)("Ａ\tb") == f"{U}Ａ\tb"             # identity: only ASCII spaces count


def test_user_defined_symbols_are_not_normalised():
    spec = dict(name="custom", precompiled_charsmap=build_charsmap(RULES), add_dummy_prefix=True,
                remove_extra_whitespaces=True, escape_whitespaces=True)
    assert Normalizer(spec, user_defined=["Ａb"])("ＡbＡ") == f"{U}ＡbA"


# ----------------------------------------------------------------- unigram
def test_viterbi_beats_greedy_longest_match():
    # "abcd" -> "▁abcd": greedy longest-first takes ▁abc + d (-0.5 - 3 = -3.5);
    # the best path is ▁ab + cd (-1 - 1 = -2).
    sp = spm(specials() + [(U + "abc", -0.5), (U + "ab", -1.0), ("cd", -1.0), ("d", -3.0), (U, -4.0),
                           ("a", -5.0), ("b", -5.0), ("c", -5.0)])
    assert pieces_of(sp, "abcd") == [U + "ab", "cd"]
    assert sp.encode("abcd") == [4, 5]
    assert pieces_of(sp, "abc") == [U + "abc"]


def _brute_force(text, vocab, unk_score):
    """max over every segmentation into vocabulary pieces (or single unknown characters)."""
    best = None
    for cuts in itertools.product([0, 1], repeat=len(text) - 1):
        parts, start = [], 0
        for k, cut in enumerate(cuts, 1):
            if cut:
                parts.append(text[start:k])
                start = k
        parts.append(text[start:])
        if any(p not in vocab and len(p) > 1 for p in parts):
            continue
        score = sum(vocab.get(p, unk_score) for p in parts)
        best = score if best is None else max(best, score)
    return best


@given(st.text("ab▁c", min_size=1, max_size=9), st.lists(st.integers(-80, -1), min_size=8, max_size=8))
def test_viterbi_finds_the_best_segmentation(text, raw):
    # Scores are multiples of 1/8, so float32 sums are exact and the maximum is unambiguous.
    cand = ["a", "b", "ab", "ba", "aab", U + "a", "bb" + U, "abab"]
    vocab = {p: s / 8 for p, s in zip(cand, raw)}
    sp = spm(specials() + list(vocab.items()), add_dummy_prefix=False, remove_extra_whitespaces=False)
    got = pieces_of(sp, text)
    assert "".join(got) == text
    unk = min(vocab.values()) - 10
    ids = sp.encode(text)
    # A run of unknown characters is one <unk> in the output: score it character by character.
    score = sum(vocab[p] if i != sp.unk_id else unk * len(p) for p, i in zip(got, ids))
    assert math.isclose(score, _brute_force(text, vocab, unk))


def test_unknown_characters_merge_or_fall_back_to_bytes():
    base = specials() + [(U, -1.0), ("a", -2.0)]
    sp = spm(base)
    assert sp.encode("a龘鱻a") == [3, 4, 0, 4]                 # ▁ a <unk> a: one <unk> for 龘鱻
    assert pieces_of(sp, "a龘鱻a") == [U, "a", "龘鱻", "a"]
    sp = spm(base, byte_fallback=True, add_byte_pieces=True)
    byte_id = {b: 5 + b for b in range(256)}                    # <0x00> is piece 5
    assert sp.encode("a龘") == [3, 4] + [byte_id[b] for b in "龘".encode()]
    assert pieces_of(sp, "é") == [U, "<0xC3>", "<0xA9>"]


def test_user_defined_piece_always_wins_and_unused_is_never_emitted():
    pieces = specials() + [(U, -1.0), ("a", -1.0), ("b", -1.0), ("ab", -0.1), ("<sep>", 0.0, USER_DEFINED),
                           ("ba", -0.1, UNUSED)]
    for c in "<sep>":
        pieces.append((c, -1.0))
    sp = spm(pieces)
    assert pieces_of(sp, "a<sep>b") == [U, "a", "<sep>", "b"]
    assert pieces_of(sp, "bab") == [U, "b", "ab"]              # "ba" is unused: not in the lattice


# ----------------------------------------------------------------- BPE
def test_bpe_merges_by_score():
    sp = spm(specials() + [("ab", 0.0), (U + "ab", -1.0), (U + "abab", -2.0), (U, -3.0), ("a", -4.0),
                           ("b", -5.0)], "bpe")
    # ▁ a b a b -> ▁ ab a b -> ▁ ab ab -> ▁ab ab -> ▁abab
    assert pieces_of(sp, "abab") == [U + "abab"]
    assert pieces_of(sp, "ba") == [U, "b", "a"]                 # no merge applies


def test_bpe_ties_go_leftmost():
    sp = spm(specials() + [("aa", 0.0), (U, -1.0), ("a", -2.0)], "bpe")
    assert pieces_of(sp, "aaa") == [U, "aa", "a"]
    assert pieces_of(sp, "aaaa") == [U, "aa", "aa"]


def test_bpe_unused_piece_is_split_back_and_unknown_merged():
    sp = spm(specials() + [("ab", 0.0, UNUSED), ("abc", -1.0), (U, -2.0), ("a", -3.0), ("b", -3.0),
                           ("c", -3.0)], "bpe")
    assert pieces_of(sp, "ab") == [U, "a", "b"]
    assert pieces_of(sp, "abc") == [U, "abc"]                   # the unused "ab" was a step on the way
    assert sp.encode("a龘鱻") == [5, 6, 0]
    sp = spm(specials() + [("<sep>", 0.0, USER_DEFINED), (U, -1.0), ("se", -0.5)] +
             [(c, -1.0) for c in "<sep>"], "bpe")
    assert pieces_of(sp, "se<sep>s") == [U, "se", "<sep>", "s"]  # a user-defined symbol is never merged into


# ----------------------------------------------------------------- decode
def test_decode():
    pieces = specials() + [(U, -1.0), (U + "in", -1.0), ("the", -1.0), ("ab", -1.0), (U + "x", -1.0)]
    sp = spm(pieces, byte_fallback=True, add_byte_pieces=True)
    ids = sp.encode("in the ab")
    assert sp.decode(ids) == "in the ab"
    assert sp.decode([1] + ids + [2]) == "in the ab"              # <s>, </s> are invisible
    assert sp.decode([0, 4]) == " \u2047  in"                     # <unk> shows as ' ⁇ '; then ▁in is " in"
    byte = lambda b: sp.piece_to_id(f"<0x{b:02X}>")
    assert sp.decode([4] + [byte(b) for b in "龘".encode()]) == "in龘"
    assert sp.decode([byte(0xE9), byte(0xBE), 4]) == "\ufffd\ufffd in"   # one U+FFFD per bad byte
    assert sp.decode_pieces([U + "in", "notapiece", U + "x"]) == "innotapiece x"
    assert sp.decode([[4, 5], [7]]) == ["inthe", "x"]             # a batch; "the" has no ▁
    with pytest.raises(IndexError, match="invalid id"):
        sp.decode([len(sp)])
    custom = spm(pieces, unk_surface="<?>")
    assert custom.decode([0]) == "<?>"


def test_decode_keeps_leading_space_without_dummy_prefix():
    sp = spm(specials() + [(U, -1.0), ("a", -1.0)], add_dummy_prefix=False, remove_extra_whitespaces=False)
    assert pieces_of(sp, " a") == [U, "a"]
    assert sp.decode(sp.encode(" a")) == " a"


@given(st.text("ab c", max_size=12))
def test_round_trip(text):
    sp = spm(specials() + [(U, -1.0), ("a", -1.0), ("b", -1.5), ("c", -2.0), ("ab", -1.2), (U + "c", -1.0)])
    assert sp.decode(sp.encode(text)) == " ".join(text.split())
