"""The attention explorer (§4.1 自注意力机制, §8 可解释性): one self-contained HTML page.

    view = mg.viz.attention_view(model, "床前明月光，疑是地上霜。", tokenizer)
    view                                      # in Jupyter: the explorer
    view.save("attention.html")               # one file: opens offline, in any browser
    mg.viz.attention_view(attentions=out.attentions, tokens=["床", "前", ...])

The page shows softmax(QKᵀ/√d_k) (§4.1) of every layer and head: a layers × heads grid of
thumbnails (click one to open that head), the head view (each query token on the left joined
to the key tokens on the right it attends to, the line's opacity its weight; hover a token to
see only its row, or a key token its column) and the token-to-token matrix of one head (its
value under the pointer).  Layer and heads are chosen at the top.

* A causal model (GPT, a decoder) shows only what each token can see: query i, keys 0..i;
  the cells it cannot see are grey, not zeros.  Padding positions are left out.
* An encoder–decoder (MarianMTModel) gives three sets of maps: the encoder's self-attention
  (source × source), the decoder's (target × target, causal) and the cross-attention
  (query = target token, key = source token).
* Everything is in the page: hand-written JavaScript (assets/attention.js) drawing on canvas,
  no <script src>, no CDN, no web fonts (the page uses the system's fonts and says so when
  none of them has CJK glyphs).  Several views in one notebook never interfere: each has its
  own id and its script runs in a closure of its own.
* Size: the weights are quantised to 8 bits, one scale per row (the row's largest weight):
  w ≈ q·scale/255 with q = round(255·w/scale), so the error is at most scale/510 ≤ 1/510;
  the page states the largest error it actually has.  A causal map stores only its lower
  triangle.  6 layers × 12 heads × 128 tokens: about 1.6 MB (BERT), 0.8 MB (GPT).
"""
from __future__ import annotations

import base64
import html
import json
import os
import secrets
from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor

MAX_BYTES = 32 * 2 ** 20         # refuse a page whose weights alone would take more than this
FONT = ("system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'Helvetica Neue', Arial, "
        "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Hiragino Sans GB', "
        "'Microsoft YaHei', 'WenQuanYi Micro Hei', 'Noto Sans CJK JP', 'Noto Sans CJK KR', sans-serif")


@dataclass
class AttentionSet:
    """One set of maps: (layers, heads, T queries, S keys), only the positions shown."""
    name: str                    # "attention", "encoder", "decoder", "cross"
    weights: np.ndarray          # (L, H, T, S) float32
    rows: list                   # T query tokens
    cols: list                   # S key tokens
    causal: bool = False
    hidden_rows: int = 0         # padding positions left out
    hidden_cols: int = 0
    layers: list = field(default_factory=list)   # the model's layer numbers shown
    heads: list = field(default_factory=list)
    description: str = ""


# ----------------------------------------------------------------------------------------
# Tokens as the page shows them
# ----------------------------------------------------------------------------------------
_SHOWN = {"\n": "\\n", " ": "␣", "\t": "\\t", "\r": "\\r", "": "∅"}


def token_labels(tokenizer, ids) -> list[str]:
    """The tokens of `ids` as text a reader can see: byte-level BPE tokens decoded from their
    bytes (a leading space as ·; bytes that are only part of a character as ‹e5 ba›),
    whitespace made visible, other tokens as the tokenizer spells them."""
    ids = [int(i) for i in ids]
    from ..data.translation import TranslationTokenizers
    if isinstance(tokenizer, TranslationTokenizers):       # a translation checkpoint's pair: English
        tokenizer = tokenizer.source
    tokens = tokenizer.convert_ids_to_tokens(ids)
    from ..tokenizers import BPETokenizer
    if isinstance(tokenizer, BPETokenizer):
        from ..tokenizers.byte_level import unicode_to_bytes
        to_byte = unicode_to_bytes()
        specials = set(tokenizer.all_special_tokens)
        out = []
        for t in tokens:
            if t in specials or not all(ch in to_byte for ch in t):
                out.append(t)
                continue
            raw = bytes(to_byte[ch] for ch in t)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                out.append("‹" + " ".join(f"{b:02x}" for b in raw) + "›")
                continue
            if text.startswith(" ") and text.strip():
                text = "·" + text[1:]
            out.append(_SHOWN.get(text, text.replace("\n", "\\n")))
        return out
    return [_SHOWN.get(t, t.replace("\n", "\\n")) for t in tokens]


