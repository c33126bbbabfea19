"""A character tokenizer: one token per Unicode character (Chinese included).

Chapter §3.2 (预训练): the simplest way to turn a corpus into ids is to give every distinct
character its own id. The vocabulary is small (a few thousand for Chinese poetry, under 100
for English), no training is needed, and every text made of known characters round-trips
exactly. The price is long sequences: a model must learn spelling as well as language. The
BPE tokenizer (``bpe.py``) trades a larger vocabulary for shorter sequences.

Ids: the special tokens first (in the order given), then the characters sorted by code point.

>>> tok = CharTokenizer.from_text("大模型")
>>> tok.encode("模型"), tok.decode(tok.encode("模型"))
([2, 0], '模型')
"""

from __future__ import annotations

import json
import os
from collections import Counter

from .base import SPECIAL_ROLES, Tokenizer

__all__ = ["CharTokenizer"]

FILE_NAME = "char_vocab.json"
FORMAT = "minigrad.CharTokenizer"


class CharTokenizer(Tokenizer):
    """Character-level tokenizer over any Unicode text.

    ``tokens``: the vocabulary in id order (single characters, plus the special tokens).
    ``special_tokens``: multi-character tokens that are kept whole, e.g. ``"<pad>"``.
    Roles (``unk_token``, ``pad_token``, ``bos_token``, ``eos_token``, ...) name special tokens;
    without an ``unk_token``, encoding an unknown character raises KeyError.
    """

    def __init__(self, tokens, special_tokens=(), model_max_length: int | None = None, **roles):
        special_tokens = list(special_tokens)
        for tok in roles.values():
            if tok is not None and tok not in special_tokens:
                special_tokens.append(tok)
        for t in tokens:
            if not isinstance(t, str) or (len(t) != 1 and t not in special_tokens):
                raise ValueError(f"CharTokenizer tokens must be single characters or special tokens, got {t!r}")
        self._init_vocab(tokens, special_tokens, model_max_length=model_max_length, **roles)

    @classmethod
    def from_text(cls, text: str, special_tokens=(), min_count: int = 1, **roles) -> "CharTokenizer":
        """Build the vocabulary from every distinct character of ``text``.

        ``min_count``: keep only characters seen at least this often; rarer ones are read as
        the ``unk_token`` (which ``min_count > 1`` needs).  A corpus of Chinese poetry has
        thousands of characters seen once or twice: leaving them out makes the embedding and
        output layers smaller, and the model faster, at the price of an <unk> now and then.

        Example: ``CharTokenizer.from_text(corpus, pad_token="<pad>", unk_token="<unk>")``.
        """
        if not isinstance(text, str):
            raise TypeError(f"from_text expects a str, got {type(text).__name__}")
        if min_count > 1 and roles.get("unk_token") is None:
            raise ValueError(f"from_text: min_count={min_count} leaves characters out of the "
                             f"vocabulary, so it needs an unk_token to read them as")
        specials = list(dict.fromkeys(list(special_tokens) + [t for t in roles.values() if t is not None]))
        if min_count > 1:
            counts = Counter(text)
            chars = sorted(c for c, n in counts.items() if n >= min_count and c not in specials)
        else:
            chars = sorted(set(text) - set(specials))
        return cls(specials + chars, specials, **roles)

    def unknown_characters(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that are not in the vocabulary, in order of
        appearance (special tokens in the text are whole units, never unknown)."""
        unknown = {}
        for piece, special in self._split_special(text):
            if not special:
                for ch in piece:
                    if ch not in self._vocab:
                        unknown.setdefault(ch, None)
        return list(unknown)

    # ------------------------------------------------------------ encoding
    def _tokenize(self, text: str) -> list[str]:
        return list(text)

    def _encode_plain(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"expected text as str, got {type(text).__name__}")
        vocab, ids = self._vocab, []
        unk = self._vocab.get(self.unk_token) if self.unk_token is not None else None
        for piece, special in self._split_special(text):
            if special:
                ids.append(vocab[piece])
                continue
            for ch in piece:
                i = vocab.get(ch, unk)
                if i is None:
                    raise KeyError(f"character {ch!r} (U+{ord(ch):04X}) is not in the vocabulary "
                                   f"and the tokenizer has no unk_token")
                ids.append(i)
        return ids

    # ------------------------------------------------------------ files
    def save(self, path: str) -> str:
        """Write the vocabulary as JSON. ``path``: a directory (the file is ``char_vocab.json``) or a ``.json`` file."""
        if not path.endswith(".json"):
            os.makedirs(path, exist_ok=True)
            path = os.path.join(path, FILE_NAME)
        data = {"format": FORMAT, "tokens": self._tokens, "special_tokens": self.all_special_tokens,
                "model_max_length": self.model_max_length,
                **{r: getattr(self, r) for r in SPECIAL_ROLES if getattr(self, r) is not None}}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write("\n")
        return path

    @classmethod
    def load(cls, path: str) -> "CharTokenizer":
        """Read what ``save`` wrote (a directory or the ``.json`` file itself)."""
        if os.path.isdir(path):
            path = os.path.join(path, FILE_NAME)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a CharTokenizer file (expected \"format\": \"{FORMAT}\")")
        tokens = data.get("tokens")
        if not isinstance(tokens, list):
            raise ValueError(f"{path}: \"tokens\" must be a list")
        seen: dict[str, int] = {}
        for i, t in enumerate(tokens):
            if t in seen:
                raise ValueError(f"{path}: token {t!r} appears twice (ids {seen[t]} and {i})")
            seen[t] = i
        roles = {r: data[r] for r in SPECIAL_ROLES if data.get(r) is not None}
        for name in list(data.get("special_tokens", [])) + list(roles.values()):
            if name not in seen:
                raise ValueError(f"{path}: special token {name!r} is missing from \"tokens\"")
        return cls(tokens, data.get("special_tokens", []), model_max_length=data.get("model_max_length"), **roles)
