"""The autograder's machinery: lessons, tasks, loading a student's file, running checks safely,
and the table it prints.

A lesson's checks live in one module, `lessonNN.py`, next to this file:

    from .core import CheckFailed, Lesson, assert_close

    LESSON = Lesson(3, "03_attention", "Self-attention", "§4.1 自注意力机制")

    @LESSON.task("3.1", "the causal mask", hint="query t may look at keys 0..t: np.tril")
    def check_causal_mask(ex):              # ex: the student's exercises module
        assert_close(ex.causal_mask(4), np.tril(np.ones((4, 4), bool)), "causal_mask(4)")

A check passes when it returns, and fails when it raises: `CheckFailed` (or AssertionError)
carries the reason that is printed; NotImplementedError means "not implemented yet"; any other
exception is reported as a crash of the student's code, with the line it came from.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np

PASSED, FAILED, TODO, CRASHED, TIMEOUT = "PASS", "FAIL", "TODO", "ERROR", "TIMEOUT"


class CheckFailed(AssertionError):
    """A check's verdict: the student's result is wrong (the message says how)."""


class TaskTimeout(Exception):
    """Raised inside a task that ran past its time limit."""


@dataclasses.dataclass
class Task:
    id: str                 # "3.2"
    title: str              # "the backward of softmax"
    check: object           # check(exercises_module) -> None, raises on failure
    hint: str               # printed under a failure
    timeout: float = 30.0   # seconds


@dataclasses.dataclass
class TaskResult:
    task: Task
    status: str             # PASSED, FAILED, TODO, CRASHED or TIMEOUT
    message: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED


class Lesson:
    """One lesson's tasks.  `folder` is its directory under lessons/ (and the name of the
    reference solution lessons/solutions/<folder>.py)."""

    def __init__(self, number: int, folder: str, title: str, sections: str):
        self.number, self.folder, self.title, self.sections = number, folder, title, sections
        self.tasks: list[Task] = []

    def task(self, id: str, title: str, hint: str, timeout: float = 30.0):
        """Decorator: register a check function as task `id`."""
        def register(fn):
            self.tasks.append(Task(id, title, fn, hint, timeout))
            return fn
        return register

    def __repr__(self):
        return f"<Lesson {self.number}: {self.title} ({len(self.tasks)} tasks)>"


# ----------------------------------------------------------------------------------------
# Helpers for writing checks
# ----------------------------------------------------------------------------------------
def to_array(x, what: str) -> np.ndarray:
    """A Tensor's data or an array-like as an ndarray; anything else fails the check."""
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        return x.data
    if x is None:
        raise CheckFailed(f"{what} returned None (did you forget a `return`?)")
    try:
        return np.asarray(x)
    except Exception:  # noqa: BLE001
        raise CheckFailed(f"{what} returned a {type(x).__name__}, expected an array or Tensor") from None


def assert_close(actual, expected, what: str, atol: float = 1e-6, rtol: float = 1e-5):
    """Fail with a readable message unless `actual` has `expected`'s shape and values."""
    a, e = to_array(actual, what), to_array(expected, "the reference")
    if a.shape != e.shape:
        raise CheckFailed(f"{what}: shape {a.shape}, expected {e.shape}")
    if e.dtype == np.bool_ or a.dtype == np.bool_:
        if a.dtype != np.bool_:
            raise CheckFailed(f"{what}: dtype {a.dtype}, expected a bool array")
        bad = a != e
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise CheckFailed(f"{what}: {int(bad.sum())} of {bad.size} entries differ, first at "
                              f"{idx}: got {a[idx]}, expected {e[idx]}")
        return
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    if not np.isfinite(a64).all() and np.isfinite(e64).all():
        kind = "NaN" if np.isnan(a64).any() else "Inf"
        raise CheckFailed(f"{what}: the result contains {kind} (the reference is finite)")
    bad = ~np.isclose(a64, e64, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        err = float(np.nanmax(np.abs(a64 - e64)))
        raise CheckFailed(f"{what}: {int(bad.sum())} of {bad.size} values differ (largest error "
                          f"{err:.3g}); first at {idx}: got {a64[idx]:.6g}, expected {e64[idx]:.6g}")


def require(condition, message: str):
    if not condition:
        raise CheckFailed(message)


def get(module, name: str):
    """The student's function or class `name`, or a failure saying it is missing."""
    if not hasattr(module, name):
        raise CheckFailed(f"your file defines no `{name}` (keep the names of the stub file)")
    return getattr(module, name)


@contextlib.contextmanager
def forbid(owner, attr: str, advice: str):
    """Inside the block, calling `owner.attr` fails the check with `advice` (so a task that asks
    for softmax written with exp and sum cannot call the library's softmax)."""
    own = attr in getattr(owner, "__dict__", {})
    original = owner.__dict__[attr] if own else None

    def refuse(*args, **kwargs):
        raise CheckFailed(f"this task asks you to write it yourself: {advice}")

    setattr(owner, attr, refuse)
    try:
        yield
    finally:
        if own:
            setattr(owner, attr, original)
        else:
            delattr(owner, attr)     # inherited (e.g. Function.apply): uncover it again


def _refused(*args, **kwargs):
    # No free variables and only builtins: this code object can stand in for any plain
    # function's (see forbid_function), whatever module that function lives in.
    raise AssertionError("this task asks you to write it yourself, not to call the library's "
                         "version (see the docstring)")


@contextlib.contextmanager
def forbid_function(*functions):
    """Inside the block, calling any of `functions` (plain library functions) fails the task.
    Their code is swapped, so this also catches a name the student imported with
    `from minigrad... import f` before the check ran."""
    saved = [(f, f.__code__) for f in functions]
    try:
        for f, _ in saved:
            f.__code__ = _refused.__code__
        yield
    finally:
        for f, code in saved:
            f.__code__ = code


# ----------------------------------------------------------------------------------------
# Loading the student's file
# ----------------------------------------------------------------------------------------
class LoadError(Exception):
    """The student's file is missing or cannot be imported (the message says why)."""


def load_exercises(path: Path):
    """Import the file at `path` as a fresh module (never cached: every check sees the latest
    edit).  A syntax error or an exception at import time becomes LoadError."""
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"no such file: {path}")
    name = f"_minigrad_exercises_{abs(hash(str(path.resolve())))}_{time.monotonic_ns()}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module           # dataclasses and pickling need the module registered
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # noqa: BLE001  (student code: SystemExit, KeyboardInterrupt too)
        sys.modules.pop(name, None)
        if isinstance(e, KeyboardInterrupt):
            raise
        raise LoadError(f"importing {path} failed:\n{_describe_exception(e, path)}") from None
    return module


