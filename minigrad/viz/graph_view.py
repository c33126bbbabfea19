"""The computation graph that backward() walks, drawn (§2.1 深度学习; micrograd's draw_dot,
without the Graphviz binary: the layout is computed here, in layout.py).

    g = mg.viz.graph(loss)          # capture the graph now: backward() frees it
    g                               # in Jupyter: inputs at the top, loss at the bottom
    loss.backward()
    g                               # the same graph, now with each leaf's .grad
    g.save("graph.svg")             # or "graph.html" (blocks open on a click)

One node per Tensor (a box: its name, shape and dtype, its value when it has at most four
entries, and its .grad once backward() has put one there) and one per op (an oval: the op's
name, and #k, its place in the order backward() runs the ops: #1 first).  Parameters,
leaves that require grad, constants and the output are coloured differently.

Large graphs collapse.  With the ops recorded under `mg.viz.record_scopes(model)`, every op
knows which modules it ran in, and a module's ops are drawn as one block with the module's
name, until the drawing has at most `max_nodes` nodes; in the HTML view a click on a block
opens it.

    with mg.viz.record_scopes(model):
        loss = model(idx, targets=idx).loss
    mg.viz.graph(loss)              # a 2-layer GPT: embeddings, h.0, h.1, ln_f, lm_head, loss

Why capture: a backward() without retain_graph=True releases every node it ran (autograd.py):
the nodes drop their inputs, so the graph can no longer be walked.  graph(t) walks it when
called and keeps what it needs to draw it; the view reads each leaf's .grad and values when
it is drawn, so showing it again after backward() shows the gradients.  Calling graph(t)
again after backward() gives the graph captured before; a tensor whose graph was freed before
it was ever drawn cannot be drawn (the error says what to do).  Only leaves keep a .grad:
minigrad, as PyTorch, does not keep the gradients of intermediate results (mg.grad gives them).
"""
from __future__ import annotations

import html
import itertools
import os
import secrets
import unicodedata
import weakref
from dataclasses import dataclass, field

import numpy as np

from .. import autograd
from ..i18n import tr
from ..tensor import Tensor
from . import layout as _layout

MAX_NODES = 80                   # a drawing with more nodes than this collapses modules to blocks
FONT = ("system-ui, -apple-system, 'Segoe UI', 'Noto Sans', 'Noto Sans CJK SC', "
        "'PingFang SC', 'Microsoft YaHei', sans-serif")
_COLOURS = {                     # fill, border
    "param": ("#fde7c8", "#c77d12"),
    "leaf": ("#d6eaff", "#2f6db3"),
    "constant": ("#f1f1f1", "#9a9a9a"),
    "result": ("#ffffff", "#555555"),
    "output": ("#e3f6e0", "#2e7d32"),
    "input": ("#ffffff", "#9a9a9a"),
    "op": ("#f4f0ff", "#6a55b8"),
    "block": ("#fff7d6", "#a88a00"),
}


# ----------------------------------------------------------------------------------------
# Which module made which op: record_scopes
# ----------------------------------------------------------------------------------------
class record_scopes:
    """Inside `with mg.viz.record_scopes(model):` every op notes the modules it runs in (the
    module's dotted name in `model`, e.g. transformer.h.0.attn; a module not in `model`, or
    every module when no model is given, is named by its class), so that mg.viz.graph can
    group a module's ops.  Outside it nothing is noted: training pays nothing for this
    (Module.__call__ tests one attribute)."""

    _last_model = None                         # weakref to the model of the latest recording

    def __init__(self, model=None):
        self.model = model
        self._names = {}
        if model is not None:
            for path, module in model.named_modules():
                self._names[id(module)] = (path or type(module).__name__, type(module).__name__)

    def _name(self, module):
        entry = self._names.get(id(module))
        if entry is None:                      # not in the model: its class, numbered
            entry = (f"{type(module).__name__}#{len(self._names)}", type(module).__name__)
            self._names[id(module)] = entry
        return entry

    def __enter__(self):
        mode = autograd.mode
        self._saved = (mode.scope, mode.scope_name)
        mode.scope = () if mode.scope is None else mode.scope
        mode.scope_name = self._name
        if self.model is not None:
            record_scopes._last_model = weakref.ref(self.model)
        return self

    def __exit__(self, *exc):
        autograd.mode.scope, autograd.mode.scope_name = self._saved
        return False


