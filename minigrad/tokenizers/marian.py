"""Marian's tokenizer (the OPUS-MT translation models, §6 机器翻译): two SentencePiece models and a vocab.

A Marian directory, as Hugging Face lays it out::

    source.spm             SentencePiece model for the source language (cuts the input)
    target.spm             SentencePiece model for the target language (cuts the labels)
    vocab.json             {piece: id}: the ids the *model* uses, shared by both sides
    target_vocab.json      (only with "separate_vocabs": true) the target side's own {piece: id}
    tokenizer_config.json  source_lang, target_lang, separate_vocabs, model_max_length, ...

The important detail: **the ids are vocab.json's, not the .spm files'**. Marian numbers its
vocabulary itself (``</s>`` = 0, ``<unk>`` = 1, ..., ``<pad>`` last), so a piece is found by
SentencePiece and then looked up in vocab.json; a piece that is not there is ``<unk>``.

Encoding a sentence: a leading language code such as ``>>cmn_Hans<<`` (multi-target models pick
the output language with it) is cut off and kept as one token; the rest goes through source.spm;
``</s>`` is appended. ``text_target=`` (or ``with tok.as_target_tokenizer():``) does the same with
target.spm and returns ``labels``. Decoding maps ids back to pieces and lets SentencePiece join
them; special tokens are kept out of SentencePiece and, unless skipped, written as they are.

The behaviour, down to the spaces around special tokens in ``decode``, is Hugging Face's
``MarianTokenizer`` (transformers' tokenization_marian.py); tests/test_marian_tokenizer_interop.py
compares the two on English and Chinese text.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile

from .base import Encoding, Tokenizer, _is_int
from .sentencepiece import SentencePieceTokenizer
from .spm_normalizer import SPACE_SYMBOL

__all__ = ["MarianTokenizer"]

FILE_NAMES = {"source_spm": "source.spm", "target_spm": "target.spm", "vocab": "vocab.json",
              "target_vocab_file": "target_vocab.json", "tokenizer_config_file": "tokenizer_config.json"}


def _load_vocab(path: str, what: str) -> dict[str, int]:
    try:
        with open(path, encoding="utf-8") as f:
            vocab = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} not found: {path}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{what} {path} is not valid JSON: {e}") from None
    if not isinstance(vocab, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                              for k, v in vocab.items()):
        raise ValueError(f"{what} {path} must be a JSON object {{piece: integer id}}")
    return vocab


def _tokens_from_vocab(vocab: dict[str, int], path: str) -> list[str]:
    """``{piece: id}`` -> the list ``id -> piece``; the ids must be exactly 0 .. n-1."""
    tokens: list[str | None] = [None] * len(vocab)
    for piece, i in vocab.items():
        if not 0 <= i < len(vocab):
            raise ValueError(f"{path}: the id {i} of {piece!r} is outside 0..{len(vocab) - 1} "
                             f"(the ids of a Marian vocab are 0 .. size-1)")
        if tokens[i] is not None:
            raise ValueError(f"{path}: the id {i} is given to both {tokens[i]!r} and {piece!r}")
        tokens[i] = piece
    return tokens


def _token_name(value, default: str) -> str:
    """A special token from tokenizer_config.json: a string, or Hugging Face's {"content": ...}."""
    if value is None:
        return default
    if isinstance(value, dict):
        return value.get("content", default)
    return str(value)