def _describe_exception(e: BaseException, path: Path | None = None) -> str:
    """'ValueError: ... (exercises.py, line 12: x = ...)': the deepest frame in the student's file."""
    where = ""
    frames = traceback.extract_tb(e.__traceback__)
    if isinstance(e, SyntaxError) and e.filename:
        where = f" ({Path(e.filename).name}, line {e.lineno})"
    elif frames:
        mine = [f for f in frames if path is not None and Path(f.filename) == Path(path)]
        f = (mine or frames)[-1]
        where = f" ({Path(f.filename).name}, line {f.lineno}: {(f.line or '').strip()})"
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}{where}"


# ----------------------------------------------------------------------------------------
# Running tasks
# ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise TaskTimeout in the main thread after `seconds` (POSIX; elsewhere no limit)."""
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise TaskTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _sandboxed_engine():
    """Every task starts from the same engine state (seed, grad mode, anomaly mode, the readable
    NumPy backend) and whatever the student's code switches is switched back afterwards."""
    from .. import backends
    from ..autograd import mode
    from ..random import get_rng_state, manual_seed, set_rng_state

    saved = (mode.grad_enabled, mode.anomaly, mode.in_backward_rule, get_rng_state())
    previous_backend = backends._active
    mode.grad_enabled, mode.anomaly, mode.in_backward_rule = True, False, False
    backends.set_backend("numpy")
    manual_seed(0)
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        mode.grad_enabled, mode.anomaly, mode.in_backward_rule = saved[:3]
        set_rng_state(saved[3])
        backends._active = previous_backend


def run_task(task: Task, module, path: Path | None = None) -> TaskResult:
    start = time.perf_counter()
    try:
        with _sandboxed_engine(), _time_limit(task.timeout):
            task.check(module)
        status, message = PASSED, ""
    except NotImplementedError:
        status, message = TODO, "not implemented yet (the stub still raises NotImplementedError)"
    except TaskTimeout:
        status, message = TIMEOUT, f"took longer than {task.timeout:g} s (an endless loop?)"
    except AssertionError as e:                 # CheckFailed, or a student's own assert
        status = FAILED
        message = str(e) if isinstance(e, CheckFailed) else _describe_exception(e, path)
        if message.startswith("AssertionError: this task asks you"):   # forbid_function
            message = message[len("AssertionError: "):]
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001  (student code may raise anything, SystemExit too)
        status, message = CRASHED, _describe_exception(e, path)
    return TaskResult(task, status, message, time.perf_counter() - start)


def run_lesson(lesson: Lesson, path: Path, only: str | None = None) -> list[TaskResult]:
    """Run every task of `lesson` (or only the task with id `only`) against the file at `path`.
    A file that cannot be imported fails every task with the import error."""
    tasks = [t for t in lesson.tasks if only is None or t.id == only]
    try:
        with _sandboxed_engine():
            module = load_exercises(path)
    except LoadError as e:
        return [TaskResult(t, CRASHED, str(e)) for t in tasks]
    return [run_task(t, module, path) for t in tasks]


# ----------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------
def format_table(lesson: Lesson, path: Path, results: list[TaskResult]) -> str:
    lines = [f"Lesson {lesson.number}: {lesson.title} ({lesson.sections})",
             f"checking {path}", ""]
    w_title = max([len(r.task.title) for r in results] + [len("Task")])
    lines.append(f"  {'Task':<5} {'Title':<{w_title}}  {'Result':<7} {'Time':>6}")
    lines.append("  " + "-" * (5 + 1 + w_title + 2 + 7 + 1 + 6))
    for r in results:
        lines.append(f"  {r.task.id:<5} {r.task.title:<{w_title}}  {r.status:<7} {r.seconds:5.2f}s")
        if not r.passed:
            for i, text in enumerate(r.message.splitlines() or [""]):
                lines.append(f"        {'why:  ' if i == 0 else '      '}{text}")
            lines.append(f"        hint: {r.task.hint}")
    n = sum(r.passed for r in results)
    lines += ["", f"{n}/{len(results)} tasks passed" + ("" if n < len(results) else ". Well done!")]
    return "\n".join(lines)