# ----------------------------------------------------------------------------------------
# The captured structure
# ----------------------------------------------------------------------------------------
@dataclass
class TensorItem:
    key: int
    kind: str                  # "param", "leaf" (requires grad), "constant", "result", "output"
    shape: tuple
    dtype: str
    name: str = ""
    producer: int | None = None          # op index
    consumers: list = field(default_factory=list)
    values: object = None                # captured values (at most 4 entries), for results
    ref: object = None                   # the Tensor (a leaf) or a weakref to it (a result)
    home: tuple = ()                     # the scope it is drawn in
    grad: object = None                  # captured .grad (from_data): its values, or max |g|

    def tensor(self):
        t = self.ref() if isinstance(self.ref, weakref.ref) else self.ref
        return t


@dataclass
class OpItem:
    index: int
    name: str
    step: int                            # 1 = the first op backward() runs
    inputs: list                         # tensor keys
    output: int
    scope: tuple = ()


@dataclass
class Structure:
    tensors: list
    ops: list
    root: int                            # tensor key of the output


_CAPTURED = weakref.WeakKeyDictionary()  # root Tensor -> Structure, for a call after backward()


def _freed_error(t: Tensor) -> RuntimeError:
    return RuntimeError(
        "mg.viz.graph: this tensor's graph was freed by backward() (which releases every node "
        "it ran unless retain_graph=True), so it can no longer be walked. Call mg.viz.graph(t) "
        "before backward() and show the view again afterwards (it then shows the .grad of each "
        "leaf), or run backward(retain_graph=True)")


def capture(root: Tensor, names=None, model=None) -> Structure:
    """Walk the graph from `root` now (see the module's docstring): its tensors and ops, in the
    order backward() runs the ops."""
    if not isinstance(root, Tensor):
        raise TypeError(f"mg.viz.graph: expected a Tensor, got {type(root).__name__}")
    from ..nn.parameter import Parameter

    given = _names_of(names, model)
    tensors, ops = [], []
    key_of = {}                          # id(node) for results, id(tensor) for leaves -> key

    def add_tensor(t, kind, producer=None):
        key = len(tensors)
        small = t.data.size <= 4
        item = TensorItem(key, kind, tuple(t.shape), str(t.dtype),
                          name=t.name or given.get(id(t), ""), producer=producer)
        if producer is None:
            item.ref = t                 # leaves: read .grad and .data live when drawn
        else:
            item.ref = weakref.ref(t)
            item.values = np.array(t.data, copy=True) if small else None
        tensors.append(item)
        return key

    if root._node is None:               # a leaf: a graph of one tensor
        kind = "param" if isinstance(root, Parameter) else "leaf" if root.requires_grad else "constant"
        return Structure([TensorItem(0, kind, tuple(root.shape), str(root.dtype),
                                     name=root.name or given.get(id(root), ""), ref=root)], [], 0)
    order = autograd.topological_order([root._node])       # backward's order: consumers first
    if any(node.released for node in order):
        raise _freed_error(root)
    outputs = {id(root._node): root}
    for node in order:                                     # the Tensor objects of the results
        for t in node.inputs:
            if t._node is not None:
                outputs.setdefault(id(t._node), t)
    for step, node in enumerate(order, 1):
        out = outputs[id(node)]
        index = len(ops)
        key = add_tensor(out, "output" if out is root else "result", producer=index)
        key_of[id(node)] = key
        ops.append(OpItem(index, getattr(node, "name", type(node).__name__), step, [], key,
                          getattr(node, "scope", ())))
    for op, node in zip(ops, order):
        for t in node.inputs:
            if t._node is not None:
                k = key_of[id(t._node)]
            else:
                k = key_of.get(id(t))
                if k is None:
                    kind = ("param" if isinstance(t, Parameter) else
                            "leaf" if t.requires_grad else "constant")
                    k = key_of[id(t)] = add_tensor(t, kind)
            op.inputs.append(k)
            tensors[k].consumers.append(op.index)
    structure = Structure(tensors, ops, key_of[id(root._node)])
    _assign_homes(structure, model)
    return structure


