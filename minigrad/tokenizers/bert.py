"""BertTokenizer: WordPiece for BERT, giving the same ids as Hugging Face's ``BertTokenizer``.

Chapter §3.2 (预训练) and §3.3 (微调): the chapter's example loads a pre-trained BERT and calls
``tokenizer(text, return_tensors=...)``. This class is that tokenizer, from scratch: it reads
BERT's ``vocab.txt`` (one token per line, id = line number starting at 0), cuts text with
``wordpiece.py``, and wraps sequences as BERT was pre-trained:

* one text:  ``[CLS] A [SEP]``,            ``token_type_ids`` all 0;
* a pair:    ``[CLS] A [SEP] B [SEP]``,    ``token_type_ids`` 0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``.

Two places where Hugging Face's versions disagree, and which one this follows:

* ``truncation=True`` on a pair with an odd token budget: the Rust rule (transformers v5), see
  ``base._truncate``;
* ``decode`` cleans up spaces on the joined string, as the Python ``convert_tokens_to_string``
  and ``clean_up_tokenization`` do ("don ' t" → "don't"); v5's Rust decoder cleans up token by
  token and leaves "don ' t".
"""

from __future__ import annotations

import json
import os

from .base import Tokenizer
from .wordpiece import BasicTokenizer, WordpieceTokenizer

__all__ = ["BertTokenizer", "load_vocab_txt"]


def load_vocab_txt(path: str) -> list[str]:
    """Read a ``vocab.txt``: token i is line i (0-based). A repeated token raises ValueError."""
    tokens: list[str] = []
    first_line: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            token = line.rstrip("\r\n")
            if token in first_line:
                raise ValueError(f"{path}, line {n}: token {token!r} is already on line {first_line[token]}")
            first_line[token] = n
            tokens.append(token)
    return tokens


class BertTokenizer(Tokenizer):
    """BERT's tokenizer (uncased by default), Hugging Face compatible.

    >>> tok = BertTokenizer("vocab.txt")                          # doctest: +SKIP
    >>> tok("This is a great movie!").input_ids                    # doctest: +SKIP
    [101, 2023, 2003, 1037, 2307, 3185, 999, 102]

    ``do_lower_case``: lower-case (and strip accents) before WordPiece: True for "uncased" models.
    ``strip_accents``: None follows ``do_lower_case``. ``model_max_length``: the default
    ``max_length`` for truncation (None: unlimited). ``clean_up_tokenization_spaces``: ``decode``
    removes the space before ``. , ! ?`` and in contractions, as Hugging Face's does.
    """

    model_input_names = ("input_ids", "token_type_ids", "attention_mask")

    def __init__(self, vocab_file: str, do_lower_case: bool = True, unk_token: str = "[UNK]",
                 sep_token: str = "[SEP]", pad_token: str = "[PAD]", cls_token: str = "[CLS]",
                 mask_token: str = "[MASK]", tokenize_chinese_chars: bool = True, strip_accents: bool | None = None,
                 model_max_length: int | None = None, clean_up_tokenization_spaces: bool = True,
                 max_input_chars_per_word: int = 100):
        if not isinstance(vocab_file, (str, os.PathLike)):
            raise TypeError(f"vocab_file must be a path, got {type(vocab_file).__name__}")
        vocab_file = os.fspath(vocab_file)
        tokens = load_vocab_txt(vocab_file)
        roles = dict(unk_token=unk_token, sep_token=sep_token, pad_token=pad_token,
                     cls_token=cls_token, mask_token=mask_token)
        known = set(tokens)
        for role, tok in roles.items():
            if tok not in known:
                raise ValueError(f"{vocab_file}: the special token {tok!r} ({role}) is missing from the vocabulary")
        # HF's order of special tokens: bos, eos, unk, sep, pad, cls, mask.
        specials = [unk_token, sep_token, pad_token, cls_token, mask_token]
        self._init_vocab(tokens, specials, model_max_length=model_max_length, **roles)
        self.vocab_file = vocab_file
        self.do_lower_case = do_lower_case
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self.basic_tokenizer = BasicTokenizer(do_lower_case, never_split=specials,
                                              tokenize_chinese_chars=tokenize_chinese_chars,
                                              strip_accents=strip_accents)
        self.wordpiece_tokenizer = WordpieceTokenizer(self._vocab, unk_token, max_input_chars_per_word)

    @classmethod
    def from_pretrained(cls, directory: str, **kwargs) -> "BertTokenizer":
        """Load ``vocab.txt`` from a model directory, with ``do_lower_case`` and ``model_max_length``
        from its ``tokenizer_config.json`` when there is one (keyword arguments win)."""
        config_path = os.path.join(directory, "tokenizer_config.json")
        if os.path.exists(config_path):
            with open(config_path, encoding="utf-8") as f:
                config = json.load(f)
            for key in ("do_lower_case", "model_max_length", "strip_accents", "tokenize_chinese_chars"):
                if key in config and key not in kwargs:
                    kwargs[key] = config[key]
            if (kwargs.get("model_max_length") or 0) > 1e20:
                kwargs["model_max_length"] = None        # HF writes 1e30 for "unlimited"
        return cls(os.path.join(directory, "vocab.txt"), **kwargs)

    def save(self, directory: str) -> None:
        """Write ``vocab.txt`` and a ``tokenizer_config.json`` that Hugging Face's AutoTokenizer understands."""
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
            f.writelines(t + "\n" for t in self._tokens)
        config = {"tokenizer_class": "BertTokenizer", "do_lower_case": self.do_lower_case}
        if self.model_max_length is not None:
            config["model_max_length"] = self.model_max_length
        with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
            f.write("\n")

    # ------------------------------------------------------------ text -> tokens
    def _tokenize(self, text: str) -> list[str]:
        tokens = []
        for word in self.basic_tokenizer.tokenize(text):
            tokens.extend(self.wordpiece_tokenizer.tokenize_word(word))
        return tokens

    # ------------------------------------------------------------ [CLS] A [SEP] B [SEP]
    def build_inputs_with_special_tokens(self, ids_a, ids_b=None):
        cls, sep = [self._vocab[self.cls_token]], [self._vocab[self.sep_token]]
        return cls + ids_a + sep + (ids_b + sep if ids_b is not None else [])

    def create_token_type_ids_from_sequences(self, ids_a, ids_b=None):
        first = [0] * (len(ids_a) + 2)
        return first + ([1] * (len(ids_b) + 1) if ids_b is not None else [])

    # ------------------------------------------------------------ tokens -> text
    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Join with spaces and glue ``##`` pieces to the piece before: ``un ##aff ##able`` → ``unaffable``."""
        return " ".join(tokens).replace(" ##", "").strip()

    def decode(self, ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool | None = None) -> str:
        text = super().decode(ids, skip_special_tokens=skip_special_tokens)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text


def clean_up_tokenization(text: str) -> str:
    """Hugging Face's ``clean_up_tokenization``: "hello , world !" → "hello, world!"."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                          (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(before, after)
    return text
