"""The NumPy reference backend: the readable version of every kernel, and the oracle that the
fast backends are tested against."""
from __future__ import annotations

import numpy as np

NAME = "numpy"


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., n, k) @ (..., k, m) -> (..., n, m), batch dims broadcast."""
    return np.matmul(a, b)


def softmax(x: np.ndarray, dim: int) -> np.ndarray:
    """e^(x - max) / Σ e^(x - max) along `dim` (§4.1). A row that is all -inf gives zeros."""
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)
    e = np.exp(x - m)
    s = np.sum(e, axis=dim, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, e / np.where(s > 0, s, 1), 0.0).astype(x.dtype, copy=False)


def log_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    """x - max - log Σ e^(x - max) along `dim` (§4.2)."""
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)
    shifted = x - m
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
