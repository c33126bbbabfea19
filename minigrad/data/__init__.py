"""Bundled corpora (§3.2 预训练: 数据收集) and datasets built on them.

    from minigrad.data import tang_poems, tang_text, kjv_verses, kjv_text
    from minigrad.data import LMData, TokenWindows, kjv_genre, tang_form, tang_author, sentiment
"""
from .corpora import CORPORA_DIR, kjv_books, kjv_text, kjv_verses, song_poems, tang_poems, tang_text
from .datasets import (CLASSIFICATION_TASKS, LMData, TextClassificationSet, TokenWindows,
                       classification_task, encode_texts, kjv_genre, load_text, sentiment,
                       split_by_position, step_rng, tang_author, tang_form)

__all__ = ["CORPORA_DIR", "tang_poems", "tang_text", "song_poems", "kjv_verses", "kjv_books", "kjv_text",
           "LMData", "TokenWindows", "split_by_position", "step_rng", "load_text",
           "TextClassificationSet", "encode_texts", "kjv_genre", "tang_form", "tang_author",
           "sentiment", "CLASSIFICATION_TASKS", "classification_task"]
