"""Byte-level BPE, GPT-2 style: train, encode, decode, and GPT-2's ``vocab.json`` + ``merges.txt``.

Chapter §3.2 (预训练): GPT-2's tokenizer. Text is cut into pre-tokens by GPT-2's regex
(``byte_level.py``); each pre-token's UTF-8 bytes start as 256 byte tokens, and the learned
merges glue them together, lowest rank (earliest learned) first. Because every string is
made of bytes, nothing is ever unknown and ``decode(encode(s)) == s`` for every ``str``
(except one with a lone surrogate, which has no UTF-8 form and raises ValueError).

Ids are laid out as GPT-2's: the 256 byte tokens in ``bytes_to_unicode`` order, then one id
per merge in the order learned, then the special tokens (``<|endoftext|>``). ``save`` writes the
two files of the GPT-2 format, so Hugging Face's ``GPT2Tokenizer.from_pretrained(dir)`` reads
them and gives the same ids; ``load`` reads them back (also GPT-2's own files).
"""

from __future__ import annotations

import json
import os
from collections import Counter

from .base import Tokenizer
from .bpe_train import learn_merges
from .byte_level import bytes_to_unicode, gpt2_pretokenizer, unicode_to_bytes

__all__ = ["BPETokenizer"]

ENDOFTEXT = "<|endoftext|>"
_CACHE_LIMIT = 200_000