# ----------------------------------------------------------------------------------------
# Getting the maps: from a model, or given
# ----------------------------------------------------------------------------------------
def _numpy(a) -> np.ndarray:
    return np.asarray(a.data if isinstance(a, Tensor) else a, dtype=np.float32)


def _load(source):
    """(model, tokenizer) from a Hugging Face directory or a minigrad checkpoint file."""
    path = os.fspath(source)
    if os.path.isdir(path):
        from ..models import AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
        from ..models.pretrained import model_type_of, read_config
        kind = model_type_of(read_config(path), os.path.join(path, "config.json"))
        cls = {"gpt2": AutoModelForCausalLM, "marian": AutoModelForSeq2SeqLM}.get(kind, AutoModel)
        return cls.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    if os.path.isfile(path):
        from ..train import load_model
        model, tok, _ = load_model(path)
        return model, tok
    raise FileNotFoundError(f"attention_view: no such directory or checkpoint file: {path}")


def _tokenizer_of(model, tokenizer):
    """The tokenizer given, else the one of the directory or checkpoint the model was loaded
    from (its `name_or_path`, as Hugging Face names it)."""
    if tokenizer is not None:
        return tokenizer
    where = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None),
                                                              "_name_or_path", None)
    if where and os.path.isdir(str(where)):
        from ..models import AutoTokenizer
        return AutoTokenizer.from_pretrained(str(where))
    if where and os.path.isfile(str(where)):
        from ..train.checkpoint import read_checkpoint, tokenizer_from_dict
        saved = read_checkpoint(str(where))["tokenizer"]
        return tokenizer_from_dict(saved) if saved else None
    return None


def _kind(model) -> str:
    if getattr(model, "model_type", "") == "marian" or hasattr(model, "get_encoder"):
        return "seq2seq"
    if getattr(model, "model_type", "") == "gpt2" or hasattr(model, "transformer"):
        return "causal"
    return "encoder"


def _encode(tokenizer, text_or_ids, what="text"):
    """input_ids (1, T) and the other arrays the model takes, from text, ids or an encoding."""
    extra = {}
    if isinstance(text_or_ids, str):
        if tokenizer is None:
            raise ValueError("attention_view: the text needs a tokenizer: pass tokenizer= (a minigrad "
                             "BertTokenizer, CharTokenizer or BPETokenizer), or give the model as the "
                             "directory or checkpoint it came from, or pass token ids")
        enc = tokenizer(text_or_ids, return_tensors="np")
        ids = np.asarray(enc["input_ids"])
        for k in ("attention_mask", "token_type_ids"):
            if k in enc:
                extra[k] = np.asarray(enc[k])
    elif isinstance(text_or_ids, dict) or hasattr(text_or_ids, "keys"):
        ids = np.asarray(text_or_ids["input_ids"])
        for k in ("attention_mask", "token_type_ids"):
            if k in text_or_ids:
                extra[k] = np.asarray(text_or_ids[k])
    else:
        ids = np.asarray(text_or_ids.data if isinstance(text_or_ids, Tensor) else text_or_ids)
    if ids.ndim == 1:
        ids = ids[None]
        extra = {k: (v[None] if v.ndim == 1 else v) for k, v in extra.items()}
    if ids.ndim != 2 or ids.dtype.kind not in "iu":
        raise ValueError(f"attention_view: the {what} gives token ids of shape {ids.shape} and dtype "
                         f"{ids.dtype}; expected integers of shape (T,) or (B, T)")
    if ids.shape[1] == 0:
        raise ValueError(f"attention_view: the {what} has no tokens")
    return ids, extra


def _labels(tokenizer, ids):
    if tokenizer is None:
        return [f"#{int(i)}" for i in ids]
    return token_labels(tokenizer, ids)