def _names_of(names, model) -> dict:
    """id(tensor) -> name: from `names` (a dict name -> Tensor, e.g. locals(), or a list of
    named Tensors) and from `model`'s parameters and buffers (or the model of the latest
    record_scopes)."""
    out = {}
    if model is None and record_scopes._last_model is not None:
        model = record_scopes._last_model()
    if model is not None:
        for n, t in itertools.chain(model.named_parameters(), model.named_buffers()):
            out.setdefault(id(t), n)
    if isinstance(names, dict):
        for n, t in names.items():
            if isinstance(t, Tensor) and not str(n).startswith("_"):
                out[id(t)] = str(n)
    elif names is not None:
        for t in names:
            if isinstance(t, Tensor) and t.name:
                out[id(t)] = t.name
    return out


def _common_prefix(scopes) -> tuple:
    scopes = list(scopes)
    if not scopes:
        return ()
    first = scopes[0]
    n = len(first)
    for s in scopes[1:]:
        n = min(n, len(s))
        for i in range(n):
            if s[i] != first[i]:
                n = i
                break
    return tuple(first[:n])


def _assign_homes(structure: Structure, model=None) -> None:
    """The scope each tensor is drawn in: a result in its op's; a parameter, a buffer or a
    0-d constant in the deepest scope shared by the ops using it (a module's weights go
    inside the module); any other leaf (the data going in) at the top."""
    buffers = set()
    if model is None and record_scopes._last_model is not None:
        model = record_scopes._last_model()
    if model is not None:
        buffers = {id(b) for b in model.buffers()}
    for t in structure.tensors:
        if t.producer is not None:
            t.home = structure.ops[t.producer].scope
            continue
        tensor = t.tensor()
        inner = t.kind == "param" or len(t.shape) == 0 or (tensor is not None and id(tensor) in buffers)
        t.home = _common_prefix(structure.ops[o].scope for o in t.consumers) if inner else ()


# ----------------------------------------------------------------------------------------
# A panel: the graph inside one scope, its sub-modules collapsed below some depth
# ----------------------------------------------------------------------------------------
@dataclass
class Panel:
    prefix: tuple
    nodes: list                          # ("tensor", key) | ("op", index) | ("block", scope) | ("input", key)
    edges: list                          # (i, j) indices into nodes
    depth: int


def _plan(structure: Structure, prefix: tuple, depth: int) -> Panel:
    """The nodes and edges drawn for the ops inside `prefix`, modules more than `depth` levels
    below it collapsed into blocks."""
    n = len(prefix)

    def inside(scope):
        return tuple(scope[:n]) == prefix

    def place(scope):                    # a visible place, or the block it collapses into
        if len(scope) - n > depth:
            return ("block", tuple(scope[:n + depth + 1]))
        return None

    ops = [op for op in structure.ops if inside(op.scope)]
    rep = {}
    for op in ops:
        rep[("op", op.index)] = place(op.scope) or ("op", op.index)
    tensor_rep = {}
    for t in structure.tensors:
        if not inside(t.home):
            continue
        where = place(t.home)
        if where is not None:            # collapsed, unless used outside its block (its output)
            users = [rep.get(("op", c)) for c in t.consumers]
            if t.key != structure.root and all(u == where for u in users):
                tensor_rep[t.key] = where
                continue
        tensor_rep[t.key] = ("tensor", t.key)
    nodes, index = [], {}

    def node(kind_key):
        if kind_key not in index:
            index[kind_key] = len(nodes)
            nodes.append(kind_key)
        return index[kind_key]

    edges = set()
    for op in reversed(ops):             # backward's order reversed: the forward's
        target = node(rep[("op", op.index)])
        for k in op.inputs:
            source = tensor_rep.get(k)
            if source is None:           # made outside this panel: drawn as an input
                source = ("input", k)
            s = node(source)
            if s != target:
                edges.add((s, target))
        out = tensor_rep.get(op.output, ("tensor", op.output))
        o = node(out)
        if o != target:
            edges.add((target, o))
    for k, where in tensor_rep.items():  # a leaf whose users are all elsewhere still shows
        if where == ("tensor", k):
            node(where)
    return Panel(prefix, nodes, sorted(edges), depth)


