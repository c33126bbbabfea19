"""The Auto classes: pick the model or tokenizer class from a directory's config.json.

The chapter's §5 example, running on minigrad (`path` is a local directory: minigrad never
downloads; see pretrained.py):

    model = AutoModelForSequenceClassification.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    inputs = tokenizer("This is a great movie!", return_tensors="np")
    predictions = model(**inputs).logits.argmax(-1)

model_type -> class:
                                         "bert"                          "gpt2"        "marian"
    AutoModel                            BertModel                       -             -
    AutoModelForSequenceClassification   BertForSequenceClassification   -             -
    AutoModelForMaskedLM                 BertForMaskedLM                 -             -
    AutoModelForCausalLM                 -                               GPT           -
    AutoModelForSeq2SeqLM                -                               -             MarianMTModel
    AutoTokenizer                        BertTokenizer (vocab.txt)       BPETokenizer (vocab.json, merges.txt)
                                                                                       MarianTokenizer (source.spm, target.spm, vocab.json)
"""
from __future__ import annotations

import json
import os

from ..tokenizers import BertTokenizer, BPETokenizer
from .bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel
from .gpt import GPT, GPTConfig
from .marian import MarianConfig, MarianMTModel
from .pretrained import (CONFIG_NAME, PretrainedError, bert_config_from_hf, check_directory,
                         gpt_config_from_hf, marian_config_from_hf, model_type_of, read_config)

__all__ = ["AutoConfig", "AutoTokenizer", "AutoModel", "AutoModelForSequenceClassification",
           "AutoModelForMaskedLM", "AutoModelForCausalLM", "AutoModelForSeq2SeqLM"]

SUPPORTED = ("bert", "gpt2", "marian")


def _model_type(directory: str, what: str) -> str:
    config = read_config(directory)
    model_type = model_type_of(config, os.path.join(directory, CONFIG_NAME))
    if model_type not in SUPPORTED:
        raise PretrainedError(f"{os.path.join(directory, CONFIG_NAME)}: model_type '{model_type}' is "
                              f"not supported by minigrad's {what} (supported: {', '.join(SUPPORTED)})")
    return model_type


class AutoConfig:
    @staticmethod
    def from_pretrained(directory, **overrides) -> BertConfig | GPTConfig | MarianConfig:
        """config.json as a BertConfig, GPTConfig or MarianConfig."""
        directory = check_directory(directory, "AutoConfig.from_pretrained")
        model_type = _model_type(directory, "AutoConfig")
        raw, source = read_config(directory), os.path.join(directory, CONFIG_NAME)
        convert = {"bert": bert_config_from_hf, "gpt2": gpt_config_from_hf,
                   "marian": marian_config_from_hf}[model_type]
        return convert(raw, source, **overrides)


class _AutoModelBase:
    _mapping: dict = {}

    def __init__(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is not built directly: use "
                        f"{type(self).__name__}.from_pretrained(directory)")

    @classmethod
    def from_pretrained(cls, directory, **kwargs):
        """Read config.json's model_type, then the matching class's from_pretrained
        (keyword arguments as there: num_labels=..., dtype=..., output_loading_info=...)."""
        directory = check_directory(directory, f"{cls.__name__}.from_pretrained")
        model_type = _model_type(directory, cls.__name__)
        if model_type not in cls._mapping:
            other = [a.__name__ for a in _AUTO_MODELS if model_type in a._mapping]
            raise PretrainedError(f"{os.path.join(directory, CONFIG_NAME)}: model_type '{model_type}' "
                                  f"has no class for {cls.__name__} in minigrad; "
                                  f"use {' or '.join(other)}")
        return cls._mapping[model_type].from_pretrained(directory, **kwargs)


class AutoModel(_AutoModelBase):
    """The bare encoder (BertModel): last_hidden_state and pooler_output."""
    _mapping = {"bert": BertModel}


class AutoModelForSequenceClassification(_AutoModelBase):
    """BERT with a classifier on the pooled [CLS] vector (new and random unless the file has one)."""
    _mapping = {"bert": BertForSequenceClassification}


class AutoModelForMaskedLM(_AutoModelBase):
    _mapping = {"bert": BertForMaskedLM}


class AutoModelForCausalLM(_AutoModelBase):
    """GPT-2: minigrad's GPT, with lm_head tied to the token embeddings."""
    _mapping = {"gpt2": GPT}


