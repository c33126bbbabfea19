"""The training loop on many processes, and in micro-batches (§8 模型规模, §9.1: how large
models are trained).

    mpiexec -n 2 minigrad train --data quantangshi --distributed     # or: minigrad train --nproc 2
    minigrad train --grad-accum 4                                      # 4 micro-batches a step

One step of a global batch of B samples, on N ranks, each cutting its share into K
micro-batches of B/(N·K) samples (forward_backward):

    rank r keeps rows r·B/N ... (r+1)·B/N - 1        dist.shard_batch: every rank draws the
                                                     global batch (a pure function of seed and
                                                     step) and keeps its rows
    backward of L_{r,m} · w_{r,m} / K for m = 1..K    gradients add up in p.grad; DDP
                                                     all-reduces once, after the last (no_sync)
    DDP averages over the N ranks                    -> the gradient of the global mean loss

With a loss that is a mean over the same number of items in every part (a GPT: every token
of equal windows) the weights are w = 1.  A loss that is a mean over items whose number
differs between parts (BERT's masked tokens) is weighted by its share,

    w_{r,m} = c_{r,m} · N · K / C       c: the part's items, C: the global batch's items,

so that (1/N) Σ_r (1/K) Σ_m w_{r,m} L_{r,m} = Σ c L / C: the mean over all masked tokens of
the global batch, as one process computes it (dist.global_mean_weight is the same idea with
the count all-reduced; here every rank holds the whole masked batch, so C is known).  The
MLM masks themselves are drawn once per step for the whole global batch (MLMTask.prepare),
with minigrad's generator, which is in the same state on every rank (same seed, same draws;
its state is in the checkpoint).  Dropout masks are keyed by (seed, step, call, global sample
index) (random.per_sample_dropout), so sample i gets the same mask on any rank, in any
micro-batch.

DistributedTrainer is the Trainer with DistributedDataParallel (and ZeroRedundancyOptimizer
with zero=True) and the jobs that only one rank may do given to rank 0:

    progress bar and log         rank 0 (dist.is_main_process)
    the logged loss              all-reduced: the mean loss of the global batch
    tokens/s                     the global batch's tokens: the whole job's throughput
    evaluation                   rank 0 evaluates, every rank receives its figures, so all
                                 take the same decisions (best weights, stopping)
    checkpoints                  rank 0 writes them, atomically (temporary file + rename), the
                                 others wait (dist.on_main_process); with ZeRO the sharded
                                 optimizer state is gathered first (consolidate_state_dict)
    --resume                     every rank reads the one checkpoint: the full model,
                                 optimizer state, schedule, generator and step, which do not
                                 depend on the number of ranks, so a run saved with N ranks
                                 continues on M (B divisible by M·K)
    Ctrl-C                       the ranks agree on stopping (one flag in the step's
                                 all-reduce), so all stop after the same step
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import distributed as dist
from ..distributed.accumulate import _rows
from .loop import CHECKPOINT, Trainer


def forward_backward(net, task, batch, micro_batches: int = 1, *, step: int = 0, seed=None,
                     rank: int = 0, world_size: int = 1):
    """Forward and backward of this rank's share of the global `batch` in `micro_batches`
    parts (see the module docstring).  seed: key dropout masks by sample (None: minigrad's
    generator, the single-process default).  Returns (loss, tokens) of this rank: the sum
    over ranks of loss / world_size is the global batch's mean loss, and of tokens its tokens.
    The caller zeroes the gradients before and steps the optimizer after."""
    B = _rows(batch)
    K = int(micro_batches)
    if B % (world_size * K):
        raise ValueError(f"a global batch of {B} rows cannot be cut into {world_size} rank(s) × "
                         f"{K} micro-batch(es) of equal size (use a batch size that is a multiple "
                         f"of {world_size * K})")
    if world_size > 1:
        local = dist.shard_batch(batch, rank, world_size)
        ids = dist.sample_ids(B, rank, world_size)
    else:
        local, ids = batch, np.arange(B)
    loss_fn = task.loss
    items = getattr(task, "loss_items", None)
    if items is not None and (K > 1 or world_size > 1):
        total = items(batch)                        # C: items of the global batch
        scale = world_size * K / total if total else 0.0

        def loss_fn(model, micro):                  # L · c·N·K/C (module docstring)
            loss, n = task.loss(model, micro)
            return loss * (items(micro) * scale), n
    return dist.backward_micro_batches(net, local, K, loss_fn, seed=seed, step=step,
                                       sample_ids=ids)


def _quiet(message: str) -> None:
    """The log of ranks other than 0: nothing (rank 0 speaks for the job)."""


class DistributedTrainer(Trainer):
    """Trainer over all ranks of an MPI job (see the module docstring).  Run the same code on
    every rank; a world of one (no mpiexec) works too and gives the same numbers as N ranks.

    zero: shard AdamW's state over the ranks (ZeRO-1, dist.ZeroRedundancyOptimizer);
    bucket_cap_mb: DistributedDataParallel's gradient bucket size."""

    def __init__(self, model, task, config, model_config, tokenizer=None, log=print, callback=None,
                 zero: bool = False, bucket_cap_mb: float = 25):
        dist.init()
        self.rank, self.world_size = dist.rank(), dist.world_size()
        self.zero = bool(zero)
        self.main = self.rank == 0
        if config.batch_size % (self.world_size * config.grad_accum):
            raise ValueError(f"batch_size {config.batch_size} (the global batch) cannot be cut into "
                             f"{self.world_size} ranks × grad_accum {config.grad_accum} equal parts; "
                             f"use a multiple of {self.world_size * config.grad_accum}")
        if not self.main:
            config = replace(config, progress=False, plot=False)
        super().__init__(model, task, config, model_config, tokenizer,
                         log=log if self.main else _quiet, callback=callback)
        self.net = dist.DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)
        self._stop_local = False

    def _keyed_by_default(self) -> bool:
        return True          # a job of one gives the numbers of N ranks (the same masks)

    def _make_optimizer(self, groups):
        if not self.zero:
            return super()._make_optimizer(groups)
        from ..optim import AdamW
        c = self.config
        return dist.ZeroRedundancyOptimizer(groups, optimizer_class=AdamW, lr=c.lr,
                                            betas=(c.beta1, c.beta2), weight_decay=c.weight_decay)

    # --- one step: the loss and the stop flag agreed by all ranks ---------------------------
    def _forward_backward(self):
        loss, tokens = super()._forward_backward()
        both = np.array([loss, tokens, float(self._stop_local)], dtype=np.float64)
        dist.all_reduce(both, "sum")
        self._stop = bool(both[2] > 0)               # checked by all ranks before the next step
        return float(both[0] / self.world_size), int(both[1])

    def _on_sigint(self, signum, frame):
        if self._stop_local:
            raise KeyboardInterrupt
        self._stop_local = True
        self.log("\nCtrl-C: finishing this step and saving a checkpoint (press again to abort)")

    def request_stop(self) -> None:
        self._stop_local = True

    def fit(self, resume: bool = False):
        self._stop_local = False
        return super().fit(resume)

    # --- rank 0 evaluates, all receive ----------------------------------------------------
    def _from_main(self, fn, *args, **kwargs):
        """fn's result on rank 0 (a JSON-able value), received by every rank."""
        result = fn(*args, **kwargs) if self.main else None
        return dist.comm.all_gather_json(result)[0] if self.world_size > 1 else result

    def evaluate(self) -> dict:
        metrics = self._from_main(self.task.evaluate, self.model)
        self.history["eval"].append({"step": self.step, **metrics})
        return metrics

    def test_best(self) -> dict:
        def on_main():
            metrics = Trainer.test_best(self)
            return [metrics, self.history["test"]]
        metrics, self.history["test"] = self._from_main(on_main)
        return metrics

    def _has_best(self) -> bool:
        return self.best_step is not None           # the same on every rank

    # --- rank 0 writes --------------------------------------------------------------------
    def save(self, path=None) -> str:
        if self.zero and self.world_size > 1:
            self.optimizer.consolidate_state_dict()  # a collective: the full AdamW state
        path = str(path or self.out_dir / CHECKPOINT)
        dist.on_main_process(super().save, path)
        return path

    def _save_best(self):
        dist.on_main_process(super()._save_best)

    def _plot(self):
        return super()._plot() if self.main else None
