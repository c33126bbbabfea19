"""Processes and collectives on MPI (mpi4py): who am I, how many are we, and the four
collectives data parallelism is made of (§8 模型规模).

    all_reduce(a)       every rank ends with a_0 + a_1 + ... + a_{N-1} (or their mean)
    broadcast(a, root)  every rank ends with root's a
    all_gather(a)       every rank ends with [a_0, a_1, ..., a_{N-1}] stacked
    reduce_scatter(a)   rank r ends with block r of a_0 + ... + a_{N-1}

All four act on NumPy buffers through mpi4py's upper-case buffer methods (Iallreduce,
Ibcast, Iallgather, Ireduce_scatter_block): the bytes go from array to array, nothing is
pickled.  Each is started non-blocking and waited on with a deadline (`wait`), so a rank
whose partner died or stopped calling collectives does not hang for ever: after `timeout`
seconds (init(timeout=...), or MINIGRAD_DIST_TIMEOUT, default 300) it prints what it was
waiting for and calls MPI_Abort, which ends every process of the job.  init() also makes
an uncaught exception on any rank abort the whole job at once, saying which rank raised.

Without MPI: before init(), and in a process that mpiexec did not start, the world is one
process (rank 0 of 1) and every collective returns its input; nothing needs mpi4py.
init() itself needs it and says which extra to install when it is missing.  A process that
mpiexec started (its PMI_RANK/OMPI_COMM_WORLD_RANK/PMIX_RANK variables are set) refuses
to run as a world of one, which would silently train N separate models.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

INSTALL_HINT = ('minigrad.distributed needs mpi4py and an MPI runtime: pip install -e ".[distributed]" '
                '(or: pip install mpi4py mpich), then launch with: mpiexec -n 2 python your_script.py')
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MPI_LOCALRANKID")
DEFAULT_TIMEOUT = 300.0


class _State:
    MPI = None          # the mpi4py.MPI module once init() ran
    comm = None         # the communicator (COMM_WORLD, or one passed to init)
    rank, size = 0, 1
    timeout = DEFAULT_TIMEOUT
    initialized = False
    previous_excepthook = None


_state = _State()


def launched_by_mpiexec() -> bool:
    """Did an MPI launcher start this process (so that it has partners)?"""
    return any(v in os.environ for v in _LAUNCHER_VARS)


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"{INSTALL_HINT} ({e})") from None
    return MPI


def init(timeout: float | None = None, comm=None):
    """Join the MPI job: rank and world size from MPI (COMM_WORLD, or `comm`).  Idempotent.

    timeout: seconds any collective may wait before the job is aborted (default: the
    environment's MINIGRAD_DIST_TIMEOUT, else 300).  Returns (rank, world_size)."""
    if timeout is None:
        timeout = float(os.environ.get("MINIGRAD_DIST_TIMEOUT", DEFAULT_TIMEOUT))
    if timeout <= 0:
        raise ValueError(f"init: timeout must be > 0 seconds, got {timeout}")
    _state.timeout = float(timeout)
    if _state.initialized and comm is None:
        return _state.rank, _state.size
    MPI = _import_mpi()
    _state.MPI = MPI
    _state.comm = MPI.COMM_WORLD if comm is None else comm
    _state.rank, _state.size = _state.comm.Get_rank(), _state.comm.Get_size()
    _state.initialized = True
    if _state.size > 1 and _state.previous_excepthook is None:
        _state.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught
    return _state.rank, _state.size


def _ensure() -> None:
    """init() if this process is part of an MPI job; otherwise a world of one."""
    if _state.initialized:
        return
    if launched_by_mpiexec():
        init()                  # raises the install hint when mpi4py is missing


def is_initialized() -> bool:
    return _state.initialized


def rank() -> int:
    _ensure()
    return _state.rank


def world_size() -> int:
    _ensure()
    return _state.size


def is_main_process() -> bool:
    """Rank 0: the one that prints, draws the progress bar and writes checkpoints."""
    return rank() == 0


def get_comm():
    """The mpi4py communicator (None in a world of one without MPI)."""
    _ensure()
    return _state.comm


def timeout() -> float:
    return _state.timeout


# --- failing loudly instead of hanging ------------------------------------------------------
def abort(message: str, code: int = 1) -> None:
    """Print `message` (naming this rank) and end every process of the job (MPI_Abort)."""
    sys.stderr.write(f"\nminigrad.distributed: rank {_state.rank} of {_state.size}: {message}\n")
    sys.stderr.flush()
    if _state.comm is not None and _state.size > 1:
        # mpiexec forwards each rank's output through a pipe; MPI_Abort kills the job at once,
        # and what is still in that pipe can be lost. Give the forwarder a moment first.
        time.sleep(0.5)
        _state.comm.Abort(code)
    raise SystemExit(code)


def _abort_on_uncaught(exc_type, exc, tb):
    (_state.previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)
    if issubclass(exc_type, KeyboardInterrupt):
        what = "was interrupted (Ctrl-C)"
    else:
        what = f"raised {exc_type.__name__}: {exc}"
    abort(f"{what}; aborting the whole job (MPI_Abort) so that the other ranks do not wait "
          f"for it")


def wait(request, what: str = "a collective") -> None:
    """Wait for a non-blocking MPI request, polling it; past the timeout, abort the job.

    MPI moves a collective forward only while some call of it runs, on every rank taking
    part, so the poll must stay quick: it spins on Test() for the first 10 ms, then yields
    the core between polls (sched_yield: another process may run, this one comes back at
    once) up to 2 s, and only a rank that has waited longer than that (for a partner that
    is writing a checkpoint or evaluating) sleeps 1 ms between polls."""
    if request.Test():
        return
    start = time.perf_counter()
    deadline = start + _state.timeout
    spin_until, yield_until = start + 0.01, start + 2.0
    while not request.Test():
        now = time.perf_counter()
        if now > deadline:
            abort(f"{what} did not complete within {_state.timeout:g} s: another rank has died, "
                  f"hangs, or is running a different collective (timeout: init(timeout=...) or "
                  f"MINIGRAD_DIST_TIMEOUT)")
        if now > yield_until:
            time.sleep(0.001)
        elif now > spin_until:
            os.sched_yield()


# --- the collectives --------------------------------------------------------------------------
_OPS = {"sum": "SUM", "max": "MAX", "min": "MIN", "prod": "PROD"}


def _as_array(x, who: str) -> np.ndarray:
    from ..tensor import Tensor
    a = x.data if isinstance(x, Tensor) else x
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{who}: expected a NumPy array or a Tensor, got {type(x).__name__}")
    return a


def _in_place(x, who: str) -> np.ndarray:
    a = _as_array(x, who)
    if not a.flags.c_contiguous or not a.flags.writeable:
        raise ValueError(f"{who}: the array must be C-contiguous and writeable (it is changed in "
                         f"place); pass np.ascontiguousarray(a) and use the result")
    return a


def _reducible(a: np.ndarray, who: str) -> np.ndarray:
    if a.dtype.kind not in "fiub" or (a.dtype.kind == "f" and a.dtype.itemsize < 4):
        raise TypeError(f"{who}: no reduction for dtype {a.dtype} here; reduce in float32 or "
                        f"float64 (mixed precision keeps its gradients in float32, minigrad.amp)")
    return a


def _bytes_view(a: np.ndarray) -> np.ndarray:
    """Moving data without arithmetic works for any dtype (float16, ml_dtypes' bfloat16) as
    raw bytes."""
    return a if a.dtype.kind in "fiub" and a.dtype.itemsize >= 4 else a.view(np.uint8)


def _mpi_op(op: str, who: str):
    if op not in _OPS and op != "mean":
        raise ValueError(f"{who}: op must be one of {sorted(_OPS) + ['mean']}, got {op!r}")
    return None if _state.MPI is None else getattr(_state.MPI, _OPS["sum" if op == "mean" else op])


def iall_reduce(array, op: str = "sum"):
    """Start an in-place all-reduce (sum, max, min, prod) of `array`; returns the MPI request
    (None in a world of one).  Wait for it with wait(request)."""
    a = _reducible(_in_place(array, "all_reduce"), "all_reduce")
    mpi_op = _mpi_op(op, "all_reduce")
    if world_size() == 1:
        return None
    return _state.comm.Iallreduce(_state.MPI.IN_PLACE, a, op=mpi_op)


def all_reduce(array, op: str = "sum"):
    """In place: array <- the elementwise sum (or mean, max, min, prod) over all ranks.
    Returns the array."""
    a = _reducible(_in_place(array, "all_reduce"), "all_reduce")
    _mpi_op(op, "all_reduce")
    if op == "mean" and a.dtype.kind != "f":
        raise TypeError(f"all_reduce: op='mean' needs a floating-point array, got {a.dtype}")
    if world_size() > 1:
        wait(iall_reduce(a, "sum" if op == "mean" else op),
             f"all_reduce({a.dtype}{list(a.shape)}, op={op!r})")
        if op == "mean":
            a /= _state.size
    return array


def broadcast(array, root: int = 0):
    """In place: every rank's array <- rank `root`'s.  Returns the array."""
    a = _in_place(array, "broadcast")
    n = world_size()
    if not 0 <= root < n:
        raise ValueError(f"broadcast: root {root} is not a rank of a world of {n}")
    if n > 1:
        wait(_state.comm.Ibcast(_bytes_view(a), root=root),
             f"broadcast({a.dtype}{list(a.shape)}, root={root})")
    return array


def all_gather(array) -> np.ndarray:
    """A new array (world_size, *array.shape): row r is rank r's array (same shape and dtype
    on every rank)."""
    a = np.ascontiguousarray(_as_array(array, "all_gather"))
    n = world_size()
    out = np.empty((n,) + a.shape, dtype=a.dtype)
    if n == 1:
        out[0] = a
        return out
    wait(_state.comm.Iallgather(_bytes_view(a), _bytes_view(out)),
         f"all_gather({a.dtype}{list(a.shape)})")
    return out


def all_gather_v(local: np.ndarray, counts, out: np.ndarray | None = None) -> np.ndarray:
    """Concatenate 1-D pieces of different lengths: rank r gives `counts[r]` elements, every
    rank gets all sum(counts) of them (Allgatherv; ZeRO's parameter gather)."""
    local = np.ascontiguousarray(local).reshape(-1)
    counts = [int(c) for c in counts]
    if len(counts) != world_size() or local.size != counts[rank()]:
        raise ValueError(f"all_gather_v: {local.size} elements here, counts {counts} for rank "
                         f"{rank()} of {world_size()}")
    out = np.empty(sum(counts), dtype=local.dtype) if out is None else out
    if world_size() == 1:
        out[:] = local
        return out
    from mpi4py.util.dtlib import from_numpy_dtype
    displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).tolist()
    request = _state.comm.Iallgatherv(local, [out, counts, displs, from_numpy_dtype(local.dtype)])
    wait(request, f"all_gather_v({local.dtype}, counts {counts})")
    return out


