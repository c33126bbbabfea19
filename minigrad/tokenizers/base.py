"""What every minigrad tokenizer shares: the Hugging Face-style call, padding, truncation, decoding.

Chapter §3.2 (预训练): a model reads integers, not text. A tokenizer turns text into token ids
(``encode``) and back (``decode``); calling it on a batch also pads the rows to one length and
says which positions are real (``attention_mask``), which is what a model needs as input.

A subclass supplies only what differs between tokenizers:

* ``_tokenize(text)``: split a piece of plain text (no special tokens in it) into token strings;
* ``convert_tokens_to_string(tokens)``: the way back from token strings to text;
* optionally ``build_inputs_with_special_tokens`` / ``create_token_type_ids_from_sequences``
  (BERT adds ``[CLS]`` and ``[SEP]``; GPT-2 and the character tokenizer add nothing).

The vocabulary is a dict ``token -> id`` (``self._vocab``) and a list ``id -> token``
(``self._tokens``). Special tokens (``<|endoftext|>``, ``[CLS]``, ...) are whole units: they are
cut out of the text before ``_tokenize`` runs, never split into pieces.

Tokenizers know only text and ids: ``return_tensors="np"`` gives NumPy arrays, never tensors.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np

__all__ = ["Encoding", "Tokenizer"]

#: The named special-token roles, as in Hugging Face: ``tok.pad_token``, ``tok.pad_token_id``, ...
SPECIAL_ROLES = ("unk_token", "pad_token", "bos_token", "eos_token", "cls_token", "sep_token", "mask_token")


class Encoding(dict):
    """The result of calling a tokenizer: a dict whose keys can also be read as attributes.

    >>> enc = Encoding(input_ids=[1, 2], attention_mask=[1, 1])
    >>> enc.input_ids, enc["attention_mask"]
    ([1, 2], [1, 1])
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"Encoding has no field {name!r}; it has {sorted(self)}") from None


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


