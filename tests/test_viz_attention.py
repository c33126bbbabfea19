"""The attention explorer's data, without a browser (tests/test_browser_viz.py drives the page):
what the page embeds (shapes, tokens, the quantisation and its error bound), the masking rules
(causal, padding, cross-attention), where the maps and tokenizer come from, and that the page
is self-contained."""
import base64
import json
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.models import GPT, BertConfig, BertModel, GPTConfig, MarianConfig, MarianMTModel
from minigrad.tokenizers import BertTokenizer, BPETokenizer, CharTokenizer
from minigrad.viz.attention import dequantise, quantise, token_labels

POEM = "床前明月光，疑是地上霜。"


def _gpt(tok, n_layer=2, n_head=2):
    mg.manual_seed(0)
    return GPT(GPTConfig(vocab_size=tok.vocab_size, n_layer=n_layer, n_head=n_head, n_embd=16,
                         block_size=32))


def _bert(vocab_size, layers=2, heads=2):
    mg.manual_seed(0)
    return BertModel(BertConfig(vocab_size=vocab_size, hidden_size=16, num_hidden_layers=layers,
                                num_attention_heads=heads, intermediate_size=32,
                                max_position_embeddings=32))


def _softmax_maps(rng, L, H, T, S, causal=False, sharp=3.0):
    x = rng.standard_normal((L, 1, H, T, S)) * sharp
    if causal:
        x = np.where(np.tril(np.ones((T, S), bool)), x, -np.inf)
    e = np.exp(x - x.max(-1, keepdims=True))
    return [a for a in (e / e.sum(-1, keepdims=True)).astype(np.float32)]


def _payload(view):
    """The JSON the page embeds, read back out of the HTML the way the browser does."""
    page = view.html()
    m = re.search(r'<script type="application/json" id="([^"]+)-data">(.*?)</script>', page, re.S)
    assert m, "no data in the page"
    return json.loads(m.group(2))


def _decoded(entry):
    q = np.frombuffer(base64.b64decode(entry["q"]), np.uint8)
    scales = np.frombuffer(base64.b64decode(entry["scales"]), "<f4")
    L, H = len(entry["layers"]), len(entry["heads"])
    return q, scales.reshape(L, H, entry["T"])


def test_gpt_view_embeds_causal_maps_and_tokens():
    tok = CharTokenizer.from_text(POEM)
    model = _gpt(tok)
    view = mg.viz.attention_view(model, POEM, tok)
    out = model(np.asarray([tok.encode(POEM)]), output_attentions=True)
    truth = np.stack([a.data[0] for a in out.attentions])              # (2, 2, 12, 12)
    (entry,) = _payload(view)["sets"]
    assert entry["rows"] == entry["cols"] == list(POEM)                  # the Chinese tokens
    assert entry["causal"] and entry["T"] == entry["S"] == 12
    q, scales = _decoded(entry)
    assert q.size == 2 * 2 * 12 * 13 // 2                               # the lower triangle only
    shown = dequantise(q.reshape(2, 2, -1), scales, True, 12, 12)
    assert np.all(np.triu(shown, k=1) == 0)
    err = np.abs(shown - truth).max()
    assert err <= entry["maxError"] + 1e-7 and entry["maxError"] <= 1 / 510
    assert view.max_error == pytest.approx(entry["maxError"])
    # the bound per row: scale / 510 (rounding to the nearest of 256 levels of [0, rowmax])
    bound = scales[..., None] / 510 + 1e-7
    assert np.all(np.abs(shown - truth) <= bound)


