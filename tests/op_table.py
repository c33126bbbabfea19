"""The table of differentiable ops that the gradient checks and the PyTorch parity tests run over.

Each entry says how to call the op and where its inputs may come from:

    Op("div", lambda L, x, y: x / y, broadcast(2), domain=("real", "nonzero"))

`fn(L, *inputs, **params)` is written once for both libraries: `L` is `minigrad` or `torch`,
so `L.cat`, `L.where`, `L.tensor` and the Tensor methods resolve in either.  Where torch
spells an op differently (negative slice steps, NumPy operands) the entry gives `torch_fn`,
or `torch_fn=None` when there is no torch equivalent.

`case` is a hypothesis strategy drawing `(shapes, params)`: the input shapes (scalars, size-1
broadcast dims included) and the op's other arguments (dims, indices, masks ...).  NumPy
arrays in params are constants (indices, masks); float ones take the test's dtype.

`domain` keeps inputs away from kinks and poles, so finite differences are meaningful:
    real      uniform in [-2, 2]
    positive  uniform in [0.5, 2]                       (log, sqrt, pow bases)
    nonzero   |x| in [0.25, 2]                          (relu, abs at 0; division)
    distinct  all elements distinct, 0.25 apart         (max/min reductions: no ties)
    even/odd  on two interleaved grids, so never equal  (maximum/minimum: no ties)
    clamp     at least 0.1 away from the bounds ±0.5    (clamp)

To add an op: append one `Op(...)` line.  Both test files pick it up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SAME = object()  # torch_fn default: the same `fn` works with torch

MAX_DIMS, MAX_SIDE = 3, 3


@dataclass
class Op:
    name: str
    fn: Callable
    case: st.SearchStrategy              # -> (tuple of input shapes, dict of params)
    domain: str | tuple = "real"         # one domain for all inputs, or one per input
    torch_fn: Callable | None = SAME
    gradcheck_kwargs: dict = field(default_factory=dict)
    second_order: bool = True

    def __repr__(self):
        return self.name

    def domains(self, n):
        return (self.domain,) * n if isinstance(self.domain, str) else self.domain


# ----------------------------------------------------------------------------------------
# Input values
# ----------------------------------------------------------------------------------------
def make_values(rng: np.random.Generator, shape: tuple, domain: str) -> np.ndarray:
    n = int(np.prod(shape))
    if domain == "real":
        x = rng.uniform(-2, 2, n)
    elif domain == "positive":
        x = rng.uniform(0.5, 2, n)
    elif domain == "nonzero":
        x = rng.choice([-1.0, 1.0], n) * rng.uniform(0.25, 2, n)
    elif domain == "distinct":
        x = (rng.permutation(n) - n / 2) * 0.25 + 0.1
    elif domain in ("even", "odd"):
        k = rng.integers(-4, 4, n)
        x = 0.25 * (2 * k + (domain == "odd"))
    elif domain == "clamp":
        x = rng.uniform(-2, 2, n)
        for bound in (-0.5, 0.5):
            near = np.abs(x - bound) < 0.1
            x[near] = bound + np.where(x[near] >= bound, 0.1, -0.1) + np.sign(x[near] - bound) * 0.05
    else:
        raise ValueError(f"unknown domain {domain!r}")
    return x.reshape(shape)


def with_layout(x: np.ndarray, layout: str) -> np.ndarray:
    """The same values, laid out in memory as asked: C order, transposed (F order), or strided."""
    if layout == "F":
        return np.asfortranarray(x)
    if layout == "strided":  # every other element of a twice-as-long last axis
        big = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype)
        big[..., ::2] = x
        return big[..., ::2]
    return x


def layouts_for(shape: tuple) -> list:
    if len(shape) >= 2 and max(shape) > 1:
        return ["C", "F", "strided"]
    if len(shape) >= 1:
        return ["C", "strided"]
    return ["C"]


def cast_params(params: dict, dtype) -> dict:
    return {k: v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
            for k, v in params.items()}


# ----------------------------------------------------------------------------------------
# Case strategies: (shapes, params)
# ----------------------------------------------------------------------------------------
def shape(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def unary(min_dims=0, min_side=1):
    return shape(min_dims, min_side=min_side).map(lambda s: ((s,), {}))


def broadcast(n=2):
    """n shapes that broadcast together (scalars and size-1 dims included)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=MAX_DIMS,
                                             max_side=MAX_SIDE).map(lambda r: (r.input_shapes, {}))


