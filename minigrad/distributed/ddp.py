"""DistributedDataParallel: the same model on every rank, each on its own shard of the batch,
gradients averaged by all-reduce (§8 模型规模; PyTorch's torch.nn.parallel.DDP).

    model = dist.DistributedDataParallel(GPT(config))     # rank 0's weights on every rank
    loss = model(x_local, y_local).loss                    # a Module: runs model.module
    loss.backward()                                        # gradients averaged *during* backward
    optimizer.step()                                       # the same update on every rank

Why the result equals one process with the whole batch: the loss of a global batch of B
samples is L = (1/B) Σ_i ℓ_i.  Rank r holds B/N of them and computes L_r = (N/B) Σ_{i∈r} ℓ_i,
so (1/N) Σ_r ∇L_r = (1/B) Σ_i ∇ℓ_i = ∇L.  Every rank then applies the same update to the same
weights, and they stay identical without ever being sent again.

Buckets (PyTorch's bucket_cap_mb, Horovod's tensor fusion).  One all-reduce per parameter
would pay the latency of a collective ~150 times per step; one for all of them could only
start after the whole backward.  So parameters are packed, in *reverse* order (backward
produces the last layer's gradients first), into buckets of at most `bucket_cap_mb` MB (the
first one at most 1 MiB, as in PyTorch, so that communication starts early), and
a bucket's all-reduce (non-blocking, MPI Iallreduce) starts as soon as all its gradients
are complete: the engine calls a hook per parameter at that moment
(Tensor.register_post_accumulate_grad_hook, autograd.py).  While backward computes the
earlier layers, the later layers' gradients are already travelling.  At the end of
backward (a callback the engine runs then) the remaining buckets are started and all are
waited for; the averaged gradients are in p.grad before backward() returns.  Buckets start
in bucket order on every rank, so all ranks issue the same collectives in the same order.

MPICH moves a non-blocking collective forward only inside MPI calls, so each hook also
tests the requests in flight (`MPI_Testall`), which is what lets the transfer progress while
backward runs.  `overlap=False` starts every bucket at the end of backward instead (the
benchmark's --no-overlap).

Parameters without a gradient.  A parameter that took no part in this rank's loss gets no
hook call; at the end of backward its bucket is filled with zeros for it and reduced with
the others, so no rank waits for a bucket that never fills (no deadlock, as PyTorch's
find_unused_parameters=True).  A parameter that no rank used keeps p.grad None, as in a
single process, so the optimizer skips it (found with one small extra all-reduce of a used
flag per parameter).

no_sync(): inside `with model.no_sync():` backward only accumulates p.grad locally; the
first backward after the block reduces the accumulated sum (gradient accumulation over
micro-batches with one all-reduce per optimizer step).

Gradients must be float32 or float64 (mixed precision keeps float32 master gradients).
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from .. import autograd
from ..nn.module import Module
from ..tensor import Tensor
from . import comm


class _Bucket:
    def __init__(self, params, dtype):
        self.params = params                      # in the order their gradients become ready
        self.sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.buffer = np.zeros(int(self.offsets[-1]), dtype=dtype)
        self.pending = len(params)
        self.request = None
        self.used = np.zeros(len(params), dtype=bool)

    @property
    def nbytes(self) -> int:
        return self.buffer.nbytes


class DistributedDataParallel(Module):
    """Data parallelism over MPI ranks (see the module docstring).

    module: the model (its parameters are broadcast from rank 0 here);
    bucket_cap_mb: the largest bucket, in MB (10^6 bytes; PyTorch's default 25);
    overlap: start each bucket's all-reduce during backward (False: all at the end);
    broadcast_buffers: also send rank 0's floating-point buffers at construction.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25, overlap: bool = True,
                 broadcast_buffers: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a Module, got {type(module).__name__}")
        if bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        self.module = module
        self.bucket_cap_mb, self.overlap = float(bucket_cap_mb), bool(overlap)
        self.world_size, self.rank = comm.world_size(), comm.rank()
        params = [p for p in module.parameters() if p.requires_grad]
        for p in params:
            if p.dtype not in (np.float32, np.float64):
                raise TypeError(f"DistributedDataParallel: parameters must be float32 or float64 "
                                f"to be all-reduced, found {p.dtype} (shape {p.shape})")
        self._params = params
        self._sync_parameters(broadcast_buffers)
        self.buckets = _make_buckets(params, int(self.bucket_cap_mb * 1e6))
        self._where = {id(p): (b, i) for b in self.buckets for i, p in enumerate(b.params)}
        self._index = {id(p): k for k, p in enumerate(params)}
        self.require_sync = True
        self._active = False              # a backward is in progress and has hooked us
        self._next = 0                    # the next bucket to start (buckets start in order)
        self.last_step = {}               # timings of the last synchronisation (benchmarks)
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad_ready)
                         for p in params] if self.world_size > 1 else []

    # --- construction ---------------------------------------------------------------------
    def _sync_parameters(self, broadcast_buffers: bool) -> None:
        """Rank 0's weights everywhere, so all ranks start from one model."""
        if self.world_size == 1:
            return
        tensors = list(self._params)
        if broadcast_buffers:
            tensors += [b for b in self.module.buffers() if b.dtype.kind == "f"]
        for t in tensors:
            if not t.data.flags.c_contiguous or not t.data.flags.writeable:
                t.data = np.ascontiguousarray(t.data).copy()
            comm.broadcast(t.data, root=0)

    # --- Module -----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def state_dict(self):
        """The wrapped model's state dict (no 'module.' prefix: a checkpoint of a DDP run
        loads into a plain model and back)."""
        return self.module.state_dict()

    def load_state_dict(self, state_dict, strict: bool = True):
        return self.module.load_state_dict(state_dict, strict)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients locally, without communication."""
        previous, self.require_sync = self.require_sync, False
        try:
            yield
        finally:
            self.require_sync = previous

    # --- during backward -----------------------------------------------------------------
    def _on_grad_ready(self, p: Tensor) -> None:
        if not self.require_sync:
            return
        if not self._active:
            self._begin()
        bucket, i = self._where[id(p)]
        if bucket.used[i]:
            raise RuntimeError(
                "DistributedDataParallel: a parameter's gradient was completed twice in one "
                "backward (a parameter used both inside and outside a checkpointed block, or "
                "two backward calls without no_sync between them); each parameter may be "
                "reduced once per backward")
        bucket.used[i] = True
        bucket.pending -= 1
        if self.overlap:
            if bucket.pending == 0:
                self._start_ready_buckets()
            self._progress()

    def _begin(self) -> None:
        self._active = True
        self._next = 0
        self._t_begin = time.perf_counter()
        self._comm_busy = 0.0
        for b in self.buckets:
            b.pending, b.request = len(b.params), None
            b.used[:] = False
        autograd.queue_callback(self._finish)

    def _start(self, bucket: _Bucket) -> None:
        for p, lo, n, used in zip(bucket.params, bucket.offsets, bucket.sizes, bucket.used):
            if p.grad is None:                 # not used by this rank's loss (zeros, see docs)
                bucket.buffer[lo:lo + n] = 0
            else:
                bucket.buffer[lo:lo + n] = p.grad.data.reshape(-1)
        bucket.request = comm.iall_reduce(bucket.buffer, "sum")

    def _start_ready_buckets(self) -> None:
        while self._next < len(self.buckets) and self.buckets[self._next].pending == 0:
            self._start(self.buckets[self._next])
            self._next += 1

    def _progress(self) -> None:
        """Let MPI move the transfers in flight forward (see the module docstring)."""
        t0 = time.perf_counter()
        for b in self.buckets[:self._next]:
            if b.request is not None:
                b.request.Test()
        self._comm_busy += time.perf_counter() - t0

    def _finish(self) -> None:
        """End of backward: start what is left, wait for everything, average."""
        t0 = time.perf_counter()
        started_in_backward = self._next
        used = np.array([p.grad is not None for p in self._params], dtype=np.uint8)
        used_request = comm.iall_reduce(used, "max")      # -> used by some rank
        for b in self.buckets[self._next:]:
            self._start(b)
        self._next = len(self.buckets)
        for k, b in enumerate(self.buckets):
            comm.wait(b.request, f"DistributedDataParallel: the all-reduce of gradient bucket {k} "
                                 f"({len(b.params)} parameters, {b.nbytes / 1e6:.2f} MB)")
        comm.wait(used_request, "DistributedDataParallel: the all-reduce of the used-parameter flags")
        for b in self.buckets:
            b.buffer /= self.world_size
            for p, lo, n in zip(b.params, b.offsets, b.sizes):
                if used[self._index[id(p)]]:
                    p.grad = Tensor(b.buffer[lo:lo + n].reshape(p.shape))   # a view, no copy
        t1 = time.perf_counter()
        self._active = False
        self.last_step = {"hooks_s": t0 - self._t_begin, "wait_s": t1 - t0,
                          "progress_s": self._comm_busy, "buckets": len(self.buckets),
                          "started_in_backward": started_in_backward,
                          "t_finish_start": t0, "t_done": t1}     # perf_counter (system-wide)

    def extra_repr(self) -> str:
        return (f"world_size={self.world_size}, buckets={len(self.buckets)}, "
                f"bucket_cap_mb={self.bucket_cap_mb:g}, overlap={self.overlap}")


FIRST_BUCKET_BYTES = 1024 * 1024   # PyTorch's _DEFAULT_FIRST_BUCKET_BYTES


def _make_buckets(params, cap_bytes: int, first_cap_bytes: int | None = None) -> list:
    """Parameters in reverse order, packed greedily into buckets of at most cap_bytes (a
    parameter larger than the cap gets a bucket of its own); one dtype per bucket.  The
    first bucket is capped at first_cap_bytes (default min(1 MiB, cap), as PyTorch), so the
    first all-reduce starts early in backward."""
    first = min(FIRST_BUCKET_BYTES, cap_bytes) if first_cap_bytes is None else first_cap_bytes
    buckets, current, size, dtype = [], [], 0, None
    for p in reversed(params):
        nbytes = p.data.nbytes
        cap = first if not buckets else cap_bytes
        if current and (size + nbytes > cap or p.dtype != dtype):
            buckets.append(_Bucket(current, dtype))
            current, size = [], 0
        current.append(p)
        size += nbytes
        dtype = p.dtype
    if current:
        buckets.append(_Bucket(current, dtype))
    return buckets