class MarianTokenizer(Tokenizer):
    """``MarianTokenizer.from_pretrained(directory)``, or built from the file paths.

    >>> tok = MarianTokenizer.from_pretrained("opus-mt-en-zh")                  # doctest: +SKIP
    >>> batch = tok(["In the beginning God created the heaven and the earth."],
    ...             text_target=["起初，神创造天地。"], padding=True, return_tensors="np")  # doctest: +SKIP
    >>> batch.input_ids, batch.attention_mask, batch.labels                       # doctest: +SKIP
    >>> tok.batch_decode(generated_ids, skip_special_tokens=True)                 # doctest: +SKIP
    """

    model_input_names = ("input_ids", "attention_mask")

    def __init__(self, source_spm, target_spm, vocab, target_vocab_file=None, source_lang=None,
                 target_lang=None, unk_token="<unk>", eos_token="</s>", pad_token="<pad>",
                 model_max_length: int | None = 512, separate_vocabs: bool = False,
                 additional_special_tokens=None):
        self.spm_files = [os.fspath(source_spm), os.fspath(target_spm)]
        self.spm_source = SentencePieceTokenizer(source_spm)
        self.spm_target = SentencePieceTokenizer(target_spm)
        self.vocab_file = os.fspath(vocab)
        self.encoder = _load_vocab(self.vocab_file, "Marian vocab.json")
        if unk_token not in self.encoder:
            raise ValueError(f"the unknown token {unk_token!r} must be in {self.vocab_file}")
        self.separate_vocabs = bool(separate_vocabs)
        self.source_lang, self.target_lang = source_lang, target_lang
        self._init_vocab(_tokens_from_vocab(self.encoder, self.vocab_file), additional_special_tokens or (),
                         model_max_length=model_max_length, unk_token=unk_token, eos_token=eos_token,
                         pad_token=pad_token)
        if self.separate_vocabs:
            if target_vocab_file is None:
                raise ValueError("separate_vocabs=True needs target_vocab_file (target_vocab.json)")
            self.target_vocab_file = os.fspath(target_vocab_file)
            self.target_encoder = _load_vocab(self.target_vocab_file, "Marian target_vocab.json")
            self._target_tokens = _tokens_from_vocab(self.target_encoder, self.target_vocab_file)
            self.supported_language_codes: list[str] = []
        else:
            self.target_vocab_file = None
            self.target_encoder = self.encoder
            self._target_tokens = self._tokens
            self.supported_language_codes = [k for k in self.encoder if k.startswith(">>") and k.endswith("<<")]
        self._target_mode = False        # which side encodes: source.spm + vocab, or target.spm (+ target vocab)
        self._in_target_context = False

    # ----------------------------------------------------------------- loading / saving
    @classmethod
    def from_pretrained(cls, directory, **overrides) -> "MarianTokenizer":
        """Load a Marian directory (never downloads: ``directory`` is a local folder)."""
        directory = os.fspath(directory)
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"not a directory: {directory} (MarianTokenizer reads a local folder with "
                                    f"source.spm, target.spm and vocab.json)")
        config: dict = {}
        config_path = os.path.join(directory, FILE_NAMES["tokenizer_config_file"])
        if os.path.isfile(config_path):
            with open(config_path, encoding="utf-8") as f:
                try:
                    config = json.load(f)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{config_path} is not valid JSON: {e}") from None
        config.update(overrides)
        paths = {}
        for key in ("source_spm", "target_spm", "vocab"):
            paths[key] = os.path.join(directory, FILE_NAMES[key])
            if not os.path.isfile(paths[key]):
                raise FileNotFoundError(f"{directory} has no {FILE_NAMES[key]} (a Marian directory needs "
                                        f"source.spm, target.spm and vocab.json)")
        separate = bool(config.get("separate_vocabs", False))
        target_vocab = os.path.join(directory, FILE_NAMES["target_vocab_file"]) if separate else None
        extra = config.get("additional_special_tokens") or []
        max_len = config.get("model_max_length", 512)
        if isinstance(max_len, (int, float)) and max_len > 1e29:
            max_len = None                   # Hugging Face's "no limit" (VERY_LARGE_INTEGER)
        return cls(paths["source_spm"], paths["target_spm"], paths["vocab"], target_vocab_file=target_vocab,
                   source_lang=config.get("source_lang"), target_lang=config.get("target_lang"),
                   unk_token=_token_name(config.get("unk_token"), "<unk>"),
                   eos_token=_token_name(config.get("eos_token"), "</s>"),
                   pad_token=_token_name(config.get("pad_token"), "<pad>"),
                   model_max_length=max_len, separate_vocabs=separate,
                   additional_special_tokens=[_token_name(t, "") for t in extra])

    def save_pretrained(self, directory) -> list[str]:
        """Write the directory back (vocab.json, the two .spm files, tokenizer_config.json)."""
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        config = {"source_lang": self.source_lang, "target_lang": self.target_lang,
                  "separate_vocabs": self.separate_vocabs, "model_max_length": self.model_max_length,
                  "unk_token": self.unk_token, "eos_token": self.eos_token, "pad_token": self.pad_token,
                  "tokenizer_class": "MarianTokenizer"}
        extra = [t for t in self.all_special_tokens if t not in (self.unk_token, self.eos_token, self.pad_token)]
        if extra:
            config["additional_special_tokens"] = extra
        files = {FILE_NAMES["vocab"]: json.dumps(self.encoder, ensure_ascii=False, indent=2).encode("utf-8"),
                 FILE_NAMES["source_spm"]: self.spm_source.serialized_model_proto(),
                 FILE_NAMES["target_spm"]: self.spm_target.serialized_model_proto(),
                 FILE_NAMES["tokenizer_config_file"]: json.dumps(config, ensure_ascii=False, indent=2).encode()}
        if self.separate_vocabs:
            files[FILE_NAMES["target_vocab_file"]] = json.dumps(self.target_encoder, ensure_ascii=False,
                                                                indent=2).encode("utf-8")
        written = []
        for name, data in files.items():
            path = os.path.join(directory, name)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)        # atomic: a crash never leaves half a file
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            written.append(path)
        return written

    # ----------------------------------------------------------------- source / target mode
    @property
    def current_spm(self) -> SentencePieceTokenizer:
        return self.spm_target if self._target_mode else self.spm_source

    @property
    def current_encoder(self) -> dict[str, int]:
        return self.target_encoder if self._target_mode and self.separate_vocabs else self.encoder

    @contextlib.contextmanager
    def as_target_tokenizer(self):
        """``with tok.as_target_tokenizer(): labels = tok(targets)``: encode with target.spm."""
        previous = (self._target_mode, self._in_target_context)
        self._target_mode, self._in_target_context = True, True
        try:
            yield self
        finally:
            self._target_mode, self._in_target_context = previous

    @contextlib.contextmanager
    def _mode(self, target: bool):
        previous = self._target_mode
        self._target_mode = target
        try:
            yield
        finally:
            self._target_mode = previous

    # ----------------------------------------------------------------- text -> ids
    @staticmethod
    def remove_language_code(text: str) -> tuple[list[str], str]:
        """``">>cmn_Hans<< Hello"`` -> ``([">>cmn_Hans<<"], " Hello")``; other text is unchanged."""
        if text.startswith(">>"):
            end = text.find("<<")
            if end != -1:
                return [text[:end + 2]], text[end + 2:]
        return [], text

    def _tokenize(self, text: str) -> list[str]:
        code, text = self.remove_language_code(text)
        return code + self.current_spm.encode(text, out_type=str)

    def _encode_plain(self, text: str) -> list[int]:
        """Pieces -> vocab.json ids (special tokens keep their ids; a piece not in the vocab is <unk>)."""
        encoder, unk = self.current_encoder, self.current_encoder.get(self.unk_token, self._vocab[self.unk_token])
        ids = []
        for piece, special in self._split_special(text):
            if special:
                ids.append(self._vocab[piece])
            else:
                ids.extend(encoder.get(t, unk) for t in self._tokenize(piece))
        return ids

    def build_inputs_with_special_tokens(self, ids_a: list[int], ids_b: list[int] | None = None) -> list[int]:
        """``ids + [</s>]`` (Marian has no ``<s>``: the decoder starts from ``<pad>``)."""
        return ids_a + (ids_b or []) + [self.eos_token_id]

    def __call__(self, text=None, text_pair=None, text_target=None, padding=False, truncation=False,
                 max_length: int | None = None, return_tensors: str | None = None,
                 add_special_tokens: bool = True, max_target_length: int | None = None) -> Encoding:
        """Encode sources (``text``) and/or targets (``text_target`` -> ``labels``), as Hugging Face."""
        if text is None and text_target is None:
            raise ValueError("give text (the sources) and/or text_target (the translations)")
        kwargs = dict(padding=padding, truncation=truncation, return_tensors=return_tensors,
                      add_special_tokens=add_special_tokens)
        encodings = targets = None
        if text is not None:
            with self._mode(self._target_mode if self._in_target_context else False):
                encodings = super().__call__(text, text_pair=text_pair, max_length=max_length, **kwargs)
        if text_target is not None:
            with self._mode(True):
                targets = super().__call__(text_target, max_length=max_target_length or max_length, **kwargs)
        if encodings is None:
            return targets
        if targets is not None:
            encodings["labels"] = targets["input_ids"]
        return encodings

    # ----------------------------------------------------------------- ids -> text
    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def get_src_vocab(self) -> dict[str, int]:
        return dict(self.encoder)

    def get_tgt_vocab(self) -> dict[str, int]:
        return dict(self.target_encoder)

    def _id_to_token(self, i) -> str:
        """An id -> its piece; with separate vocabularies, ids are read in the target vocabulary
        (what a model generates), except the special tokens' ids (from vocab.json), which always mean
        those tokens — as Hugging Face does (its "added tokens" come first)."""
        if self.separate_vocabs and not (_is_int(i) and int(i) in self._special_ids):
            if isinstance(i, bool) or not 0 <= int(i) < len(self._target_tokens):
                raise ValueError(f"unknown token id {i}: the target vocabulary has ids "
                                 f"0..{len(self._target_tokens) - 1}")
            return self._target_tokens[int(i)]
        return super()._id_to_token(i)

    def decode(self, ids, skip_special_tokens: bool = False, use_source_tokenizer: bool | None = None) -> str:
        """Ids -> text. Which .spm joins the pieces: the source one for a shared vocab, else the target
        one (Hugging Face's default); ``use_source_tokenizer`` chooses."""
        use_source = (not self.separate_vocabs) if use_source_tokenizer is None else bool(use_source_tokenizer)
        self._decode_spm = self.spm_source if use_source else self.spm_target
        try:
            return super().decode(ids, skip_special_tokens=skip_special_tokens)
        finally:
            self._decode_spm = None

    def batch_decode(self, sequences, skip_special_tokens: bool = False,
                     use_source_tokenizer: bool | None = None) -> list[str]:
        return [self.decode(s, skip_special_tokens=skip_special_tokens, use_source_tokenizer=use_source_tokenizer)
                for s in self._rows(sequences)]

    @staticmethod
    def _rows(sequences):
        if hasattr(sequences, "ndim") and sequences.ndim != 2:
            raise ValueError(f"batch_decode expects a 2-D array, got shape {sequences.shape}")
        return sequences

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Runs of ordinary pieces are joined by SentencePiece; special tokens are written as they are,
        each followed by a space; then ``▁`` -> space and the ends are stripped."""
        sp = getattr(self, "_decode_spm", None) or self.spm_target
        specials = set(self.all_special_tokens)
        out, run = "", []
        for token in tokens:
            if token in specials:
                out += sp.decode_pieces(run) + token + " "
                run = []
            else:
                run.append(token)
        out += sp.decode_pieces(run)
        return out.replace(SPACE_SYMBOL, " ").strip()

    def __repr__(self) -> str:
        return (f"MarianTokenizer(vocab_size={self.vocab_size}, source_lang={self.source_lang!r}, "
                f"target_lang={self.target_lang!r}, separate_vocabs={self.separate_vocabs})")