@st.composite
def with_dim(draw, min_dims=0, min_side=1, keepdim=True, multi=False):
    """One shape, and a dim (or tuple of dims) to reduce over, maybe negative; keepdim."""
    s = draw(shape(min_dims, min_side=min_side))
    nd = len(s)
    if multi and nd >= 1 and draw(st.booleans()):
        dims = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
        dim = tuple(d - nd if draw(st.booleans()) else d for d in dims)
    else:
        dim = draw(st.integers(-max(nd, 1), max(nd, 1) - 1))
    params = {"dim": dim}
    if keepdim:
        params["keepdim"] = draw(st.booleans())
    return (s,), params


@st.composite
def var_case(draw):
    """var/std over dims of size >= 2 (fewer elements: torch gives nan, std has a kink at 0)."""
    (s,), p = draw(with_dim(min_dims=1, min_side=2, multi=True))
    p["correction"] = draw(st.sampled_from([0, 1]))
    return (s,), p


@st.composite
def reshape_case(draw):
    s = draw(shape())
    n = int(np.prod(s))
    target = draw(st.sampled_from([(-1,), (n,), tuple(reversed(s)), (1,) + s, s + (1,),
                                   (1, -1), ()] if n == 1 else
                                  [(-1,), (n,), tuple(reversed(s)), (1,) + s, s + (1,), (1, -1)]))
    return (s,), {"shape": target}


@st.composite
def transpose_case(draw):
    s = draw(shape(1))
    nd = len(s)
    return (s,), {"d0": draw(st.integers(-nd, nd - 1)), "d1": draw(st.integers(-nd, nd - 1))}


@st.composite
def permute_case(draw):
    s = draw(shape(0))
    return (s,), {"dims": tuple(draw(st.permutations(range(len(s)))))}


@st.composite
def expand_case(draw):
    """A shape of 1s and 2s; the target grows 1s to 3, keeps sizes (or -1), maybe adds a dim."""
    s = tuple(draw(st.lists(st.sampled_from([1, 2]), max_size=MAX_DIMS)))
    target = tuple(draw(st.sampled_from([1, 3, -1])) if n == 1 else draw(st.sampled_from([n, -1]))
                   for n in s)
    if draw(st.booleans()):
        target = (2,) + target
    return (s,), {"shape": target}


@st.composite
def masked_fill_case(draw):
    """A shape, and a bool mask that broadcasts to it."""
    s = draw(shape())
    k = draw(st.integers(0, len(s)))
    mask_shape = tuple(1 if draw(st.booleans()) else n for n in s[len(s) - k:])
    return (s,), {"mask": draw(hnp.arrays(np.bool_, mask_shape))}


@st.composite
def unsqueeze_case(draw):
    s = draw(shape(0))
    return (s,), {"dim": draw(st.integers(-len(s) - 1, len(s)))}


@st.composite
def squeeze_case(draw):
    s = draw(shape(1, max_side=2).map(lambda t: tuple(1 if n == 2 else 3 for n in t)))
    choice = draw(st.sampled_from(["all", "int", "tuple"]))
    if choice == "all":
        return (s,), {"dim": None}
    nd = len(s)
    if choice == "int":
        return (s,), {"dim": draw(st.integers(-nd, nd - 1))}
    return (s,), {"dim": tuple(draw(st.lists(st.integers(0, nd - 1), min_size=1, unique=True)))}


@st.composite
def flatten_case(draw):
    s = draw(shape(1))
    nd = len(s)
    start = draw(st.integers(0, nd - 1))
    end = draw(st.integers(start, nd - 1))
    return (s,), {"start": start - nd if draw(st.booleans()) else start,
                  "end": end - nd if draw(st.booleans()) else end}


@st.composite
def basic_index_case(draw):
    """A tuple of ints, positive-step slices, None and Ellipsis."""
    s = draw(shape(1))
    items = []
    for n in s:
        kind = draw(st.sampled_from(["all", "int", "slice"]))
        if kind == "all":
            items.append(slice(None))
        elif kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        else:
            start = draw(st.integers(-n, n - 1))
            items.append(slice(start, draw(st.sampled_from([None, n, -1 if n > 1 else None])),
                               draw(st.integers(1, 2))))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()) and items:  # replace a leading run of full slices by Ellipsis
        k = draw(st.integers(1, len(items)))
        if all(i == slice(None) for i in items[:k]):
            items = [Ellipsis] + items[k:]
    return (s,), {"index": tuple(items)}


