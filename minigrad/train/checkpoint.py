"""Training checkpoints: one safetensors file holds everything needed to resume exactly
(§3.2 预训练 · 模型训练: long runs are saved as they go, and picked up where they stopped).

    model.<name>            every parameter and buffer (model.state_dict())
    optim.<i>.<buffer>      AdamW's per-parameter arrays (exp_avg m, exp_avg_sq v), i = the
                            parameter's position in the optimizer
    __metadata__ (JSON strings)
        minigrad.checkpoint  format version ("1")
        arch                 "gpt", "bert-mlm", "bert-cls" or "marian": which class to build
        model_config         GPTConfig / BertConfig as a dict (a BERT from a Hugging Face
                             directory keeps config.json's other keys, id2label etc., in it)
        tokenizer            the vocabulary (so the file is all generate needs): a CharTokenizer's
                             characters, or a BertTokenizer's WordPiece vocab.txt lines and
                             flags (fine-tuning a Hugging Face BERT, §5), or a translation
                             model's two (English BPE tokens + merges, Chinese characters)
        task                 what was trained on (corpus, block size, split, task name)
        train_config         the TrainConfig
        step                 optimizer steps taken
        rng                  minigrad's generator state (dropout, masking); batches need no
                             state: they are drawn from a generator seeded by (seed, step)
        optimizer            param_groups (lr, betas, ...) and per-parameter step counts
        scheduler            the learning-rate schedule's position
        history              the losses so far, for the loss curve

mg.save writes the file atomically (temporary file, fsync, rename), so a crash or a Ctrl-C
during a save leaves the previous checkpoint intact.  Nothing here is pickled: loading a
checkpoint never runs code.
"""
from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from .. import random as _random
from ..serialization import load, save
from ..tokenizers import BPETokenizer, BertTokenizer, CharTokenizer

FORMAT_VERSION = "1"


class CheckpointMismatchError(ValueError):
    """A checkpoint written for another model, tokenizer or task than the current run."""


_ROLES = ("unk_token", "pad_token", "bos_token", "eos_token", "cls_token", "sep_token", "mask_token")
_BERT_ROLES = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def tokenizer_to_dict(tok) -> dict:
    """A tokenizer as plain JSON data for the checkpoint's metadata (never a pickle).

    CharTokenizer -> {"type": "char", "tokens": the characters, ...};
    BertTokenizer -> {"type": "wordpiece", "tokens": vocab.txt's lines (id = position), and the
    flags that change how text is cut: lower-casing, accents, CJK, ...} (§5's tokenizer).
    """
    roles = {r: getattr(tok, r) for r in _ROLES if getattr(tok, r, None) is not None}
    if isinstance(tok, BertTokenizer):
        return {"type": "wordpiece", "tokens": list(tok._tokens),
                **{r: v for r, v in roles.items() if r in _BERT_ROLES},
                "do_lower_case": tok.do_lower_case,
                "strip_accents": tok.basic_tokenizer.strip_accents,
                "tokenize_chinese_chars": tok.basic_tokenizer.tokenize_chinese_chars,
                "max_input_chars_per_word": tok.wordpiece_tokenizer.max_input_chars_per_word,
                "model_max_length": tok.model_max_length,
                "clean_up_tokenization_spaces": tok.clean_up_tokenization_spaces}
    from ..data.translation import TranslationTokenizers
    if isinstance(tok, TranslationTokenizers):               # English BPE in, Chinese out (§6)
        return {"type": "translation", "source": tokenizer_to_dict(tok.source),
                "target": tokenizer_to_dict(tok.target)}
    if isinstance(tok, BPETokenizer):
        return {"type": "bpe", "tokens": list(tok._tokens), "merges": [list(m) for m in tok.merges],
                **roles}
    if not isinstance(tok, CharTokenizer):
        raise TypeError(f"checkpoints store CharTokenizer, BPETokenizer and BertTokenizer "
                        f"vocabularies; got {type(tok).__name__}")
    return {"type": "char", "tokens": list(tok._tokens),
            "special_tokens": list(tok.all_special_tokens), **roles}