@pytest.mark.parametrize("causal", [False, True])
def test_quantisation_error_is_within_half_a_step_of_each_rows_scale(causal):
    rng = np.random.default_rng(1)
    maps = _softmax_maps(rng, 3, 4, 20, 20, causal=causal)
    view = mg.viz.attention_view(attentions=maps, tokens=[f"t{i}" for i in range(20)])
    (s,) = view.sets
    assert s.causal == causal                                            # detected: nothing above the diagonal
    q, scales, error = quantise(s)
    np.testing.assert_allclose(scales, s.weights.max(-1), rtol=0, atol=0)
    back = dequantise(q, scales, causal, 20, 20)
    diff = np.abs(back - s.weights)
    assert diff.max() == pytest.approx(error)
    assert np.all(diff <= scales[..., None] / 510 + 1e-9)
    assert 0 < error <= 1 / 510
    # a row's largest weight comes back exactly (its code is 255)
    rows_max = np.take_along_axis(back, s.weights.argmax(-1)[..., None], -1)[..., 0]
    np.testing.assert_allclose(rows_max, scales, rtol=1e-6)


def test_bert_padding_is_hidden_and_attention_mask_taken_from_the_encoding(tmp_path):
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat"]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    tok = BertTokenizer(str(tmp_path / "vocab.txt"))
    model = _bert(len(words)).eval()
    enc = tok(["the cat", "the cat sat on the mat"], padding=True, return_tensors="np")
    view = mg.viz.attention_view(model, enc, tok, index=0)
    (s,) = view.sets
    assert s.rows == s.cols == ["[CLS]", "the", "cat", "[SEP]"]       # the 4 padding positions are gone
    assert s.hidden_rows == s.hidden_cols == 4 and not s.causal
    out = model(enc["input_ids"], attention_mask=enc["attention_mask"], output_attentions=True)
    full = np.stack([a.data[0] for a in out.attentions])               # (2, 2, 8, 8)
    np.testing.assert_allclose(s.weights, full[:, :, :4, :4], rtol=1e-6)
    np.testing.assert_allclose(s.weights.sum(-1), 1.0, rtol=1e-5)      # nothing was lost to padding
    # the longer example: nothing hidden
    assert len(mg.viz.attention_view(model, enc, tok, index=1).sets[0].rows) == 8
    # given directly, padding is hidden by the mask or by the pad token
    given = mg.viz.attention_view(attentions=out.attentions, tokens=tok.convert_ids_to_tokens(
        enc["input_ids"][0]), attention_mask=enc["attention_mask"], index=0)
    assert given.sets[0].rows == ["[CLS]", "the", "cat", "[SEP]"]
    by_token = mg.viz.attention_view(attentions=out.attentions, pad_token="[PAD]", tokens=tok.convert_ids_to_tokens(
        enc["input_ids"][0]))
    assert by_token.sets[0].cols == ["[CLS]", "the", "cat", "[SEP]"]


def test_encoder_decoder_gives_cross_attention_query_target_key_source():
    mg.manual_seed(0)
    cfg = MarianConfig.small(vocab_size=30, d_model=16, layers=2, heads=2, dropout=0.0)
    model = MarianMTModel(cfg).eval()
    src = np.array([[5, 6, 7, 8, 9, 1]])                                 # 6 source tokens (1 = </s>)
    target = np.array([[11, 12, 13, 1]])                                 # y1 y2 y3 </s>
    view = mg.viz.attention_view(model, src, target=target)
    names = [s.name for s in view.sets]
    assert names == ["cross", "encoder", "decoder"]
    cross, enc, dec = view.sets
    assert cross.weights.shape == (2, 2, 4, 6) and not cross.causal       # query = target, key = source
    assert cross.rows == ["#0", "#11", "#12", "#13"] and cross.cols == ["#5", "#6", "#7", "#8", "#9", "#1"]
    assert enc.weights.shape == (2, 2, 6, 6) and not enc.causal
    assert dec.weights.shape == (2, 2, 4, 4) and dec.causal                # the decoder sees only the past
    assert np.all(np.triu(dec.weights, k=1) == 0)
    out = model(input_ids=src, decoder_input_ids=np.array([[0, 11, 12, 13]]), output_attentions=True)
    np.testing.assert_allclose(cross.weights, np.stack([a.data[0] for a in out.cross_attentions]), rtol=1e-6)
    payload = _payload(view)
    assert [e["name"] for e in payload["sets"]] == names
    # without a target: the model's own greedy translation
    own = mg.viz.attention_view(model, src, max_new_tokens=5)
    assert own.sets[0].cols == cross.cols and 1 <= len(own.sets[0].rows) <= 6
    # padding in the source is hidden in the source positions (columns of cross-attention)
    padded = mg.viz.attention_view(model, {"input_ids": np.array([[5, 6, 1, 0, 0]]),
                                           "attention_mask": np.array([[1, 1, 1, 0, 0]])}, target=target)
    assert padded.sets[0].cols == ["#5", "#6", "#1"] and padded.sets[0].hidden_cols == 2
    assert len(padded.sets[0].rows) == 4