class AutoModelForSeq2SeqLM(_AutoModelBase):
    """The encoder–decoder for translation (§2.3, §6): minigrad's MarianMTModel."""
    _mapping = {"marian": MarianMTModel}


_AUTO_MODELS = (AutoModel, AutoModelForSequenceClassification, AutoModelForMaskedLM,
                AutoModelForCausalLM, AutoModelForSeq2SeqLM)

_BERT_CLASSES = ("BertTokenizer", "BertTokenizerFast", "DistilBertTokenizer", "DistilBertTokenizerFast")
_GPT2_CLASSES = ("GPT2Tokenizer", "GPT2TokenizerFast")


class AutoTokenizer:
    @staticmethod
    def from_pretrained(directory, **kwargs) -> BertTokenizer | BPETokenizer:
        """BertTokenizer (vocab.txt), BPETokenizer (vocab.json + merges.txt) or MarianTokenizer
        (source.spm + target.spm + vocab.json).

        The kind comes from tokenizer_config.json's tokenizer_class, else config.json's
        model_type, else the files present.  tokenizer.json alone is not read: minigrad's
        tokenizers use the plain vocabulary files, which every BERT and GPT-2 directory has.
        """
        directory = check_directory(directory, "AutoTokenizer.from_pretrained")
        tok_config = {}
        path = os.path.join(directory, "tokenizer_config.json")
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as f:
                    tok_config = json.load(f)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise PretrainedError(f"{path}: not valid JSON ({e})") from None
        kind = None
        cls_name = tok_config.get("tokenizer_class")
        if cls_name in _BERT_CLASSES:
            kind = "bert"
        elif cls_name in _GPT2_CLASSES:
            kind = "gpt2"
        elif cls_name == "MarianTokenizer":
            kind = "marian"
        elif cls_name is not None:
            raise PretrainedError(f"{path}: tokenizer_class '{cls_name}' is not supported by minigrad "
                                  f"(supported: {', '.join(_BERT_CLASSES + _GPT2_CLASSES)}, MarianTokenizer)")
        elif os.path.isfile(os.path.join(directory, CONFIG_NAME)):
            kind = _model_type(directory, "AutoTokenizer")
        elif os.path.isfile(os.path.join(directory, "source.spm")):
            kind = "marian"                  # the tokenizer files alone, as MarianTokenizer saves them
        if kind == "marian":                 # source.spm + target.spm + vocab.json
            try:
                from ..tokenizers import MarianTokenizer
            except ImportError:
                raise PretrainedError(f"AutoTokenizer: '{directory}' is a Marian directory, and this "
                                      f"minigrad has no MarianTokenizer") from None
            return MarianTokenizer.from_pretrained(directory, **kwargs)
        has = {n: os.path.isfile(os.path.join(directory, n)) for n in ("vocab.txt", "vocab.json", "merges.txt")}
        if kind is None:
            kind = "bert" if has["vocab.txt"] else "gpt2" if has["vocab.json"] else None
        if kind is None:
            raise FileNotFoundError(f"AutoTokenizer: '{directory}' has neither vocab.txt (BERT) nor "
                                    f"vocab.json + merges.txt (GPT-2) nor source.spm (Marian)")
        needed = ["vocab.txt"] if kind == "bert" else ["vocab.json", "merges.txt"]
        for name in needed:
            if not has[name]:
                extra = (" (it has tokenizer.json, which minigrad does not read; the plain vocabulary "
                         "files come with every BERT/GPT-2 model)"
                         if os.path.isfile(os.path.join(directory, "tokenizer.json")) else "")
                raise FileNotFoundError(f"AutoTokenizer: '{directory}' is a {kind} directory but has no "
                                        f"{name}{extra}")
        if kind == "bert":
            return BertTokenizer.from_pretrained(directory, **kwargs)
        max_len = kwargs.pop("model_max_length", tok_config.get("model_max_length"))
        if max_len is not None and max_len > 1e20:
            max_len = None                   # Hugging Face writes 1e30 for "no limit"
        if kwargs:
            raise TypeError(f"AutoTokenizer: unexpected arguments for BPETokenizer: {sorted(kwargs)}")
        return BPETokenizer.load(directory, model_max_length=max_len)
