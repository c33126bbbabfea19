"""A layered layout for a directed acyclic graph (Sugiyama, Tagawa & Toda, 1981), small enough
to read: what mg.viz.graph uses to draw a computation graph without Graphviz.

    lay = layered_layout(sizes, edges)       # sizes: (width, height) per node; edges: (u, v), u -> v
    lay.x[i], lay.y[i]                       # the centre of node i
    lay.routes[k]                            # the points edge k passes through, u's bottom to v's top
    lay.width, lay.height                    # the drawing's size

Data flows down the page: an edge u -> v puts u above v.  Four steps:

1. Layers (longest path to a sink).  A node with no successor is in the bottom layer; any
   other node sits one layer above the highest of its successors.  So every edge points down,
   and a leaf (a parameter, an input) sits just above the op that first uses it.
2. Dummy nodes.  An edge that spans several layers is cut into one-layer pieces by a small
   invisible node in each layer it crosses, so that the next steps can route it.
3. Order within each layer (the barycentre heuristic).  Sweep down, sorting each layer by the
   mean position of its nodes' neighbours in the layer above; then sweep up, by the layer
   below; a few times, keeping the order with the fewest edge crossings.
4. Coordinates.  Pack each layer left to right, then pull each node towards the mean x of its
   neighbours (keeping the order and a gap between nodes), alternately from above and below.
"""
from __future__ import annotations

from dataclasses import dataclass, field

DUMMY_WIDTH = 10.0


@dataclass
class Layout:
    x: list                                    # centre of each node
    y: list
    layer: list                                # layer of each node, 0 at the top
    routes: list                               # per edge: [(x, y), ...] from u's bottom to v's top
    width: float = 0.0
    height: float = 0.0
    order: list = field(default_factory=list)  # per layer: the nodes (and dummies) left to right


def layers_by_longest_path(n: int, edges) -> list[int]:
    """Layer of each node, 0 at the top: the length of the longest path from it to a sink,
    turned upside down (step 1).  Raises ValueError on a cycle."""
    succ = [[] for _ in range(n)]
    indeg_out = [0] * n                         # successors not yet given a height
    for u, v in edges:
        succ[u].append(v)
    pred = [[] for _ in range(n)]
    for u, v in edges:
        pred[v].append(u)
        indeg_out[u] += 1
    height = [0] * n                            # longest path down to a sink
    ready = [v for v in range(n) if indeg_out[v] == 0]
    done = 0
    while ready:                                # sinks first, then nodes whose successors are done
        v = ready.pop()
        done += 1
        for u in pred[v]:
            height[u] = max(height[u], height[v] + 1)
            indeg_out[u] -= 1
            if indeg_out[u] == 0:
                ready.append(u)
    if done != n:
        raise ValueError("layered_layout: the graph has a cycle")
    top = max(height, default=0)
    return [top - h for h in height]


def count_crossings(upper: list, lower: list, down_edges) -> int:
    """Crossings between two adjacent layers: edges (a, b) and (c, d), a, c in `upper` and b, d
    in `lower`, cross when a is left of c and b right of d (or the reverse)."""
    pos_u = {v: i for i, v in enumerate(upper)}
    pos_l = {v: i for i, v in enumerate(lower)}
    pairs = sorted((pos_u[a], pos_l[b]) for a, b in down_edges if a in pos_u and b in pos_l)
    crossings = 0
    for i in range(len(pairs)):                 # O(E²): the layers drawn here are small
        for j in range(i + 1, len(pairs)):
            if pairs[i][0] < pairs[j][0] and pairs[i][1] > pairs[j][1]:
                crossings += 1
    return crossings


def _barycentre_sort(layer: list, neighbours: dict, position: dict) -> list:
    """`layer` sorted by the mean position of each node's neighbours in the adjacent layer
    (a node without any keeps its own place)."""
    def key(item):
        i, v = item
        near = [position[w] for w in neighbours.get(v, ()) if w in position]
        return (sum(near) / len(near) if near else i, i)
    return [v for _, v in sorted(enumerate(layer), key=key)]