def _from_model(model, text_or_ids, tokenizer, target, index, max_new_tokens):
    from ..autograd import no_grad
    if isinstance(model, (str, os.PathLike)):
        model, loaded_tok = _load(model)
        tokenizer = tokenizer or loaded_tok
    tokenizer = _tokenizer_of(model, tokenizer)
    if text_or_ids is None:
        raise ValueError("attention_view: give the text (or token ids) to look at")
    ids, extra = _encode(tokenizer, text_or_ids)
    if not 0 <= index < ids.shape[0]:
        raise IndexError(f"attention_view: index {index} is out of range for a batch of {ids.shape[0]}")
    config = getattr(model, "config", None)
    limit = getattr(config, "block_size", None) or getattr(config, "max_position_embeddings", None)
    if limit is not None and ids.shape[1] > limit:
        raise ValueError(f"attention_view: the text has {ids.shape[1]} tokens, more than the model's "
                         f"{limit}; use a shorter text")
    kind = _kind(model)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        with no_grad():
            if kind == "causal":
                out = model(ids, output_attentions=True)
            elif kind == "encoder":
                out = model(ids, output_attentions=True, **extra)
            else:
                out, decoder_ids = _seq2seq(model, tokenizer, ids, extra, target, max_new_tokens)
    finally:
        model.train(was_training)
    keep = extra.get("attention_mask")
    keep = None if keep is None else np.asarray(keep[index]).astype(bool)
    name = type(model).__name__
    if kind != "seq2seq":
        labels = _labels(tokenizer, ids[index])
        att = [_numpy(a)[index] for a in out.attentions]
        return [_make_set("attention", att, labels, labels, kind == "causal", keep, keep,
                          f"{name}: self-attention")]
    src = _labels(tokenizer, ids[index])
    tgt = _labels(_target_side(tokenizer), decoder_ids[index])
    enc = [_numpy(a)[index] for a in out.encoder_attentions]
    dec = [_numpy(a)[index] for a in out.decoder_attentions]
    cross = [_numpy(a)[index] for a in out.cross_attentions]
    return [_make_set("cross", cross, tgt, src, False, None, keep,
                      f"{name}: cross-attention (query: target token, key: source token)"),
            _make_set("encoder", enc, src, src, False, keep, keep,
                      f"{name}: the encoder's self-attention (source × source)"),
            _make_set("decoder", dec, tgt, tgt, True, None, None,
                      f"{name}: the decoder's self-attention (target × target, causal)")]


def _target_side(tokenizer):
    """The tokenizer that spells target ids (MarianTokenizer with separate vocabularies, or
    the Chinese side of a minigrad translation checkpoint's TranslationTokenizers)."""
    from ..data.translation import TranslationTokenizers
    if isinstance(tokenizer, TranslationTokenizers):
        return tokenizer.target
    if tokenizer is not None and getattr(tokenizer, "separate_vocabs", False) and \
            hasattr(tokenizer, "as_target_tokenizer"):
        class _Target:
            def convert_ids_to_tokens(self, ids):
                with tokenizer.as_target_tokenizer():
                    return tokenizer.convert_ids_to_tokens(ids)
        return _Target()
    return tokenizer


def _seq2seq(model, tokenizer, ids, extra, target, max_new_tokens):
    """The encoder–decoder's forward with attentions on the source and a target: the given
    translation, or the model's own (greedy).  The decoder reads [start] + the target's tokens
    but the last, as in training (shift right): row k is the position that predicts token k."""
    cfg = model.config
    mask = extra.get("attention_mask")
    if target is None:
        generated = np.asarray(model.generate(ids, attention_mask=mask, num_beams=1,
                                              max_new_tokens=max_new_tokens).data)
        decoder_ids = generated
        eos = cfg.eos_token_id
        if decoder_ids.shape[1] > 1 and np.all(decoder_ids[:, -1] == eos):
            decoder_ids = decoder_ids[:, :-1]
    else:
        if isinstance(target, str):
            if tokenizer is None:
                raise ValueError("attention_view: a target text needs a tokenizer")
            labels = np.asarray(tokenizer(text_target=target, return_tensors="np")["labels"])
        else:
            labels = np.asarray(target.data if isinstance(target, Tensor) else target)
            labels = labels[None] if labels.ndim == 1 else labels
        if labels.shape[0] != ids.shape[0]:
            labels = np.repeat(labels[:1], ids.shape[0], axis=0)
        start = np.full((labels.shape[0], 1), cfg.decoder_start_token_id, dtype=labels.dtype)
        decoder_ids = np.concatenate([start, labels[:, :-1]], axis=1)
    out = model(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids, output_attentions=True)
    return out, decoder_ids


