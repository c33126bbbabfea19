"""Bundled corpora (§3.2 预训练: 数据收集) and datasets built on them.

    from minigrad.data import quantangshi_poems, tang_poems, tang_text, kjv_verses, kjv_text
    from minigrad.data import LMData, TokenWindows, split_documents, kjv_genre, tang_form, ...
    from minigrad.data import load_verse_pairs, split_verse_pairs, build_translation_data  # KJV → 和合本
"""
from .corpora import (CORPORA_DIR, Poem, clean_verse, cuv_books, cuv_verses, kjv_books, kjv_text,
                      kjv_verses, quantangshi_poems, song_poems, tang_poems, tang_text)
from .datasets import (CLASSIFICATION_TASKS, CORPUS_NAMES, DOCUMENT_CORPORA, END_OF_TEXT, UNK_TOKEN,
                       LMData, TextClassificationSet, TokenWindows, classification_task,
                       document_split, encode_texts, kjv_genre, load_documents, load_text, sentiment,
                       split_by_position, split_documents, step_rng, tang_author, tang_form)
from .translation import (TranslationData, TranslationSplits, TranslationTokenizers, VersePair,
                          build_translation_data, load_verse_pairs, split_verse_pairs)

__all__ = ["CORPORA_DIR", "Poem", "clean_verse", "quantangshi_poems", "tang_poems", "tang_text",
           "song_poems", "kjv_verses", "kjv_books", "kjv_text",
           "LMData", "TokenWindows", "split_by_position", "split_documents", "document_split",
           "step_rng", "load_text", "load_documents", "CORPUS_NAMES", "DOCUMENT_CORPORA",
           "END_OF_TEXT", "UNK_TOKEN",
           "TextClassificationSet", "encode_texts", "kjv_genre", "tang_form", "tang_author",
           "sentiment", "CLASSIFICATION_TASKS", "classification_task",
           "cuv_verses", "cuv_books", "VersePair", "TranslationSplits", "TranslationTokenizers",
           "TranslationData", "load_verse_pairs", "split_verse_pairs", "build_translation_data"]
