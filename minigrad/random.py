"""One random generator for the whole library, so `mg.manual_seed(n)` makes initialisation,
dropout and sampling reproducible.

Dropout masks that do not depend on how a batch is split (§8: data parallelism)
------------------------------------------------------------------------------
By default a dropout mask is drawn from that one generator for the whole (B, ...) tensor,
so the mask of sample i depends on what came before it: on every earlier draw, and on how
many samples share the tensor.  Split the batch over 2 processes (or into micro-batches)
and sample i gets another mask, so the training run is no longer the same computation.

Inside `with per_sample_dropout(seed, step, sample_ids):` every dropout call k = 1, 2, ...
of the forward draws row b of its mask from its own generator, seeded by

    (seed, step, k, sample_ids[b])          sample_ids[b]: the sample's index in the *global* batch

so sample i gets the same mask whether it sits in a batch of 64 on one process or in a
shard of 32 on rank 1, or in micro-batch 3 of 4.  Row b is the leading (batch) axis; every
dropout of GPT and BERT (embeddings, attention probabilities (B, nh, T, T), residuals)
is batch-first.  It is opt-in, because it is another definition of the mask than the
single-generator one (and costs one small generator per sample and call): the distributed
training loop enters it on every rank, the single-process loop does not, so a
one-process `train` gives the numbers it always gave.  minigrad.checkpointing records and
replays this state too, so a recomputed block draws the masks of its first forward.
"""
from __future__ import annotations

import contextlib

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed minigrad's generator (initialisation, dropout, sampling, mg.randn...)."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict:
    """The generator's state (a JSON-able dict), e.g. to store in a checkpoint."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    _generator.bit_generator.state = state


# --- per-sample dropout masks ---------------------------------------------------------------
class _SampleSeeding:
    """The state of a per_sample_dropout block: its key and how many dropout calls it made."""

    def __init__(self, seed: int, step: int, sample_ids: np.ndarray, calls: int = 0):
        self.seed, self.step, self.sample_ids, self.calls = seed, step, sample_ids, calls

    def copy(self) -> "_SampleSeeding":
        return _SampleSeeding(self.seed, self.step, self.sample_ids, self.calls)


_sample_seeding: _SampleSeeding | None = None


@contextlib.contextmanager
def per_sample_dropout(seed: int, step: int, sample_ids):
    """Dropout masks keyed by (seed, step, call, global sample index) inside the block (see
    the module docstring).  sample_ids: one non-negative int per row of the batch, e.g.
    `np.arange(lo, hi)` for the rows lo..hi-1 of the global batch this process holds."""
    global _sample_seeding
    ids = np.asarray(sample_ids, dtype=np.int64).reshape(-1)
    if int(seed) < 0 or int(step) < 0 or (ids.size and ids.min() < 0):
        raise ValueError("per_sample_dropout: seed, step and sample_ids must be >= 0")
    outer = _sample_seeding
    _sample_seeding = _SampleSeeding(int(seed), int(step), ids)
    try:
        yield
    finally:
        _sample_seeding = outer


def dropout_keep_mask(shape: tuple, p: float) -> np.ndarray:
    """The bool mask of kept elements for one dropout call (True with probability 1 - p):
    from minigrad's generator, or row by row inside per_sample_dropout."""
    s = _sample_seeding
    if s is None:
        return _generator.random(shape) >= p
    s.calls += 1
    if not shape or shape[0] != len(s.sample_ids):
        raise ValueError(
            f"dropout inside per_sample_dropout: the tensor's leading axis must be the batch "
            f"({len(s.sample_ids)} samples were given), but its shape is {tuple(shape)}")
    keep = np.empty(shape, dtype=bool)
    for b, i in enumerate(s.sample_ids):
        row = np.random.default_rng([s.seed, s.step, s.calls, int(i)])
        keep[b] = row.random(shape[1:]) >= p
    return keep


# --- recording and replaying the random state (activation checkpointing) --------------------
def capture_state():
    """Everything a later replay needs to draw the same numbers again: the generator's state
    and the per_sample_dropout block's key and call count."""
    seeding = None if _sample_seeding is None else _sample_seeding.copy()
    return _generator.bit_generator.state, seeding


@contextlib.contextmanager
def replay_state(captured):
    """Inside, draws repeat those made after `capture_state()`; afterwards the generator and
    the per_sample_dropout block are as they were before (the replay consumes nothing)."""
    global _generator, _sample_seeding
    state, seeding = captured
    outer_generator, outer_seeding = _generator, _sample_seeding
    replay = np.random.Generator(type(outer_generator.bit_generator)())
    replay.bit_generator.state = state
    _generator = replay
    _sample_seeding = None if seeding is None else seeding.copy()
    try:
        yield
    finally:
        _generator, _sample_seeding = outer_generator, outer_seeding
