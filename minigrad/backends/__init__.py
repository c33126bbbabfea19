"""Kernels behind names: the same functions (matmul, softmax, ...) from interchangeable backends.

The ops in `minigrad/ops/` never compute their hot loops themselves; they ask the active
backend, so model code never changes when the backend does (the minitorch idea).

    numpy   numpy_ref.py, the readable reference the lessons show (always available)

Choose with `mg.set_backend("numpy")`, `with mg.backend("numpy"): ...`, or the
MINIGRAD_BACKEND environment variable.
"""
from __future__ import annotations

import contextlib
import importlib
import os

_MODULES = {"numpy": "minigrad.backends.numpy_ref"}
_loaded = {}
_active = None


def available() -> list[str]:
    """Names of the backends that exist in this version."""
    return list(_MODULES)


def get(name: str):
    if name not in _MODULES:
        raise ValueError(f"unknown backend {name!r}; choose one of {available()}")
    if name not in _loaded:
        _loaded[name] = importlib.import_module(_MODULES[name])
    return _loaded[name]


def current():
    """The active backend module."""
    global _active
    if _active is None:
        _active = get(os.environ.get("MINIGRAD_BACKEND", "numpy"))
    return _active


def current_name() -> str:
    return current().NAME


def set_backend(name: str) -> None:
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
