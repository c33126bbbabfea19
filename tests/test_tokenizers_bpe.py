"""Tokenizers, part 2: GPT-2 byte-level BPE (byte_level.py, bpe_train.py, bpe.py)."""

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad.tokenizers import BPETokenizer
from minigrad.tokenizers.bpe_train import learn_merges
from minigrad.tokenizers.byte_level import bytes_to_unicode, pretokenize, unicode_to_bytes

CORPUS = (
    "In the beginning God created the heaven and the earth. And the earth was without form, and void; "
    "and darkness was upon the face of the deep. And God said, Let there be light: and there was light.\n"
    "It's 2022, I'm sure they'll say we've done it. 大模型是包含数十亿甚至数万亿参数的巨型神经网络模型。"
    "这些模型在海量数据上进行预训练，学习到丰富的知识表示。 Transformer 的核心思想是使用自注意力机制。\n"
) * 8


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer.train(CORPUS, vocab_size=400)


# ------------------------------------------------------------------ byte level
def test_bytes_to_unicode_table():
    table = bytes_to_unicode()
    assert len(table) == 256 and len(set(table.values())) == 256
    assert table[ord("!")] == "!" and table[ord("A")] == "A"
    assert table[0] == "Ā" and table[10] == "Ċ" and table[32] == "Ġ" and table[127] == "ġ" and table[173] == "Ń"
    assert sum(table[b] == chr(b) for b in range(256)) == 188
    assert list(table)[:3] == [33, 34, 35]          # the printable bytes come first: GPT-2's id order
    assert all(unicode_to_bytes()[c] == b for b, c in table.items())


@pytest.mark.parametrize("text, pieces", [
    ("Hello!! I'm Andrej Karpathy. It's 2022. w00t :D 🤗",
     ["Hello", "!!", " I", "'m", " Andrej", " Karpathy", ".", " It", "'s", " 2022", ".", " w", "00", "t", " :", "D",
      " 🤗"]),                                                         # minGPT's example
    (" the  is", [" the", " ", " is"]),                                # \s+(?!\S) leaves one space for the word
    ("I'M don't", ["I", "'", "M", " don", "'t"]),                      # contractions are case-sensitive
    ("a\n\nb  ", ["a", "\n", "\n", "b", "  "]),                       # the last newline stays alone too
    ("snake_case x²½ Ⅻ", ["snake", "_", "case", " x", "²½", " Ⅻ"]),     # _ is "other"; No/Nl are numbers
    ("naïve e\u0301 中文字符", [" naïve"[1:], " e", "\u0301", " 中文字符"]),  # a combining mark is not a letter
    ("\x1c\x1dx", ["\x1c\x1d", "x"]),                                  # U+001C..1F are not White_Space
    ("", []),
])
def test_pretokenize_known_splits(text, pieces):
    assert pretokenize(text) == pieces


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_pretokenize_covers_the_text(text):
    assert "".join(pretokenize(text)) == text


# ------------------------------------------------------------------ training
def test_learn_merges_tiny_example():
    # words "aaab" x1 and "ab" x2 over symbols a=0, b=1: (a, b) occurs 3 times, (a, a) twice
    tokens = ["a", "b"]
    words, freqs = [[0, 0, 0, 1], [0, 1]], [1, 2]
    merges = learn_merges(words, freqs, tokens, target_size=4)
    assert merges == [(0, 1, 2), (0, 0, 3)]
    assert tokens == ["a", "b", "ab", "aa"] and words == [[3, 2], [2]]


def test_learn_merges_ties_are_deterministic():
    tokens = ["x", "y", "z"]
    merges = learn_merges([[2, 0], [0, 1]], [1, 1], tokens, target_size=4)
    assert merges == [(0, 1, 3)]                 # same count: the smaller id pair wins


def test_train_vocab_layout(bpe):
    assert bpe.vocab_size == 400 and len(bpe.merges) == 400 - 256 - 1
    assert bpe.convert_ids_to_tokens(list(range(256))) == list(bytes_to_unicode().values())
    assert bpe.convert_tokens_to_ids("<|endoftext|>") == 399
    assert bpe.eos_token == bpe.bos_token == bpe.unk_token == "<|endoftext|>" and bpe.pad_token is None
    assert bpe.all_special_tokens == ["<|endoftext|>"]
    assert "Ġthe" in bpe.get_vocab()          # the most frequent English word, with its space
    assert bpe.merges[0] in {("Ġ", "t"), ("h", "e"), ("t", "h"), ("Ġ", "a")}


