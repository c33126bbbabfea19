"""Sentence embeddings: one vector per text, as sentence-transformers computes them.

BERT gives one vector per token (last_hidden_state, (B, T, H)).  A sentence vector is a
pooling of them; all-MiniLM-L6-v2 (and most sentence-transformers models) use

    mean pooling:   e = Σ_t m_t h_t / Σ_t m_t          (m = attention_mask: real tokens only)
    normalisation:  e = e / max(‖e‖₂, 1e-12)           (so a dot product is the cosine)

and texts are compared by cosine similarity, cos(a, b) = a·b / (‖a‖ ‖b‖).

    enc = SentenceEncoder.from_pretrained(path)           # a sentence-transformers directory
    emb = enc.encode(["A man is eating food.", "Someone is eating."])   # (2, 384), unit rows
    cos_sim(emb, emb)                                     # (2, 2)

from_pretrained reads the directory's sentence-transformers files when they are there:
modules.json (is there a Normalize step?), 1_Pooling/config.json (mean, [CLS] or max pooling)
and sentence_bert_config.json (max_seq_length: longer texts are truncated; 256 for MiniLM).
"""
from __future__ import annotations

import json
import os

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor, as_tensor

__all__ = ["SentenceEncoder", "mean_pooling", "pool", "l2_normalize", "cos_sim", "encode"]

POOLING_MODES = ("mean", "cls", "max")


def mean_pooling(last_hidden_state, attention_mask) -> Tensor:
    """(B, T, H) token vectors, (B, T) mask -> (B, H): the mean over real tokens (differentiable)."""
    h = as_tensor(last_hidden_state)
    m = np.asarray(as_tensor(attention_mask).data, dtype=h.dtype)[:, :, None]   # (B, T, 1)
    summed = (h * m).sum(1)                                      # (B, H)
    count = np.maximum(m.sum(1), 1e-9)                           # (B, 1), as sentence-transformers
    return summed / count


def pool(last_hidden_state, attention_mask, mode: str = "mean") -> Tensor:
    """Pool token vectors into one per text: 'mean' (over real tokens), 'cls' (the first
    token), or 'max' (per dimension, over real tokens)."""
    h = as_tensor(last_hidden_state)
    if mode == "mean":
        return mean_pooling(h, attention_mask)
    if mode == "cls":
        return h[:, 0]                                           # (B, H)
    if mode == "max":
        keep = np.asarray(as_tensor(attention_mask).data)[:, :, None] != 0
        return h.masked_fill(np.broadcast_to(~keep, h.shape), -1e9).amax(1)       # (B, H)
    raise ValueError(f"pool: mode must be one of {POOLING_MODES}, got {mode!r}")


def l2_normalize(x, eps: float = 1e-12) -> Tensor:
    """Each row divided by its Euclidean length (at least eps): (N, H) -> (N, H)."""
    x = as_tensor(x)
    norm = (x * x).sum(-1, keepdim=True).sqrt().clamp(min=eps)   # (N, 1)
    return x / norm


