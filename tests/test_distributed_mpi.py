"""Data parallelism run for real (§8): `mpiexec -n 2 python tests/dist_worker.py ...` started
from here, compared with one process (issue 14 §3).

    2 ranks × B/2 == 1 rank × B      GPT and BERT with dropout, AdamW, clipping; 3 steps:
                                     float64 within 1e-12, float32 within 1e-5 (loss curve
                                     and parameters)
    accumulation under DDP            2 micro-batches per rank (no_sync) == the large batch
    activation checkpointing + DDP    the same numbers, every parameter reduced once
    ZeRO-1 == DDP + AdamW             and its optimizer state per rank is half of AdamW's
    unused parameters                 no deadlock; a parameter no rank used keeps grad None
    checkpoints                       saved with 2 ranks, resumed with 1, and the other way
    failures                          a rank that raises, exits or hangs ends the job, non-zero,
                                      within seconds, with a message naming it

Skipped, saying why, where mpi4py or mpiexec is missing (pip install -e ".[distributed]").
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("dist_worker.py")


def _mpiexec():
    here = Path(sys.executable).parent / "mpiexec"      # mpich from PyPI puts it in the venv
    return str(here) if here.exists() else shutil.which("mpiexec")


try:
    import mpi4py  # noqa: F401
    _HAVE_MPI4PY = True
except ImportError:
    _HAVE_MPI4PY = False

pytestmark = [
    pytest.mark.skipif(not _HAVE_MPI4PY, reason='mpi4py is not installed (pip install -e ".[distributed]")'),
    pytest.mark.skipif(_mpiexec() is None, reason='no mpiexec on PATH (pip install -e ".[distributed]" '
                                                  'brings mpich with it)'),
]


def run_worker(n, *args, timeout=240, check=True):
    """mpiexec -n N python tests/dist_worker.py ARGS, one thread per process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    cmd = [_mpiexec(), "-n", str(n), sys.executable, str(WORKER), *map(str, args)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc, elapsed


@pytest.fixture(scope="module")
def main_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "main.json"
    run_worker(2, "main", "--out", out)
    return json.loads(out.read_text())


TOLERANCE = {"float64": 1e-12, "float32": 1e-5}


@pytest.mark.parametrize("kind", ["gpt", "bert"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_two_ranks_half_batch_equal_one_rank_whole_batch(main_results, kind, dtype):
    r = main_results[f"{kind}_{dtype}"]
    assert main_results["world_size"] == 2
    assert r["moved"] > 1e-3                  # training changed the weights: a real comparison
    assert r["loss_diff"] <= TOLERANCE[dtype], r
    assert r["param_diff"] <= TOLERANCE[dtype], r


def test_activation_checkpointing_under_ddp(main_results):
    assert main_results["checkpointing"]["param_diff"] <= 1e-12, main_results["checkpointing"]


def test_without_per_sample_dropout_keys_the_runs_differ(main_results):
    """The control: each rank drawing its masks from its own generator is another computation."""
    assert main_results["control_unkeyed_dropout"]["param_diff"] > 1e-6


def test_accumulation_under_ddp_equals_the_large_batch(main_results):
    r = main_results["accumulation"]
    assert r["loss_diff"] <= 1e-12 and r["param_diff"] <= 1e-12, r


def test_zero1_equals_ddp_and_shards_the_state(main_results):
    r = main_results["zero"]
    assert r["param_diff"] <= 1e-12, r
    full = r["full_state_bytes"]             # plain AdamW: m and v for every element, 16 B in f64
    assert full == 2 * 8 * r["numel"]
    for per_rank in r["state_bytes"]:
        assert per_rank <= full / 2 + 64, r   # 1/N of the moments (+ a boundary element)
    assert sum(r["state_bytes"]) == full


def test_buckets_start_during_backward(main_results):
    """Every bucket starts its all-reduce from a hook inside backward (the last one when the
    embedding's gradient is complete, at the very end); with overlap=False none does."""
    on, off = main_results["overlap_True"], main_results["overlap_False"]
    assert on["buckets"] >= 5
    assert on["started_in_backward"] == on["buckets"], on
    assert off["started_in_backward"] == 0, off


def test_unused_parameters_do_not_deadlock(main_results):
    r = main_results["unused"]
    assert r["a_diff"] <= 1e-15 and r["b_diff"] <= 1e-15, r   # b: used by rank 0 only
    assert r["c_grad_is_none"]                 # used by no rank: no gradient, as one process


def test_checkpoint_saved_with_2_ranks_resumes_with_1_and_back(tmp_path):
    for saver, resumer in ((2, 1), (1, 2)):
        ckpt, cont = tmp_path / f"ckpt{saver}.safetensors", tmp_path / f"cont{saver}.safetensors"
        run_worker(saver, "save", "--checkpoint", ckpt, "--continuation", cont,
                   "--out", tmp_path / f"save{saver}.json")
        out = tmp_path / f"resume{resumer}.json"
        run_worker(resumer, "resume", "--checkpoint", ckpt, "--continuation", cont, "--out", out)
        r = json.loads(out.read_text())
        saved = json.loads((tmp_path / f"save{saver}.json").read_text())
        assert r["param_diff"] <= 1e-12, (saver, resumer, r)
        assert r["losses"] == pytest.approx(saved["losses"], abs=1e-12)


def test_a_rank_that_raises_ends_the_job_with_its_message():
    proc, elapsed = run_worker(2, "crash", "--timeout", "60", timeout=120, check=False)
    assert proc.returncode != 0
    assert "rank 1 fails on purpose" in proc.stderr
    assert "rank 1 of 2: raised RuntimeError" in proc.stderr
    assert elapsed < 30, elapsed              # MPI_Abort, not rank 0's 60 s timeout


def test_a_rank_that_exits_ends_the_job():
    proc, elapsed = run_worker(2, "die", "--timeout", "60", timeout=120, check=False)
    assert proc.returncode != 0
    assert elapsed < 30, elapsed


def test_a_rank_that_hangs_times_out_with_a_message():
    proc, elapsed = run_worker(2, "hang", "--timeout", "2", timeout=120, check=False)
    report = (proc.returncode, elapsed, proc.stdout, proc.stderr)
    assert proc.returncode != 0, report
    assert "did not complete within 2 s" in proc.stderr, report
    assert "rank 0 of 2" in proc.stderr, report
    assert elapsed < 60, report               # not rank 1's 120 s sleep