def _auto_depth(structure: Structure, prefix: tuple, max_nodes: int) -> int:
    """The most levels of modules below `prefix` that can be shown in at most max_nodes nodes
    (at least 0: every child module a block)."""
    deepest = max((len(op.scope) for op in structure.ops), default=0) - len(prefix)
    best = 0
    for depth in range(0, max(deepest, 0) + 1):
        if len(_plan(structure, prefix, depth).nodes) <= max_nodes:
            best = depth
        else:
            break
    return best


# ----------------------------------------------------------------------------------------
# Drawing: SVG
# ----------------------------------------------------------------------------------------
def _text_width(text: str, size: float) -> float:
    return sum(size * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6) for ch in text)


def _fmt(x) -> str:
    x = float(x)
    if x == 0:
        return "0"
    return f"{x:.4g}"


def _values(array) -> str:
    a = np.asarray(array)
    if a.size == 1:
        return _fmt(a.reshape(-1)[0])
    return "[" + ", ".join(_fmt(v) for v in a.reshape(-1)) + "]"


def _shape_text(shape, dtype) -> str:
    return ("scalar" if not shape else "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")") + f" {dtype}"


_KIND_TAG = {"param": "parameter", "leaf": "leaf", "constant": "constant", "output": "output",
             "result": "", "input": "from outside"}


