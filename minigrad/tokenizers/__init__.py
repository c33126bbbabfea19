"""Tokenizers: text <-> token ids (chapter §3.2, 预训练: preparing the pre-training data).

* ``CharTokenizer``: one id per Unicode character; no training needed.
* ``BPETokenizer``: GPT-2's byte-level BPE; train it on a corpus, save/load GPT-2's files.
* ``BertTokenizer``: BERT's WordPiece from a ``vocab.txt``, with the same ids as Hugging Face's.
* ``SentencePieceTokenizer``: a SentencePiece ``.model``/``.spm`` file read from scratch (unigram
  Viterbi or BPE), with the same ids as the ``sentencepiece`` package.
* ``MarianTokenizer``: the OPUS-MT translation models' tokenizer (source.spm, target.spm, vocab.json),
  with the same ids as Hugging Face's.

All three are called the same way (``base.Tokenizer.__call__``)::

    enc = tok(["a text", "another"], padding=True, return_tensors="np")
    enc.input_ids, enc.attention_mask

Tokenizers know only text and ids (lists, or NumPy arrays): nothing here uses minigrad tensors.
"""

from .base import Encoding, Tokenizer
from .bert import BertTokenizer
from .bpe import BPETokenizer
from .char import CharTokenizer
from .marian import MarianTokenizer
from .sentencepiece import SentencePieceTokenizer

__all__ = ["Tokenizer", "Encoding", "CharTokenizer", "BPETokenizer", "BertTokenizer",
           "SentencePieceTokenizer", "MarianTokenizer"]