def test_model_and_tokenizer_from_a_directory_or_a_checkpoint(tmp_path):
    from minigrad.models import save_pretrained
    from minigrad.train.checkpoint import save_checkpoint
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat"]
    (tmp_path / "v.txt").write_text("\n".join(words) + "\n")
    tok = BertTokenizer(str(tmp_path / "v.txt"))
    model = _bert(len(words))
    save_pretrained(model, tmp_path / "bert")
    save_pretrained(tok, tmp_path / "bert")
    view = mg.viz.attention_view(str(tmp_path / "bert"), "the cat sat")  # the directory's tokenizer
    assert view.sets[0].rows == ["[CLS]", "the", "cat", "sat", "[SEP]"]
    assert "bert" in view.title
    ctok = CharTokenizer.from_text(POEM)
    gpt = _gpt(ctok)
    save_checkpoint(tmp_path / "gpt.safetensors", gpt, arch="gpt", model_config=gpt.config.to_dict(),
                    tokenizer=ctok)
    view = mg.viz.attention_view(tmp_path / "gpt.safetensors", "明月")   # the checkpoint's tokenizer
    assert view.sets[0].rows == ["明", "月"] and view.sets[0].causal
    with pytest.raises(ValueError, match="needs a tokenizer"):
        mg.viz.attention_view(gpt, "明月")
    ids_only = mg.viz.attention_view(gpt, np.array([3, 4, 5]))
    assert ids_only.sets[0].rows == ["#3", "#4", "#5"]
    # a model object that says where it came from (name_or_path, as Hugging Face's): its tokenizer
    gpt.name_or_path = str(tmp_path / "gpt.safetensors")
    assert mg.viz.attention_view(gpt, "明月").sets[0].rows == ["明", "月"]
    model.name_or_path = str(tmp_path / "bert")
    assert mg.viz.attention_view(model, "the cat").sets[0].rows == ["[CLS]", "the", "cat", "[SEP]"]


def test_byte_level_bpe_tokens_are_shown_as_text():
    tok = BPETokenizer.train("床前明月光 the moon, the light before the bed. " * 5, vocab_size=270)
    ids = tok.encode("床 the moon")
    labels = token_labels(tok, ids)
    assert "".join(labels).replace("·", " ").replace("‹", "").count("the") >= 1
    assert any(l.startswith("·") for l in labels)                     # a word's leading space
    assert all("Ġ" not in l for l in labels)
    joined = tok.decode(ids)
    if "床" in labels:
        assert joined.startswith("床")
    else:                                                              # split into bytes: shown as hex
        assert any(re.fullmatch(r"‹[0-9a-f]{2}( [0-9a-f]{2})*›", l) for l in labels)


def test_page_is_self_contained_and_each_render_has_its_own_id():
    tok = CharTokenizer.from_text(POEM)
    view = mg.viz.attention_view(_gpt(tok), POEM, tok)
    page = view.html()
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<script src" not in page.lower() and "@import" not in page and "@font-face" not in page
    assert not re.search(r"https?://", page), "the page names a URL"
    assert "<link" not in page.lower() and "url(" not in page
    ids = {re.search(r'class="mg-attn" id="([^"]+)"', view._repr_html_()).group(1) for _ in range(5)}
    assert len(ids) == 5                                               # two outputs of one view differ too
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"} and "mg-attn" in bundle["text/html"]
    one = view.html_fragment()
    uid = re.search(r'id="([^"]+)"', one).group(1)
    assert one.count(uid) >= 3                                        # the div, its data, its script


