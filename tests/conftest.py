"""Shared test settings.

Hypothesis profiles (choose with the HYPOTHESIS_PROFILE environment variable):
    minigrad  (default)  few examples per test, no deadline: the engine suite runs in well under
                         a minute on a 2-core laptop
    thorough             many more examples, for a slow, careful run before a release
    ci                   like `minigrad`, but derandomized so every run draws the same cases
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])
settings.register_profile("minigrad", max_examples=8, **_COMMON)
settings.register_profile("ci", max_examples=8, derandomize=True, **_COMMON)
settings.register_profile("thorough", max_examples=200, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "minigrad"))


@pytest.fixture(autouse=True)
def _restore_engine_modes():
    """A failing test must not leave grad mode or anomaly mode switched for the next one."""
    from minigrad.autograd import mode

    grad_enabled, anomaly = mode.grad_enabled, mode.anomaly
    yield
    mode.grad_enabled, mode.anomaly = grad_enabled, anomaly


@pytest.fixture
def rng():
    return np.random.default_rng(0)
