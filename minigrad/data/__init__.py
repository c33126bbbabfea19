"""Bundled corpora (§3.2 预训练: 数据收集) and helpers to read them.

    from minigrad.data import tang_poems, tang_text, kjv_verses, kjv_text
"""
from .corpora import CORPORA_DIR, kjv_books, kjv_text, kjv_verses, song_poems, tang_poems, tang_text

__all__ = ["CORPORA_DIR", "tang_poems", "tang_text", "song_poems", "kjv_verses", "kjv_books", "kjv_text"]