def tokenizer_from_dict(d: dict):
    """The tokenizer tokenizer_to_dict described: a CharTokenizer or a BertTokenizer."""
    kind = d.get("type")
    if kind == "char":
        roles = {k: v for k, v in d.items() if k.endswith("_token")}
        return CharTokenizer(d["tokens"], d.get("special_tokens", []), **roles)
    if kind == "wordpiece":
        return _wordpiece_from_dict(d)
    if kind == "bpe":
        tok = BPETokenizer({t: i for i, t in enumerate(d["tokens"])}, [tuple(m) for m in d["merges"]])
        for role in _ROLES:
            if role != "pad_token" and role in d:
                setattr(tok, role, d[role])
        tok.pad_token = d.get("pad_token")          # (the setter registers the special tokens)
        return tok
    if kind == "translation":
        from ..data.translation import TranslationTokenizers
        return TranslationTokenizers(tokenizer_from_dict(d["source"]), tokenizer_from_dict(d["target"]))
    raise ValueError(f"unknown tokenizer type in checkpoint: {kind!r} (expected 'char', 'wordpiece', "
                     f"'bpe' or 'translation')")


def _wordpiece_from_dict(d: dict) -> BertTokenizer:
    """BertTokenizer reads its vocabulary from a vocab.txt; write the stored lines to a
    temporary one (one token per line, id = line number) and read that."""
    options = {k: d[k] for k in _BERT_ROLES + ("do_lower_case", "strip_accents", "tokenize_chinese_chars",
                                               "max_input_chars_per_word", "model_max_length",
                                               "clean_up_tokenization_spaces") if k in d}
    with tempfile.TemporaryDirectory(prefix="minigrad-vocab-") as tmp:
        path = os.path.join(tmp, "vocab.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(t + "\n" for t in d["tokens"])
        tok = BertTokenizer(path, **options)
    tok.vocab_file = None                # the vocabulary lives in the checkpoint, not in a file
    return tok


def build_model(arch: str, model_config: dict):
    """The model class an `arch` name stands for, built from its config dict."""
    from ..models import (GPT, BertConfig, BertForMaskedLM, BertForSequenceClassification,
                          GPTConfig, MarianConfig, MarianMTModel)
    if arch == "gpt":
        return GPT(GPTConfig.from_dict(model_config))
    if arch == "bert-mlm":
        return BertForMaskedLM(BertConfig.from_dict(model_config))
    if arch == "bert-cls":
        return BertForSequenceClassification(BertConfig.from_dict(model_config))
    if arch == "marian":
        return MarianMTModel(MarianConfig.from_dict(model_config))
    raise ValueError(f"unknown arch {arch!r} (expected 'gpt', 'bert-mlm', 'bert-cls' or 'marian')")


def save_checkpoint(path, model, *, arch: str, model_config: dict, tokenizer=None, task=None,
                    train_config=None, step: int = 0, optimizer=None, scheduler=None,
                    history=None) -> None:
    """Write model (+ optimizer, scheduler, RNG, step) to `path`, atomically."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    meta = {"minigrad.checkpoint": FORMAT_VERSION, "arch": arch,
            "model_config": json.dumps(model_config), "step": str(int(step)),
            "rng": json.dumps(_random.get_rng_state())}
    if tokenizer is not None:
        meta["tokenizer"] = json.dumps(tokenizer_to_dict(tokenizer), ensure_ascii=False)
    if task is not None:
        meta["task"] = json.dumps(task, ensure_ascii=False)
    if train_config is not None:
        meta["train_config"] = json.dumps(train_config)
    if optimizer is not None:
        sd = optimizer.state_dict()
        scalars = {}
        for i, buffers in sd["state"].items():
            for name, v in buffers.items():
                if isinstance(v, np.ndarray):
                    tensors[f"optim.{i}.{name}"] = v
                else:
                    scalars.setdefault(str(i), {})[name] = v
        meta["optimizer"] = json.dumps({"param_groups": sd["param_groups"], "scalars": scalars})
    if scheduler is not None:
        meta["scheduler"] = json.dumps(scheduler.state_dict())
    if history is not None:
        meta["history"] = json.dumps(history)
    save(tensors, path, metadata=meta)


def read_checkpoint(path) -> dict:
    """The checkpoint as a dict: 'model' (state dict), 'optim_arrays', and the metadata fields
    decoded from JSON.  A safetensors file that is not a minigrad checkpoint is refused."""
    tensors, meta = load(path, return_metadata=True)
    if meta.get("minigrad.checkpoint") is None:
        raise CheckpointMismatchError(f"'{path}' is a safetensors file but not a minigrad training "
                                      f"checkpoint (no 'minigrad.checkpoint' metadata)")
    def tampered(what):
        return CheckpointMismatchError(f"'{path}' is a damaged or edited minigrad checkpoint: {what}")

    if "arch" not in meta:
        raise tampered("its metadata has no 'arch' entry (which model it holds)")
    try:
        step = int(meta.get("step", 0))
    except ValueError:
        raise tampered(f"its 'step' entry is {meta['step']!r}, not a whole number") from None
    out = {"path": str(path), "arch": meta["arch"], "step": step,
           "model": {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")},
           "optim_arrays": {k[len("optim."):]: v for k, v in tensors.items()
                            if k.startswith("optim.")}}
    for key in ("model_config", "rng", "tokenizer", "task", "train_config", "optimizer",
                "scheduler", "history"):
        try:
            out[key] = json.loads(meta[key]) if key in meta else None
        except (json.JSONDecodeError, RecursionError):
            raise tampered(f"its '{key}' entry is not valid JSON") from None
    if not isinstance(out["model_config"], dict):
        raise tampered("its 'model_config' entry is missing or not an object, so the model "
                       "cannot be rebuilt")
    for key in ("tokenizer", "task", "train_config", "optimizer", "scheduler", "history", "rng"):
        if out[key] is not None and not isinstance(out[key], dict):
            raise tampered(f"its '{key}' entry is not a JSON object")
    return out


def optimizer_state_from(ckpt: dict) -> dict:
    """Rebuild what Optimizer.load_state_dict expects from a checkpoint's arrays and scalars."""
    saved = ckpt["optimizer"]
    state = {}
    for key, arr in ckpt["optim_arrays"].items():
        i, name = key.split(".", 1)
        state.setdefault(int(i), {})[name] = arr.data
    for i, scalars in saved["scalars"].items():
        state.setdefault(int(i), {}).update(scalars)
    return {"state": state, "param_groups": saved["param_groups"]}


# MarianConfig's fields gained since translation checkpoints were first written, with the value
# such a checkpoint implies (it was trained without them)
_MARIAN_DEFAULTS = {"layernorm_embedding": False}


def check_compatible(ckpt: dict, arch: str, model_config: dict, tokenizer=None, task=None) -> None:
    """Raise CheckpointMismatchError, naming every difference, unless the checkpoint was
    written for this arch, model config, vocabulary and task."""
    problems = []
    if ckpt["arch"] != arch:
        problems.append(f"model type: checkpoint {ckpt['arch']!r}, now {arch!r}")
    saved = ckpt["model_config"] or {}
    for k in sorted(set(saved) | set(model_config)):
        if k == "extra":
            continue
        if (arch == "marian" and k not in saved and k in _MARIAN_DEFAULTS
                and model_config.get(k) == _MARIAN_DEFAULTS[k]):
            continue        # a field added after the checkpoint was written, at its default
        if saved.get(k) != model_config.get(k):
            problems.append(f"{k}: checkpoint {saved.get(k)!r}, now {model_config.get(k)!r}")
    if tokenizer is not None and ckpt["tokenizer"] is not None:
        saved_vocab, now_vocab = _vocabulary(ckpt["tokenizer"]), _vocabulary(tokenizer_to_dict(tokenizer))
        if saved_vocab != now_vocab:
            problems.append(f"vocabulary: checkpoint {_vocab_sizes(saved_vocab)} tokens, now "
                            f"{_vocab_sizes(now_vocab)} (or the same size in another order)")
    if task is not None and ckpt["task"] is not None:
        for k in sorted(set(ckpt["task"]) | set(task)):
            if ckpt["task"].get(k) != task.get(k):
                problems.append(f"data {k}: checkpoint {ckpt['task'].get(k)!r}, now {task.get(k)!r}")
    if problems:
        raise CheckpointMismatchError(
            f"checkpoint '{ckpt['path']}' was written by a run with another configuration:\n  "
            + "\n  ".join(problems)
            + "\nResume with the same options, or train into a new output folder (--out).")


def _vocabulary(d: dict) -> list:
    """The token lists a stored tokenizer holds (one, or a translation model's two)."""
    if not isinstance(d, dict):
        return [None]
    if d.get("type") == "translation":
        return _vocabulary(d.get("source")) + _vocabulary(d.get("target"))
    return [d.get("tokens")]


def _vocab_sizes(vocab: list) -> str:
    return " + ".join(str(len(v)) if isinstance(v, list) else "?" for v in vocab)


def load_model(path):
    """(model, tokenizer, checkpoint dict) from a checkpoint file: what evaluate, generate and
    attention need.  The model is in eval mode."""
    ckpt = read_checkpoint(path)
    model = build_model(ckpt["arch"], ckpt["model_config"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    tok = tokenizer_from_dict(ckpt["tokenizer"]) if ckpt["tokenizer"] else None
    return model, tok, ckpt