class Tokenizer:
    """Base class. Subclasses set ``self._tokens`` (id -> token), then call ``_init_vocab``."""

    #: Keys returned by ``__call__``, in order (BERT adds ``"token_type_ids"``).
    model_input_names: tuple[str, ...] = ("input_ids", "attention_mask")

    def _init_vocab(self, tokens: Sequence[str], special_tokens: Iterable[str] = (), *,
                    model_max_length: int | None = None, **roles: str | None) -> None:
        """Set the vocabulary (``tokens[i]`` has id ``i``), the special tokens and their roles."""
        self._tokens = list(tokens)
        self._vocab = {t: i for i, t in enumerate(self._tokens)}
        if len(self._vocab) != len(self._tokens):
            for i, t in enumerate(self._tokens):
                if self._vocab[t] != i:
                    raise ValueError(f"the vocabulary has the token {t!r} twice (ids {i} and {self._vocab[t]})")
        self.model_max_length = model_max_length
        self._named_specials = list(special_tokens)
        self._pad_token = roles.pop("pad_token", None)
        for role in SPECIAL_ROLES:
            if role != "pad_token":
                setattr(self, role, roles.pop(role, None))
        if roles:
            raise TypeError(f"unknown special-token roles: {sorted(roles)}")
        self._update_specials()

    def _update_specials(self) -> None:
        """Collect the special tokens (those named, then those with a role) and the regex that finds them."""
        specials = list(dict.fromkeys(self._named_specials
                                      + [getattr(self, r) for r in SPECIAL_ROLES if getattr(self, r) is not None]))
        for tok in specials:
            if tok not in self._vocab:
                raise ValueError(f"special token {tok!r} is not in the vocabulary")
        self.all_special_tokens = specials
        self._special_ids = {self._vocab[t] for t in specials}
        # Longest first, so that "<|endoftext|>" wins over a shorter special token it contains.
        alternatives = sorted(specials, key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(map(re.escape, alternatives)) + ")") if specials else None

    # ----------------------------------------------------------------- vocabulary
    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return len(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def get_vocab(self) -> dict[str, int]:
        return dict(self._vocab)

    @property
    def all_special_ids(self) -> list[int]:
        return [self._vocab[t] for t in self.all_special_tokens]

    # The id of the token with each role, or None: tok.pad_token_id, tok.cls_token_id, ...
    def _id_of(self, token: str | None) -> int | None:
        return None if token is None else self._vocab[token]

    unk_token_id = property(lambda self: self._id_of(self.unk_token))
    pad_token_id = property(lambda self: self._id_of(self.pad_token))
    bos_token_id = property(lambda self: self._id_of(self.bos_token))
    eos_token_id = property(lambda self: self._id_of(self.eos_token))
    cls_token_id = property(lambda self: self._id_of(self.cls_token))
    sep_token_id = property(lambda self: self._id_of(self.sep_token))
    mask_token_id = property(lambda self: self._id_of(self.mask_token))

    @property
    def pad_token(self) -> str | None:
        return self._pad_token

    @pad_token.setter
    def pad_token(self, token: str | None) -> None:
        """Setting a pad token (e.g. ``tok.pad_token = tok.eos_token`` for GPT-2) makes it special too."""
        if token is not None and token not in self._vocab:
            raise ValueError(f"pad token {token!r} is not in the vocabulary")
        self._pad_token = token
        self._update_specials()

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]):
        """One token -> one id; a list of tokens -> a list of ids. Unknown tokens give ``unk`` or a KeyError."""
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(t) for t in tokens]

    def _token_to_id(self, token: str) -> int:
        if token in self._vocab:
            return self._vocab[token]
        if self.unk_token is not None:
            return self._vocab[self.unk_token]
        raise KeyError(f"token {token!r} is not in the vocabulary and the tokenizer has no unk_token")

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        """One id -> one token; a list of ids -> a list of tokens."""
        if _is_int(ids):
            return self._id_to_token(ids)
        return [self._id_to_token(i) for i in self._check_ids(ids)
                if not (skip_special_tokens and int(i) in self._special_ids)]

    def _id_to_token(self, i) -> str:
        if not _is_int(i):
            raise TypeError(f"token ids must be integers, got {i!r} ({type(i).__name__})")
        if not 0 <= i < len(self._tokens):
            raise ValueError(f"unknown token id {int(i)}: this vocabulary has ids 0..{len(self._tokens) - 1}")
        return self._tokens[int(i)]

    def _check_ids(self, ids) -> list:
        if isinstance(ids, np.ndarray):
            if ids.ndim != 1:
                raise ValueError(f"expected a 1-D sequence of token ids, got an array of shape {ids.shape}")
            ids = ids.tolist()
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise TypeError(f"expected a sequence of token ids, got {type(ids).__name__}")
        ids = list(ids)
        for i in ids:
            self._id_to_token(i)  # raises on a bad id
        return ids

    # ----------------------------------------------------------------- text -> tokens -> ids
    def tokenize(self, text: str) -> list[str]:
        """Split text into token strings; special tokens in the text stay whole."""
        if not isinstance(text, str):
            raise TypeError(f"expected text as str, got {type(text).__name__}")
        tokens: list[str] = []
        for piece, special in self._split_special(text):
            tokens.extend([piece] if special else self._tokenize(piece))
        return tokens

    def _split_special(self, text: str):
        """Yield ``(piece, is_special)``: special tokens cut out of the text, in order."""
        if self._special_re is None:
            if text:
                yield text, False
            return
        for k, piece in enumerate(self._special_re.split(text)):
            if piece:
                yield piece, k % 2 == 1   # re.split puts the captured separators at odd places

    def _tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    def _encode_plain(self, text: str) -> list[int]:
        """Text -> ids, without special tokens added around it. Subclasses may make it faster."""
        return [self._token_to_id(t) for t in self.tokenize(text)]

    def encode(self, text: str, text_pair: str | None = None, add_special_tokens: bool = True,
               truncation=False, max_length: int | None = None) -> list[int]:
        """Text (and an optional second text) -> a list of ids."""
        return self(text, text_pair=text_pair, add_special_tokens=add_special_tokens,
                    truncation=truncation, max_length=max_length)["input_ids"]

    # ----------------------------------------------------------------- special tokens around sequences
    def build_inputs_with_special_tokens(self, ids_a: list[int], ids_b: list[int] | None = None) -> list[int]:
        return ids_a + (ids_b or [])

    def create_token_type_ids_from_sequences(self, ids_a: list[int], ids_b: list[int] | None = None) -> list[int]:
        return [0] * len(self.build_inputs_with_special_tokens(ids_a, ids_b))

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return len(self.build_inputs_with_special_tokens([], [] if pair else None))

    # ----------------------------------------------------------------- the call
    def __call__(self, text, text_pair=None, padding=False, truncation=False, max_length: int | None = None,
                 return_tensors: str | None = None, add_special_tokens: bool = True) -> Encoding:
        """Encode one text or a batch, Hugging Face style.

        ``text``: a str, or a list of str (a batch). ``text_pair``: the second segment(s).
        ``padding``: False (none), True / "longest" (to the longest row), "max_length".
        ``truncation``: False, True / "longest_first", "only_first", "only_second".
        ``return_tensors``: None (lists) or "np" (int64 arrays of shape (batch, length)).
        """
        batched = isinstance(text, (list, tuple))
        texts = self._check_texts(text, "text")
        pairs = None
        if text_pair is not None:
            pairs = self._check_texts(text_pair, "text_pair")
            if batched != isinstance(text_pair, (list, tuple)) or len(pairs) != len(texts):
                raise ValueError(f"text and text_pair must both be a str, or lists of the same length "
                                 f"(got {len(texts)} and {len(pairs)})")
        strategy = {False: None, None: None, "do_not_pad": None, True: "longest",
                    "longest": "longest", "max_length": "max_length"}.get(padding, "?")
        if strategy == "?":
            raise ValueError(f"padding must be False, True, 'longest' or 'max_length', not {padding!r}")
        if truncation and max_length is None:
            max_length = self.model_max_length
        if strategy == "max_length" and max_length is None:
            max_length = self.model_max_length
            if max_length is None:
                raise ValueError("padding='max_length' needs max_length (this tokenizer has no model_max_length)")

        rows = []
        for k, t in enumerate(texts):
            ids_a = self._encode_plain(t)
            ids_b = self._encode_plain(pairs[k]) if pairs is not None else None
            if truncation and max_length is not None:
                n_special = self.num_special_tokens_to_add(ids_b is not None) if add_special_tokens else 0
                ids_a, ids_b = _truncate(ids_a, ids_b, max_length - n_special, truncation)
            if add_special_tokens:
                ids = self.build_inputs_with_special_tokens(ids_a, ids_b)
                types = self.create_token_type_ids_from_sequences(ids_a, ids_b)
            else:
                ids = ids_a + (ids_b or [])
                types = [0] * len(ids_a) + [1] * len(ids_b or [])
            rows.append({"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)})

        if strategy is not None:
            self._pad(rows, max_length if strategy == "max_length" else max((len(r["input_ids"]) for r in rows), default=0))
        out = Encoding()
        for name in self.model_input_names:
            column = [r[name] for r in rows]
            if return_tensors is not None:
                column = _to_array(column, name, return_tensors)
            elif not batched:
                column = column[0]
            out[name] = column
        return out

    @staticmethod
    def _check_texts(text, what: str) -> list[str]:
        texts = list(text) if isinstance(text, (list, tuple)) else [text]
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"{what} must be a str or a list of str, got {type(t).__name__}: {t!r:.60}")
        return texts

    def _pad(self, rows: list[dict], length: int) -> None:
        """Pad every row on the right to ``length`` with the pad token (mask 0, token type 0)."""
        if self.pad_token is None:
            raise ValueError(f"asked to pad, but {type(self).__name__} has no pad_token "
                             f"(set one, e.g. tok.pad_token = tok.eos_token)")
        pad_id = self._vocab[self.pad_token]
        for r in rows:
            n = length - len(r["input_ids"])
            if n > 0:
                r["input_ids"] = r["input_ids"] + [pad_id] * n
                r["token_type_ids"] = r["token_type_ids"] + [0] * n
                r["attention_mask"] = r["attention_mask"] + [0] * n

    # ----------------------------------------------------------------- ids -> text
    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens)

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """Ids -> text. An id outside the vocabulary raises ValueError."""
        if _is_int(ids):
            ids = [ids]
        return self.convert_tokens_to_string(self.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens))

    def batch_decode(self, sequences, skip_special_tokens: bool = False) -> list[str]:
        """Decode each row of a batch (a list of id lists, or a 2-D array)."""
        if isinstance(sequences, np.ndarray) and sequences.ndim != 2:
            raise ValueError(f"batch_decode expects a 2-D array, got shape {sequences.shape}")
        return [self.decode(s, skip_special_tokens=skip_special_tokens) for s in sequences]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, special_tokens={self.all_special_tokens})"


