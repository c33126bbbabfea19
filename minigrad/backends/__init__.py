"""Kernels behind names: the same functions (matmul, softmax, ...) from interchangeable backends.

The ops in `minigrad/ops/` never compute their hot loops themselves; they ask the active
backend, so model code never changes when the backend does (the minitorch idea).

    numpy   numpy_ref.py, the readable reference the lessons show (always available)
    numba   numba_cpu.py + numba_attention.py: @njit CPU kernels, fused attention (§8 模型效率)
    cuda    cuda.py: numba.cuda GPU kernels (or the CUDA simulator, NUMBA_ENABLE_CUDASIM=1)

Every backend provides the same names, with the same array-in, array-out contract:

    matmul(a, b)                                   softmax(x, dim)      log_softmax(x, dim)
    softmax_backward(y, g, dim)                    log_softmax_backward(y, g, dim)
    attention_forward(q, k, v, bias, causal, scale) -> out, lse
    attention_backward(q, k, v, bias, causal, scale, out, lse, dout) -> dq, dk, dv
    to_device(a), to_host(a)                       (identity on the CPU backends)

Optional kernels (ops/fused.py uses them when the active backend has them, and the composite
formula from engine ops otherwise; numpy and numba have them, cuda does not yet):

    gelu(x, approximate), gelu_backward(x, g, approximate)
    layer_norm(x, w, b, eps) -> y, mean, rstd      layer_norm_backward(x, w, mean, rstd, g)
    adam_update(p, g, m, v, ...) -> bool           (numba only; optim/adam.py's NumPy lines otherwise)

and agrees with numpy_ref.py within a stated tolerance (tests/test_kernels.py: relative error
<= 1e-5 in float32, <= 1e-12 in float64).

Choose with `mg.set_backend("numba")`, `with mg.backend("numpy"): ...`, or the
MINIGRAD_BACKEND environment variable; `mg.get_backend()` says which one is active.  The default is "numba" when Numba imports (it is the
fastest correct backend on a CPU; see benchmarks/README.md), else "numpy".
"""
from __future__ import annotations

import contextlib
import importlib
import os

_MODULES = {"numpy": "minigrad.backends.numpy_ref",
            "numba": "minigrad.backends.numba_cpu",
            "cuda": "minigrad.backends.cuda"}
_loaded = {}
_active = None


class BackendUnavailable(RuntimeError):
    """A backend that exists but cannot run here (no Numba, no GPU or driver, ...)."""


def available() -> list[str]:
    """Names of the backends that exist in this version (see `usable` for which can run)."""
    return list(_MODULES)


def usable(name: str) -> bool:
    """True when backend `name` can run on this machine (cuda: a GPU, or the simulator)."""
    try:
        get(name)
        return True
    except BackendUnavailable:
        return False


def get(name: str):
    """The backend module called `name`, imported on first use."""
    if name not in _MODULES:
        raise ValueError(f"unknown backend {name!r}; choose one of {available()}")
    if name not in _loaded:
        try:
            _loaded[name] = importlib.import_module(_MODULES[name])
        except ImportError as e:
            raise BackendUnavailable(
                f"the {name!r} backend cannot be imported: {e}. Install Numba "
                "(`pip install numba`) or use mg.set_backend('numpy').") from e
    return _loaded[name]


def default_name() -> str:
    """$MINIGRAD_BACKEND if set, else 'numba' when Numba imports, else 'numpy'."""
    name = os.environ.get("MINIGRAD_BACKEND")
    if name:
        return name
    return "numba" if usable("numba") else "numpy"


def current():
    """The active backend module."""
    global _active
    if _active is None:
        _active = get(default_name())
    return _active


def current_name() -> str:
    return current().NAME


def get_backend() -> str:
    """The name of the active backend ("numpy", "numba" or "cuda"): `mg.get_backend()`."""
    return current_name()


def set_backend(name: str) -> None:
    """Make `name` the active backend for every op from now on."""
    global _active
    _active = get(name)


@contextlib.contextmanager
def backend(name: str):
    """`with mg.backend("numpy"): ...` runs the block on that backend, then restores."""
    global _active
    previous = current()
    _active = get(name)
    try:
        yield _active
    finally:
        _active = previous
