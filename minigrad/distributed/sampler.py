"""Each rank's share of every batch (PyTorch's DistributedSampler, for minigrad's batch
sources).

minigrad's batches are pure functions of (step, batch size, seed) (TokenWindows.batch with
data.step_rng(seed, step), the tasks' batch(step, batch_size, seed)).  So every rank draws
the *global* batch of the step, which is cheap (index arrays), and keeps its rows:

    rank r of N keeps rows  r·B/N ... (r+1)·B/N - 1   of the global batch of B rows

The global batch is then exactly the batch one process with batch size B would train on,
and the rows' global indices (`local_range`) key the per-sample dropout masks
(random.per_sample_dropout), so 2 ranks × B/2 compute what 1 rank × B computes.  B must
be divisible by N: every rank's loss is then a mean over the same number of samples, and
the average of the ranks' gradients is the gradient of the global mean.

(A loss averaged over a varying number of items per rank, such as masked-LM tokens or
padded tokens, is not: see `global_mean_weight`.)
"""
from __future__ import annotations

import numpy as np

from .comm import all_reduce, rank as _rank, world_size as _world_size


def local_range(global_batch_size: int, rank: int | None = None,
                world_size: int | None = None) -> tuple[int, int]:
    """(lo, hi): the rows of a global batch of `global_batch_size` that `rank` keeps."""
    r = _rank() if rank is None else rank
    n = _world_size() if world_size is None else world_size
    if global_batch_size % n:
        raise ValueError(f"the global batch size {global_batch_size} is not divisible by the "
                         f"world size {n}: every rank must get the same number of samples "
                         f"(use a batch size that is a multiple of {n})")
    k = global_batch_size // n
    return r * k, (r + 1) * k


def sample_ids(global_batch_size: int, rank: int | None = None,
               world_size: int | None = None) -> np.ndarray:
    """The global indices of this rank's rows (for random.per_sample_dropout)."""
    lo, hi = local_range(global_batch_size, rank, world_size)
    return np.arange(lo, hi)


def shard_batch(batch, rank: int | None = None, world_size: int | None = None):
    """This rank's rows of a global batch: every array or Tensor in `batch` (possibly nested
    in tuples, lists and dicts) is sliced along its first axis, which must be the same
    length B for all of them.  Other values (None, numbers, strings) are kept."""
    from ..tensor import Tensor
    sizes = set()

    def collect(x):
        if isinstance(x, (np.ndarray, Tensor)):
            if x.ndim == 0:
                raise ValueError("shard_batch: a 0-d array has no batch axis to split")
            sizes.add(x.shape[0])
        elif isinstance(x, (tuple, list)):
            for v in x:
                collect(v)
        elif isinstance(x, dict):
            for v in x.values():
                collect(v)

    collect(batch)
    if len(sizes) != 1:
        raise ValueError(f"shard_batch: the arrays of a batch must share their first (batch) "
                         f"axis; found lengths {sorted(sizes) or 'none'}")
    lo, hi = local_range(sizes.pop(), rank, world_size)

    def cut(x):
        if isinstance(x, Tensor):
            return Tensor(x.data[lo:hi])
        if isinstance(x, np.ndarray):
            return x[lo:hi]
        if isinstance(x, tuple):
            return type(x)(*map(cut, x)) if hasattr(x, "_fields") else tuple(map(cut, x))
        if isinstance(x, list):
            return [cut(v) for v in x]
        if isinstance(x, dict):
            return {k: cut(v) for k, v in x.items()}
        return x

    return cut(batch)


class DistributedSampler:
    """A batch source (fn(step, batch_size, seed) -> batch, as Task.batch) cut into ranks.

        sampler = DistributedSampler(task.batch, global_batch_size=32, seed=1337)
        local, ids = sampler(step)          # this rank's rows and their global indices
        with mg.random.per_sample_dropout(1337, step, ids):
            loss = ...

    `micro_batches=K` (gradient accumulation) cuts this rank's rows further into K equal
    micro-batches: sampler.micro(step) yields (micro_batch, ids) K times.
    """

    def __init__(self, batch_fn, global_batch_size: int, seed: int, micro_batches: int = 1,
                 rank: int | None = None, world_size: int | None = None):
        self.batch_fn, self.global_batch_size, self.seed = batch_fn, int(global_batch_size), int(seed)
        self.rank = _rank() if rank is None else rank
        self.world_size = _world_size() if world_size is None else world_size
        self.lo, self.hi = local_range(self.global_batch_size, self.rank, self.world_size)
        self.micro_batches = int(micro_batches)
        if self.micro_batches < 1 or (self.hi - self.lo) % self.micro_batches:
            raise ValueError(f"DistributedSampler: {self.hi - self.lo} rows per rank cannot be cut "
                             f"into {micro_batches} equal micro-batches")

    def __call__(self, step: int):
        batch = self.batch_fn(step, self.global_batch_size, self.seed)
        return shard_batch(batch, self.rank, self.world_size), np.arange(self.lo, self.hi)

    def micro(self, step: int):
        local, ids = self(step)
        k = len(ids) // self.micro_batches
        for m in range(self.micro_batches):
            yield shard_batch(local, m, self.micro_batches), ids[m * k:(m + 1) * k]


def global_mean_weight(local_count) -> float:
    """For a loss that is a mean over a number of items that differs between ranks (masked
    tokens, non-padding tokens): multiply the rank's mean loss by this weight,
        local_count · world_size / global_count,
    and the average DDP takes of the ranks' gradients becomes the gradient of the mean over
    all items of the global batch (one all-reduce of the count)."""
    count = np.array([float(local_count)], dtype=np.float64)
    total = all_reduce(count.copy())[0]
    if total == 0:
        return 0.0
    return float(count[0] * _world_size() / total)
