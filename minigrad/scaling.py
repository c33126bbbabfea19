"""Scaling laws (§8 模型规模 / 计算成本, §9.1): what the loss of a language model does as it grows.

    L(N) = E + A / N^α          N: non-embedding parameters; E: the loss no model size removes
                                 (the entropy of the text, plus what a fixed budget leaves)

Kaplan et al. 2020 ("Scaling Laws for Neural Language Models") fit L(N) = (N_c / N)^α_N with
α_N ≈ 0.076 (no E: their models never came near it); Chinchilla (Hoffmann et al. 2022) fit
L(N, D) = E + A / N^α + B / D^β with E = 1.69, A = 406.4, α = 0.34, B = 410.7, β = 0.28
(nats per token of their BPE vocabulary).  `fit_power_law` fits the first form by least
squares with NumPy only: for a fixed α the model is linear in (E, A), so a 1-D search over α
with a linear solve at each point (variable projection) finds the global least-squares fit.

Training compute (§8 计算成本): C ≈ 6·N·D FLOPs for N parameters and D tokens (2 for the
forward's multiply-adds, 4 for the backward's two products per weight).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["KAPLAN_ALPHA_N", "CHINCHILLA", "PowerLawFit", "fit_power_law", "chinchilla_loss",
           "training_flops", "non_embedding_parameters"]

KAPLAN_ALPHA_N = 0.076          # Kaplan et al. 2020, eq. 1.1: L(N) = (N_c / N)^0.076
KAPLAN_N_C = 8.8e13             # their N_c (non-embedding parameters), nats per BPE token
CHINCHILLA = dict(E=1.69, A=406.4, alpha=0.34, B=410.7, beta=0.28)   # Hoffmann et al. 2022, eq. 10


@dataclass
class PowerLawFit:
    """L(N) = E + A / N^alpha, fitted to points (N, L); rmse in the units of L."""
    E: float
    A: float
    alpha: float
    rmse: float
    points: int

    def __call__(self, n):
        return self.E + self.A / np.asarray(n, dtype=np.float64) ** self.alpha

    def to_dict(self) -> dict:
        return asdict(self)


def _linear_fit(n, loss, alpha):
    """For a fixed α: (E, A, squared error) of the least-squares line loss ≈ E + A·N^-α,
    with E ≥ 0 and A ≥ 0 (a negative one is set to 0 and the other refitted)."""
    x = n ** -alpha
    X = np.stack([np.ones_like(x), x], axis=1)                          # (P, 2)
    (E, A), *_ = np.linalg.lstsq(X, loss, rcond=None)
    if E < 0:
        E, A = 0.0, max(float(x @ loss / (x @ x)), 0.0)
    elif A < 0:
        E, A = float(loss.mean()), 0.0
    r = loss - (E + A * x)
    return float(E), float(A), float(r @ r)


def fit_power_law(n, loss, alphas=None) -> PowerLawFit:
    """Least-squares fit of L(N) = E + A / N^α to points (n[i], loss[i]).

    A grid of α (default 0.005..2, log-spaced) with the exact linear solve for (E, A) at each,
    then a golden-section refinement around the best grid point.  Needs 3+ points."""
    n = np.asarray(n, dtype=np.float64)
    loss = np.asarray(loss, dtype=np.float64)
    if n.shape != loss.shape or n.ndim != 1:
        raise ValueError(f"fit_power_law: n and loss must be 1-D of one length, got {n.shape} and {loss.shape}")
    if len(n) < 3:
        raise ValueError(f"fit_power_law: 3 parameters need at least 3 points, got {len(n)}")
    if np.any(n <= 0) or not np.all(np.isfinite(loss)):
        raise ValueError("fit_power_law: n must be positive and loss finite")
    grid = np.geomspace(0.005, 2.0, 400) if alphas is None else np.asarray(alphas, dtype=np.float64)
    errors = [_linear_fit(n, loss, a)[2] for a in grid]
    i = int(np.argmin(errors))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    golden = (np.sqrt(5) - 1) / 2
    for _ in range(60):                                    # golden-section search on [lo, hi]
        a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
        if _linear_fit(n, loss, a)[2] < _linear_fit(n, loss, b)[2]:
            hi = b
        else:
            lo = a
    alpha = (lo + hi) / 2
    E, A, sse = _linear_fit(n, loss, alpha)
    return PowerLawFit(E=E, A=A, alpha=float(alpha), rmse=float(np.sqrt(sse / len(n))), points=len(n))


def chinchilla_loss(n, d=None):
    """Chinchilla's fit (nats per token): E + A/N^α + B/D^β; with d=None the data term is left
    out (infinite data), i.e. the L(N) part alone."""
    c = CHINCHILLA
    n = np.asarray(n, dtype=np.float64)
    out = c["E"] + c["A"] / n ** c["alpha"]
    if d is not None:
        out = out + c["B"] / np.asarray(d, dtype=np.float64) ** c["beta"]
    return out


def training_flops(n_params, tokens) -> float:
    """C ≈ 6·N·D (§8 计算成本): forward 2·N·D, backward 4·N·D floating-point operations."""
    return 6.0 * float(n_params) * float(tokens)


def non_embedding_parameters(model) -> int:
    """Parameters outside the token and position tables (Kaplan et al.'s N); the tied lm_head
    is the token table, so it is not counted either."""
    tables = {id(m.weight) for name, m in model.named_modules()
              if type(m).__name__ == "Embedding"}
    return int(sum(p.numel() for p in model.parameters() if id(p) not in tables))
