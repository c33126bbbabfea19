"""The character tokenizer's unknown token: rare characters out of the vocabulary, and the
characters a text has that the vocabulary lacks."""
import pytest

from minigrad.tokenizers import CharTokenizer


def test_min_count_leaves_rare_characters_to_unk():
    tok = CharTokenizer.from_text("aaabbc", special_tokens=["<unk>"], min_count=2, unk_token="<unk>")
    assert tok.get_vocab() == {"<unk>": 0, "a": 1, "b": 2}
    assert tok.encode("abcz") == [1, 2, 0, 0]
    with pytest.raises(ValueError, match="needs an unk_token"):
        CharTokenizer.from_text("aaabbc", min_count=2)


def test_unknown_characters_in_order_without_special_tokens():
    tok = CharTokenizer.from_text("床前明月光", special_tokens=["<|endoftext|>"])
    assert tok.unknown_characters("床前看月光<|endoftext|>霜看") == ["看", "霜"]
    assert tok.unknown_characters("明月") == []
