"""The computation-graph view (mg.viz.graph) and its layout, without a browser: the nodes and
edges drawn, before and after backward(), module blocks from record_scopes, and the layered
layout's rules (every edge points down, no two nodes of a layer overlap)."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd
from minigrad.models import GPT, GPTConfig
from minigrad.viz import layout
from minigrad.viz.graph_view import _plan


def _micrograd_expression():
    """draw_dot's example: L = (a·b + c)·f."""
    a = mg.tensor(2.0, requires_grad=True)
    b = mg.tensor(-3.0, requires_grad=True)
    c = mg.tensor(10.0, requires_grad=True)
    f = mg.tensor(-2.0, requires_grad=True)
    e = a * b
    d = e + c
    L = d * f
    return dict(a=a, b=b, c=c, f=f, e=e, d=d, L=L)


def _svg_nodes(svg):
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    groups = [g for g in root.iter(f"{ns}g") if "mg-node" in (g.get("class") or "").split()]
    return root, groups


def test_one_node_per_tensor_and_per_op_in_backward_order():
    v = _micrograd_expression()
    g = mg.viz.graph(v["L"], names=v)
    svg = g._repr_svg_()
    root, nodes = _svg_nodes(svg)                                       # well-formed XML
    kinds = [n.get("class").split()[1] for n in nodes]
    assert kinds.count("mg-tensor") == 7 and kinds.count("mg-op") == 3  # a b c f e d L; mul add mul
    ops = {int(n.get("data-step")): n.find("{http://www.w3.org/2000/svg}text").text
           for n in nodes if "mg-op" in n.get("class")}
    assert ops == {1: "mul", 2: "add", 3: "mul"}                        # backward runs L's mul first
    assert root.get("data-nodes") == "10" and root.get("data-edges") == "9"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    heads = {t.split(" · ")[0] for t in texts}
    assert set("abcfedL") <= heads
    text = "\n".join(texts)
    assert "data -6" in text and "data 4" in text and "data -8" in text   # e, d, L
    assert "grad" not in text                                           # before backward
    assert "leaf" in text and "output" in text


def test_before_and_after_backward():
    v = _micrograd_expression()
    g = mg.viz.graph(v["L"], names=v)
    before = g._repr_svg_()
    v["L"].backward()                                                   # frees the graph
    assert v["L"]._node.released
    after = g._repr_svg_()                                              # the same view, drawn again
    assert "grad" not in before
    for name, grad in (("a", 6.0), ("b", -4.0), ("c", -2.0), ("f", 4.0)):
        assert float(v[name].grad.data) == grad
        assert re.search(rf">{name} · leaf<.*?>grad {grad:g}<", after), name
    again = mg.viz.graph(v["L"])                                        # called after backward
    assert again.structure is g.structure and again._repr_svg_().count(">grad ") == 4
    fresh = _micrograd_expression()
    fresh["L"].backward()
    with pytest.raises(RuntimeError, match="before backward"):          # freed, never captured
        mg.viz.graph(fresh["L"])
    kept = _micrograd_expression()
    kept["L"].backward(retain_graph=True)                               # kept: drawn with grads
    assert mg.viz.graph(kept["L"])._repr_svg_().count(">grad ") == 4


def test_parameters_constants_and_arrays():
    mg.manual_seed(0)
    lin = mg.nn.Linear(3, 2)
    x = mg.tensor(np.ones((4, 3), np.float32))
    loss = (lin(x) * 0.5).sum()
    g = mg.viz.graph(loss, model=lin)
    svg = g.svg()
    _, nodes = _svg_nodes(svg)
    classes = [n.get("class") for n in nodes]
    assert sum("mg-param" in c for c in classes) == 2                  # weight and bias
    assert sum("mg-constant" in c for c in classes) == 2               # x and 0.5
    assert "weight · parameter" in svg and "bias · parameter" in svg
    assert "(4, 3) float32" in svg and "(2,) float32" in svg
    loss.backward()
    assert "grad: max |g| " in g.svg()                                 # an array's gradient, summarised


