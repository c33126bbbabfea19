"""Reusing freed memory instead of asking the OS for fresh pages (§8 模型效率).

A training step makes hundreds of temporary arrays of 0.1–20 MB and frees them a moment later.
By default glibc's malloc serves blocks of that size with `mmap` and gives them back with
`munmap` (or trims the heap), so the next array gets *new* pages from the kernel, and the
first write to each 4 KiB page is a page fault.  On the machines this project was measured on
that made `a * b` on a (12, 64, 512) float32 array 15x slower inside a training step
(1.1 ms instead of 0.07 ms) and the whole GPT step ~2x slower (benchmarks/README.md).

`keep_freed_memory()` tells malloc (through `mallopt`) to serve blocks up to 32 MiB from its
heap and not to hand freed memory back until 512 MiB of it are free, so a training step
reuses the pages of the previous one.  The cost: a process keeps up to that much freed
memory.  minigrad calls it once at import; set MINIGRAD_MALLOC=system before importing to
leave malloc as it is.  It only acts where the C library is glibc (Linux); elsewhere it does
nothing and returns False.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

_M_TRIM_THRESHOLD = -1            # mallopt parameter numbers, from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024     # the largest value glibc accepts on 64-bit systems
TRIM_THRESHOLD = 512 * 1024 * 1024

_state = {"tuned": False}


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep and reuse freed blocks of up to 32 MiB (see the module
    docstring).  Returns True when the settings were applied."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
              and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    except (OSError, AttributeError):
        return False
    _state["tuned"] = bool(ok)
    return _state["tuned"]


def malloc_tuned() -> bool:
    """True when keep_freed_memory() has been applied in this process."""
    return _state["tuned"]


def _at_import() -> None:
    setting = os.environ.get("MINIGRAD_MALLOC", "reuse").strip().lower()
    if setting == "system":
        return
    if setting != "reuse":
        raise ValueError(f"MINIGRAD_MALLOC must be 'reuse' (the default) or 'system', got {setting!r}")
    keep_freed_memory()
