"""GPT-2's byte level: the byte-to-unicode table and the pre-tokenisation regex.

Chapter §3.2 (预训练): before a model can be pre-trained on "海量数据", the text must become
integers. A byte-level BPE tokenizer never meets an unknown character, because it works on
the UTF-8 *bytes* of the text: every string, Chinese, emoji or control character, is a
sequence of the 256 possible bytes.

Two pieces of GPT-2 live here (``openai/gpt-2:src/encoder.py``):

1. ``bytes_to_unicode()``: GPT-2 stores its tokens as *printable* strings. Each byte is given
   a visible stand-in character: the 188 printable bytes map to themselves, the other 68
   (space, newline, control bytes, ...) map to ``chr(256 + n)``. So a space becomes ``"Ġ"``
   (U+0120) and a newline ``"Ċ"``; the token " the" is written ``"Ġthe"`` in ``vocab.json``.

2. The pre-tokenisation regex, which cuts text into "words" that BPE never merges across::

       's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

   GPT-2 runs it with the third-party ``regex`` module, because the standard library ``re``
   has no ``\\p{L}`` (letter) or ``\\p{N}`` (number). We rebuild it with ``re`` alone:

   * In ``re``, ``\\w`` matches ``str.isalnum()`` or ``_``, and ``isalnum()`` is exactly
     "Unicode category L* or N*" (checked over every code point: ``isalpha()`` is L*, and
     ``isnumeric()`` outside L* is N*). So ``\\w`` = L ∪ N ∪ {``_``}.
   * ``\\p{N}`` is an explicit character class, built once from ``unicodedata`` (about 1,800
     code points in some 130 ranges).
   * ``\\p{L}`` is then ``[^\\W_<N>]``: word characters that are neither ``_`` nor numbers.
   * ``[^\\s\\p{L}\\p{N}]`` is ``[^\\s\\w]|_``.
   * ``\\s`` must be Unicode's *White_Space* property (what ``regex`` uses), not ``re``'s
     ``\\s``: ``re`` also counts U+001C..U+001F (information separators) as space. We spell
     the 25 White_Space code points out.

   Known difference: the classes follow the Unicode version of Python's ``unicodedata``
   (14.0 for Python 3.11). A character assigned only in a later Unicode version (say, a CJK
   Extension I ideograph) is "unassigned" here and falls into the "other" class, while a
   newer ``regex`` would call it a letter. The tests compare against ``regex`` on every code
   point that Python knows.
"""

from __future__ import annotations

import functools
import re
import sys

__all__ = ["bytes_to_unicode", "unicode_to_bytes", "gpt2_pretokenizer", "pretokenize", "GPT2_SPLIT_PATTERN"]

#: The pattern as GPT-2 wrote it (for the ``regex`` module); kept for reference and tests.
GPT2_SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

#: Unicode's White_Space property (PropList.txt), written as the body of a character class.
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


@functools.lru_cache(maxsize=None)
def bytes_to_unicode() -> dict[int, str]:
    """Map each byte 0..255 to a printable unicode character (GPT-2's table).

    The dict's order matters: it is the order of the first 256 ids of GPT-2's vocabulary
    (the 188 printable bytes first, then the 68 shifted ones).
    """
    printable = (list(range(ord("!"), ord("~") + 1))
                 + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    table = {b: chr(b) for b in printable}
    n = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + n)
            n += 1
    return table


@functools.lru_cache(maxsize=None)
def unicode_to_bytes() -> dict[str, int]:
    """The inverse table: stand-in character -> byte."""
    return {c: b for b, c in bytes_to_unicode().items()}


def _class_body(code_points: list[int]) -> str:
    """Write sorted code points as the inside of a regex character class, merging runs into ranges."""
    parts = []
    i = 0
    while i < len(code_points):
        j = i
        while j + 1 < len(code_points) and code_points[j + 1] == code_points[j] + 1:
            j += 1
        lo, hi = code_points[i], code_points[j]
        parts.append(_escape(lo) if lo == hi else f"{_escape(lo)}-{_escape(hi)}")
        i = j + 1
    return "".join(parts)


def _escape(cp: int) -> str:
    return f"\\U{cp:08x}" if cp > 0xFFFF else f"\\u{cp:04x}"


@functools.lru_cache(maxsize=None)
def number_class_body() -> str:
    """Character-class body for ``\\p{N}`` (categories Nd, Nl, No), from ``unicodedata``."""
    # Same set as ``unicodedata.category(c)[0] == "N"`` (checked over all code points in the
    # tests), but five times faster to compute: about 0.1 s, done once, on first use.
    numbers = [cp for cp in range(sys.maxunicode + 1)
               if chr(cp).isnumeric() and not chr(cp).isalpha()]
    return _class_body(numbers)


@functools.lru_cache(maxsize=None)
def gpt2_pretokenizer() -> re.Pattern:
    """Compile GPT-2's split pattern with the standard library ``re`` (see the module docstring)."""
    ws, num = WHITE_SPACE, number_class_body()
    letter = rf"[^\W_{num}]"            # \p{L}
    number = rf"[{num}]"                # \p{N}
    other = rf"(?:[^{ws}\w]|_)"         # [^\s\p{L}\p{N}]
    pattern = (rf"'s|'t|'re|'ve|'m|'ll|'d"
               rf"| ?{letter}+| ?{number}+| ?{other}+"
               rf"|[{ws}]+(?![^{ws}])|[{ws}]+")
    return re.compile(pattern)


def pretokenize(text: str) -> list[str]:
    """Cut ``text`` into GPT-2 pre-tokens. ``"".join(pretokenize(t)) == t`` for every string."""
    return gpt2_pretokenizer().findall(text)