def test_a_two_layer_gpt_collapses_into_module_blocks_that_open():
    mg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, n_layer=2, n_head=2, n_embd=16, block_size=16))
    idx = np.random.default_rng(0).integers(0, 20, (2, 8))
    with mg.viz.record_scopes(model):
        loss = model(idx, targets=idx).loss
    assert autograd.mode.scope is None                                 # off again
    g = mg.viz.graph(loss)
    panels = g.panels()
    top = panels[0]
    assert len(top.nodes) <= mg.viz.graph.__globals__["MAX_NODES"]
    blocks = [key for kind, key in top.nodes if kind == "block"]
    assert blocks, "nothing collapsed"
    paths = {key[-1][0] for key in blocks}
    assert {"transformer.h.0.attn", "transformer.h.1.attn", "transformer.h.0.mlp"} <= paths
    assert len(g.structure.ops) > len([n for n in top.nodes if n[0] == "op"])
    # every block has a panel of its own, with the ops inside it (and its inputs from outside)
    opened = {p.prefix[-1][0]: p for p in panels[1:]}
    attn = opened["transformer.h.0.attn"]
    inside = [op for op in g.structure.ops if any(e[0] == "transformer.h.0.attn" for e in op.scope)]
    shown = [key for kind, key in attn.nodes if kind == "op"]
    nested = [key for kind, key in attn.nodes if kind == "block"]
    assert shown and len(shown) + sum(
        sum(1 for op in inside if tuple(op.scope[:len(b)]) == b) for b in nested) == len(inside)
    assert any(kind == "input" for kind, _ in attn.nodes)
    html = g.html_fragment()
    assert html.count('class="mg-panel"') == len(panels)
    assert 'data-open="' in html and "<script>" in html
    # the names come from the model
    assert "transformer.h.0.attn" in html and "CausalSelfAttention" in html
    # fully expanded, every op is drawn
    assert sum(1 for kind, _ in _plan(g.structure, (), 99).nodes if kind == "op") == len(g.structure.ops)


def test_recording_scopes_is_off_by_default_and_costs_no_node_attribute():
    x = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    lin = mg.nn.Linear(3, 3)
    y = lin(x)
    assert "scope" not in y._node.__dict__                             # the training path notes nothing
    with mg.viz.record_scopes(lin):
        z = lin(x)
    assert z._node.scope == (("Linear", "Linear"),)
    with mg.viz.record_scopes():                                       # no model: class names, numbered
        w = mg.nn.Sequential(mg.nn.Linear(3, 3), mg.nn.Linear(3, 3))(x)
    assert [e[1] for e in w._node.scope] == ["Sequential", "Linear"]
    assert w._node.scope[1][0].startswith("Linear#")


