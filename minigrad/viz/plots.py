"""Static pictures (PNG, matplotlib) of training and of attention (§3.2 模型评估, §4.1 自注意力机制).

    fig = plot_attention(model, tokenizer, "床前明月光", layer=0, head=1)   # one map
    fig = plot_attention(model, tokenizer, "床前明月光")                    # layers × heads grid
    fig.savefig("map.png")
    plot_loss_curve(history, "loss.png")

An attention map shows softmax(QKᵀ/√d_k) (§4.1) for one layer and head: row i is query
token i, column j key token j, and the colour how much of token i's output is taken from
token j's value.  A GPT's maps are lower-triangular (a token sees only the past); a BERT's
are full (every token sees every other).

Chinese text needs a font with CJK glyphs; matplotlib's default (DejaVu Sans) has none and
draws empty boxes.  minigrad depends on the `noto-cjk-sans-otc` package (Noto Sans CJK,
SIL Open Font License) and registers its font here; without it, a CJK font installed on the
system is used, and failing both a warning says the labels may show as boxes.
"""
from __future__ import annotations

import os
import sys
import warnings

import matplotlib

if os.environ.get("MPLBACKEND") is None and "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")                   # files, not windows: works on servers and in CI
                                            # (a notebook's or script's own choice is kept)
import matplotlib.pyplot as plt            # noqa: E402
import numpy as np                         # noqa: E402
from matplotlib import font_manager        # noqa: E402

_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                 "WenQuanYi Zen Hei", "Noto Sans CJK JP", "Microsoft YaHei", "PingFang SC",
                 "Heiti SC", "SimHei")
_font_family = None


def cjk_font() -> str | None:
    """The family name of a font with Chinese glyphs (registering the bundled Noto Sans CJK on
    first use), or None with a warning when there is none."""
    global _font_family
    if _font_family is not None:
        return _font_family or None
    try:
        import noto_cjk_sans_otc
        font_manager.fontManager.addfont(str(noto_cjk_sans_otc.FONT_PATH))
    except Exception:                       # not installed, or an unreadable file
        pass
    available = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in available:
            _font_family = family
            return family
    _font_family = ""
    warnings.warn("no font with Chinese characters found: Chinese labels may be drawn as empty "
                  "boxes. Install one with `pip install noto-cjk-sans-otc` (a dependency of "
                  "minigrad) or your system's Noto CJK fonts.", RuntimeWarning, stacklevel=2)
    return None


def _needs_cjk(labels) -> bool:
    return any(ord(ch) > 0x2E7F for s in labels for ch in s)


def _fonts(labels) -> dict:
    if not _needs_cjk(labels):
        return {}
    family = cjk_font()
    return {"fontfamily": [family, "DejaVu Sans"]} if family else {}


def _token_labels(tokenizer, ids) -> list:
    labels = []
    for t in tokenizer.convert_ids_to_tokens(list(ids)):
        t = t.replace("Ġ", "·").replace("Ċ", "\\n")             # byte-level BPE's space/newline
        labels.append({"\n": "\\n", " ": "␣", "\t": "\\t"}.get(t, t))
    return labels


def attention_maps(model, tokenizer, text: str):
    """(tokens, attention) for `text`: attention is (layers, heads, T, T), NumPy (the
    self-attention of a GPT or BERT; cross_attention_maps for an encoder–decoder)."""
    from ..autograd import no_grad
    if _is_seq2seq(model):
        raise ValueError("attention_maps: this is an encoder–decoder; use cross_attention_maps(model, "
                         "tokenizer, text), or minigrad.viz.attention_data for all three kinds of map")
    enc = tokenizer(text, return_tensors="np")
    ids = enc["input_ids"]
    if ids.shape[1] == 0:
        raise ValueError("plot_attention: the text has no tokens")
    limit = getattr(getattr(model, "config", None), "block_size", None) or \
        getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if limit is not None and ids.shape[1] > limit:
        raise ValueError(f"plot_attention: the text has {ids.shape[1]} tokens, more than the "
                         f"model's {limit}; use a shorter text")
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            if hasattr(model, "transformer"):                   # GPT
                out = model(ids, output_attentions=True)
            else:                                               # BERT models
                kwargs = {k: enc[k] for k in ("attention_mask", "token_type_ids") if k in enc}
                out = model(ids, output_attentions=True, **kwargs)
    finally:
        model.train(was_training)
    att = np.stack([a.data[0] for a in out.attentions])        # (L, nh, T, T)
    return _token_labels(tokenizer, ids[0]), att


def _is_seq2seq(model) -> bool:
    from .attention import _kind
    return _kind(model) == "seq2seq"


def cross_attention_maps(model, tokenizer, text: str, max_new_tokens: int = 64):
    """(target tokens, source tokens, attention (layers, heads, T, S)) of an encoder–decoder
    translating `text` greedily: row t is the decoder position that predicts target token t,
    column s a source token (the cross-attention of §4.1 with Q from the decoder, K and V from
    the encoder)."""
    from .attention import _from_model
    cross = _from_model(model, text, tokenizer, None, 0, max_new_tokens)[0]
    return cross.rows, cross.cols, cross.weights