def _make_set(name, att, rows, cols, causal, keep_rows, keep_cols, description):
    """An AttentionSet from a list per layer of (H, T, S) maps, padding positions removed."""
    L = len(att)
    if L == 0:
        raise ValueError("attention_view: no layers of attention were given")
    shapes = {a.shape for a in att}
    if len(shapes) != 1:
        raise ValueError(f"attention_view: the layers' maps have different shapes {sorted(shapes)}")
    w = np.stack(att).astype(np.float32)                    # (L, H, T, S)
    if w.ndim != 4:
        raise ValueError(f"attention_view: expected maps of shape (heads, T, S) per layer, got {w.shape[1:]}")
    _, H, T, S = w.shape
    if len(rows) != T or len(cols) != S:
        raise ValueError(f"attention_view: {T} query and {S} key positions, but {len(rows)} and "
                         f"{len(cols)} tokens were given")
    r = np.ones(T, bool) if keep_rows is None else np.asarray(keep_rows, bool)
    c = np.ones(S, bool) if keep_cols is None else np.asarray(keep_cols, bool)
    if r.shape != (T,) or c.shape != (S,):
        raise ValueError(f"attention_view: the attention mask has shape {r.shape}/{c.shape}, expected "
                         f"({T},)/({S},)")
    if causal and not (np.array_equal(r, c) and T == S):
        raise ValueError("attention_view: a causal map must have the same queries as keys")
    if not r.any() or not c.any():
        raise ValueError("attention_view: every position is padding")
    w = w[:, :, r][:, :, :, c]
    if not np.isfinite(w).all():
        raise ValueError("attention_view: the attention weights contain NaN or Inf")
    return AttentionSet(name, np.ascontiguousarray(w), [t for t, k in zip(rows, r) if k],
                        [t for t, k in zip(cols, c) if k], bool(causal), int((~r).sum()),
                        int((~c).sum()), list(range(L)), list(range(H)), description)


def _given(attentions, tokens, causal, attention_mask, index, pad_token):
    """AttentionSets from attentions given directly (a list per layer of (B or 1, H, T, S)),
    or a dict name -> such a list (tokens then a dict name -> tokens or (rows, cols))."""
    named = attentions if isinstance(attentions, dict) else {"attention": attentions}
    sets = []
    for name, layers in named.items():
        layers = [_numpy(a) for a in layers]
        if any(a.ndim not in (3, 4) for a in layers):
            raise ValueError("attention_view: attentions must be a list per layer of arrays "
                             "(B or 1, heads, T, S) or (heads, T, S)")
        maps = [a[index] if a.ndim == 4 else a for a in layers]
        T, S = maps[0].shape[-2:]
        toks = tokens.get(name) if isinstance(tokens, dict) else tokens
        if toks is None:
            rows, cols = [f"{i}" for i in range(T)], [f"{j}" for j in range(S)]
        elif isinstance(toks, tuple) and len(toks) == 2 and not isinstance(toks[0], str):
            rows, cols = [str(t) for t in toks[0]], [str(t) for t in toks[1]]
        else:
            rows = cols = [str(t) for t in toks]
        keep_r = keep_c = None
        if attention_mask is not None:
            m = np.asarray(attention_mask.data if isinstance(attention_mask, Tensor) else attention_mask)
            m = m[index] if m.ndim == 2 else m
            keep_c = m.astype(bool)
            keep_r = keep_c if T == S else None
        elif pad_token is not None:
            keep_c = np.array([t != pad_token for t in cols])
            keep_r = np.array([t != pad_token for t in rows])
        is_causal = causal
        if is_causal is None:                   # nothing above the diagonal: a causal model
            is_causal = T == S and T > 1 and all(np.all(np.triu(a, k=1) == 0) for a in maps)
        sets.append(_make_set(name, maps, rows, cols, is_causal, keep_r, keep_c,
                              {"attention": "self-attention"}.get(name, name)))
    return sets


def attention_data(model=None, text_or_ids=None, tokenizer=None, *, attentions=None, tokens=None,
                   target=None, attention_mask=None, causal=None, index: int = 0,
                   pad_token=None, max_new_tokens: int = 32) -> list[AttentionSet]:
    """The maps attention_view shows (same arguments), as AttentionSets."""
    if attentions is not None:
        if model is not None:
            raise ValueError("attention_view: give a model and a text, or attentions= and tokens=, not both")
        return _given(attentions, tokens, causal, attention_mask, index, pad_token)
    if model is None:
        raise ValueError("attention_view: give a model and a text, or attentions= (and tokens=)")
    return _from_model(model, text_or_ids, tokenizer, target, index, max_new_tokens)