@st.composite
def negative_step_case(draw):
    s = draw(shape(1))
    return (s,), {"dim": draw(st.integers(0, len(s) - 1)), "step": draw(st.sampled_from([-1, -2]))}


@st.composite
def int_array_index_case(draw):
    """An integer array on one dim (negative and repeated indices allowed)."""
    s = draw(shape(1))
    dim = draw(st.integers(0, len(s) - 1))
    n = s[dim]
    idx = draw(hnp.arrays(np.int64, draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)),
                          elements=st.integers(-n, n - 1)))
    return (s,), {"dim": dim, "idx": idx}


@st.composite
def bool_mask_case(draw):
    """A bool mask over the leading k dims."""
    s = draw(shape(1))
    k = draw(st.integers(1, len(s)))
    return (s,), {"mask": draw(hnp.arrays(np.bool_, s[:k]))}


@st.composite
def gather_case(draw):
    s = draw(shape(1))
    dim = draw(st.integers(-len(s), len(s) - 1))
    d = dim % len(s)
    idx_shape = tuple(draw(st.integers(1, 3)) if i == d else draw(st.integers(1, n))
                      for i, n in enumerate(s))
    idx = draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(0, s[d] - 1)))
    return (s,), {"dim": dim, "idx": idx}


@st.composite
def cat_case(draw):
    base = draw(shape(1))
    nd = len(base)
    dim = draw(st.integers(-nd, nd - 1))
    k = draw(st.integers(1, 3))
    shapes = tuple(tuple(draw(st.integers(1, 3)) if i == dim % nd else n for i, n in enumerate(base))
                   for _ in range(k))
    return shapes, {"dim": dim}


@st.composite
def stack_case(draw):
    base = draw(shape(0))
    k = draw(st.integers(1, 3))
    return (base,) * k, {"dim": draw(st.integers(-len(base) - 1, len(base)))}


@st.composite
def split_case(draw):
    (s,), p = draw(with_dim(min_dims=1, keepdim=False))
    n = s[p["dim"]]
    if draw(st.booleans()):
        p["size"] = draw(st.integers(1, 3))
    else:
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=2)))
        p["size"] = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    return (s,), p


@st.composite
def chunk_case(draw):
    (s,), p = draw(with_dim(min_dims=1, keepdim=False))
    p["chunks"] = draw(st.integers(1, 4))
    return (s,), p


@st.composite
def matmul_case(draw):
    """(n,k)@(k,m) with optional broadcasting batch dims, or a 1-D operand on either side."""
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    kind = draw(st.sampled_from(["mm", "batched", "vec@vec", "vec@mat", "mat@vec"]))
    if kind == "vec@vec":
        return ((k,), (k,)), {}
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=2)).input_shapes \
        if kind in ("batched", "vec@mat", "mat@vec") else ((), ())
    if kind == "vec@mat":
        return ((k,), batch[1] + (k, m)), {}
    if kind == "mat@vec":
        return (batch[0] + (n, k), (k,)), {}
    return (batch[0] + (n, k), batch[1] + (k, m)), {}


@st.composite
def rmatmul_case(draw):
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    c = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(-2, 2)))
    return ((k, m),), {"c": c}