def plot_attention(model, tokenizer, text: str, layer: int | None = None, head: int | None = None,
                   cmap: str = "viridis"):
    """A matplotlib Figure of the attention weights softmax(QKᵀ/√d_k) (§4.1) on `text`.

    layer and head given: one map; otherwise a grid of layers (rows) × heads (columns), all
    layers or just `layer`, all heads or just `head`.  Queries are rows, keys are columns,
    tokens label the axes, and a colour bar gives the scale (0 to 1).  Works for GPT and BERT
    models (anything returning `attentions` with output_attentions=True).  For an
    encoder–decoder (MarianMTModel) it draws the cross-attention of its own greedy translation
    of `text`: target tokens (rows) × source tokens (columns).
    """
    seq2seq = _is_seq2seq(model)
    if seq2seq:
        row_tokens, tokens, att = cross_attention_maps(model, tokenizer, text)
    else:
        tokens, att = attention_maps(model, tokenizer, text)
        row_tokens = tokens
    L, H, T, S = att.shape
    for name, value, limit in (("layer", layer, L), ("head", head, H)):
        if value is not None and not -limit <= value < limit:
            raise IndexError(f"plot_attention: {name} {value} is out of range (the model has {limit})")
    layers = range(L) if layer is None else [layer % L]
    heads = range(H) if head is None else [head % H]
    rows, cols = len(layers), len(heads)
    fonts, row_fonts = _fonts(tokens), _fonts(row_tokens)
    cell = max(2.2, min(0.32 * max(T, S), 7.0))
    fig, axes = plt.subplots(rows, cols, figsize=(cell * cols + 1.2, cell * rows + 0.6),
                             squeeze=False, constrained_layout=True)
    show_ticks = max(T, S) <= 48
    image = None
    for r, li in enumerate(layers):
        for c, hi in enumerate(heads):
            ax = axes[r][c]
            image = ax.imshow(att[li, hi], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_title(f"layer {li} · head {hi}", fontsize=9)
            if show_ticks:
                size = 8 if max(T, S) <= 24 else 6
                ax.set_xticks(range(S))
                ax.set_yticks(range(T))
                ax.set_xticklabels(tokens, fontsize=size, rotation=90 if not _needs_cjk(tokens) else 0, **fonts)
                ax.set_yticklabels(row_tokens, fontsize=size, **row_fonts)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
            if c == 0:
                ax.set_ylabel("query: target" if seq2seq else "query", fontsize=8)
            if r == rows - 1:
                ax.set_xlabel("key: source" if seq2seq else "key", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    fig.suptitle(("cross-attention " if seq2seq else "") + "softmax(QKᵀ/√d_k): row = query, column = key",
                 fontsize=10)
    return fig


def plot_loss_curve(history: dict, path=None, title: str = ""):
    """Training loss per step (light), its moving average, and validation loss at each
    evaluation, with the best one (lowest validation loss, the weights early stopping keeps)
    ringed; history["test"], when there, is those weights on the test split: a star at their
    step, and the title's figure (§3.2 模型评估).  Writes a PNG to `path` when given; returns
    the Figure."""
    from ..i18n import tr
    steps, losses = np.asarray(history["step"]), np.asarray(history["loss"], dtype=float)
    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    if len(steps):
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, lw=0.8,
                label=tr("train (per step)", "训练集（每步）"))
        k = max(1, min(50, len(losses) // 10))
        if k > 1:
            smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
            ax.plot(steps[k - 1:], smooth, color="tab:blue", lw=1.6,
                    label=tr(f"train ({k}-step mean)", f"训练集（{k} 步平均）"))
    evals = history.get("eval") or []
    test = history.get("test")
    parts = [title] if title else []
    if evals:
        ax.plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "o-", color="tab:orange",
                lw=1.6, ms=4, label=tr("validation", "验证集"))
        best = min(evals, key=lambda e: e["val_loss"])
        ax.plot([best["step"]], [best["val_loss"]], "o", ms=11, mfc="none", mec="tab:orange", mew=1.6,
                label=tr(f"best (step {best['step']}): kept", f"最佳（第 {best['step']} 步）：保留"))
        figure = ("accuracy", "{:.1%}") if "accuracy" in best else ("perplexity", "{:.1f}")
        term = tr(figure[0], {"accuracy": "准确率", "perplexity": "困惑度"}[figure[0]])
        value = best.get(figure[0], np.exp(best["val_loss"]))
        parts.append(tr(f"best validation {term} {figure[1].format(value)}",
                        f"最佳验证集{term} {figure[1].format(value)}"))
        if test:
            shown = figure[1].format(test.get(figure[0], np.exp(test['test_loss'])))
            ax.plot([test["step"]], [test["test_loss"]], "*", color="tab:green", ms=13,
                    label=tr(f"test (best weights): {term} {shown}", f"测试集（最佳权重）：{term} {shown}"))
            parts.append(tr(f"test {term} {shown}", f"测试集{term} {shown}"))
    if parts:
        ax.set_title(" · ".join(parts), fontsize=10, **_fonts(parts))
    xlabel, ylabel = tr("step", "步数"), tr("cross-entropy loss (nats per token)", "交叉熵损失（每词元 nat）")
    ax.set_xlabel(xlabel, **_fonts([xlabel]))
    ax.set_ylabel(ylabel, **_fonts([ylabel]))
    ax.grid(alpha=0.3)
    legend = ax.legend()
    if _fonts([t.get_text() for t in legend.get_texts()]):
        for t in legend.get_texts():
            t.set_fontfamily(_fonts([t.get_text()]).get("fontfamily") or t.get_fontfamily())
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
