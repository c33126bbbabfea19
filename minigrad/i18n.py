"""The two languages of the lessons: English and Chinese (中文), chosen once, used everywhere.

The chapter minigrad teaches is written in Chinese; the lessons, the autograder and the demo
speak both.  Code stays English (names, the CLI's --help, the library's error messages); what a
learner reads in a lesson has two forms, written side by side so they cannot drift apart:

    from minigrad.i18n import tr
    plt.title(tr("Attention map", "注意力图"))
    print(tr(f"{n} tests passed", f"{n} 项测试通过"))

The language is, in this order of precedence:
    1. what `set_language("zh" | "en")` set (the CLI's `--lang`, a notebook's first cell);
    2. the environment variable MINIGRAD_LANG (``zh`` or ``en``);
    3. the locale: LC_ALL, LC_MESSAGES or LANG starting with ``zh`` (e.g. ``zh_CN.UTF-8``) -> zh;
    4. English.
"""
from __future__ import annotations

import os

__all__ = ["LANGUAGES", "language", "set_language", "tr", "Text", "is_chinese"]

LANGUAGES = ("en", "zh")
_chosen: str | None = None


def _normalise(lang: str) -> str:
    code = str(lang).strip().lower().replace("-", "_")
    if code.startswith("zh") or code in ("cn", "chinese", "中文"):
        return "zh"
    if code.startswith("en") or code in ("c", "posix", "english"):
        return "en"
    raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")


def language() -> str:
    """The current language, ``"en"`` or ``"zh"`` (see the module docstring for the order)."""
    if _chosen is not None:
        return _chosen
    env = os.environ.get("MINIGRAD_LANG", "").strip()
    if env:
        try:
            return _normalise(env)
        except ValueError:
            pass
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "").strip()
        if value:                       # the first one set decides, as in POSIX
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def set_language(lang: str | None) -> str:
    """Choose the language for this process (``None``: back to the environment's). Returns it."""
    global _chosen
    _chosen = None if lang is None else _normalise(lang)
    return language()


def tr(en: str, zh: str) -> str:
    """``en`` or ``zh``, whichever the current language is. Both are required: a message that
    has only one form is a bug (tests/test_i18n.py looks for them)."""
    if not isinstance(en, str) or not isinstance(zh, str) or not en or not zh:
        raise TypeError("tr(en, zh) needs two non-empty strings")
    return zh if language() == "zh" else en


class Text(str):
    """A string with both forms, chosen when it is shown: ``str(Text(en, zh))`` or formatting it
    gives the current language's form.  For messages defined at import time (task titles,
    nudges) before the language is known."""

    __slots__ = ("en", "zh")

    def __new__(cls, en: str, zh: str):
        if not en or not zh:
            raise TypeError("Text(en, zh) needs two non-empty strings")
        self = super().__new__(cls, en)
        self.en, self.zh = en, zh
        return self

    def __str__(self) -> str:
        return tr(self.en, self.zh)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __add__(self, other):
        return str(self) + other

    def __radd__(self, other):
        return other + str(self)

    def __repr__(self) -> str:
        return f"Text({self.en!r}, {self.zh!r})"


def is_chinese(text: str) -> bool:
    """True when ``text`` holds at least one CJK ideograph (used by the bilingual checks)."""
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)