def all_gather_json(value) -> list:
    """Every rank's small JSON-able value (names, step counts), as a list indexed by rank.
    Sent as UTF-8 JSON bytes through the buffer collectives: nothing is pickled."""
    data = np.frombuffer(json.dumps(value).encode("utf-8"), dtype=np.uint8)
    counts = all_gather(np.array([data.size], dtype=np.int64))[:, 0]
    joined = all_gather_v(data, counts).tobytes()
    ends = np.cumsum(counts)
    return [json.loads(joined[e - c:e]) for c, e in zip(counts.tolist(), ends.tolist())]


def reduce_scatter(array, op: str = "sum") -> np.ndarray:
    """Rank r gets block r of the elementwise reduction over ranks: `array`'s leading axis
    (the same on every rank) is cut into world_size equal blocks.  (N·k, ...) -> (k, ...).
    op='mean' divides by world_size."""
    a = _reducible(np.ascontiguousarray(_as_array(array, "reduce_scatter")), "reduce_scatter")
    mpi_op = _mpi_op(op, "reduce_scatter")
    if op == "mean" and a.dtype.kind != "f":
        raise TypeError(f"reduce_scatter: op='mean' needs a floating-point array, got {a.dtype}")
    n = world_size()
    if a.ndim == 0 or a.shape[0] % n:
        raise ValueError(f"reduce_scatter: the leading axis of shape {a.shape} must be divisible "
                         f"by the world size {n} (one equal block per rank)")
    k = a.shape[0] // n
    if n == 1:
        out = a.copy()
    else:
        out = np.empty((k,) + a.shape[1:], dtype=a.dtype)
        wait(_state.comm.Ireduce_scatter_block(a, out, op=mpi_op),
             f"reduce_scatter({a.dtype}{list(a.shape)}, op={op!r})")
    if op == "mean":
        out /= n
    return out


def barrier() -> None:
    """Every rank waits here until all have arrived."""
    if world_size() > 1:
        wait(_state.comm.Ibarrier(), "barrier")


def on_main_process(fn, *args, **kwargs):
    """fn(*args, **kwargs) on rank 0 only (writing a checkpoint, printing), then a barrier,
    so no rank reads the file before it is complete.  Returns fn's result on rank 0, None
    elsewhere.  If fn raises on rank 0, the exception aborts the job (init's excepthook)."""
    result = fn(*args, **kwargs) if rank() == 0 else None
    barrier()
    return result
