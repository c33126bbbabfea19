"""BERT's two tokenisation stages: BasicTokenizer (clean, split) and WordPiece (sub-words).

Chapter §3.2 (预训练): BERT was pre-trained on text cut into WordPiece tokens. To feed a
pre-trained BERT, a text must be cut *exactly* as it was in pre-training, so this file
follows Hugging Face's ``BertTokenizer`` (``BasicTokenizer`` + ``WordpieceTokenizer``, from
Google's ``tokenization.py``) step by step:

1. clean: drop ``\\x00``, ``\\ufffd`` and control characters (every category C*, except
   ``\\t \\n \\r``); turn whitespace (space, ``\\t \\n \\r``, category Zs) into a space;
2. put spaces around every CJK ideograph, so each Chinese character is a word of its own;
3. NFC-normalise, split on whitespace;
4. per word: lower-case, strip accents (NFD, then drop the non-spacing marks, category Mn);
5. split off every punctuation character (ASCII ``!``..``/``, ``:``..``@``, ``[``..`` ` ``,
   ``{``..``~``, plus every Unicode category P*);
6. WordPiece each word: greedy longest-match-first, pieces after the first carry ``##``;
   a word with no segmentation, or longer than 100 characters, becomes ``[UNK]``.

Example: ``"Unaffable!"`` → ``un ##aff ##able !``.

Checked against Hugging Face (tests/test_tokenizers_interop.py): identical to the pure-Python
``BertTokenizerLegacy``; identical to the Rust-backed ``BertTokenizer`` of transformers v5 except
on characters its older Unicode tables do not know. A scan of every code point that Python 3.11
has assigned found 759 such characters (marks, punctuation and letters added in recent Unicode
versions, and U+2B820..U+2B91F, see ``CJK_RANGES``); the Rust side treats them differently.
"""

from __future__ import annotations

import unicodedata

__all__ = ["BasicTokenizer", "WordpieceTokenizer", "is_whitespace", "is_control", "is_punctuation",
           "is_cjk_char"]

# The CJK Unified Ideographs blocks, as in Google's and Hugging Face's Python code. (The Rust
# tokenizer behind HF's fast BertTokenizer starts Extension E at 0x2B920 instead of 0x2B820, so
# U+2B820..U+2B91F are split here but not there.) Hiragana, Katakana and Hangul are not included.
CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)


def is_whitespace(ch: str) -> bool:
    """Space, tab, newline, carriage return, or a space separator (category Zs, e.g. U+00A0)."""
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch: str) -> bool:
    """A control/format/unassigned/private-use character (category C*), but not tab or newline."""
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_punctuation(ch: str) -> bool:
    """ASCII non-alphanumeric printable characters (so ``$ ^ ` < = > + | ~`` too), or category P*."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk_char(cp: int) -> bool:
    """Is code point ``cp`` a CJK ideograph (see ``CJK_RANGES``)?"""
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


class BasicTokenizer:
    """Steps 1-5: cleaning, CJK splitting, lower-casing, accent stripping, punctuation splitting.

    ``strip_accents=None`` means "strip when lower-casing" (BERT uncased).
    ``never_split``: tokens (the special tokens) that pass through untouched.
    """

    def __init__(self, do_lower_case: bool = True, never_split=(), tokenize_chinese_chars: bool = True,
                 strip_accents: bool | None = None):
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split)
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents

    def tokenize(self, text: str) -> list[str]:
        text = self._clean_text(text)
        if self.tokenize_chinese_chars:
            text = self._space_cjk(text)
        text = unicodedata.normalize("NFC", text)
        pieces = []
        for word in text.split():
            if word not in self.never_split:
                if self.do_lower_case:
                    word = word.lower()
                    if self.strip_accents is not False:
                        word = self._strip_accents(word)
                elif self.strip_accents:
                    word = self._strip_accents(word)
            pieces.extend(self._split_on_punctuation(word))
        return " ".join(pieces).split()

    @staticmethod
    def _clean_text(text: str) -> str:
        out = []
        for ch in text:
            if ch == "\x00" or ch == "\ufffd" or is_control(ch):
                continue
            out.append(" " if is_whitespace(ch) else ch)
        return "".join(out)

    @staticmethod
    def _space_cjk(text: str) -> str:
        return "".join(f" {ch} " if is_cjk_char(ord(ch)) else ch for ch in text)

    @staticmethod
    def _strip_accents(word: str) -> str:
        return "".join(ch for ch in unicodedata.normalize("NFD", word) if unicodedata.category(ch) != "Mn")

    def _split_on_punctuation(self, word: str) -> list[str]:
        if word in self.never_split:
            return [word]
        # Runs of other characters are cut out by index (appending to a string that a list
        # also holds copies it every time: quadratic in the length of a run).
        pieces: list[str] = []
        start = 0                                  # where the current run began
        for i, ch in enumerate(word):
            if is_punctuation(ch):
                if start < i:
                    pieces.append(word[start:i])
                pieces.append(ch)
                start = i + 1
        if start < len(word):
            pieces.append(word[start:])
        return pieces


class WordpieceTokenizer:
    """Step 6: greedy longest-match-first segmentation of one word into vocabulary pieces."""

    def __init__(self, vocab, unk_token: str = "[UNK]", max_input_chars_per_word: int = 100, prefix: str = "##"):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word
        self.prefix = prefix

    def tokenize(self, text: str) -> list[str]:
        out: list[str] = []
        for word in text.split():
            out.extend(self.tokenize_word(word))
        return out

    def tokenize_word(self, word: str) -> list[str]:
        """``"unaffable"`` → ``["un", "##aff", "##able"]``; no segmentation → ``[unk_token]``."""
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:                       # the longest piece in the vocabulary ...
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            else:
                return [self.unk_token]              # ... or the whole word is unknown
            pieces.append(piece)
            start = end
        return pieces