def cos_sim(a, b) -> np.ndarray:
    """Cosine similarity of every row of a with every row of b: (N, H), (M, H) -> (N, M)."""
    a = np.atleast_2d(np.asarray(a.data if isinstance(a, Tensor) else a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(b.data if isinstance(b, Tensor) else b, dtype=np.float64))
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ b.T


class SentenceEncoder:
    """A BertModel, its tokenizer, a pooling and (optionally) L2 normalisation."""

    def __init__(self, model, tokenizer, pooling: str = "mean", normalize: bool = True,
                 max_seq_length: int | None = None):
        if pooling not in POOLING_MODES:
            raise ValueError(f"SentenceEncoder: pooling must be one of {POOLING_MODES}, got {pooling!r}")
        self.model, self.tokenizer = model, tokenizer
        self.pooling, self.normalize = pooling, normalize
        self.max_seq_length = max_seq_length

    @classmethod
    def from_pretrained(cls, directory, **kwargs) -> "SentenceEncoder":
        """Load a sentence-transformers directory (or any BERT directory: mean pooling and
        normalisation by default).  Keyword arguments override what the files say."""
        from .auto import AutoTokenizer
        from .bert import BertModel
        from .pretrained import check_directory
        directory = check_directory(directory, "SentenceEncoder.from_pretrained")
        settings = _read_sentence_settings(directory)
        settings.update(kwargs)
        model = BertModel.from_pretrained(directory)
        tokenizer = AutoTokenizer.from_pretrained(directory)
        return cls(model, tokenizer, **settings)

    def forward(self, encoded) -> Tensor:
        """Tokenizer output (input_ids, attention_mask, token_type_ids) -> (B, H) embeddings,
        with gradients when they are on (for training a sentence encoder)."""
        out = self.model(encoded["input_ids"], attention_mask=encoded["attention_mask"],
                         token_type_ids=encoded.get("token_type_ids"))
        e = pool(out.last_hidden_state, encoded["attention_mask"], self.pooling)   # (B, H)
        return l2_normalize(e) if self.normalize else e

    __call__ = forward

    def encode(self, texts, batch_size: int = 32, normalize_embeddings: bool | None = None) -> np.ndarray:
        """Texts -> embeddings as a NumPy array: (N, H) for a list, (H,) for one str.

        Runs in eval mode under no_grad; texts longer than max_seq_length tokens are truncated.
        """
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        if batch_size < 1:
            raise ValueError(f"encode: batch_size must be >= 1, got {batch_size}")
        normalize = self.normalize if normalize_embeddings is None else normalize_embeddings
        was_training = self.model.training
        self.model.eval()
        chunks = []
        try:
            with no_grad():
                for start in range(0, len(texts), batch_size):
                    enc = self.tokenizer(texts[start:start + batch_size], padding=True,
                                         truncation=self.max_seq_length is not None,
                                         max_length=self.max_seq_length, return_tensors="np")
                    out = self.model(enc["input_ids"], attention_mask=enc["attention_mask"],
                                     token_type_ids=enc.get("token_type_ids"))
                    e = pool(out.last_hidden_state, enc["attention_mask"], self.pooling)
                    chunks.append((l2_normalize(e) if normalize else e).data)
        finally:
            self.model.train(was_training)
        hidden = self.model.config.hidden_size
        emb = np.concatenate(chunks) if chunks else np.zeros((0, hidden), np.float32)
        return emb[0] if single else emb

    def similarity(self, a, b=None) -> np.ndarray:
        """Cosine similarities of texts (or embeddings) a against b (default: a itself)."""
        ea = self.encode(a) if _is_text(a) else a
        eb = ea if b is None else (self.encode(b) if _is_text(b) else b)
        return cos_sim(ea, eb)


def encode(model, tokenizer, texts, pooling: str = "mean", normalize: bool = True,
           max_seq_length: int | None = None, batch_size: int = 32) -> np.ndarray:
    """One-call form of SentenceEncoder(model, tokenizer, ...).encode(texts)."""
    return SentenceEncoder(model, tokenizer, pooling, normalize, max_seq_length).encode(texts, batch_size)


def _is_text(x) -> bool:
    return isinstance(x, str) or (isinstance(x, (list, tuple)) and all(isinstance(t, str) for t in x))


def _read_sentence_settings(directory: str) -> dict:
    """pooling / normalize / max_seq_length from sentence-transformers' files, when present."""
    settings = {}
    modules_path = os.path.join(directory, "modules.json")
    pooling_dir = "1_Pooling"
    if os.path.isfile(modules_path):
        modules = _read_json(modules_path)
        types = [m.get("type", "") for m in modules if isinstance(m, dict)]
        settings["normalize"] = any(t.endswith(".Normalize") for t in types)
        for m in modules:
            if isinstance(m, dict) and m.get("type", "").endswith(".Pooling"):
                pooling_dir = m.get("path", pooling_dir)
    pooling_path = os.path.join(directory, pooling_dir, "config.json")
    if os.path.isfile(pooling_path):
        p = _read_json(pooling_path)
        modes = [mode for key, mode in (("pooling_mode_mean_tokens", "mean"),
                                        ("pooling_mode_cls_token", "cls"),
                                        ("pooling_mode_max_tokens", "max")) if p.get(key)]
        if len(modes) != 1 or p.get("pooling_mode_mean_sqrt_len_tokens"):
            raise ValueError(f"{pooling_path}: minigrad supports exactly one of mean, cls or max "
                             f"pooling; this file asks for {p}")
        settings["pooling"] = modes[0]
    st_path = os.path.join(directory, "sentence_bert_config.json")
    if os.path.isfile(st_path):
        msl = _read_json(st_path).get("max_seq_length")
        if msl is not None:
            settings["max_seq_length"] = int(msl)
    return settings


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