def test_a_token_cannot_break_out_of_the_page():
    evil = "</script><script>window.hacked=1</script>"
    maps = _softmax_maps(np.random.default_rng(0), 1, 1, 3, 3)
    view = mg.viz.attention_view(attentions=maps, tokens=["a", evil, "<!--"])
    page = view.html()
    assert evil not in page and page.count("<script") == 2
    assert _payload(view)["sets"][0]["rows"] == ["a", evil, "<!--"]


def test_a_6_layer_12_head_128_token_page_is_under_2_mb(tmp_path):
    rng = np.random.default_rng(0)
    tokens = [f"tok{i}" for i in range(97)] + list("床前明月光疑是地上霜举头望明月低头思故乡春眠不觉晓处处闻啼鸟夜")
    assert len(tokens) == 128
    for causal in (False, True):
        maps = _softmax_maps(rng, 6, 12, 128, 128, causal=causal)
        path = mg.viz.attention_view(attentions=maps, tokens=tokens).save(tmp_path / f"{causal}.html")
        size = path and (tmp_path / f"{causal}.html").stat().st_size
        assert size < 2 * 2 ** 20, f"{size / 2 ** 20:.2f} MB"
        if causal:
            assert size < 1.1 * 2 ** 20                                  # half the maps are stored


def test_layers_and_heads_can_be_chosen_and_bad_input_is_refused():
    maps = _softmax_maps(np.random.default_rng(0), 3, 4, 5, 5)
    view = mg.viz.attention_view(attentions=maps, tokens=list("abcde"), layers=[2], heads=[1, -1])
    (s,) = view.sets
    assert s.layers == [2] and s.heads == [1, 3]
    np.testing.assert_allclose(s.weights[0, 1], maps[2][0, 3])
    with pytest.raises(IndexError, match="layer 7"):
        mg.viz.attention_view(attentions=maps, tokens=list("abcde"), layers=[7])
    with pytest.raises(ValueError, match="5 query and 5 key positions, but 3"):
        mg.viz.attention_view(attentions=maps, tokens=list("abc"))
    with pytest.raises(ValueError, match="NaN"):
        mg.viz.attention_view(attentions=[np.full((1, 1, 2, 2), np.nan)], tokens=list("ab"))
    with pytest.raises(ValueError, match="not both"):
        mg.viz.attention_view(GPT(GPTConfig(vocab_size=5, n_layer=1, n_head=1, n_embd=4, block_size=4)),
                              attentions=maps)
    cross = [np.full((1, 2, 3, 4), 0.25, np.float32)]
    v = mg.viz.attention_view(attentions=cross, tokens=(list("xyz"), list("abcd")))
    assert v.sets[0].rows == list("xyz") and v.sets[0].cols == list("abcd") and not v.sets[0].causal


def test_save_attention_html_for_the_cli(tmp_path):
    tok = CharTokenizer.from_text(POEM)
    path = mg.viz.save_attention_html(_gpt(tok), tok, POEM, tmp_path / "runs" / "demo" / "attention.html")
    text = (tmp_path / "runs" / "demo" / "attention.html").read_text(encoding="utf-8")
    assert path.endswith("attention.html") and "床" in text and "mg-attn" in text


def test_import_minigrad_and_the_views_do_not_import_matplotlib():
    import subprocess
    import sys
    code = ("import sys, numpy as np, minigrad as mg; "
            "mg.viz.attention_view(attentions=[np.full((1, 1, 2, 2), 0.5)], tokens=['a', 'b']).html(); "
            "x = mg.tensor(2.0, requires_grad=True); mg.viz.graph(x * x).svg(); "
            "print('matplotlib' in sys.modules); from minigrad.viz import plot_attention; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
