"""minigrad.memory: freed blocks are reused instead of page-faulted in again (§8 模型效率)."""
import platform
import subprocess
import sys

import pytest

import minigrad as mg

glibc_only = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="malloc tuning applies to glibc only")

# Allocate and free 30 arrays of 1.5 MB at a time, like the temporaries of a training step,
# and count the page faults of the last 20 rounds.
PROBE = """
import resource, numpy as np, minigrad as mg
def rounds(n):
    for _ in range(n):
        keep = [np.ones((12, 64, 512), np.float32) * 2.0 for _ in range(30)]
        del keep
rounds(3)
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
rounds(20)
print(mg.memory.malloc_tuned(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def _probe(env_value):
    env = {"MINIGRAD_MALLOC": env_value, "PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    return out[0] == "True", int(out[1])


@glibc_only
def test_reuse_removes_the_page_faults_of_repeated_allocations():
    tuned, faults_tuned = _probe("reuse")
    untuned, faults_system = _probe("system")
    assert tuned and not untuned
    # 20 rounds x 30 arrays x 384 pages: ~230,000 faults when every array gets fresh pages
    assert faults_system > 100_000
    assert faults_tuned < faults_system / 20


@glibc_only
def test_applied_at_import_by_default():
    assert mg.memory.malloc_tuned() or "MINIGRAD_MALLOC" in __import__("os").environ


def test_a_bad_setting_is_refused_with_a_message():
    r = subprocess.run([sys.executable, "-c", "import minigrad"], capture_output=True, text=True,
                       env={"MINIGRAD_MALLOC": "fast", "PATH": "/usr/bin:/bin"})
    assert r.returncode != 0
    assert "MINIGRAD_MALLOC must be 'reuse'" in r.stderr
