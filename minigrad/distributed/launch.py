"""Starting an MPI job from Python: `minigrad train --nproc 2 ...` runs

    mpiexec -n 2 <this python> -m minigrad train ... --distributed

with the mpiexec of the virtual environment (mpich from PyPI puts it beside python), else the
one on PATH.  Each process gets cores/N threads for NumPy's BLAS and the kernels (unless
OMP_NUM_THREADS is set already), so N processes do not fight over the same cores.  On a
cluster, call mpiexec (or srun) yourself with --distributed: the same command, the same code.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .comm import INSTALL_HINT

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def mpiexec_path() -> str | None:
    """The virtual environment's mpiexec, else the one on PATH, else None."""
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def check_available() -> str:
    """The mpiexec to use; raises RuntimeError naming the `distributed` extra when mpi4py or
    mpiexec is missing."""
    missing = []
    if importlib.util.find_spec("mpi4py") is None:
        missing.append("mpi4py")
    mpiexec = mpiexec_path()
    if mpiexec is None:
        missing.append("mpiexec (an MPI runtime)")
    if missing:
        raise RuntimeError(f"{' and '.join(missing)} not found. {INSTALL_HINT}")
    return mpiexec


def thread_env(nproc: int, env=None) -> dict:
    """The environment for nproc processes on this machine: cores // nproc threads each,
    unless the caller chose already (OMP_NUM_THREADS set)."""
    env = dict(os.environ if env is None else env)
    if "OMP_NUM_THREADS" not in env:
        threads = str(max(1, (os.cpu_count() or 1) // nproc))
        for name in THREAD_VARIABLES:
            env.setdefault(name, threads)
    return env


def launch(nproc: int, module_args, extra_mpiexec_args=()) -> int:
    """Run `python -m <module_args...>` as an MPI job of nproc processes; returns its exit
    status (mpiexec's: non-zero when a rank failed)."""
    if int(nproc) < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    mpiexec = check_available()
    cmd = [mpiexec, "-n", str(int(nproc)), *extra_mpiexec_args, sys.executable, "-m", *module_args]
    proc = subprocess.Popen(cmd, env=thread_env(int(nproc)))
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:      # the ranks got Ctrl-C too: they save and stop; wait for them
            continue
