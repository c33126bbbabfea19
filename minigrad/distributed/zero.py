"""ZeRO stage 1: the optimizer's state sharded across ranks (§8 模型规模; Rajbhandari et al.,
"ZeRO: Memory Optimizations Toward Training Trillion Parameter Models", 2020; PyTorch's
torch.distributed.optim.ZeroRedundancyOptimizer).

With plain data parallelism every rank keeps the whole AdamW state, two float32 moments per
parameter: 8 bytes per parameter, twice the model itself, N times over.  But after the
all-reduce every rank holds the same averaged gradient, so the update of any element can be
computed by any one rank.  ZeRO-1 therefore lays all parameters end to end as one flat
vector of n elements and gives rank r the slice

    [r·n/N, (r+1)·n/N)        (n/N elements, rounded down at both ends)

Rank r keeps the AdamW moments of its slice only, 8·n/N bytes, and updates only its slice;
then an all-gather (MPI Allgatherv) hands every rank the updated slices of all the others.
Memory of the optimizer state per rank: 1/N.  Communication: one all-gather of the
parameters per step (n elements), on top of DDP's all-reduce of the gradients.

The slice of a parameter is a view into the parameter itself, so the wrapped optimizer
(AdamW by default, any minigrad Optimizer whose state is elementwise) updates the
parameters in place, and its arithmetic on each element is the one plain AdamW does on it:
ZeRO-1 gives the numbers of DDP with AdamW.  A parameter whose gradient is None is skipped,
as AdamW skips it.

Checkpoints: `state_dict()` gathers the full state, exactly the dict a plain AdamW over the
same parameters would return, so a run saved with N ranks resumes with M ranks, or with
plain AdamW, and back.  Gathering is a collective: call `consolidate_state_dict()` on every
rank first; then `state_dict()` on any rank returns the gathered state (until the next
step).  `load_state_dict(full_state)` on every rank keeps each rank's slice.
"""
from __future__ import annotations

import numpy as np

from ..optim import AdamW
from ..tensor import Tensor
from . import comm


class _Piece:
    """The part [a, b) of parameter `param` (flattened) that this rank updates."""

    def __init__(self, param: Tensor, a: int, b: int, group: int):
        self.param, self.a, self.b, self.group = param, a, b, group
        self.tensor = Tensor(np.empty(0, dtype=param.dtype))   # its .data is re-pointed each step

    def refresh(self) -> None:
        p = self.param
        if not p.data.flags.c_contiguous or not p.data.flags.writeable:
            p.data = np.ascontiguousarray(p.data).copy()
        self.tensor.data = p.data.reshape(-1)[self.a:self.b]     # a view: updates land in p
        g = p.grad
        self.tensor.grad = None if g is None else Tensor(
            np.ascontiguousarray(g.data).reshape(-1)[self.a:self.b])


