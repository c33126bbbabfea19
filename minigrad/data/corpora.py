"""Readers for the corpora bundled in minigrad/data/corpora/ (sources and licences in
SOURCES.md there): 唐诗三百首 (Three Hundred Tang Poems), 100 Song poems, and the King James
Bible with each book's genre.  Text only: tokenizers turn it into ids."""
from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CORPORA_DIR = Path(__file__).resolve().parent / "corpora"


@dataclass(frozen=True)
class Poem:
    title: str
    author: str
    lines: tuple

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


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


def kjv_text(max_chars: int | None = None) -> str:
    """The Bible's text, one verse per line, cut to at most `max_chars` characters at a line end."""
    lines, total = [], 0
    for _, _, _, text in kjv_verses():
        if max_chars is not None and total + len(text) + 1 > max_chars:
            break
        lines.append(text)
        total += len(text) + 1
    return "\n".join(lines) + "\n"
