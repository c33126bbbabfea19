"""Gradient accumulation: K micro-batches, one optimizer step, the gradient of the large
batch (§8 模型规模: a batch that does not fit in memory is computed in parts).

With a loss that is a mean over the batch, L = (1/B) Σ_i ℓ_i, and K equal micro-batches of
B/K samples each with mean loss L_m:

    L = (1/K) Σ_m L_m,    so    ∇L = Σ_m ∇(L_m / K)

Backward of L_m / K for every micro-batch adds exactly ∇L into p.grad (gradients
accumulate).  Under DistributedDataParallel the first K - 1 backward passes run inside
`no_sync()`, so the gradients are all-reduced once, after the last micro-batch.  Dropout
masks keyed by the global sample index (random.per_sample_dropout) make micro-batch m
draw the masks its samples get in the large batch.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..random import per_sample_dropout
from .sampler import shard_batch


def backward_micro_batches(model, batch, micro_batches: int, loss_fn, seed: int | None = None,
                           step: int = 0, sample_ids=None):
    """Forward and backward `batch` as `micro_batches` equal parts; returns (loss, count):
    the mean loss of the whole batch (a float) and the summed count loss_fn reports.

    loss_fn(model, micro_batch) -> (mean loss Tensor, count), as Task.loss.
    seed: when given, dropout masks are drawn per sample, keyed by (seed, step, call,
          sample id) (random.per_sample_dropout); sample_ids: the global index of each row
          of `batch` (default 0..B-1; under DDP dist.sample_ids(global B)).
    The caller zeroes gradients before and steps the optimizer after.
    """
    K = int(micro_batches)
    if K < 1:
        raise ValueError(f"micro_batches must be >= 1, got {micro_batches}")
    rows = _rows(batch)
    if rows % K:
        raise ValueError(f"a batch of {rows} rows cannot be cut into {K} equal micro-batches "
                         f"(use a batch size divisible by {K})")
    ids = np.arange(rows) if sample_ids is None else np.asarray(sample_ids)
    if len(ids) != rows:
        raise ValueError(f"sample_ids has {len(ids)} entries for a batch of {rows} rows")
    no_sync = getattr(model, "no_sync", None)
    total, count, k = 0.0, 0, rows // K
    for m in range(K):
        micro = shard_batch(batch, m, K)
        keyed = (per_sample_dropout(seed, step, ids[m * k:(m + 1) * k]) if seed is not None
                 else contextlib.nullcontext())
        last = m == K - 1
        with (contextlib.nullcontext() if last or no_sync is None else no_sync()):
            with keyed:
                loss, n = loss_fn(model, micro)
            (loss / K).backward() if K > 1 else loss.backward()
        total += loss.item() / K
        count += int(n)
    return total, count


def _rows(batch) -> int:
    from ..tensor import Tensor
    if isinstance(batch, (np.ndarray, Tensor)):
        return batch.shape[0]
    if isinstance(batch, dict):
        return _rows(next(iter(batch.values())))
    if isinstance(batch, (tuple, list)) and batch:
        return _rows(batch[0])
    raise TypeError(f"cannot tell the batch size of a {type(batch).__name__}")