class ZeroRedundancyOptimizer:
    """optimizer_class(params, **kwargs), with its state sharded over the ranks (see above).

        opt = dist.ZeroRedundancyOptimizer(model.parameters(), optimizer_class=mg.optim.AdamW,
                                           lr=3e-4, weight_decay=0.1)
        ...; loss.backward(); opt.step(); opt.zero_grad()

    `param_groups` are the full groups (an LR scheduler changes their options there, and
    every rank's shard follows); `state` the state of this rank's slices only.
    """

    def __init__(self, params, optimizer_class=AdamW, **kwargs):
        # The full optimizer validates the groups and options, and holds no state: AdamW
        # creates its moments at the first step, which it never takes here.
        self._full = optimizer_class(params, **kwargs)
        self.optimizer_class, self.kwargs = optimizer_class, dict(kwargs)
        self.param_groups = self._full.param_groups
        self.defaults = self._full.defaults
        self.rank, self.world_size = comm.rank(), comm.world_size()
        self._params = [p for g in self.param_groups for p in g["params"]]
        dtypes = {p.dtype for p in self._params}
        if len(dtypes) != 1:
            raise TypeError(f"ZeroRedundancyOptimizer: all parameters must share one dtype to be "
                            f"laid out as one flat vector; found {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop()
        sizes = [p.data.size for p in self._params]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.numel = int(self._offsets[-1])
        bounds = [self.numel * r // self.world_size for r in range(self.world_size + 1)]
        self.counts = [bounds[r + 1] - bounds[r] for r in range(self.world_size)]
        self.lo, self.hi = bounds[self.rank], bounds[self.rank + 1]
        self._pieces = self._cut()
        self._local_groups = sorted({piece.group for piece in self._pieces})
        self._local = None
        if self._pieces:
            groups = [{**self._options(g), "params": [x.tensor for x in self._pieces if x.group == g]}
                      for g in self._local_groups]
            self._local = optimizer_class(groups, **kwargs)
        self._flat = np.empty(self.numel, dtype=self.dtype)
        self._consolidated = None

    def _cut(self) -> list:
        pieces, k = [], 0
        for g, group in enumerate(self.param_groups):
            for p in group["params"]:
                start, end = int(self._offsets[k]), int(self._offsets[k + 1])
                a, b = max(start, self.lo), min(end, self.hi)
                if a < b:
                    pieces.append(_Piece(p, a - start, b - start, g))
                k += 1
        return pieces

    def _options(self, g: int) -> dict:
        return {k: v for k, v in self.param_groups[g].items() if k != "params"}

    @property
    def state(self) -> dict:
        return {} if self._local is None else self._local.state

    # --- the optimizer API ------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        self._full.zero_grad(set_to_none)

    def step(self, closure=None):
        """Update this rank's slice (the wrapped optimizer's rule), then all-gather."""
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        if self._local is not None:
            for local, g in zip(self._local.param_groups, self._local_groups):
                local.update(self._options(g))              # lr from a scheduler, etc.
            for piece in self._pieces:
                piece.refresh()
            self._local.step()
        self._all_gather_parameters()
        self._consolidated = None
        return loss

    def _all_gather_parameters(self) -> None:
        if self.world_size == 1:
            return                                          # the one slice is everything
        flat = self._flat
        for piece in self._pieces:                          # my updated slice ...
            start = self._start_of(piece.param) + piece.a
            flat[start:start + piece.b - piece.a] = piece.param.data.reshape(-1)[piece.a:piece.b]
        comm.all_gather_v(flat[self.lo:self.hi].copy(), self.counts, out=flat)
        for p, start, end in zip(self._params, self._offsets[:-1], self._offsets[1:]):
            if self.lo <= start and end <= self.hi:
                continue                                    # wholly mine: already updated
            p.data[...] = flat[start:end].reshape(p.shape)  # ... and everyone else's

    def _start_of(self, p) -> int:
        index = self.__dict__.setdefault("_start", {id(q): int(o) for q, o in
                                                     zip(self._params, self._offsets[:-1])})
        return index[id(p)]

    # --- memory -----------------------------------------------------------------------------
    def state_bytes(self) -> int:
        """Bytes of optimizer state (moments etc.) this rank holds."""
        return sum(v.nbytes for s in self.state.values() for v in s.values()
                   if isinstance(v, np.ndarray))

    # --- checkpoints ------------------------------------------------------------------------
    def consolidate_state_dict(self, to: int | None = None) -> None:
        """Gather the full optimizer state on every rank (a collective: call it on all).
        `to` is accepted for PyTorch's signature; every rank receives the state."""
        names = sorted({k for s in self.state.values() for k, v in s.items()
                        if isinstance(v, np.ndarray)})
        all_names = sorted(set().union(*comm.all_gather_json(names))) \
            if self.world_size > 1 else names
        # scalars (AdamW's step count) per parameter index, from the ranks that hold a piece
        scalars = {}
        for piece in self._pieces:
            s = self.state.get(piece.tensor)
            if s:
                scalars[self._index_of(piece.param)] = {k: v for k, v in s.items()
                                                        if not isinstance(v, np.ndarray)}
        if self.world_size > 1:
            merged = {}
            for part in comm.all_gather_json(scalars):           # JSON, never a pickle
                for i, values in part.items():
                    merged.setdefault(int(i), {}).update(values)
            scalars = merged
        full = {}
        for name in all_names:
            local = np.zeros(self.hi - self.lo, dtype=self.dtype)
            for piece in self._pieces:
                v = self.state.get(piece.tensor, {}).get(name)
                if v is not None:
                    start = self._start_of(piece.param) + piece.a - self.lo
                    local[start:start + v.size] = v.reshape(-1)
            full[name] = comm.all_gather_v(local, self.counts)
        state = {}
        for i, p in enumerate(self._params):
            if i not in scalars:
                continue                                   # never stepped: no state, as AdamW
            start, end = int(self._offsets[i]), int(self._offsets[i + 1])
            state[i] = {**scalars[i], **{name: full[name][start:end].reshape(p.shape).copy()
                                         for name in all_names}}
        sd = self._full.state_dict()                       # param_groups (options, indices)
        sd["state"] = state
        self._consolidated = sd

    def _index_of(self, p) -> int:
        index = self.__dict__.setdefault("_index", {id(q): i for i, q in enumerate(self._params)})
        return index[id(p)]

    def state_dict(self) -> dict:
        """The full state (as plain AdamW's state_dict).  With more than one rank, call
        consolidate_state_dict() on every rank first."""
        if self._consolidated is None:
            if self.world_size > 1:
                raise RuntimeError(
                    "ZeroRedundancyOptimizer.state_dict: the state is sharded over "
                    f"{self.world_size} ranks; call consolidate_state_dict() on every rank "
                    "first (a collective), then state_dict() on the rank that saves")
            self.consolidate_state_dict()
        return self._consolidated

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a full state (from state_dict(), of any world size, or from plain AdamW):
        every rank keeps its slice."""
        self._full.load_state_dict(state_dict)             # validates groups and shapes
        full_state, self._full.state = self._full.state, {}
        new = {}
        for piece in self._pieces:
            s = full_state.get(piece.param)
            if s:
                new[piece.tensor] = {k: (v.reshape(-1)[piece.a:piece.b].copy()
                                         if isinstance(v, np.ndarray) else v)
                                     for k, v in s.items()}
        if self._local is not None:
            self._local.state = new
            for local, g in zip(self._local.param_groups, self._local_groups):
                local.update(self._options(g))
        self._consolidated = None

    def __repr__(self):
        return (f"ZeroRedundancyOptimizer({self.optimizer_class.__name__}, rank {self.rank} of "
                f"{self.world_size}: elements [{self.lo}, {self.hi}) of {self.numel})")
