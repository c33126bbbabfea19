"""Readers for the corpora bundled in minigrad/data/corpora/ (sources and licences in
SOURCES.md there): 全唐诗 (Complete Tang Poems, 57,603 poems), 唐诗三百首 (Three Hundred Tang
Poems), 100 Song poems, the King James Bible with each book's genre, and the 和合本 (Chinese
Union Version), which aligns with it verse by verse.  Text only:
tokenizers turn it into ids.

Data cleaning (§3.2 预训练 · 数据收集): 全唐诗 comes with an editor's apparatus inside the
verse: variant readings in brackets (逻人（一作「叉」）横鸟道), footnotes (〖1〗...), □ for a
character lost in the source, composed characters spelled out ({𥫗/戢}), and some poems
followed by paragraphs of commentary.  A language model would learn all of that as if it were
poetry, so `clean_verse` keeps only verse: notes in （） are cut, quotation and title marks
dropped, and a poem is kept only if every line is Chinese characters and punctuation.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CORPORA_DIR = Path(__file__).resolve().parent / "corpora"


PUNCTUATION = "，。？！；：、"        # what separates the lines (句) of a Tang poem
_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]"     # CJK ideographs (+ Ext. A, B-G)
_SEGMENT = re.compile(f"[{PUNCTUATION}]")


@dataclass(frozen=True)
class Poem:
    """A poem: its title, author and lines; a line is usually a couplet, 两句, e.g.
    '床前明月光，疑是地上霜。'."""
    title: str
    author: str
    lines: tuple

    @property
    def text(self) -> str:
        """The lines joined by newlines: no blank lines, no carriage returns."""
        return "\n".join(self.lines)

    @property
    def line_lengths(self) -> tuple:
        """Characters between punctuation marks, in order: (5, 5, 5, 5) for a 五言绝句."""
        return tuple(len(s) for line in self.lines for s in _SEGMENT.split(line) if s)

    @property
    def form(self) -> str:
        """五言绝句 / 五言律诗 (4 / 8 lines of 5 characters), 七言绝句 / 七言律诗, 五言 or 七言
        (other numbers of lines), or 杂言 (mixed line lengths)."""
        lengths = self.line_lengths
        if len(set(lengths)) != 1 or lengths[0] not in (5, 7):
            return "杂言"
        five = lengths[0] == 5
        kind = {4: "绝句", 8: "律诗"}.get(len(lengths), "")
        return ("五言" if five else "七言") + kind


def _read(name: str) -> str:
    path = CORPORA_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"bundled corpus {path} is missing; reinstall minigrad")
    return path.read_text(encoding="utf-8")


def _parse_poems(text: str, title_re: str, author_re: str) -> list[Poem]:
    """A poem starts at a title line; blank lines inside a long poem separate stanzas."""
    poems, current = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if re.match(title_re, line):
            current = [re.sub(title_re, r"\1", line), None, []]
            poems.append(current)
        elif current is not None and line:
            if current[1] is None:
                current[1] = re.sub(author_re, r"\1", line).strip()
            else:
                current[2].append(line)
    return [Poem(t, a or "", tuple(lines)) for t, a, lines in poems if lines]


@lru_cache(maxsize=None)
def tang_poems() -> tuple:
    """The 313 poems of 唐诗三百首 as Poem(title, author, lines)."""
    return tuple(_parse_poems(_read("tang300.txt"), r"^《(.*)》$", r"^作者：(.*)$"))


@lru_cache(maxsize=None)
def song_poems() -> tuple:
    """95 Song-dynasty poems as Poem(title, author, lines) (author without dates)."""
    return tuple(_parse_poems(_read("song100.txt"), r"^题目:《(.*)》$", r"^作者:([^（(]*).*$"))


# ------------------------------------------------------------------------------------------------
# 全唐诗 (Complete Tang Poems)
# ------------------------------------------------------------------------------------------------
QUANTANGSHI = "quantangshi.jsonl.gz"
_NOTE = re.compile(r"（[^（）]*）")             # an editor's note: （一作「叉」）, （原卷作「椅」）
_APPARATUS = re.compile(r"[〖〗0-9○□{}/=|+…·●〈〉A-Za-zＡ-Ｚ\-\ue000-\uf8ff\u2e80-\u2fff]")  # notes, gaps, IDS
_MARKS = str.maketrans("", "", "[]［］「」『』《》")     # quotation and title marks; [] = supplied
_VERSE = re.compile(f"^(?:{_HAN}+[{PUNCTUATION}])+$")     # runs of characters, each closed by a mark


def clean_verse(paragraphs) -> tuple | None:
    """The lines of a poem as verse only, or None when the poem cannot be trusted as verse.

    None: a footnote, a number, □ (a lost character), a spelled-out character ({𥫗/戢}), a
    private-use code point, or a line that is not characters-and-punctuation after cleaning
    (commentary, a note that runs over a line break).  Otherwise notes in （） are cut,
    quotation and title marks dropped, and empty lines skipped.

    >>> clean_verse(["逻人（一作「叉」）横鸟道，江祖出鱼梁。"])
    ('逻人横鸟道，江祖出鱼梁。',)
    """
    if _APPARATUS.search("".join(paragraphs)):
        return None
    lines = []
    for p in paragraphs:
        line = p.replace("\r", "").strip()
        while _NOTE.search(line):                     # innermost first: notes can nest
            line = _NOTE.sub("", line)
        line = line.translate(_MARKS).replace(" ", "").replace("\u3000", "")
        if not re.search(_HAN, line):                 # nothing but punctuation left
            continue
        if not _VERSE.match(line):
            return None
        lines.append(line)
    return tuple(lines) or None


@lru_cache(maxsize=None)
def quantangshi_poems() -> tuple:
    """全唐诗 as Poem(title, author, lines), cleaned (`clean_verse`) and without repeats: the
    53,583 of its 57,603 poems that are verse only (1,460 carry an editor's apparatus, 1,653
    commentary or a note over a line break; 907 are a poem already kept, under another title
    or author).  About 3.1 M characters; forms: 五言律诗 14,696, 七言绝句 10,620, 五言 9,455,
    七言律诗 8,189, 杂言 4,891, 五言绝句 3,943, 七言 1,789."""
    path = CORPORA_DIR / QUANTANGSHI
    if not path.exists():
        raise FileNotFoundError(f"bundled corpus {path} is missing; reinstall minigrad")
    poems, seen = [], set()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for row in f:
            d = json.loads(row)
            lines = clean_verse(d["paragraphs"])
            if lines is None or lines in seen:
                continue
            seen.add(lines)
            poems.append(Poem(d["title"].strip(), d["author"].strip(), lines))
    return tuple(poems)


def tang_text() -> str:
    """All Tang poems as one text, poem bodies separated by blank lines (about 30k characters)."""
    return "\n\n".join(p.text for p in tang_poems()) + "\n"


@lru_cache(maxsize=None)
def kjv_books() -> dict:
    """abbreviation -> {'book', 'testament', 'genre'} for the 66 books."""
    rows = csv.DictReader(io.StringIO(_read("kjv_books.tsv")), delimiter="\t")
    return {r["abbrev"]: {"book": r["book"], "testament": r["testament"], "genre": r["genre"]}
            for r in rows}


@lru_cache(maxsize=None)
def kjv_verses() -> tuple:
    """All 31,102 verses as (book abbreviation, chapter, verse, text)."""
    path = CORPORA_DIR / "kjv.tsv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return tuple((r["book"], int(r["chapter"]), int(r["verse"]), r["text"]) for r in rows)


@lru_cache(maxsize=None)
def cuv_books() -> dict:
    """abbreviation -> {'book_zh', 'book_en'} for the 66 books of the 和合本 (same
    abbreviations as kjv_books: 'Ge' -> 创世纪 / Genesis)."""
    rows = csv.DictReader(io.StringIO(_read("cuv_books.tsv")), delimiter="\t")
    return {r["abbrev"]: {"book_zh": r["book_zh"], "book_en": r["book_en"]} for r in rows}


@lru_cache(maxsize=None)
def cuv_verses() -> tuple:
    """The 和合本 (Chinese Union Version, 1919, simplified characters): all 31,102 verses as
    (book abbreviation, chapter, verse, text), laid out as kjv_verses(), so the two join on
    (book, chapter, verse) into 31,100 English→Chinese pairs (data/translation.py)."""
    path = CORPORA_DIR / "cuv.tsv.gz"
    if not path.exists():
        raise FileNotFoundError(f"bundled corpus {path} is missing; reinstall minigrad")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return tuple((r["book"], int(r["chapter"]), int(r["verse"]), r["text"]) for r in rows)


def kjv_text(max_chars: int | None = None) -> str:
    """The Bible's text, one verse per line, cut to at most `max_chars` characters at a line end."""
    lines, total = [], 0
    for _, _, _, text in kjv_verses():
        if max_chars is not None and total + len(text) + 1 > max_chars:
            break
        lines.append(text)
        total += len(text) + 1
    return "\n".join(lines) + "\n"