def test_train_compresses(bpe):
    text = "And God said, Let there be light: and there was light."
    assert len(bpe.encode(text)) < len(text.encode("utf-8")) / 2
    assert bpe.tokenize(" the earth") == ["Ġthe", "Ġearth"]


def test_train_with_extra_special_tokens():
    tok = BPETokenizer.train("ab ab <|sep|> ab" * 3, 260, special_tokens=["<|endoftext|>", "<|sep|>"])
    assert tok.vocab_size == 260 and tok.all_special_tokens == ["<|endoftext|>", "<|sep|>"]
    assert "<|" not in "".join(tok.convert_ids_to_tokens(list(range(258))))   # never learned from the text
    assert tok.tokenize("ab<|sep|>") == ["ab", "<|sep|>"]


def test_train_stops_early_on_a_tiny_text():
    tok = BPETokenizer.train("abc", 1000)
    assert tok.vocab_size == 256 + 2 + 1        # "ab", "abc" (or "bc", "abc"), then nothing is left to merge


def test_train_bad_arguments():
    with pytest.raises(ValueError, match="vocab_size"):
        BPETokenizer.train("abc", 200)
    with pytest.raises(TypeError, match="str"):
        BPETokenizer.train(b"abc", 300)


def test_train_is_fast_enough():
    text = (CORPUS + " ".join(f"word{i} w{i % 97}x{i % 13}" for i in range(20000))) * 2
    start = time.perf_counter()
    BPETokenizer.train(text[:400_000], 1024)
    assert time.perf_counter() - start < 15      # the benchmark does 1 MB; this is a coarse guard


# ------------------------------------------------------------------ encode / decode
@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_any_text(bpe, text):
    assert bpe.decode(bpe.encode(text)) == text


ALPHABETS = {
    "emoji": st.sampled_from("😀🤗👍🏽👨‍👩‍👧🇨🇳❤️\u200d"),
    "cjk": st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    "combining": st.sampled_from("e\u0301a\u0308\u0327\u20dd\u0323 "),
    "control": st.characters(max_codepoint=0x1F) | st.sampled_from("\x7f\x85\u2028\ufeff\u200b"),
    "mixed": st.characters(codec="utf-8"),
}


@pytest.mark.parametrize("kind", list(ALPHABETS))
def test_round_trip_hard_text(bpe, kind):
    @settings(max_examples=60, deadline=None)
    @given(st.text(ALPHABETS[kind]))
    def check(text):
        ids = bpe.encode(text)
        assert bpe.decode(ids) == text
        assert all(0 <= i < bpe.vocab_size for i in ids)
    check()


def test_round_trip_examples(bpe):
    for text in ["", " ", "\n", "<|endoftext|>", "a<|endoftext|>b<|endoftext|>", "\x00", "🤗" * 3, "e\u0301",
                 "中文, English, 123 and ²."]:
        assert bpe.decode(bpe.encode(text)) == text


def test_special_token_in_text(bpe):
    ids = bpe.encode("the end<|endoftext|>The")
    assert ids.count(bpe.eos_token_id) == 1
    assert bpe.decode(ids, skip_special_tokens=True) == "the endThe"


def test_decode_invalid_utf8_is_replaced(bpe):
    # one byte of a 3-byte character alone is not valid UTF-8: it becomes U+FFFD, as in GPT-2
    first_byte = bpe.convert_tokens_to_ids(bytes_to_unicode()["中".encode()[0]])
    assert bpe.decode([first_byte]) == "\ufffd"


def test_lone_surrogate_is_a_clear_error(bpe):
    with pytest.raises(ValueError, match="surrogate U\\+D800"):
        bpe.encode("a\ud800")


def test_encoding_cache_is_used(bpe):
    bpe._cache.clear()
    bpe.encode("light light light")
    assert set(bpe._cache) == {"light", " light"}