# ----------------------------------------------------------------------------------------
# Quantisation: 8 bits per weight, one scale per row
# ----------------------------------------------------------------------------------------
def quantise(s: AttentionSet):
    """(q, scales, largest error) for one set: q the uint8 codes of the stored entries (per
    layer, head and row: the whole row, or for a causal map its first i + 1 entries), scales
    (L, H, T) float32 the rows' largest weights; w ≈ q·scale/255, |error| ≤ scale/510."""
    w = s.weights
    L, H, T, S = w.shape
    if s.causal:
        r, c = np.tril_indices(T)
        stored = w[:, :, r, c]                             # (L, H, T(T+1)/2), row by row
        row_of = r
    else:
        stored = w.reshape(L, H, T * S)
        row_of = np.repeat(np.arange(T), S)
    if s.causal:
        scales = np.zeros((L, H, T), np.float32)
        np.maximum.at(scales, (slice(None), slice(None), row_of), stored)
    else:
        scales = w.max(axis=-1).astype(np.float32)
    scales = np.maximum(scales, 0).astype(np.float32)
    per_entry = scales[:, :, row_of].astype(np.float64)
    safe = np.where(per_entry > 0, per_entry, 1.0)
    q = np.clip(np.rint(stored / safe * 255.0), 0, 255).astype(np.uint8)
    back = q.astype(np.float64) * per_entry / 255.0        # what the page computes
    error = float(np.abs(back - stored.astype(np.float64)).max()) if stored.size else 0.0
    return q, scales, error


def dequantise(q, scales, causal: bool, T: int, S: int) -> np.ndarray:
    """The (L, H, T, S) maps the page shows (entries a causal query cannot see are 0)."""
    L, H = scales.shape[:2]
    out = np.zeros((L, H, T, S))
    if causal:
        r, c = np.tril_indices(T)
        out[:, :, r, c] = q.astype(np.float64) * scales[:, :, r].astype(np.float64) / 255.0
    else:
        out[:] = (q.reshape(L, H, T, S).astype(np.float64) * scales[..., None].astype(np.float64) / 255.0)
    return out


def _b64(array) -> str:
    return base64.b64encode(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()).decode("ascii")


# ----------------------------------------------------------------------------------------
# The view
# ----------------------------------------------------------------------------------------
class AttentionView:
    """What attention_view returns: shows itself in Jupyter, saves one HTML file."""

    def __init__(self, sets: list, title: str = ""):
        self.sets = sets
        self.title = title
        total = sum(s.weights[0, 0].size * s.weights.shape[0] * s.weights.shape[1] for s in sets)
        if total > MAX_BYTES:
            raise ValueError(f"attention_view: {total / 2 ** 20:.0f} MB of weights is too much for one "
                             "page; pass layers=[...] or heads=[...] to show fewer, or a shorter text")
        self._payload = None

    def payload(self) -> dict:
        """What the page embeds: per set, the tokens, the quantised weights (base64) and the
        largest quantisation error."""
        if self._payload is None:
            out = []
            for s in self.sets:
                q, scales, error = quantise(s)
                L, H, T, S = s.weights.shape
                out.append({"name": s.name, "description": s.description, "layers": s.layers,
                            "heads": s.heads, "T": T, "S": S, "causal": s.causal, "rows": s.rows,
                            "cols": s.cols, "hiddenRows": s.hidden_rows, "hiddenCols": s.hidden_cols,
                            "q": _b64(q), "scales": _b64(scales), "maxError": error})
            self._payload = {"title": self.title, "sets": out,
                             "maxError": max(d["maxError"] for d in out)}
        return self._payload

    @property
    def max_error(self) -> float:
        """The largest |shown weight − true weight| on the page (≤ 1/510)."""
        return self.payload()["maxError"]

    def html_fragment(self) -> str:
        """The view as an HTML fragment (a notebook output): a div, its style, its data and its
        script, under an id no other view has."""
        uid = f"mg-attn-{secrets.token_hex(6)}"
        data = json.dumps(self.payload(), ensure_ascii=False, separators=(",", ":"))
        data = data.replace("<", "\\u003c")       # no "</script>" or "<!--" can end the data early
        css = _asset("attention.css")
        script = _asset("attention.js").replace("__ROOT_ID__", uid)
        return (f'<div class="mg-attn" id="{uid}" lang="zh" style="font-family:{html.escape(FONT)}">'
                f'<div class="mg-nojs">The attention explorer needs JavaScript (in Jupyter: trust the '
                f'notebook); it fetches nothing from the network.</div></div>'
                f"<style>{css}</style>"
                f'<script type="application/json" id="{uid}-data">{data}</script>'
                f"<script>{script}</script>")

    def html(self) -> str:
        """A whole page (what save writes)."""
        title = html.escape(self.title or "minigrad attention explorer")
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{title}</title></head><body>{self.html_fragment()}</body></html>\n")

    def _repr_html_(self) -> str:
        return self.html_fragment()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html_fragment(), "text/plain": repr(self)}

    def save(self, path) -> str:
        """Write the page (UTF-8, atomic: a temporary file renamed); returns the path."""
        from .graph_view import _write_atomic
        path = os.fspath(path)
        _write_atomic(path, self.html())
        return path

    def __repr__(self):
        parts = [f"{s.name} {s.weights.shape[0]}×{s.weights.shape[1]} ({len(s.rows)}×{len(s.cols)} tokens)"
                 for s in self.sets]
        return f"<mg.viz attention view: {'; '.join(parts)}; .save('attention.html')>"