class GraphView:
    """What mg.viz.graph returns: shows itself in Jupyter (SVG, or HTML where blocks open on
    a click) and saves as .svg or .html.  Reads the leaves' .grad and values each time it is
    drawn."""

    def __init__(self, structure: Structure, max_nodes: int = MAX_NODES, depth: int | None = None,
                 title: str | None = None):
        self.structure = structure
        self.max_nodes = int(max_nodes)
        self.depth = depth
        self.title = title

    # --- what is drawn -------------------------------------------------------------------
    def panels(self) -> list:
        """The top panel, then one per block that can be opened (breadth first)."""
        s = self.structure
        top_depth = self.depth if self.depth is not None else _auto_depth(s, (), self.max_nodes)
        out = [_plan(s, (), top_depth)]
        seen = {()}
        i = 0
        while i < len(out):
            for kind, key in out[i].nodes:
                if kind == "block" and key not in seen:
                    seen.add(key)
                    out.append(_plan(s, key, _auto_depth(s, key, self.max_nodes)))
            i += 1
        return out

    @property
    def num_tensors(self) -> int:
        return len(self.structure.tensors)

    @property
    def num_ops(self) -> int:
        return len(self.structure.ops)

    # --- one node's box --------------------------------------------------------------------
    def _tensor_lines(self, t: TensorItem, as_input: bool = False):
        kind = "input" if as_input else t.kind
        live = t.tensor() if t.producer is None else None
        lines = []
        head = t.name or _KIND_TAG[kind]
        if t.name and _KIND_TAG[kind]:
            head = f"{t.name} · {_KIND_TAG[kind]}"
        if head:
            lines.append(("b", head))
        lines.append(("", _shape_text(t.shape, t.dtype)))
        values = live.data if live is not None else t.values
        if values is not None and np.asarray(values).size <= 4:
            lines.append(("", "data " + _values(values)))
        grad = _grad_of(live) if live is not None else t.grad
        if isinstance(grad, float):
            lines.append(("g", f"grad: max |g| {_fmt(grad)}"))
        elif grad is not None:
            lines.append(("g", "grad " + _values(grad)))
        return kind, lines

    def _title_of(self, kind, key, panel_index=None) -> str:
        s = self.structure
        if kind in ("tensor", "input"):
            t = s.tensors[key]
            made = (f"made by {s.ops[t.producer].name} (#{s.ops[t.producer].step})"
                    if t.producer is not None else "a leaf")
            where = " / ".join(p for p, _ in t.home) or "top level"
            return f"{t.name or _KIND_TAG[t.kind] or 'tensor'} {_shape_text(t.shape, t.dtype)}, {made}; in {where}"
        if kind == "op":
            op = s.ops[key]
            where = " / ".join(p for p, _ in op.scope) or "top level"
            return f"{op.name}: backward runs it #{op.step} of {len(s.ops)}; in {where}"
        path, cls = key[-1]
        n_ops = sum(1 for op in s.ops if tuple(op.scope[:len(key)]) == key)
        return f"{path} ({cls}): {n_ops} ops" + ("; click to open" if panel_index is not None else "")

    def _box(self, kind, key, opens=None):
        """(width, height, svg maker) of one node."""
        s = self.structure
        if kind == "op":
            op = s.ops[key]
            label = op.name
            w = max(_text_width(label, 12) + 34, 54)
            return w, 30.0, ("op", label, f"#{op.step}")
        if kind == "block":
            path, cls = key[-1]
            parent = key[-2][0] if len(key) > 1 else ""
            short = path[len(parent) + 1:] if parent and path.startswith(parent + ".") else path
            n_ops = sum(1 for op in s.ops if tuple(op.scope[:len(key)]) == key)
            n_params = sum(1 for t in s.tensors if t.kind == "param" and tuple(t.home[:len(key)]) == key)
            lines = [("b", short), ("", cls), ("", f"{n_ops} ops" + (f" · {n_params} parameters" if n_params else ""))]
            w = max(_text_width(text, 12) for _, text in lines) + 24
            return w, 16.0 * len(lines) + 10, ("block", lines, opens)
        t = s.tensors[key]
        tkind, lines = self._tensor_lines(t, as_input=kind == "input")
        w = max(_text_width(text, 12) for _, text in lines) + 18
        return max(w, 60), 15.0 * len(lines) + 10, ("tensor", lines, tkind)

    def svg(self, panel: Panel | None = None, uid: str | None = None, panel_ids: dict | None = None) -> str:
        """One panel (the top one by default) as a standalone SVG."""
        panel = panel or self.panels()[0]
        uid = uid or _uid("mg-graph")
        boxes = []
        for kind, key in panel.nodes:
            opens = panel_ids.get(key) if (panel_ids and kind == "block") else None
            boxes.append(self._box(kind, key, opens))
        lay = _layout.layered_layout([(w, h) for w, h, _ in boxes], panel.edges)
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="mg-graph" width="{lay.width:.0f}" '
               f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
               f'font-family="{html.escape(FONT)}" font-size="12" data-nodes="{len(panel.nodes)}" '
               f'data-edges="{len(panel.edges)}">',
               f'<defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
               'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#777"/>'
               '</marker></defs>']
        out.append('<g class="mg-edges" fill="none" stroke="#888" stroke-width="1.2">')
        for points in lay.routes:
            out.append(f'<path class="mg-edge" d="{_curve(points)}" marker-end="url(#{uid}-arrow)"/>')
        out.append("</g>")
        for i, ((kind, key), (w, h, what)) in enumerate(zip(panel.nodes, boxes)):
            cx, cy = lay.x[i], lay.y[i]
            x0, y0 = cx - w / 2, cy - h / 2
            title = html.escape(self._title_of(kind, key, what[2] if what[0] == "block" else None))
            if what[0] == "op":
                _, label, step = what
                fill, stroke = _COLOURS["op"]
                out.append(f'<g class="mg-node mg-op" data-op="{key}" data-step="{step[1:]}"><title>{title}</title>'
                           f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                           f'fill="{fill}" stroke="{stroke}"/>'
                           f'<text x="{cx - 6:.1f}" y="{cy + 4:.1f}" text-anchor="middle">{html.escape(label)}</text>'
                           f'<text x="{x0 + w - 8:.1f}" y="{cy + 4:.1f}" text-anchor="end" font-size="9" '
                           f'fill="#6a55b8">{step}</text></g>')
            elif what[0] == "block":
                _, lines, opens = what
                fill, stroke = _COLOURS["block"]
                attrs = f' data-open="{opens}" style="cursor:pointer"' if opens is not None else ""
                out.append(f'<g class="mg-node mg-block" data-scope="{html.escape(key[-1][0])}"{attrs}>'
                           f'<title>{title}</title>'
                           f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" '
                           f'fill="{fill}" stroke="{stroke}" stroke-width="2"/>'
                           f'<rect x="{x0 + 3:.1f}" y="{y0 + 3:.1f}" width="{w - 6:.1f}" height="{h - 6:.1f}" '
                           f'rx="4" fill="none" stroke="{stroke}" stroke-width="0.6"/>')
                out.extend(_text_lines(lines, cx, y0, 16.0, anchor="middle"))
                out.append("</g>")
            else:
                _, lines, tkind = what
                fill, stroke = _COLOURS[tkind]
                dash = ' stroke-dasharray="4 3"' if tkind in ("constant", "input") else ""
                width = "2.2" if tkind == "output" else "1.2"
                out.append(f'<g class="mg-node mg-tensor mg-{tkind}" data-tensor="{key}"><title>{title}</title>'
                           f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" '
                           f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>')
                out.extend(_text_lines(lines, x0 + 9, y0, 15.0, anchor="start"))
                out.append("</g>")
        out.append("</svg>")
        return "".join(out)

    # --- Jupyter and files -----------------------------------------------------------------
    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_html_(self) -> str:
        return self.html_fragment()

    def html_fragment(self) -> str:
        """The view as HTML for a notebook: the top panel's SVG and, when modules were
        collapsed, every block's own panel (hidden until its block is clicked)."""
        panels = self.panels()
        uid = _uid("mg-graph")
        ids = {p.prefix: i for i, p in enumerate(panels)}
        parts = [f'<div class="mg-graphview" id="{uid}" data-panels="{len(panels)}" '
                 f'style="font-family:{html.escape(FONT)};font-size:13px;overflow:auto">']
        parts.append(f'<div class="mg-legend" style="font-size:12px;color:#555;margin:2px 0 6px">'
                     f'{html.escape(self._legend())}</div>')
        if len(panels) > 1:
            parts.append('<div class="mg-crumbs" style="font-size:12px;margin-bottom:4px"></div>')
        for i, p in enumerate(panels):
            label = " / ".join(e[0] for e in p.prefix) or "top"
            hidden = "" if i == 0 else ' style="display:none"'
            parts.append(f'<div class="mg-panel" data-panel="{i}" data-label="{html.escape(label)}"{hidden}>'
                         f'{self.svg(p, uid=f"{uid}-{i}", panel_ids=ids)}</div>')
        parts.append("</div>")
        if len(panels) > 1:
            script = _asset("graph.js").replace("__ROOT_ID__", uid)
            parts.append(f"<script>{script}</script>")
        return "".join(parts)

    def _legend(self) -> str:
        s = self.structure
        n_leaves = sum(1 for t in s.tensors if t.producer is None)
        text = tr(f"{len(s.tensors)} tensors ({n_leaves} leaves), {len(s.ops)} ops; #k is the order "
                  "backward() runs the ops (#1 first). Blue: leaves that require grad; orange: "
                  "parameters; grey dashed: constants; green: the output.",
                  f"{len(s.tensors)} 个张量（其中 {n_leaves} 个叶子节点），{len(s.ops)} 个运算；#k 是 "
                  "backward() 执行这些运算的次序（#1 最先）。蓝色：需要梯度的叶子节点；橙色：参数；"
                  "灰色虚线：常量；绿色：输出。")
        if any(kind == "block" for p in self.panels()[:1] for kind, _ in p.nodes):
            text += tr(" Yellow blocks are modules, collapsed: click one to open it.",
                       "黄色方块是折叠起来的模块，点击即可展开。")
        if self.title:
            text = f"{self.title}: {text}"
        return text

    def save(self, path) -> str:
        """Write the view: .svg (the top panel) or .html (a page; blocks open on a click)."""
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if ext == ".svg":
            text = '<?xml version="1.0" encoding="UTF-8"?>\n' + self.svg()
        elif ext in (".html", ".htm"):
            title = html.escape(self.title or "minigrad: the computation graph")
            text = (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>'
                    f'</head><body>{self.html_fragment()}</body></html>\n')
        else:
            raise ValueError(f"GraphView.save: {path!r}: use a .svg or .html file name")
        _write_atomic(path, text)
        return path

    def __repr__(self):
        return (f"<mg.viz graph: {self.num_tensors} tensors, {self.num_ops} ops; show it in Jupyter "
                "or .save('graph.svg' / 'graph.html')>")


def _grad_of(t):
    """A tensor's .grad as drawn: its values (at most 4 entries), else max |g| (a float)."""
    grad = getattr(t, "grad", None)
    if grad is None:
        return None
    g = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
    return np.array(g, dtype=np.float64) if g.size <= 4 else float(np.abs(g).max())


# ----------------------------------------------------------------------------------------
# A structure as plain data (JSON): captured in one process, drawn in another (the lesson-1
# autograder draws the graph of a student's expression without running the student's code)
# ----------------------------------------------------------------------------------------
_KINDS = ("param", "leaf", "constant", "result", "output")
LIMIT = 5000                              # tensors or ops accepted from data


def to_data(structure: Structure) -> dict:
    """The structure, with the leaves' current values and grads, as JSON-able data."""
    tensors = []
    for t in structure.tensors:
        live = t.tensor() if t.producer is None else None
        values = live.data if live is not None else t.values
        values = None if values is None or np.asarray(values).size > 4 else \
            [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]
        grad = _grad_of(live) if live is not None else t.grad
        grad = grad if grad is None or isinstance(grad, float) else [float(v) for v in grad.reshape(-1)]
        tensors.append({"kind": t.kind, "shape": list(t.shape), "dtype": t.dtype, "name": t.name,
                        "producer": t.producer, "consumers": list(t.consumers),
                        "home": [list(e) for e in t.home], "values": values, "grad": grad})
    ops = [{"name": o.name, "step": o.step, "inputs": list(o.inputs), "output": o.output,
            "scope": [list(e) for e in o.scope]} for o in structure.ops]
    return {"tensors": tensors, "ops": ops, "root": structure.root}


def from_data(data) -> Structure:
    """A Structure from to_data's output, checked (it may come from a process that is not
    trusted): ValueError says what is wrong."""
    def fail(what):
        raise ValueError(f"graph data: {what}")

    def text(x, what, limit=200):
        if not isinstance(x, str) or len(x) > limit:
            fail(f"{what} is not a short string")
        return x

    def index(x, n, what):
        if not isinstance(x, int) or isinstance(x, bool) or not 0 <= x < n:
            fail(f"{what} is not an index below {n}")
        return x

    def scope(x, what):
        if not isinstance(x, list) or len(x) > 64:
            fail(f"{what} is not a list of scopes")
        out = []
        for e in x:
            if not (isinstance(e, list) and len(e) == 2):
                fail(f"{what} has an entry that is not [path, class]")
            out.append((text(e[0], what), text(e[1], what)))
        return tuple(out)

    def numbers(x, what):
        if x is None:
            return None
        if isinstance(x, (int, float)) and not isinstance(x, bool) and what.endswith("grad"):
            return float(x)
        if not isinstance(x, list) or len(x) > 4 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in x):
            fail(f"{what} is not a list of at most 4 numbers")
        return np.array(x, dtype=np.float64)

    if not isinstance(data, dict):
        fail("not a dict")
    raw_t, raw_o = data.get("tensors"), data.get("ops")
    if not isinstance(raw_t, list) or not isinstance(raw_o, list) or not raw_t or \
            len(raw_t) > LIMIT or len(raw_o) > LIMIT:
        fail(f"tensors and ops must be lists (1 to {LIMIT} tensors)")
    n_t, n_o = len(raw_t), len(raw_o)
    tensors = []
    for k, d in enumerate(raw_t):
        if not isinstance(d, dict) or d.get("kind") not in _KINDS:
            fail(f"tensor {k} has no valid kind")
        shape = d.get("shape")
        if not isinstance(shape, list) or len(shape) > 16 or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            fail(f"tensor {k}'s shape is not a list of sizes")
        producer = d.get("producer")
        tensors.append(TensorItem(
            k, d["kind"], tuple(shape), text(d.get("dtype"), f"tensor {k}'s dtype", 20),
            name=text(d.get("name") or "", f"tensor {k}'s name"),
            producer=None if producer is None else index(producer, n_o, f"tensor {k}'s producer"),
            consumers=[index(c, n_o, f"tensor {k}'s consumer") for c in d.get("consumers") or []][:LIMIT],
            values=numbers(d.get("values"), f"tensor {k}'s values"),
            home=scope(d.get("home") or [], f"tensor {k}'s home"),
            grad=numbers(d.get("grad"), f"tensor {k}'s grad")))
    ops = []
    for i, d in enumerate(raw_o):
        if not isinstance(d, dict) or not isinstance(d.get("inputs"), list) or len(d["inputs"]) > 64:
            fail(f"op {i} is not a dict with a list of inputs")
        step = d.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            fail(f"op {i}'s step is not a number")
        ops.append(OpItem(i, text(d.get("name"), f"op {i}'s name", 60), step,
                          [index(k, n_t, f"op {i}'s input") for k in d["inputs"]],
                          index(d.get("output"), n_t, f"op {i}'s output"),
                          scope(d.get("scope") or [], f"op {i}'s scope")))
    for o in ops:                                   # each result has one producer, and it says so
        if tensors[o.output].producer != o.index:
            fail(f"op {o.index}'s output does not name it as its producer")
    for t in tensors:
        if t.producer is not None and ops[t.producer].output != t.key:
            fail(f"tensor {t.key} names op {t.producer} as its producer, which made another tensor")
    structure = Structure(tensors, ops, index(data.get("root"), n_t, "root"))
    from . import layout
    edges = [(k, n_t + o.index) for o in ops for k in o.inputs] + [(n_t + o.index, o.output) for o in ops]
    layout.layers_by_longest_path(n_t + n_o, edges)  # raises ValueError on a cycle
    return structure


