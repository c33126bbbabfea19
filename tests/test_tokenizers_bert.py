"""Tokenizers, part 3: BERT's WordPiece (wordpiece.py, bert.py)."""

import numpy as np
import pytest

from minigrad.tokenizers import BertTokenizer
from minigrad.tokenizers.wordpiece import BasicTokenizer, WordpieceTokenizer, is_cjk_char, is_punctuation

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "this", "is", "a", "great", "movie", "!", ",", ".", "'", "hello", "world", "un", "##aff", "##able",
         "na", "##ive", "cafe", "don", "t", "s", "$", "5", "00", "3", "14", "^", "`", "¿", "—", "野", "口", "里", "佳",
         "x", "y", "z", "ab", "xy", "##z", "大", "模", "型", "我", "爱", "hel", "##lo", "##l", "##o", "h", "e", "l",
         "o", "aa", "##a", "i"]
VOCAB = SPECIALS + WORDS


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bert") / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def tok(vocab_file):
    return BertTokenizer(vocab_file)


def test_vocab_and_special_tokens(tok):
    assert tok.vocab_size == len(VOCAB)
    assert [tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id] == \
        [0, 1, 2, 3, 4]
    assert tok.convert_tokens_to_ids("movie") == VOCAB.index("movie")
    assert tok.convert_tokens_to_ids("nope") == tok.unk_token_id
    assert sorted(tok.all_special_ids) == [0, 1, 2, 3, 4]


# The behaviour matrix verified against Hugging Face and Google (research notes, interop_hf.md §3.5).
@pytest.mark.parametrize("text, tokens", [
    ("This is a great movie!", "this is a great movie !"),
    ("Héllo, WORLD!!", "hello , world ! !"),
    ("naïve café", "na ##ive cafe"),
    ("don't", "don ' t"),
    ("$5.00", "$ 5 . 00"),
    ("3.14", "3 . 14"),
    ("^`", "^ `"),
    ("¿—", "¿ —"),
    ("hello\u00a0world", "hello world"),            # NBSP is whitespace (Zs)
    ("a\u200bb", "ab"),                             # zero-width space is Cf: removed
    ("a\u2060b", "ab"),
    ("a\u00adb", "ab"),                             # soft hyphen: removed
    ("野口里佳", "野 口 里 佳"),                      # each CJK ideograph is a word
    ("我爱大模型", "我 爱 大 模 型"),
    ("x\u0085y", "xy"),                             # NEL is Cc: removed
    ("x\x00y\ufffdz", "xy ##z"),
    ("\ue000", ""),                                 # private use (Co): removed by HF
    ("unaffable", "un ##aff ##able"),
    ("hello", "hello"),                             # the whole word first, before pieces
    ("xyz", "xy ##z"),
    ("qqq hello", "[UNK] hello"),                   # no segmentation: the whole word is [UNK]
    ("helq", "[UNK]"),                              # a word that starts well but fails is one [UNK]
    ("[CLS] hello [SEP]", "[CLS] hello [SEP]"),     # special tokens in the text stay whole
    ("hello[SEP]world", "hello [SEP] world"),
    ("[cls]", "[UNK] [UNK] [UNK]"),                 # lower-case "[cls]" is not special: [ cls ]
    ("İs", "is"),
    ("", ""),
    (" \t\n ", ""),
])
def test_tokenize_matrix(tok, text, tokens):
    assert tok.tokenize(text) == tokens.split()


def test_100_character_rule(tok):
    assert tok.tokenize("a" * 100) == ["aa"] + ["##a"] * 98
    assert tok.tokenize("a" * 101) == ["[UNK]"]


def test_cjk_ranges():
    assert is_cjk_char(ord("中")) and is_cjk_char(0x3400) and is_cjk_char(0x2B820) and is_cjk_char(0x2F800)
    assert not is_cjk_char(ord("あ")) and not is_cjk_char(ord("한")) and not is_cjk_char(ord("a"))