def _asset(name: str) -> str:
    from importlib import resources
    return resources.files("minigrad.viz").joinpath("assets", name).read_text(encoding="utf-8")


def _select(sets, layers, heads):
    if layers is None and heads is None:
        return sets
    out = []
    for s in sets:
        L, H = s.weights.shape[:2]
        ls = list(range(L)) if layers is None else [int(i) % L for i in layers]
        hs = list(range(H)) if heads is None else [int(h) % H for h in heads]
        for name, value, limit in (("layer", layers, L), ("head", heads, H)):
            for v in value or ():
                if not -limit <= int(v) < limit:
                    raise IndexError(f"attention_view: {name} {v} is out of range (the model has {limit})")
        w = s.weights[ls][:, hs]
        out.append(AttentionSet(s.name, np.ascontiguousarray(w), s.rows, s.cols, s.causal, s.hidden_rows,
                                s.hidden_cols, [s.layers[i] for i in ls], [s.heads[h] for h in hs],
                                s.description))
    return out


def attention_view(model=None, text_or_ids=None, tokenizer=None, *, attentions=None, tokens=None,
                   target=None, attention_mask=None, causal=None, index: int = 0, pad_token=None,
                   layers=None, heads=None, title: str | None = None,
                   max_new_tokens: int = 32) -> AttentionView:
    """The attention explorer (see the module's docstring).

    From a model: `model` is a minigrad GPT, BERT model or MarianMTModel (also one loaded with
    from_pretrained), or the path of a Hugging Face directory or a minigrad checkpoint (its
    tokenizer is then used); `text_or_ids` a text, token ids (T,) or (B, T), or a tokenizer's
    output (its attention_mask hides the padding); `tokenizer` a minigrad tokenizer.  For an
    encoder–decoder, `target` is the translation (text or ids; default: the model's own,
    greedy, at most max_new_tokens).  `index` picks the example of a batch.

    Given directly: `attentions` a list per layer of arrays (B or 1, heads, T, S) (e.g. a
    model output's .attentions), `tokens` the T tokens (or (query tokens, key tokens) when T ≠
    S); `attention_mask` (B, S) or `pad_token` hides padding; `causal` None detects it (nothing
    above the diagonal).  A dict name -> such a list gives several sets.

    layers, heads: show only these.  Returns an AttentionView (Jupyter shows it; .save(path)).
    """
    sets = attention_data(model, text_or_ids, tokenizer, attentions=attentions, tokens=tokens,
                          target=target, attention_mask=attention_mask, causal=causal, index=index,
                          pad_token=pad_token, max_new_tokens=max_new_tokens)
    sets = _select(sets, layers, heads)
    if title is None:
        if isinstance(text_or_ids, str):
            shown = text_or_ids if len(text_or_ids) <= 60 else text_or_ids[:57] + "..."
            title = f"{type(model).__name__ if not isinstance(model, (str, os.PathLike)) else os.path.basename(os.fspath(model))}: “{shown}”"
        else:
            title = "attention"
    return AttentionView(sets, title)


def save_attention_html(model, tokenizer, text, path, **options) -> str:
    """Write the explorer of `model` on `text` to `path` (for the CLI: `minigrad attention ...
    --html out.html`, and the demo's runs/demo/attention.html); returns the path."""
    return attention_view(model, text, tokenizer, **options).save(path)