def _text_lines(lines, x, y0, step, anchor):
    out = []
    for j, (style, text) in enumerate(lines):
        weight = ' font-weight="600"' if style == "b" else ""
        colour = ' fill="#b3261e"' if style == "g" else ""
        out.append(f'<text x="{x:.1f}" y="{y0 + 5 + step * (j + 0.75):.1f}" text-anchor="{anchor}"'
                   f'{weight}{colour}>{html.escape(text)}</text>')
    return out


def _curve(points) -> str:
    """An SVG path through `points`: a cubic with vertical tangents between each pair."""
    (x, y), rest = points[0], points[1:]
    d = [f"M{x:.1f},{y:.1f}"]
    for nx, ny in rest:
        mid = (ny - y) / 2
        d.append(f"C{x:.1f},{y + mid:.1f} {nx:.1f},{ny - mid:.1f} {nx:.1f},{ny:.1f}")
        x, y = nx, ny
    return " ".join(d)


def _uid(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def _asset(name: str) -> str:
    from importlib import resources
    return resources.files("minigrad.viz").joinpath("assets", name).read_text(encoding="utf-8")


def _write_atomic(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def graph(tensor: Tensor, names=None, model=None, max_nodes: int = MAX_NODES,
          depth: int | None = None, title: str | None = None) -> GraphView:
    """The computation graph that tensor.backward() will walk, as a view (see the module's
    docstring).

    names:     labels for tensors: a dict name -> Tensor (`names=locals()` in a notebook) or a
               list of Tensors with .name set; a Tensor's own .name is used anyway.
    model:     a Module whose parameter names label its parameters (default: the model of
               the latest mg.viz.record_scopes).
    max_nodes: collapse modules (recorded with record_scopes) until at most this many nodes
               are drawn; depth: instead, show exactly this many levels of modules.
    """
    structure = None
    node = getattr(tensor, "_node", None)
    if node is not None and node.released:
        structure = _CAPTURED.get(tensor)
        if structure is None:
            raise _freed_error(tensor)
    if structure is None:
        structure = capture(tensor, names, model)
        _CAPTURED[tensor] = structure
    return GraphView(structure, max_nodes=max_nodes, depth=depth, title=title)