class BPETokenizer(Tokenizer):
    """A byte-level BPE tokenizer.

    Build one with ``BPETokenizer.train(text, vocab_size)`` or ``BPETokenizer.load(directory)``,
    or directly from ``vocab`` (token string -> id, ids 0..N-1) and ``merges`` (pairs of token
    strings, in rank order). Tokens of ``vocab`` that are neither a byte nor a merge result are
    the special tokens. ``<|endoftext|>``, when present, is the unk/bos/eos token (as in GPT-2);
    there is no pad token unless you set one (``tok.pad_token = tok.eos_token``).
    """

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], model_max_length: int | None = None,
                 *, vocab_source: str = "vocab", merges_source: str = "merges", merge_lines: list[int] | None = None):
        # vocab_source, merges_source, merge_lines: where the data came from, for error messages.
        tokens = _tokens_in_id_order(vocab, vocab_source)
        byte_chars = bytes_to_unicode()
        for b, ch in byte_chars.items():
            if ch not in vocab:
                raise ValueError(f"{vocab_source}: the byte token {ch!r} (byte {b}) is missing")
        self._byte_ids = [vocab[byte_chars[b]] for b in range(256)]       # byte -> id
        self.merges = [tuple(m) for m in merges]
        self._ranks: dict[tuple[int, int], int] = {}       # (a, b) -> rank (0 = learned first)
        self._merged: dict[tuple[int, int], int] = {}      # (a, b) -> id of the glued token
        for rank, (a, b) in enumerate(self.merges):
            where = (f"{merges_source}, line {merge_lines[rank]}" if merge_lines else
                     f"{merges_source}: merge {rank + 1}") + f" ({a!r} {b!r})"
            for part in (a, b):
                if part not in vocab:
                    raise ValueError(f"{where}: {part!r} is not in the vocabulary")
            if a + b not in vocab:
                raise ValueError(f"{where}: the merged token {a + b!r} is not in the vocabulary")
            if (vocab[a], vocab[b]) in self._ranks:
                raise ValueError(f"{where}: this merge is listed twice")
            self._ranks[(vocab[a], vocab[b])] = rank
            self._merged[(vocab[a], vocab[b])] = vocab[a + b]
        made = set(byte_chars.values()) | {a + b for a, b in self.merges}
        specials = [t for t in tokens if t not in made]
        eot = ENDOFTEXT if ENDOFTEXT in vocab else None
        self._init_vocab(tokens, specials, model_max_length=model_max_length,
                         unk_token=eot, bos_token=eot, eos_token=eot)
        self._pattern = gpt2_pretokenizer()
        self._cache: dict[str, list[int]] = {}

    # ------------------------------------------------------------ training
    @classmethod
    def train(cls, text: str, vocab_size: int, special_tokens=(ENDOFTEXT,), min_frequency: int = 1,
              model_max_length: int | None = None) -> "BPETokenizer":
        """Learn a tokenizer of ``vocab_size`` ids (256 bytes + merges + special tokens) from ``text``.

        Special tokens that occur in ``text`` are cut out first and never merged with anything.
        Training stops early (a smaller vocabulary) when no pair occurs ``min_frequency`` times.
        """
        if not isinstance(text, str):
            raise TypeError(f"train expects the corpus as a str, got {type(text).__name__}")
        special_tokens = list(dict.fromkeys(special_tokens))
        if not isinstance(vocab_size, int) or vocab_size < 256 + len(special_tokens):
            raise ValueError(f"vocab_size must be an int of at least 256 + {len(special_tokens)} special tokens, "
                             f"got {vocab_size!r}")
        pattern = gpt2_pretokenizer()
        counts: Counter = Counter()
        pieces = [text]
        for tok in special_tokens:                       # cut the special tokens out of the corpus
            pieces = [p for piece in pieces for p in piece.split(tok)]
        for piece in pieces:
            counts.update(pattern.findall(piece))        # 1. count each distinct pre-token once

        byte_chars = bytes_to_unicode()
        token_strings = list(byte_chars.values())        # ids 0..255, GPT-2's order
        byte_id = {b: token_strings.index(ch) for b, ch in byte_chars.items()}
        words = [[byte_id[b] for b in _utf8(w)] for w in counts]
        freqs = list(counts.values())
        merges = learn_merges(words, freqs, token_strings, vocab_size - len(special_tokens), min_frequency)
        for tok in special_tokens:
            if tok in token_strings:
                raise ValueError(f"special token {tok!r} is also an ordinary token")
            token_strings.append(tok)
        vocab = {t: i for i, t in enumerate(token_strings)}
        return cls(vocab, [(token_strings[a], token_strings[b]) for a, b, _ in merges],
                   model_max_length=model_max_length, vocab_source="train", merges_source="train")

    # ------------------------------------------------------------ encoding
    def _bpe(self, piece: str) -> list[int]:
        """Ids of one pre-token: start from its bytes, apply the best-ranked merge until none applies."""
        ids = self._cache.get(piece)
        if ids is not None:
            return ids
        ids = [self._byte_ids[b] for b in _utf8(piece)]
        ranks, never = self._ranks, len(self._ranks)
        while len(ids) > 1:
            a, b = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, never))
            if (a, b) not in ranks:
                break                               # no pair of this word was ever merged
            new = self._merged[(a, b)]
            out, i = [], 0
            while i < len(ids):                     # merge every (a, b), left to right
                if i < len(ids) - 1 and ids[i] == a and ids[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(ids[i])
                    i += 1
            ids = out
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[piece] = ids
        return ids

    def _encode_plain(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"expected text as str, got {type(text).__name__}")
        ids: list[int] = []
        for piece, special in self._split_special(text):
            if special:
                ids.append(self._vocab[piece])
            else:
                for word in self._pattern.findall(piece):
                    ids.extend(self._bpe(word))
        return ids

    def _tokenize(self, text: str) -> list[str]:
        return [self._tokens[i] for word in self._pattern.findall(text) for i in self._bpe(word)]

    # ------------------------------------------------------------ decoding
    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Byte tokens -> bytes -> UTF-8 text (invalid bytes become U+FFFD); special tokens as they are."""
        to_byte, specials, out, buf = unicode_to_bytes(), set(self.all_special_tokens), [], bytearray()
        for t in tokens:
            if t in specials:
                out.append(buf.decode("utf-8", errors="replace"))
                out.append(t)
                buf = bytearray()
            else:
                buf.extend(to_byte[c] for c in t)
        out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)

    # ------------------------------------------------------------ files (GPT-2 format)
    def save(self, directory: str) -> None:
        """Write ``vocab.json`` (token -> id) and ``merges.txt`` (``#version: 0.2``, then ``a b`` per line)."""
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(self._vocab, ensure_ascii=False, indent=2) + "\n")
        with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            f.writelines(f"{a} {b}\n" for a, b in self.merges)

    @classmethod
    def load(cls, directory: str, model_max_length: int | None = None) -> "BPETokenizer":
        """Read ``vocab.json`` and ``merges.txt`` from ``directory`` (ours, or GPT-2's own files)."""
        vocab_path = os.path.join(directory, "vocab.json")
        merges_path = os.path.join(directory, "merges.txt")
        with open(vocab_path, encoding="utf-8") as f:
            try:
                vocab = json.load(f, object_pairs_hook=lambda kv: _no_duplicates(kv, vocab_path))
            except json.JSONDecodeError as e:
                raise ValueError(f"{vocab_path}: not valid JSON ({e})") from None
        if not isinstance(vocab, dict):
            raise ValueError(f"{vocab_path}: expected a JSON object {{token: id}}")
        merges, lines = [], []
        with open(merges_path, encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                line = line.rstrip("\r\n")
                if (n == 1 and line.startswith("#version")) or not line:
                    continue
                parts = line.split(" ")
                if len(parts) != 2 or not all(parts):
                    raise ValueError(f"{merges_path}, line {n}: expected two tokens separated by one space, "
                                     f"got {line!r}")
                merges.append((parts[0], parts[1]))
                lines.append(n)
        return cls(vocab, merges, model_max_length=model_max_length,
                   vocab_source=vocab_path, merges_source=merges_path, merge_lines=lines)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = text[e.start]
        raise ValueError(f"text contains a lone surrogate U+{ord(bad):04X} at position {e.start}, "
                         f"which has no UTF-8 encoding") from None


def _no_duplicates(pairs, path: str) -> dict:
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"{path}: the token {k!r} appears twice (ids {out[k]} and {v})")
        out[k] = v
    return out


def _tokens_in_id_order(vocab: dict[str, int], source: str) -> list[str]:
    """``vocab`` (token -> id) as a list indexed by id; the ids must be exactly 0..N-1."""
    tokens: list = [None] * len(vocab)
    for tok, i in vocab.items():
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(vocab):
            raise ValueError(f"{source}: token {tok!r} has id {i!r}; ids must be the integers 0..{len(vocab) - 1}")
        if tokens[i] is not None:
            raise ValueError(f"{source}: id {i} is given to both {tokens[i]!r} and {tok!r}")
        tokens[i] = tok
    return tokens