def test_punctuation_definition():
    assert all(is_punctuation(c) for c in "$^`<=>+|~!,.。、「」—¿")
    assert not any(is_punctuation(c) for c in "a1 中\t")


def test_basic_tokenizer_options():
    assert BasicTokenizer(do_lower_case=False).tokenize("Héllo World") == ["Héllo", "World"]
    assert BasicTokenizer(do_lower_case=False, strip_accents=True).tokenize("Héllo") == ["Hello"]
    assert BasicTokenizer(strip_accents=False).tokenize("Héllo") == ["héllo"]
    assert BasicTokenizer(tokenize_chinese_chars=False).tokenize("大模型") == ["大模型"]
    assert BasicTokenizer(never_split=["[CLS]"]).tokenize("[CLS] x") == ["[CLS]", "x"]


def test_wordpiece_alone():
    wp = WordpieceTokenizer({"un", "##aff", "##able", "[UNK]"})
    assert wp.tokenize("unaffable unable unaffablex") == ["un", "##aff", "##able", "un", "##able", "[UNK]"]


def test_encode_single_and_pair(tok):
    ids = tok.encode("hello world")
    assert ids == [2, tok.convert_tokens_to_ids("hello"), tok.convert_tokens_to_ids("world"), 3]
    enc = tok("hello world", "this movie")
    assert tok.convert_ids_to_tokens(enc.input_ids) == \
        ["[CLS]", "hello", "world", "[SEP]", "this", "movie", "[SEP]"]
    assert enc.token_type_ids == [0, 0, 0, 0, 1, 1, 1]
    assert enc.attention_mask == [1] * 7
    assert list(enc) == ["input_ids", "token_type_ids", "attention_mask"]
    assert tok.encode("hello", add_special_tokens=False) == [tok.convert_tokens_to_ids("hello")]


def test_pair_truncation_longest_first(tok):
    # research notes §3.4: ("This is a great movie!", "hello world"), max_length=8
    enc = tok("This is a great movie!", "hello world", truncation=True, max_length=8)
    assert tok.convert_ids_to_tokens(enc.input_ids) == \
        ["[CLS]", "this", "is", "a", "[SEP]", "hello", "world", "[SEP]"]
    # equal lengths and an odd budget: the second segment gets the extra token (HF's Rust rule)
    enc = tok("x y z", "a a a", truncation="longest_first", max_length=6)
    assert tok.convert_ids_to_tokens(enc.input_ids) == ["[CLS]", "x", "[SEP]", "a", "a", "[SEP]"]
    enc = tok("x y z", "a a a", truncation="only_second", max_length=7)
    assert tok.convert_ids_to_tokens(enc.input_ids) == ["[CLS]", "x", "y", "z", "[SEP]", "a", "[SEP]"]
    with pytest.raises(ValueError, match="second sequence"):
        tok("x y z", "a", truncation="only_second", max_length=5)
    with pytest.raises(ValueError, match="truncation must be"):
        tok("x", "a", truncation="sideways", max_length=3)


def test_single_truncation_keeps_cls_and_sep(tok):
    enc = tok("this is a great movie", truncation=True, max_length=4)
    assert tok.convert_ids_to_tokens(enc.input_ids) == ["[CLS]", "this", "is", "[SEP]"]
    assert tok("this is a great movie", truncation=True).input_ids == tok.encode("this is a great movie")


def test_batch_padding(tok):
    enc = tok(["hello world", "this is a great movie"], ["x", "y z"], padding=True, return_tensors="np")
    assert enc.input_ids.shape == enc.token_type_ids.shape == enc.attention_mask.shape == (2, 10)
    assert enc.input_ids[0, -4:].tolist() == [0, 0, 0, 0]
    assert enc.attention_mask[0].tolist() == [1] * 6 + [0] * 4
    assert enc.token_type_ids[0].tolist() == [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]
    assert enc.input_ids.dtype == np.int64
    fixed = tok(["hello"], padding="max_length", max_length=6)
    assert fixed.input_ids == [[2, tok.convert_tokens_to_ids("hello"), 3, 0, 0, 0]]