def _truncate(ids_a: list[int], ids_b: list[int] | None, budget: int, strategy) -> tuple:
    """Shorten the segments so that together they hold at most ``budget`` tokens (cut on the right).

    "longest_first" (what ``truncation=True`` means) shortens the longer segment first. If the
    shorter one fits in half the budget it is kept whole and the longer one gets the rest;
    otherwise each gets half, and an odd token goes to the longer one (the second on a tie).
    This is Hugging Face's Rust rule (what ``BertTokenizer`` uses since transformers v5); the
    older pure-Python tokenizers give the odd token to the first segment instead.
    """
    if strategy is True:
        strategy = "longest_first"
    if strategy not in ("longest_first", "only_first", "only_second"):
        raise ValueError(f"truncation must be True, False, 'longest_first', 'only_first' or 'only_second', "
                         f"not {strategy!r}")
    if budget < 0:
        raise ValueError("max_length is smaller than the number of special tokens the tokenizer adds")
    n_b = len(ids_b) if ids_b is not None else 0
    excess = len(ids_a) + n_b - budget
    if excess <= 0:
        return ids_a, ids_b
    if ids_b is None:
        return ids_a[:budget], None
    if strategy == "only_first":
        if excess >= len(ids_a):
            raise ValueError(f"cannot truncate the first sequence by {excess} tokens: it has only {len(ids_a)}")
        return ids_a[:len(ids_a) - excess], ids_b
    if strategy == "only_second":
        if excess >= n_b:
            raise ValueError(f"cannot truncate the second sequence by {excess} tokens: it has only {n_b}")
        return ids_a, ids_b[:n_b - excess]
    n_a = len(ids_a)
    short, long_ = min(n_a, n_b), max(n_a, n_b)
    if 2 * short <= budget:
        short, long_ = short, budget - short
    else:
        short, long_ = budget // 2, budget - budget // 2
    n_a, n_b = (short, long_) if n_a <= n_b else (long_, short)
    return ids_a[:n_a], ids_b[:n_b]


def _to_array(column: list, name: str, kind: str) -> np.ndarray:
    if kind != "np":
        raise ValueError(f"return_tensors must be None or 'np' (minigrad tokenizers know no tensors), not {kind!r}")
    lengths = {len(r) for r in column}
    if len(lengths) > 1:
        raise ValueError(f"cannot make an array of {name}: the rows have different lengths {sorted(lengths)}; "
                         f"use padding=True")
    return np.array(column, dtype=np.int64).reshape(len(column), -1)
