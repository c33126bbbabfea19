"""Tokenizers, part 1: the shared call convention (base.py) and CharTokenizer (char.py)."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad.tokenizers import BertTokenizer, BPETokenizer, CharTokenizer, Encoding

CORPUS = "大模型是包含数十亿参数的神经网络。\nTransformer uses self-attention! 😀 café"


@pytest.fixture
def char_tok():
    return CharTokenizer.from_text(CORPUS, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>")


# ------------------------------------------------------------------ Encoding
def test_encoding_is_a_dict_with_attributes():
    enc = Encoding(input_ids=[1, 2], attention_mask=[1, 1])
    assert enc.input_ids == enc["input_ids"] == [1, 2]
    assert dict(enc) == {"input_ids": [1, 2], "attention_mask": [1, 1]}
    with pytest.raises(AttributeError, match="token_type_ids"):
        enc.token_type_ids


# ------------------------------------------------------------------ CharTokenizer
def test_char_vocab_layout(char_tok):
    # special tokens first, in the order given, then characters by code point
    assert char_tok.convert_ids_to_tokens([0, 1, 2]) == ["<pad>", "<unk>", "<eos>"]
    chars = char_tok.convert_ids_to_tokens(list(range(3, char_tok.vocab_size)))
    assert chars == sorted(set(CORPUS))
    assert char_tok.pad_token_id == 0 and char_tok.unk_token_id == 1 and char_tok.eos_token_id == 2
    assert char_tok.bos_token_id is None
    assert len(char_tok) == char_tok.vocab_size == 3 + len(set(CORPUS))


def test_char_chinese_round_trip(char_tok):
    text = "大模型的参数"
    ids = char_tok.encode(text)
    assert len(ids) == len(text)
    assert char_tok.decode(ids) == text
    assert char_tok.tokenize(text) == list(text)


def test_char_unknown_character_uses_unk_or_raises(char_tok):
    assert char_tok.encode("大X") == [char_tok.convert_tokens_to_ids("大"), char_tok.unk_token_id]
    bare = CharTokenizer.from_text("abc")
    with pytest.raises(KeyError, match="'X'.*U\\+0058"):
        bare.encode("aX")


def test_char_special_tokens_stay_whole(char_tok):
    ids = char_tok.encode("大<eos>模")
    assert ids[1] == char_tok.eos_token_id and len(ids) == 3
    assert char_tok.decode(ids) == "大<eos>模"
    assert char_tok.decode(ids, skip_special_tokens=True) == "大模"


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_char_round_trip_any_text(text):
    tok = CharTokenizer.from_text(text)
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1))
def test_char_save_load_round_trip(tmp_path_factory, text):
    tok = CharTokenizer.from_text(text, special_tokens=["<|x|>"], pad_token="<pad>")
    path = tmp_path_factory.mktemp("char")
    tok.save(str(path))
    again = CharTokenizer.load(str(path))
    assert again.get_vocab() == tok.get_vocab()
    assert again.all_special_tokens == tok.all_special_tokens and again.pad_token == "<pad>"
    assert again.encode(text) == tok.encode(text)


def test_char_save_to_json_file(tmp_path, char_tok):
    path = char_tok.save(str(tmp_path / "mine.json"))
    assert json.loads(open(path, encoding="utf-8").read())["tokens"][0] == "<pad>"
    assert CharTokenizer.load(path).get_vocab() == char_tok.get_vocab()


def test_char_load_errors(tmp_path):
    bad = tmp_path / "dup.json"
    bad.write_text(json.dumps({"format": "minigrad.CharTokenizer", "tokens": ["a", "b", "a"]}))
    with pytest.raises(ValueError, match=r"dup.json.*'a' appears twice \(ids 0 and 2\)"):
        CharTokenizer.load(str(bad))
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps({"format": "minigrad.CharTokenizer", "tokens": ["a"], "pad_token": "<pad>"}))
    with pytest.raises(ValueError, match="missing.json.*'<pad>' is missing"):
        CharTokenizer.load(str(missing))
    other = tmp_path / "other.json"
    other.write_text("{}")
    with pytest.raises(ValueError, match="not a CharTokenizer file"):
        CharTokenizer.load(str(other))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        CharTokenizer.load(str(broken))


def test_char_bad_construction():
    with pytest.raises(TypeError, match="str"):
        CharTokenizer.from_text(["a", "b"])
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["a", "bc"])


# ------------------------------------------------------------------ the shared call
def test_call_single_and_batch(char_tok):
    one = char_tok("大模型")
    assert isinstance(one, Encoding) and set(one) == {"input_ids", "attention_mask"}
    assert one.attention_mask == [1, 1, 1]
    batch = char_tok(["大模型", "网络"])
    assert batch.input_ids == [one.input_ids, char_tok.encode("网络")]


def test_call_padding_strategies(char_tok):
    p = char_tok.pad_token_id
    longest = char_tok(["大模型", "网"], padding=True)
    assert longest.input_ids[1][1:] == [p, p] and longest.attention_mask == [[1, 1, 1], [1, 0, 0]]
    assert char_tok(["大模型", "网"], padding="longest") == longest
    fixed = char_tok(["大模型", "网"], padding="max_length", max_length=5)
    assert [len(r) for r in fixed.input_ids] == [5, 5] and fixed.attention_mask[0] == [1, 1, 1, 0, 0]
    assert char_tok("大模型", padding=True).input_ids == char_tok.encode("大模型")
    with pytest.raises(ValueError, match="padding must be"):
        char_tok("大", padding="left")
    with pytest.raises(ValueError, match="needs max_length"):
        char_tok("大", padding="max_length")


def test_call_truncation_and_arrays(char_tok):
    enc = char_tok(["大模型是", "网"], padding=True, truncation=True, max_length=3, return_tensors="np")
    assert isinstance(enc.input_ids, np.ndarray) and enc.input_ids.dtype == np.int64
    assert enc.input_ids.shape == enc.attention_mask.shape == (2, 3)
    assert char_tok.decode(enc.input_ids[0]) == "大模型"
    assert char_tok("大", return_tensors="np").input_ids.shape == (1, 1)
    with pytest.raises(ValueError, match="padding=True"):
        char_tok(["大模型", "网"], return_tensors="np")
    with pytest.raises(ValueError, match="'np'"):
        char_tok("大", return_tensors="pt")


def test_call_pair_without_special_tokens(char_tok):
    enc = char_tok("大模", text_pair="网络")
    assert enc.input_ids == char_tok.encode("大模") + char_tok.encode("网络")
    with pytest.raises(ValueError, match="same length"):
        char_tok(["大", "模"], text_pair=["网"])


def test_padding_needs_a_pad_token():
    tok = CharTokenizer.from_text("ab")
    with pytest.raises(ValueError, match="no pad_token"):
        tok(["a", "ab"], padding=True)


@pytest.mark.parametrize("bad", [3, None, b"bytes", ["ok", 7]])
def test_non_string_input_raises_type_error(char_tok, bad):
    with pytest.raises(TypeError, match="str"):
        char_tok(bad)
    if not isinstance(bad, list):
        with pytest.raises(TypeError):
            char_tok.encode(bad)


def test_decode_errors(char_tok):
    with pytest.raises(ValueError, match=f"unknown token id 9999.*0..{char_tok.vocab_size - 1}"):
        char_tok.decode([3, 9999])
    with pytest.raises(ValueError, match="unknown token id -1"):
        char_tok.decode([-1])
    with pytest.raises(TypeError, match="integers"):
        char_tok.decode([3, "4"])
    with pytest.raises(TypeError, match="sequence of token ids"):
        char_tok.decode("34")


def test_decode_accepts_numpy_and_batches(char_tok):
    ids = char_tok.encode("网络")
    assert char_tok.decode(np.array(ids)) == "网络"
    assert char_tok.decode(ids[0]) == "网"
    assert char_tok.batch_decode([ids, ids[:1]]) == ["网络", "网"]
    arr = char_tok(["网络", "网"], padding=True, return_tensors="np").input_ids
    assert char_tok.batch_decode(arr, skip_special_tokens=True) == ["网络", "网"]


def test_convert_tokens_and_ids(char_tok):
    assert char_tok.convert_tokens_to_ids("大") == char_tok.encode("大")[0]
    assert char_tok.convert_tokens_to_ids(["<pad>", "no such"]) == [0, char_tok.unk_token_id]
    assert char_tok.convert_ids_to_tokens(0) == "<pad>"
    assert char_tok.all_special_ids == [0, 1, 2]


def test_all_three_share_the_base_class():
    from minigrad.tokenizers.base import Tokenizer
    assert all(issubclass(c, Tokenizer) for c in (CharTokenizer, BPETokenizer, BertTokenizer))


def test_tokenizers_import_nothing_else_from_minigrad():
    import pathlib
    import re
    pkg = pathlib.Path(__import__("minigrad.tokenizers").tokenizers.__file__).parent
    for f in pkg.glob("*.py"):
        src = f.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+(minigrad|\.\.|tokenizers|transformers|regex)\b", src, re.M), f