def test_decode(tok):
    ids = tok.encode("Unaffable, hello world!")
    assert tok.decode(ids) == "[CLS] unaffable, hello world! [SEP]"
    assert tok.decode(ids, skip_special_tokens=True) == "unaffable, hello world!"
    assert tok.decode(ids, clean_up_tokenization_spaces=False) == "[CLS] unaffable , hello world ! [SEP]"
    assert tok.decode(tok.encode("don't"), skip_special_tokens=True) == "don't"
    assert tok.convert_tokens_to_string(["un", "##aff", "##able", "x"]) == "unaffable x"
    assert tok.batch_decode([tok.encode("hello"), tok.encode("world")], skip_special_tokens=True) == \
        ["hello", "world"]
    with pytest.raises(ValueError, match=f"unknown token id {len(VOCAB)}"):
        tok.decode([2, len(VOCAB)])


def test_model_max_length_and_from_pretrained(tmp_path, tok):
    tok.save(str(tmp_path))
    assert (tmp_path / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1] == VOCAB
    (tmp_path / "tokenizer_config.json").write_text('{"do_lower_case": false, "model_max_length": 5}')
    cased = BertTokenizer.from_pretrained(str(tmp_path))
    assert cased.get_vocab() == tok.get_vocab() and cased.model_max_length == 5
    assert cased.tokenize("Hello") == ["[UNK]"]
    assert len(cased("this is a great movie", truncation=True).input_ids) == 5
    assert cased(["a", "a a"], padding="max_length").input_ids[0] == [2, 8, 3, 0, 0]


def test_vocab_file_errors(tmp_path):
    dup = tmp_path / "dup.txt"
    dup.write_text("\n".join(SPECIALS + ["a", "b", "a"]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"dup.txt, line 8: token 'a' is already on line 6"):
        BertTokenizer(str(dup))
    missing = tmp_path / "missing.txt"
    missing.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing.txt: the special token '\[MASK\]' \(mask_token\) is missing"):
        BertTokenizer(str(missing))
    with pytest.raises(FileNotFoundError):
        BertTokenizer(str(tmp_path / "nope.txt"))
    with pytest.raises(TypeError, match="path"):
        BertTokenizer(None)


def test_bad_input(tok):
    with pytest.raises(TypeError, match="str"):
        tok(42)
    with pytest.raises(TypeError, match="text_pair"):
        tok("a", text_pair=3)


# --- the punctuation split: the same pieces as the definition, on long words too ---------------
def _split_by_definition(word):
    """Every punctuation character alone; the runs between them kept whole."""
    pieces, run = [], []
    for ch in word:
        if is_punctuation(ch):
            if run:
                pieces.append("".join(run))
                run = []
            pieces.append(ch)
        else:
            run.append(ch)
    return pieces + (["".join(run)] if run else [])


@pytest.mark.parametrize("word", ["", "abc", ",", "a,b", ",,a", "a,,", "don't", "(x)", "é!ü", "a" * 3000 + "!" + "b" * 5])
def test_punctuation_split_pieces(word):
    assert BasicTokenizer()._split_on_punctuation(word) == _split_by_definition(word)


def test_punctuation_split_of_a_megabyte_without_spaces():
    """A run is cut out by index: 1 MB with no space or punctuation was quadratic (33 s on one
    core, string concatenation); benchmarks/README.md has the figures.  Checked here for the
    result, not the time."""
    word = "x" * 1_000_000
    assert BasicTokenizer()._split_on_punctuation(word) == [word]
    pieces = BasicTokenizer()._split_on_punctuation(word[:500_000] + "." + word[:7])
    assert [len(p) for p in pieces] == [500_000, 1, 7]
