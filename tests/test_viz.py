"""Attention maps and loss curves (minigrad.viz)."""
import warnings

import matplotlib
import numpy as np
import pytest

import minigrad as mg
from minigrad.models import GPT, BertConfig, BertModel, GPTConfig
from minigrad.tokenizers import CharTokenizer
from minigrad.viz import attention_maps, cjk_font, plot_attention, plot_loss_curve

POEM = "床前明月光，疑是地上霜。"


def _gpt(tok):
    mg.manual_seed(0)
    return GPT(GPTConfig(vocab_size=tok.vocab_size, n_layer=2, n_head=2, n_embd=16, block_size=32))


def _pixels(fig, path):
    fig.savefig(path, dpi=60)
    img = matplotlib.image.imread(path)
    return img


def test_gpt_grid_is_causal_and_png_is_nontrivial(tmp_path):
    tok = CharTokenizer.from_text(POEM)
    model = _gpt(tok)
    tokens, att = attention_maps(model, tok, POEM)
    assert tokens == list(POEM) and att.shape == (2, 2, 12, 12)
    np.testing.assert_allclose(att.sum(-1), 1.0, rtol=1e-5)          # rows are distributions
    assert np.all(np.triu(att, k=1) == 0)                            # a GPT sees only the past
    fig = plot_attention(model, tok, POEM)
    assert len(fig.axes) == 2 * 2 + 1                                 # the grid and a colour bar
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(POEM)
    img = _pixels(fig, tmp_path / "grid.png")
    assert img.shape[0] > 100 and img[..., :3].std() > 0.1            # not a blank image


def test_one_map_for_a_bert_model(tmp_path):
    tok = CharTokenizer.from_text("the cat sat", special_tokens=["[PAD]"], pad_token="[PAD]")
    mg.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=2,
                                 num_attention_heads=4, intermediate_size=32, max_position_embeddings=16))
    tokens, att = attention_maps(model, tok, "the cat")
    assert np.all(att > 0)                                           # bidirectional: no mask
    fig = plot_attention(model, tok, "the cat", layer=1, head=-1)
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "layer 1 · head 3"
    assert "␣" in [t.get_text() for t in fig.axes[0].get_yticklabels()]
    with pytest.raises(IndexError, match="layer 5"):
        plot_attention(model, tok, "the cat", layer=5)


def test_chinese_labels_have_glyphs():
    """The bundled Noto Sans CJK is found, and rendering Chinese gives no missing-glyph warning."""
    family = cjk_font()
    assert family is not None
    tok = CharTokenizer.from_text(POEM)
    fig = plot_attention(_gpt(tok), tok, POEM, layer=0, head=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                               # "Glyph ... missing" warns
        fig.canvas.draw()
    assert fig.axes[0].get_xticklabels()[0].get_fontname() == family


def test_loss_curve_png(tmp_path):
    hist = {"step": list(range(1, 101)), "loss": list(np.linspace(4, 2, 100)),
            "eval": [{"step": 50, "val_loss": 3.0}, {"step": 100, "val_loss": 2.5}]}
    plot_loss_curve(hist, tmp_path / "loss.png", title="test")
    img = matplotlib.image.imread(tmp_path / "loss.png")
    assert img.shape[1] > 500 and img[..., :3].std() > 0.05


def test_a_translation_checkpoint_shows_its_cross_attention(tmp_path):
    """lesson 10's checkpoint: rows are the Chinese it writes, columns the English it reads;
    each row is a distribution over the source tokens; the CLI draws it too."""
    import pathlib
    import subprocess
    import sys

    from minigrad.train import load_translator
    from minigrad.viz import cross_attention_maps
    ckpt = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "assets" / "translate_small.safetensors"
    tr = load_translator(ckpt)
    text = "And God said, Let there be light: and there was light."
    rows, cols, att = cross_attention_maps(tr.model, tr.tokenizers, text)
    L, H, T, S = att.shape
    assert (L, H) == (tr.model.config.decoder_layers, tr.model.config.decoder_attention_heads)
    assert len(rows) == T and len(cols) == S and cols[-1] == "</s>" and rows[0] == "<pad>"
    assert "".join(rows[1:]).startswith(tr.translate(text)[:3])           # its own greedy translation
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="cross_attention_maps"):
        attention_maps(tr.model, tr.tokenizers, text)
    fig = plot_attention(tr.model, tr.tokenizers, text, layer=0, head=1)
    assert fig.axes[0].get_ylabel() == "query: target" and len(fig.axes[0].get_xticklabels()) == S
    out = tmp_path / "att.png"
    run = subprocess.run([sys.executable, "-m", "minigrad", "attention", "--checkpoint", str(ckpt),
                          "--out", str(out), "--layer", "1"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert out.stat().st_size > 10_000