def test_call_with_padding(bpe):
    with pytest.raises(ValueError, match="pad_token"):
        bpe(["a", "a b c"], padding=True)
    bpe.pad_token = bpe.eos_token
    try:
        enc = bpe(["light", "the light was good"], padding=True, return_tensors="np")
        assert enc.input_ids.shape[0] == 2 and enc.attention_mask[0].sum() == len(bpe.encode("light"))
        assert bpe.batch_decode(enc.input_ids, skip_special_tokens=True) == ["light", "the light was good"]
    finally:
        bpe.pad_token = None
    with pytest.raises(ValueError, match="not in the vocabulary"):
        bpe.pad_token = "<pad>"


def test_decode_unknown_id(bpe):
    with pytest.raises(ValueError, match="unknown token id 400"):
        bpe.decode([1, 400])


# ------------------------------------------------------------------ files
def test_save_load_round_trip(bpe, tmp_path):
    bpe.save(str(tmp_path))
    lines = (tmp_path / "merges.txt").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "#version: 0.2" and lines[-1] == "" and len(lines) == len(bpe.merges) + 2
    assert lines[1] == " ".join(bpe.merges[0])
    vocab = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert vocab == bpe.get_vocab() and vocab["<|endoftext|>"] == 399
    again = BPETokenizer.load(str(tmp_path))
    assert again.get_vocab() == bpe.get_vocab() and again.merges == bpe.merges
    assert again.all_special_tokens == ["<|endoftext|>"]
    assert again.encode(CORPUS) == bpe.encode(CORPUS)


def _write(tmp_path, vocab, merges_text):
    (tmp_path / "vocab.json").write_text(vocab if isinstance(vocab, str) else json.dumps(vocab), encoding="utf-8")
    (tmp_path / "merges.txt").write_text(merges_text, encoding="utf-8")


def _byte_vocab():
    return {c: i for i, c in enumerate(bytes_to_unicode().values())}


def test_load_errors(tmp_path):
    vocab = {**_byte_vocab(), "ab": 256}
    _write(tmp_path, vocab, "#version: 0.2\na b\nab\n")
    with pytest.raises(ValueError, match=r"merges.txt, line 3: expected two tokens.*'ab'"):
        BPETokenizer.load(str(tmp_path))
    _write(tmp_path, vocab, "#version: 0.2\na  b\n")
    with pytest.raises(ValueError, match="line 2"):
        BPETokenizer.load(str(tmp_path))
    _write(tmp_path, vocab, "#version: 0.2\na c\n")
    with pytest.raises(ValueError, match="merges.txt, line 2 .*merged token 'ac' is not in the vocabulary"):
        BPETokenizer.load(str(tmp_path))
    _write(tmp_path, vocab, "#version: 0.2\na b\na b\n")
    with pytest.raises(ValueError, match="merges.txt, line 3 .*listed twice"):
        BPETokenizer.load(str(tmp_path))
    _write(tmp_path, '{"a": 0, "a": 1}', "")
    with pytest.raises(ValueError, match=r"vocab.json: the token 'a' appears twice \(ids 0 and 1\)"):
        BPETokenizer.load(str(tmp_path))
    _write(tmp_path, {**_byte_vocab(), "xyz": 300}, "")
    with pytest.raises(ValueError, match="vocab.json: token 'xyz' has id 300; ids must be the integers 0..256"):
        BPETokenizer.load(str(tmp_path))
    _write(tmp_path, {"a": 0}, "")
    with pytest.raises(ValueError, match="vocab.json: the byte token '!' \\(byte 33\\) is missing"):
        BPETokenizer.load(str(tmp_path))
    _write(tmp_path, "[1, 2", "")
    with pytest.raises(ValueError, match="not valid JSON"):
        BPETokenizer.load(str(tmp_path))
    _write(tmp_path, vocab, "#version: 0.2\na b\n")
    assert BPETokenizer.load(str(tmp_path)).tokenize("ab") == ["ab"]


def test_no_endoftext_means_no_roles(tmp_path):
    _write(tmp_path, _byte_vocab(), "#version: 0.2\n")
    tok = BPETokenizer.load(str(tmp_path))
    assert tok.eos_token is None and tok.all_special_tokens == [] and tok.vocab_size == 256
    assert tok.decode(tok.encode("héllo")) == "héllo"
