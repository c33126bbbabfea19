"""One random generator for the whole library, so `mg.manual_seed(n)` makes initialisation,
dropout and sampling reproducible."""
from __future__ import annotations

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