def test_save_svg_and_html(tmp_path):
    v = _micrograd_expression()
    g = mg.viz.graph(v["L"], names=v)
    svg = (tmp_path / "g.svg")
    g.save(svg)
    ET.parse(svg)                                                       # a valid SVG file
    g.save(tmp_path / "g.html")
    page = (tmp_path / "g.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page and "<svg" in page
    assert "<script src" not in page and not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    with pytest.raises(ValueError, match=".svg or .html"):
        g.save(tmp_path / "g.png")
    assert mg.viz.graph(v["a"]).num_tensors == 1                        # a leaf alone
    with pytest.raises(TypeError, match="expected a Tensor"):
        mg.viz.graph(3.0)


def test_two_views_use_different_marker_ids():
    v = _micrograd_expression()
    g = mg.viz.graph(v["L"])
    ids = {re.search(r'marker id="([^"]+)"', g.svg()).group(1) for _ in range(3)}
    assert len(ids) == 3


# --- the layout --------------------------------------------------------------------------
def _check_layout(sizes, edges):
    lay = layout.layered_layout(sizes, edges)
    for u, v in edges:                                                  # every edge points down
        assert lay.layer[u] < lay.layer[v]
        assert lay.y[u] + sizes[u][1] / 2 < lay.y[v] - sizes[v][1] / 2
    by_layer = {}
    for i, l in enumerate(lay.layer):
        by_layer.setdefault(l, []).append(i)
    for nodes in by_layer.values():                                     # no overlaps within a layer
        nodes.sort(key=lambda i: lay.x[i])
        for a, b in zip(nodes, nodes[1:]):
            assert lay.x[a] + sizes[a][0] / 2 <= lay.x[b] - sizes[b][0] / 2 + 1e-6
    for i, (w, h) in enumerate(sizes):                                  # inside the drawing
        assert lay.x[i] - w / 2 >= 0 and lay.x[i] + w / 2 <= lay.width + 1e-6
        assert lay.y[i] + h / 2 <= lay.height + 1e-6
    return lay


def test_layers_are_longest_paths_to_the_sink():
    # 0 -> 2, 1 -> 2, 2 -> 4, 3 -> 4: 3 is a leaf used late: it sits just above 4
    edges = [(0, 2), (1, 2), (2, 4), (3, 4)]
    assert layout.layers_by_longest_path(5, edges) == [0, 0, 1, 1, 2]
    lay = _check_layout([(40, 20)] * 5, edges)
    assert lay.x[2] == pytest.approx((lay.x[0] + lay.x[1]) / 2, abs=1.0)   # pulled between its inputs
    with pytest.raises(ValueError, match="cycle"):
        layout.layers_by_longest_path(3, [(0, 1), (1, 2), (2, 0)])


def test_barycentre_ordering_removes_crossings():
    # two chains given crossed: 0 -> 3, 1 -> 2 with 0, 1 on top and 2, 3 below
    lay = _check_layout([(30, 20)] * 4, [(0, 3), (1, 2)])
    assert sum(layout.count_crossings(lay.order[i], lay.order[i + 1], [(0, 3), (1, 2)])
               for i in range(len(lay.order) - 1)) == 0
    assert layout.count_crossings([0, 1], [2, 3], [(0, 3), (1, 2)]) == 1


def test_long_edges_get_routed_through_dummies_and_random_dags_lay_out():
    rng = np.random.default_rng(0)
    for n in (1, 2, 8, 30):
        edges = sorted({(int(u), int(v)) for u, v in rng.integers(0, n, (2 * n, 2)) if u < v})
        sizes = [(float(rng.integers(20, 120)), float(rng.integers(16, 50))) for _ in range(n)]
        lay = _check_layout(sizes, edges)
        for (u, v), route in zip(edges, lay.routes):
            assert len(route) == lay.layer[v] - lay.layer[u] + 1            # one point per layer crossed
            assert all(route[k][1] < route[k + 1][1] for k in range(len(route) - 1))


# --- lesson 1: the graph of the student's own Sigmoid -------------------------------------
def test_lesson1_draws_the_students_sigmoid_before_and_after_backward(tmp_path):
    from pathlib import Path

    from minigrad.autograder import lesson01
    lessons = Path(__file__).resolve().parents[1] / "lessons"
    out = tmp_path / "page.html"
    assert lesson01.main(["--graph", "--file", str(lessons / "solutions" / "01_autograd.py"),
                          "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and page.count(">my_sigmoid<") == 2               # the student's own op
    assert page.count(">grad ") == 3                                        # x, w, b after backward
    stub = tmp_path / "stub.html"
    assert lesson01.main(["--graph", "--file", str(lessons / "01_autograd" / "exercises.py"),
                          "--out", str(stub)]) == 0
    text = stub.read_text(encoding="utf-8")
    assert "NotImplementedError" in text and text.count("<svg") == 1 and ">my_sigmoid<" not in text


def test_graph_data_from_another_process_is_checked_and_escaped():
    from minigrad.autograder.lesson01 import graph_page
    from minigrad.viz.graph_view import from_data, to_data
    v = _micrograd_expression()
    v["a"].name = "<script>alert(1)</script>"
    data = to_data(mg.viz.graph(v["L"]).structure)
    page = graph_page({"before": data, "after": None, "error": "<img src=x onerror=alert(1)>"}, "f.py")
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page
    bad = dict(data, ops=[dict(data["ops"][0], inputs=[999])] + data["ops"][1:])
    with pytest.raises(ValueError, match="input is not an index"):
        from_data(bad)
    looped = to_data(mg.viz.graph(_micrograd_expression()["L"]).structure)
    looped["tensors"][looped["ops"][-1]["inputs"][0]]["producer"] = 0      # a leaf made by the last op
    with pytest.raises(ValueError):
        from_data(looped)
    with pytest.raises(ValueError, match="not a dict"):
        from_data([1, 2])