@st.composite
def where_case(draw, num_inputs=2):
    """Input shapes that broadcast, and a bool condition that broadcasts with them."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=num_inputs + 1, max_dims=MAX_DIMS,
                                                    max_side=MAX_SIDE)).input_shapes
    return shapes[:num_inputs], {"cond": draw(hnp.arrays(np.bool_, shapes[-1]))}


def fixed(shapes, **params):
    return st.just((shapes, params))


def _negstep_torch(L, x, dim, step):
    return x.flip(dim)[(slice(None),) * dim + (slice(None, None, -step),)]


def _int_index(L, x, dim, idx):
    return x[(slice(None),) * dim + (L.tensor(idx),)]


# ----------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------
OPS = [
    # arithmetic, broadcasting, reflected forms
    Op("add", lambda L, x, y: x + y, broadcast(2)),
    Op("sub", lambda L, x, y: x - y, broadcast(2)),
    Op("mul", lambda L, x, y: x * y, broadcast(2)),
    Op("div", lambda L, x, y: x / y, broadcast(2), domain=("real", "nonzero")),
    Op("pow_tensor", lambda L, x, y: x ** y, broadcast(2), domain=("positive", "real")),
    Op("pow_scalar", lambda L, x, p: x ** p,
       unary().flatmap(lambda c: st.sampled_from([0.5, -1.5, 2.5, 3.0]).map(lambda p: (c[0], {"p": p}))),
       domain="positive"),
    Op("pow_int_real_base", lambda L, x, p: x ** p,
       unary().flatmap(lambda c: st.sampled_from([0, 1, 2, 3]).map(lambda p: (c[0], {"p": p})))),
    Op("radd", lambda L, x: 1.5 + x, unary()),
    Op("rsub", lambda L, x: 1.5 - x, unary()),
    Op("rmul", lambda L, x: 1.5 * x, unary()),
    Op("rdiv", lambda L, x: 1.5 / x, unary(), domain="nonzero"),
    Op("rpow", lambda L, x: 1.5 ** x, unary()),
    Op("neg", lambda L, x: -x, unary()),
    # unary math
    Op("exp", lambda L, x: x.exp(), unary()),
    Op("log", lambda L, x: x.log(), unary(), domain="positive"),
    Op("sqrt", lambda L, x: x.sqrt(), unary(), domain="positive"),
    Op("tanh", lambda L, x: x.tanh(), unary()),
    Op("sigmoid", lambda L, x: x.sigmoid(), unary()),
    Op("relu", lambda L, x: x.relu(), unary(), domain="nonzero"),
    Op("abs", lambda L, x: x.abs(), unary(), domain="nonzero"),
    Op("erf", lambda L, x: x.erf(), unary()),
    Op("sin", lambda L, x: x.sin(), unary()),
    Op("cos", lambda L, x: x.cos(), unary()),
    Op("clamp", lambda L, x: x.clamp(min=-0.5, max=0.5), unary(), domain="clamp"),
    Op("clamp_min", lambda L, x: x.clamp(min=-0.5), unary(), domain="clamp"),
    Op("clamp_max", lambda L, x: x.clamp(max=0.5), unary(), domain="clamp"),
    Op("maximum", lambda L, x, y: x.maximum(y), broadcast(2), domain=("even", "odd")),
    Op("minimum", lambda L, x, y: x.minimum(y), broadcast(2), domain=("even", "odd")),
    Op("where", lambda L, x, y, cond: L.where(L.tensor(cond), x, y), where_case()),
    Op("masked_fill", lambda L, x, mask: x.masked_fill(L.tensor(mask), -1.0), masked_fill_case()),
    # reductions
    Op("sum", lambda L, x: x.sum(), unary()),
    Op("sum_dim", lambda L, x, dim, keepdim: x.sum(dim=dim, keepdim=keepdim), with_dim(multi=True)),
    Op("mean", lambda L, x: x.mean(), unary()),
    Op("mean_dim", lambda L, x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim), with_dim(multi=True)),
    Op("var", lambda L, x: x.var(), unary(min_dims=1, min_side=2)),
    Op("var_dim", lambda L, x, dim, keepdim, correction:
       x.var(dim=dim, keepdim=keepdim, correction=correction), var_case()),
    Op("std", lambda L, x: x.std(), unary(min_dims=1, min_side=2)),
    Op("std_dim", lambda L, x, dim, keepdim, correction:
       x.std(dim=dim, keepdim=keepdim, correction=correction), var_case()),
    Op("amax", lambda L, x: x.amax(), unary(), domain="distinct"),
    Op("amax_dim", lambda L, x, dim, keepdim: x.amax(dim=dim, keepdim=keepdim),
       with_dim(multi=True), domain="distinct"),
    Op("amin_dim", lambda L, x, dim, keepdim: x.amin(dim=dim, keepdim=keepdim),
       with_dim(multi=True), domain="distinct"),
    Op("max", lambda L, x: x.max(), unary(), domain="distinct"),
    Op("min", lambda L, x: x.min(), unary(), domain="distinct"),
    Op("max_dim", lambda L, x, dim, keepdim: x.max(dim=dim, keepdim=keepdim), with_dim(),
       domain="distinct"),
    Op("min_dim", lambda L, x, dim, keepdim: x.min(dim=dim, keepdim=keepdim), with_dim(),
       domain="distinct"),
    Op("logsumexp_dim", lambda L, x, dim, keepdim: x.logsumexp(dim=dim, keepdim=keepdim),
       with_dim(multi=True)),
    Op("softmax", lambda L, x, dim: x.softmax(dim), with_dim(keepdim=False)),
    Op("log_softmax", lambda L, x, dim: x.log_softmax(dim), with_dim(keepdim=False)),
    Op("softmax_causal_mask", lambda L, x: x.masked_fill(L.tensor(np.triu(np.ones((3, 3), bool), 1)),
                                                         float("-inf")).softmax(-1),
       fixed(((1, 3, 3),))),  # attention's mask: -inf scores get zero weight and zero gradient
    # movement
    Op("reshape", lambda L, x, shape: x.reshape(shape), reshape_case()),
    Op("view", lambda L, x, shape: x.view(shape), reshape_case(),
       torch_fn=lambda L, x, shape: x.reshape(shape)),  # torch's view needs contiguous input
    Op("transpose", lambda L, x, d0, d1: x.transpose(d0, d1), transpose_case()),
    Op("permute", lambda L, x, dims: x.permute(dims), permute_case()),
    Op("T", lambda L, x: x.mT, unary(min_dims=2)),
    Op("expand", lambda L, x, shape: x.expand(shape), expand_case()),
    Op("unsqueeze", lambda L, x, dim: x.unsqueeze(dim), unsqueeze_case()),
    Op("squeeze", lambda L, x, dim: x.squeeze() if dim is None else x.squeeze(dim), squeeze_case()),
    Op("flatten", lambda L, x, start, end: x.flatten(start, end), flatten_case()),
    Op("flatten_scalar", lambda L, x: x.flatten(), fixed(((),))),
    # indexing
    Op("getitem_basic", lambda L, x, index: x[index], basic_index_case()),
    Op("getitem_negative_step", lambda L, x, dim, step: x[(slice(None),) * dim + (slice(None, None, step),)],
       negative_step_case(), torch_fn=_negstep_torch),
    Op("getitem_int_array", _int_index, int_array_index_case()),
    Op("getitem_repeated", _int_index, fixed(((3, 2),), dim=0, idx=np.array([0, 2, 0, -3, 2]))),
    Op("getitem_two_arrays", lambda L, x, i, j: x[L.tensor(i), L.tensor(j)],
       fixed(((3, 2),), i=np.array([[0, 2], [0, -1]]), j=np.array([1, 1]))),
    Op("getitem_0d_tensor", lambda L, x: x[L.tensor(1)], unary(min_dims=1, min_side=2)),
    Op("getitem_bool_mask", lambda L, x, mask: x[L.tensor(mask)], bool_mask_case()),
    Op("getitem_comparison_mask", lambda L, x: x[x > 0], unary(min_dims=1), domain="nonzero"),
    Op("gather", lambda L, x, dim, idx: x.gather(dim, L.tensor(idx)), gather_case()),
    # joining and splitting
    Op("cat", lambda L, *xs, dim: L.cat(list(xs), dim=dim), cat_case()),
    Op("stack", lambda L, *xs, dim: L.stack(list(xs), dim=dim), stack_case()),
    Op("split", lambda L, x, dim, size: x.split(size, dim=dim), split_case()),
    Op("chunk", lambda L, x, dim, chunks: x.chunk(chunks, dim=dim), chunk_case()),
    # matrix product
    Op("matmul", lambda L, x, y: x @ y, matmul_case()),
    Op("matmul_fn", lambda L, x, y: L.matmul(x, y), matmul_case()),
    Op("rmatmul_ndarray", lambda L, x, c: c @ x, rmatmul_case(),
       torch_fn=lambda L, x, c: L.tensor(c) @ x),
    # dtype and copies
    Op("to_float32", lambda L, x: x.to(L.float32), unary(),
       gradcheck_kwargs=dict(eps=1e-2, atol=1e-4)),  # float32 rounding: a wider step
    Op("double", lambda L, x: x.double(), unary()),
    Op("clone", lambda L, x: x.clone(), unary()),
]

OPS_BY_NAME = {op.name: op for op in OPS}
assert len(OPS_BY_NAME) == len(OPS), "op names must be unique"


@st.composite
def draw_case(draw, op: Op):
    """(shapes, params, seed, layouts) for one example of `op`."""
    shapes, params = draw(op.case)
    seed = draw(st.integers(0, 2 ** 32 - 1))
    layouts = tuple(draw(st.sampled_from(layouts_for(s))) for s in shapes)
    return shapes, params, seed, layouts


def make_arrays(op: Op, shapes, seed, layouts, dtype) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [with_layout(make_values(rng, s, d).astype(dtype), lay)
            for s, d, lay in zip(shapes, op.domains(len(shapes)), layouts)]
