"""The attention explorer and the graph view as a user sees them: saved pages opened in a real
headless Chromium, offline, with every request refused and recorded.

Needs Chromium from the distribution (`apt-get install -y chromium`; or MINIGRAD_CHROMIUM=path)
and Playwright for Python (`pip install playwright`; its own browser download,
`playwright install`, is not used).  Without either, every test here is skipped, saying which.
Screenshots go to $MINIGRAD_SCREENSHOTS (CI keeps that folder), else to a temporary folder.

Fonts are controlled: Chromium gets a fontconfig file naming only matplotlib's DejaVu fonts,
plus, for the CJK tests, the Noto Sans CJK of the `noto-cjk-sans-otc` package minigrad
depends on; so "no CJK font on this system" is tested too, whatever the machine has.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad.models import GPT, BertConfig, BertModel, GPTConfig, MarianConfig, MarianMTModel
from minigrad.tokenizers import CharTokenizer
from minigrad.viz.attention import dequantise

CHROMIUM = os.environ.get("MINIGRAD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:                                     # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium, "
                                                "or set MINIGRAD_CHROMIUM to its path)"),
    pytest.mark.skipif(sync_playwright is None, reason="Playwright for Python is not installed "
                                                       "(pip install playwright)"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
POEM = "床前明月光，疑是地上霜。"
MIN_LINE = 1 / 512                                      # the lightest line the head view draws


# --- the browser ---------------------------------------------------------------------------
def _fonts_conf(folder: Path, cjk: bool) -> Path:
    import matplotlib
    import noto_cjk_sans_otc
    dirs = [Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"]
    if cjk:
        dirs.append(Path(noto_cjk_sans_otc.FONT_PATH).parent)
    conf = folder / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
                    + "".join(f"  <dir>{d}</dir>\n" for d in dirs)
                    + f"  <cachedir>{folder / 'cache'}</cachedir>\n</fontconfig>\n")
    return conf


class Browser:
    """A persistent Chromium context on an empty profile, offline, refusing every request
    that is not a local file and recording all of them."""

    def __init__(self, playwright, folder: Path, cjk: bool):
        folder.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, FONTCONFIG_FILE=str(_fonts_conf(folder, cjk)))
        self.context = playwright.chromium.launch_persistent_context(
            str(folder / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS, env=env,
            offline=True, viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        self.requests = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.route("**/*", lambda route: route.continue_()
                           if route.request.url.startswith("file://") else route.abort())

    def open(self, path, ready=".mg-attn", count=1):
        self.requests.clear()
        page = self.context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(Path(path).resolve().as_uri())
        page.wait_for_function(f"document.querySelectorAll('{ready}[data-ready=\"1\"]').length === {count}",
                               timeout=15000)
        page.errors = errors
        return page

    def outside_requests(self, page_path):
        """Requests other than the page itself."""
        me = Path(page_path).resolve().as_uri()
        return [u for u in self.requests if u != me]


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    b = Browser(playwright, tmp_path_factory.mktemp("chromium-cjk"), cjk=True)
    yield b
    b.context.close()


@pytest.fixture(scope="module")
def plain_browser(playwright, tmp_path_factory):
    b = Browser(playwright, tmp_path_factory.mktemp("chromium-plain"), cjk=False)
    yield b
    b.context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("MINIGRAD_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


# --- models and what the page should show ---------------------------------------------------------
def _gpt(tok, n_layer=2, n_head=4):
    mg.manual_seed(0)
    return GPT(GPTConfig(vocab_size=tok.vocab_size, n_layer=n_layer, n_head=n_head, n_embd=32,
                         block_size=32)).eval()


def _shown(view, k=0):
    """The weights as the page decodes them: (L, H, T, S)."""
    entry = view.payload()["sets"][k]
    q = np.frombuffer(base64.b64decode(entry["q"]), np.uint8)
    scales = np.frombuffer(base64.b64decode(entry["scales"]), "<f4").reshape(
        len(entry["layers"]), len(entry["heads"]), entry["T"])
    return dequantise(q.reshape(scales.shape[0], scales.shape[1], -1), scales, entry["causal"],
                      entry["T"], entry["S"])


def _attr(locator, name):
    return locator.get_attribute(name)


def _matrix_point(page, root, i, j):
    canvas = root.locator(".mg-matrix-canvas")
    box = canvas.bounding_box()
    cell, left, top = (float(_attr(canvas, a)) for a in ("data-cell", "data-left", "data-top"))
    return box["x"] + left + (j + 0.5) * cell, box["y"] + top + (i + 0.5) * cell


# --- the explorer ---------------------------------------------------------------------------
def test_explorer_offline_grid_hover_click_and_tooltip(browser, shots, tmp_path):
    tok = CharTokenizer.from_text(POEM)
    model = _gpt(tok)
    view = mg.viz.attention_view(model, POEM, tok)
    out = model(np.asarray([tok.encode(POEM)]), output_attentions=True)
    truth = np.stack([a.data[0] for a in out.attentions]).astype(np.float64)   # (2, 4, 12, 12)
    shown = _shown(view)
    path = view.save(tmp_path / "attention.html")
    page = browser.open(path)
    root = page.locator(".mg-attn")
    assert browser.outside_requests(path) == [], "the page asked for something"
    assert page.errors == []

    # the grid: one thumbnail per layer and head; the Chinese tokens are in the DOM, with glyphs
    assert root.locator(".mg-cell").count() == 2 * 4
    queries = root.locator(".mg-q .mg-tok").all_text_contents()
    assert queries == list(POEM) and root.locator(".mg-k .mg-tok").all_text_contents() == list(POEM)
    assert _attr(root, "data-cjk") == "ok"
    assert float(_attr(root, "data-cjk-width")) != float(_attr(root, "data-tofu-width"))
    assert root.locator(".mg-cjk-note").count() == 0
    assert root.locator(".mg-causal").count() == 1                          # a GPT: causal

    lines = root.locator("canvas.mg-lines")
    everything = lines.evaluate("c => c.toDataURL()")
    heads = [int(h) for h in _attr(root, "data-heads").split(",")]
    assert heads == [0, 1, 2, 3]
    all_lines = sum(int((np.tril(shown[0, h]) >= MIN_LINE).sum()) for h in heads)
    assert int(_attr(root, "data-lines")) == all_lines

    # hover query token 3: only its row's lines, the keys it cannot see greyed, its matrix row ringed
    root.locator(".mg-q .mg-tok").nth(3).hover()
    assert _attr(root, "data-hover-row") == "3" and _attr(root, "data-hover-col") == ""
    assert int(_attr(root, "data-lines")) == sum(int((shown[0, h, 3, :4] >= MIN_LINE).sum()) for h in heads)
    assert lines.evaluate("c => c.toDataURL()") != everything
    assert "mg-hl" in _attr(root.locator(".mg-q .mg-tok").nth(3), "class")
    cant = [("mg-cant" in (c or "")) for c in root.locator(".mg-k .mg-tok").evaluate_all(
        "ts => ts.map(t => t.className)")]
    assert cant == [j > 3 for j in range(12)]
    assert _attr(root.locator(".mg-rowband"), "data-row") == "3"
    assert root.locator(".mg-rowband").is_visible() and not root.locator(".mg-colband").is_visible()
    page.screenshot(path=str(shots / "explorer_hover_row.png"), full_page=True)

    # hover key token 2: its column
    root.locator(".mg-k .mg-tok").nth(2).hover()
    assert _attr(root, "data-hover-col") == "2" and _attr(root, "data-hover-row") == ""
    assert int(_attr(root, "data-lines")) == sum(int((shown[0, h, 2:, 2] >= MIN_LINE).sum()) for h in heads)
    assert _attr(root.locator(".mg-colband"), "data-col") == "2"
    page.mouse.move(2, 2)                                                   # away: every line again
    assert int(_attr(root, "data-lines")) == all_lines

    # click the thumbnail of layer 1, head 2: that head opens
    root.locator('.mg-cell[data-layer="1"][data-head="2"]').click()
    assert (_attr(root, "data-layer"), _attr(root, "data-heads"), _attr(root, "data-focus-head")) == ("1", "2", "2")
    selected = root.locator(".mg-cell.mg-sel")
    assert selected.count() == 1 and _attr(selected, "data-layer") == "1" and _attr(selected, "data-head") == "2"
    assert root.locator(".mg-matrix .mg-section-title").text_content().startswith("layer 1 · head 2")
    assert int(_attr(root, "data-lines")) == int((np.tril(shown[1, 2]) >= MIN_LINE).sum())

    # the matrix: the value under the pointer, within the quantisation error of the true weight
    tip = root.locator(".mg-tip")
    for i, j in ((5, 2), (11, 0), (7, 7)):
        page.mouse.move(*_matrix_point(page, root, i, j))
        assert tip.is_visible()
        assert (_attr(tip, "data-row"), _attr(tip, "data-col")) == (str(i), str(j))
        value = float(_attr(tip, "data-value"))
        assert abs(value - truth[1, 2, i, j]) <= view.max_error + 1e-6
        assert f"{value:.4f}" in tip.text_content() and POEM[i] in tip.text_content()
        assert _attr(root.locator(".mg-rowband"), "data-row") == str(i)
    page.screenshot(path=str(shots / "explorer_matrix_tooltip.png"), full_page=True)
    page.mouse.move(*_matrix_point(page, root, 1, 6))                       # the future: hidden
    assert "cannot see" in tip.text_content() and _attr(tip, "data-value") == ""

    # the quantisation note states the page's own largest error
    note = root.locator(".mg-quant").text_content()
    stated = float(re.search(r"on this page is ([0-9.e-]+)", note).group(1))
    assert abs(stated - view.max_error) <= 5e-4 * view.max_error
    # the layer menu and the head boxes
    root.locator("select.mg-layer").select_option("0")
    root.locator('.mg-headbox[data-head="1"] input').check()
    assert _attr(root, "data-layer") == "0" and _attr(root, "data-heads") == "1,2"
    assert browser.outside_requests(path) == [] and page.errors == []
    page.close()


def test_no_cjk_font_is_noticed_and_said(plain_browser, shots, tmp_path):
    tok = CharTokenizer.from_text(POEM)
    path = mg.viz.attention_view(_gpt(tok, 1, 2), POEM, tok).save(tmp_path / "a.html")
    page = plain_browser.open(path)
    root = page.locator(".mg-attn")
    assert _attr(root, "data-cjk") == "missing"
    note = root.locator(".mg-cjk-note")
    assert note.is_visible() and "no font with Chinese" in note.text_content()
    assert root.locator(".mg-q .mg-tok").all_text_contents() == list(POEM)   # still in the DOM
    page.screenshot(path=str(shots / "explorer_no_cjk_font.png"), full_page=True)
    # a page without CJK tokens says nothing about fonts
    latin = mg.viz.attention_view(attentions=[np.full((1, 1, 3, 3), 1 / 3, np.float32)],
                                  tokens=["the", "cat", "sat"]).save(tmp_path / "b.html")
    page2 = plain_browser.open(latin)
    assert _attr(page2.locator(".mg-attn"), "data-cjk") == "none"
    assert plain_browser.outside_requests(latin) == []
    page.close()
    page2.close()


def test_two_views_on_one_page_do_not_interfere(browser, shots, tmp_path):
    tok = CharTokenizer.from_text(POEM)
    gpt = mg.viz.attention_view(_gpt(tok), POEM, tok)
    btok = CharTokenizer.from_text("the cat sat", special_tokens=["[PAD]"], pad_token="[PAD]")
    mg.manual_seed(1)
    bert = BertModel(BertConfig(vocab_size=btok.vocab_size, hidden_size=16, num_hidden_layers=3,
                                num_attention_heads=2, intermediate_size=32, max_position_embeddings=16))
    bview = mg.viz.attention_view(bert, "the cat", btok)
    blank = tmp_path / "blank.html"
    blank.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>')
    page = browser.open(blank, ready="body", count=0)
    baseline = set(page.evaluate("Object.keys(window)"))
    page.close()
    both = tmp_path / "two.html"
    both.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
                    + gpt.html_fragment() + "<hr>" + bview.html_fragment() + gpt.html_fragment()
                    + "</body></html>", encoding="utf-8")
    page = browser.open(both, count=3)                  # the same view twice, and another
    assert set(page.evaluate("Object.keys(window)")) == baseline, "a view added a global"
    roots = page.locator(".mg-attn")
    ids = roots.evaluate_all("rs => rs.map(r => r.id)")
    assert len(set(ids)) == 3
    a, b, c = roots.nth(0), roots.nth(1), roots.nth(2)
    assert a.locator(".mg-cell").count() == 8 and b.locator(".mg-cell").count() == 3 * 2
    assert b.locator(".mg-q .mg-tok").all_text_contents() == ["t", "h", "e", "␣", "c", "a", "t"]
    assert b.locator(".mg-causal").count() == 0                               # BERT: not causal
    a.locator(".mg-q .mg-tok").nth(4).hover()
    assert _attr(a, "data-hover-row") == "4"
    assert _attr(b, "data-hover-row") in (None, "") and _attr(c, "data-hover-row") in (None, "")
    b.locator('.mg-cell[data-layer="2"][data-head="1"]').click()
    assert _attr(b, "data-layer") == "2" and _attr(b, "data-heads") == "1"
    assert _attr(a, "data-layer") == "0" and _attr(c, "data-layer") == "0" and _attr(c, "data-heads") == "0,1,2,3"
    c.locator('.mg-cell[data-layer="1"][data-head="3"]').click()
    assert _attr(a, "data-heads") == "0,1,2,3" and _attr(c, "data-heads") == "3"
    page.screenshot(path=str(shots / "explorer_three_views_one_page.png"), full_page=True)
    assert browser.outside_requests(both) == [] and page.errors == []
    page.close()


def test_encoder_decoder_cross_attention_view(browser, shots, tmp_path):
    mg.manual_seed(0)
    model = MarianMTModel(MarianConfig.small(vocab_size=30, d_model=16, layers=2, heads=2, dropout=0.0)).eval()
    src, target = np.array([[5, 6, 7, 8, 9, 1]]), np.array([[11, 12, 13, 1]])
    view = mg.viz.attention_view(model, src, target=target)
    path = view.save(tmp_path / "seq2seq.html")
    page = browser.open(path)
    root = page.locator(".mg-attn")
    options = root.locator("select.mg-set option").all_text_contents()
    assert len(options) == 3 and "cross-attention" in options[0]
    assert root.locator(".mg-q .mg-tok").all_text_contents() == ["#0", "#11", "#12", "#13"]   # target
    assert root.locator(".mg-k .mg-tok").all_text_contents() == ["#5", "#6", "#7", "#8", "#9", "#1"]
    assert root.locator(".mg-cell").count() == 4
    root.locator(".mg-q .mg-tok").nth(2).hover()                            # a target token's sources
    shown = _shown(view, 0)
    assert int(_attr(root, "data-lines")) == sum(int((shown[0, h, 2] >= MIN_LINE).sum()) for h in range(2))
    page.screenshot(path=str(shots / "explorer_cross_attention.png"), full_page=True)
    root.locator("select.mg-set").select_option("2")                         # the decoder: causal
    assert _attr(root, "data-set") == "2" and root.locator(".mg-causal").count() == 1
    assert root.locator(".mg-k .mg-tok").all_text_contents() == ["#0", "#11", "#12", "#13"]
    assert browser.outside_requests(path) == [] and page.errors == []
    page.close()


def test_a_6_layer_12_head_128_token_page_size_and_opening_time(browser, shots, tmp_path):
    """The issue's case: under 2 MB, and the time from navigation to the view's ready flag
    (recorded in open_times.json beside the screenshots; speed is not asserted in tests)."""
    rng = np.random.default_rng(0)
    tokens = [f"w{i}" for i in range(97)] + list("床前明月光疑是地上霜举头望明月低头思故乡春眠不觉晓处处闻啼鸟夜")
    figures = {}
    for causal in (False, True):
        x = rng.standard_normal((6, 1, 12, 128, 128)) * 2.5
        if causal:
            x = np.where(np.tril(np.ones((128, 128), bool)), x, -np.inf)
        e = np.exp(x - x.max(-1, keepdims=True))
        maps = list((e / e.sum(-1, keepdims=True)).astype(np.float32))
        view = mg.viz.attention_view(attentions=maps, tokens=tokens)
        name = "gpt_like_causal" if causal else "bert_like"
        path = view.save(tmp_path / f"{name}.html")
        size = Path(path).stat().st_size
        assert size < 2 * 2 ** 20
        runs = []
        for _ in range(3):
            page = browser.open(path)
            root = page.locator(".mg-attn")
            runs.append(float(_attr(root, "data-ready-ms")))
            assert root.locator(".mg-cell").count() == 72
            if len(runs) < 3:
                page.close()
        shown = _shown(view)
        heads = [int(h) for h in _attr(root, "data-heads").split(",")]
        visible = np.tril(np.ones((128, 128), bool)) if causal else np.ones((128, 128), bool)
        lines = [shown[0, h][visible] for h in heads]
        total = sum(int((w >= MIN_LINE).sum()) for w in lines)
        threshold = float(_attr(root, "data-line-threshold"))                 # the strongest lines only
        assert int(_attr(root, "data-lines-total")) == total
        assert int(_attr(root, "data-lines")) == sum(int((w >= threshold).sum()) for w in lines) <= 12000
        root.locator(".mg-q .mg-tok").nth(100).hover()                     # a row: all its lines
        n = 101 if causal else 128
        assert int(_attr(root, "data-lines")) == sum(int((shown[0, h, 100, :n] >= MIN_LINE).sum()) for h in heads)
        t0 = time.perf_counter()
        root.locator('.mg-cell[data-layer="5"][data-head="11"]').click()
        click_ms = (time.perf_counter() - t0) * 1000
        page.screenshot(path=str(shots / f"explorer_6x12x128_{name}.png"))
        assert browser.outside_requests(path) == [] and page.errors == []
        page.close()
        figures[name] = {"bytes": size, "MB": round(size / 2 ** 20, 3), "ready_ms": runs,
                         "click_to_open_head_ms": round(click_ms, 1), "max_quantisation_error": view.max_error}
    (shots / "open_times.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


def test_a_notebook_exported_with_nbconvert_holds_two_working_explorers(browser, shots, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nbconvert = pytest.importorskip("nbconvert", reason="nbconvert is not installed (pip install nbconvert)")
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import numpy as np, minigrad as mg\n"
        "from minigrad.models import GPT, GPTConfig\n"
        "from minigrad.tokenizers import CharTokenizer\n"
        f"tok = CharTokenizer.from_text({POEM!r})\n"
        "mg.manual_seed(0)\n"
        "model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_layer=2, n_head=2, n_embd=16, block_size=32))"),
        nbformat.v4.new_code_cell(f"mg.viz.attention_view(model, {POEM!r}, tok)"),
        nbformat.v4.new_code_cell("mg.viz.attention_view(model, '明月光', tok, layers=[1])"),
        nbformat.v4.new_code_cell("L = (mg.tensor(2.0, requires_grad=True) * 3).sum()\nmg.viz.graph(L)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)               # the default (lab) template
    path = tmp_path / "exported.html"
    path.write_text(body, encoding="utf-8")
    page = browser.open(path, count=2)
    roots = page.locator(".mg-attn")
    a, b = roots.nth(0), roots.nth(1)
    assert a.locator(".mg-cell").count() == 4 and b.locator(".mg-cell").count() == 2
    assert b.locator(".mg-q .mg-tok").all_text_contents() == list("明月光")
    a.locator(".mg-q .mg-tok").nth(2).hover()
    assert _attr(a, "data-hover-row") == "2" and _attr(b, "data-hover-row") in (None, "")
    # the graph, shown once: x, 3, x·3, the sum; the ops mul and sum
    assert page.locator("svg.mg-graph .mg-node").count() == 6
    # nbconvert's own template loads require.js/MathJax from a CDN: refused here (as behind a
    # firewall), and the explorers work anyway; no request came from minigrad's views
    outside = browser.outside_requests(path)
    assert all(url in body for url in outside), outside
    page.screenshot(path=str(shots / "nbconvert_two_explorers.png"), full_page=True)
    page.close()


# --- the graph ------------------------------------------------------------------------------
def test_graph_svg_before_and_after_backward(browser, shots, tmp_path):
    a = mg.tensor(2.0, requires_grad=True)
    b = mg.tensor(-3.0, requires_grad=True)
    c = mg.tensor(10.0, requires_grad=True)
    f = mg.tensor(-2.0, requires_grad=True)
    e = a * b
    d = e + c
    L = d * f
    g = mg.viz.graph(L, names=locals())
    g.save(tmp_path / "before.html")
    L.backward()
    g.save(tmp_path / "after.html")
    g.save(tmp_path / "after.svg")
    for name, grads in (("before", 0), ("after", 4)):
        page = browser.open(tmp_path / f"{name}.html", ready="svg.mg-graph", count=0)
        assert page.locator("svg.mg-graph .mg-node").count() == 10
        assert page.locator("svg.mg-graph .mg-op").count() == 3
        assert page.locator("svg.mg-graph .mg-tensor").count() == 7
        assert page.locator("svg.mg-graph .mg-edge").count() == 9
        texts = page.locator("svg.mg-graph text").all_text_contents()
        assert sum(t.startswith("grad ") for t in texts) == grads
        if grads:
            assert "grad 6" in texts and "grad -4" in texts
        page.screenshot(path=str(shots / f"graph_{name}_backward.png"), full_page=True)
        assert browser.outside_requests(tmp_path / f"{name}.html") == []
        page.close()
    page = browser.context.new_page()                                       # the .svg file itself
    page.goto((tmp_path / "after.svg").resolve().as_uri())
    assert page.locator(".mg-node").count() == 10
    page.close()


def test_a_two_layer_gpt_graph_opens_its_blocks(browser, shots, tmp_path):
    mg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, n_layer=2, n_head=2, n_embd=16, block_size=16))
    idx = np.random.default_rng(0).integers(0, 20, (2, 8))
    with mg.viz.record_scopes(model):
        loss = model(idx, targets=idx).loss
    g = mg.viz.graph(loss, title="a 2-layer GPT")
    panels = g.panels()
    path = g.save(tmp_path / "gpt_graph.html")
    page = browser.open(path, ready=".mg-graphview")
    view = page.locator(".mg-graphview")
    assert _attr(view, "data-panels") == str(len(panels))
    top = view.locator('.mg-panel[data-panel="0"]')
    assert top.locator(".mg-node").count() == len(panels[0].nodes)
    blocks = top.locator(".mg-block[data-open]")
    assert blocks.count() == sum(1 for kind, _ in panels[0].nodes if kind == "block")
    page.screenshot(path=str(shots / "graph_gpt_top.png"), full_page=True)
    attn = top.locator('.mg-block[data-scope="transformer.h.0.attn"]')
    target = _attr(attn, "data-open")
    attn.click()
    assert _attr(view, "data-shown") == target
    opened = view.locator(f'.mg-panel[data-panel="{target}"]')
    assert opened.is_visible() and not top.is_visible()
    assert opened.locator(".mg-node").count() == len(panels[int(target)].nodes)
    assert "transformer.h.0.attn" in view.locator(".mg-crumbs").text_content()
    page.screenshot(path=str(shots / "graph_gpt_attention_block.png"), full_page=True)
    view.locator(".mg-crumbs a").first.click()                              # back to the top
    assert _attr(view, "data-shown") == "0" and top.is_visible()
    assert browser.outside_requests(path) == [] and page.errors == []
    page.close()
