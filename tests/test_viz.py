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