def layered_layout(sizes, edges, layer_gap: float = 36.0, node_gap: float = 18.0,
                   margin: float = 12.0, sweeps: int = 6) -> Layout:
    """Place nodes of the given (width, height) sizes so that every edge u -> v points down
    (see the module's docstring)."""
    n = len(sizes)
    edges = [(int(u), int(v)) for u, v in edges]
    layer = layers_by_longest_path(n, edges)
    widths = [float(w) for w, _ in sizes]
    heights = [float(h) for _, h in sizes]

    # 2. dummies: the edge u -> v becomes u -> d1 -> ... -> v, one piece per layer
    chains = []                                 # per edge: the nodes it passes through
    down = []                                   # one-layer pieces (a, b)
    for u, v in edges:
        chain = [u]
        for lay in range(layer[u] + 1, layer[v]):
            layer.append(lay)
            widths.append(DUMMY_WIDTH)
            heights.append(0.0)
            chain.append(len(layer) - 1)
        chain.append(v)
        chains.append(chain)
        down.extend(zip(chain, chain[1:]))
    total = len(layer)
    n_layers = max(layer, default=-1) + 1
    order = [[] for _ in range(n_layers)]
    for v in range(total):                      # first order: the order nodes were given in
        order[layer[v]].append(v)
    up_of, down_of = {}, {}
    for a, b in down:
        down_of.setdefault(a, []).append(b)
        up_of.setdefault(b, []).append(a)

    # 3. barycentre sweeps, keeping the best order seen
    def crossings(o):
        return sum(count_crossings(o[i], o[i + 1], down) for i in range(len(o) - 1))

    best, best_count = [list(x) for x in order], crossings(order)
    for _ in range(sweeps):
        if best_count == 0:
            break
        for i in range(1, n_layers):
            order[i] = _barycentre_sort(order[i], up_of, {v: j for j, v in enumerate(order[i - 1])})
        for i in range(n_layers - 2, -1, -1):
            order[i] = _barycentre_sort(order[i], down_of, {v: j for j, v in enumerate(order[i + 1])})
        count = crossings(order)
        if count < best_count:
            best, best_count = [list(x) for x in order], count
    order = best

    # 4. x: pack, then pull towards the neighbours' mean, alternately from above and below
    x = [0.0] * total

    def gap(a, b):
        return (widths[a] + widths[b]) / 2 + (node_gap if a < n and b < n else node_gap / 3)

    for row in order:
        at = 0.0
        for j, v in enumerate(row):
            x[v] = at if j == 0 else x[row[j - 1]] + gap(row[j - 1], v)
            at = x[v]
    for sweep in range(8):
        rows = range(1, n_layers) if sweep % 2 == 0 else range(n_layers - 2, -1, -1)
        near_of = up_of if sweep % 2 == 0 else down_of
        for i in rows:
            row = order[i]
            target = []
            for v in row:
                near = [x[w] for w in near_of.get(v, ())]
                target.append(sum(near) / len(near) if near else x[v])
            left = list(target)                 # as far left as the targets allow
            for j in range(1, len(row)):
                left[j] = max(target[j], left[j - 1] + gap(row[j - 1], row[j]))
            right = list(target)                # as far right
            for j in range(len(row) - 2, -1, -1):
                right[j] = min(target[j], right[j + 1] - gap(row[j], row[j + 1]))
            for j, v in enumerate(row):
                x[v] = (left[j] + right[j]) / 2
            for j in range(1, len(row)):        # the average may overlap again: push apart
                x[row[j]] = max(x[row[j]], x[row[j - 1]] + gap(row[j - 1], row[j]))
    lo = min((x[v] - widths[v] / 2 for v in range(total)), default=0.0)
    x = [xi - lo + margin for xi in x]
    hi = max((x[v] + widths[v] / 2 for v in range(total)), default=0.0)

    # y: layer by layer, each as tall as its tallest node
    layer_height = [0.0] * n_layers
    for v in range(total):
        layer_height[layer[v]] = max(layer_height[layer[v]], heights[v])
    top, y_of_layer = margin, []
    for h in layer_height:
        y_of_layer.append(top + h / 2)
        top += h + layer_gap
    y = [y_of_layer[layer[v]] for v in range(total)]

    routes = []
    for chain in chains:
        u, v = chain[0], chain[-1]
        points = [(x[u], y[u] + heights[u] / 2)]
        points += [(x[d], y[d]) for d in chain[1:-1]]
        points.append((x[v], y[v] - heights[v] / 2))
        routes.append(points)
    return Layout(x[:n], y[:n], layer[:n], routes, width=hi + margin,
                  height=top - layer_gap + margin, order=order)
