"""The autograder's machinery: lessons, tasks, loading a student's file, running checks safely,
and the table it prints.

A lesson's checks live in one module, `lessonNN.py`, next to this file:

    from .core import CheckFailed, Lesson, assert_close

    LESSON = Lesson(3, "03_attention", "Self-attention", "§4.1 自注意力机制")

    @LESSON.task("3.1", "the causal mask",
                 nudge="§4.1 Masks: query t may see keys 0..t, never the future")
    def check_causal_mask(ex):              # ex: the student's exercises module
        assert_close(ex.causal_mask(4), np.tril(np.ones((4, 4), bool)), "causal_mask(4)")

A check passes when it returns, and fails when it raises: `CheckFailed(check, detail, nudge)`
(or AssertionError) says which check failed, what differs and, optionally, a nudge for this
particular failure; NotImplementedError means "not implemented yet"; any other exception is
reported as a crash of the student's code, with the line it came from.

What a failure shows depends on the hint level (`minigrad lesson check N [--hint | --no-hints]`):

    NO_HINTS  (--no-hints, an exam)  pass/fail and the name of the failed check
    WHAT      (the default)          + what is wrong: the first differing value (index, got,
                                       expected), shapes and dtypes, the exception and the
                                       line of the student's code that raised it
    NUDGE     (--hint)               + a nudge: the formula or section of the chapter, the
                                       function to look at; never the answer's code (the
                                       worked answers are in lessons/solutions/ only)

The details are computed by the checker from the values it compared (see assert_close),
never canned; a check's name and detail say what is wrong, the nudges say where to look.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import signal
import sys
import textwrap
import threading
import time
import traceback
from pathlib import Path

import numpy as np

PASSED, FAILED, TODO, CRASHED, TIMEOUT = "PASS", "FAIL", "TODO", "ERROR", "TIMEOUT"

NO_HINTS, WHAT, NUDGE = 0, 1, 2          # the hint levels: --no-hints, the default, --hint


class CheckFailed(AssertionError):
    """A check's verdict: the student's result is wrong.

    check:  the name of the check that failed, e.g. "softmax(x) of shape (4, 6)" (shown at
            every hint level, so it names the check without giving advice);
    detail: what is wrong, from the values compared: "3 of 24 values differ ...; first at
            [0, 1]: got 0.1, expected 0.2" (the default level and --hint);
    nudge:  a pointer for this particular failure (--hint only), shown before the task's nudge.
    """

    def __init__(self, check: str, detail: str = "", nudge: str = ""):
        self.check, self.detail, self.nudge = check, detail, nudge
        super().__init__(f"{check}: {detail}" if detail else check)


class TaskTimeout(Exception):
    """Raised inside a task that ran past its time limit."""


@dataclasses.dataclass
class Task:
    id: str                 # "3.2"
    title: str              # "the backward of softmax"
    check: object           # check(exercises_module) -> None, raises on failure
    nudge: str              # shown under a failure with --hint: where to look, not the answer
    timeout: float = 30.0   # seconds


@dataclasses.dataclass
class TaskResult:
    task: Task
    status: str             # PASSED, FAILED, TODO, CRASHED or TIMEOUT
    check: str = ""         # which check failed (every hint level)
    detail: str = ""        # what is wrong (WHAT and NUDGE)
    nudge: str = ""         # this failure's own nudge, if the check gave one (NUDGE)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def message(self) -> str:
        """The check and what is wrong, on one line (the default level's text)."""
        return f"{self.check}: {self.detail}" if self.detail else self.check

    def report(self, hints: int = WHAT) -> list[tuple[str, str]]:
        """(label, text) pairs to print under a failure at hint level `hints`."""
        if self.passed:
            return []
        lines = [("check", self.check)]
        if hints >= WHAT and self.detail:
            lines.append(("why", self.detail))
        if hints >= NUDGE:
            for text in (self.nudge, self.task.nudge):
                if text:
                    lines.append(("nudge", text))
        return lines


class Lesson:
    """One lesson's tasks.  `folder` is its directory under lessons/ (and the name of the
    reference solution lessons/solutions/<folder>.py)."""

    def __init__(self, number: int, folder: str, title: str, sections: str):
        self.number, self.folder, self.title, self.sections = number, folder, title, sections
        self.tasks: list[Task] = []

    def task(self, id: str, title: str, nudge: str, timeout: float = 30.0):
        """Decorator: register a check function as task `id`.  `nudge`: a conceptual pointer
        (the formula, the section of the chapter or notebook, the function to look at), shown
        with --hint; never the answer's code (tests/test_autograder_hints.py checks that)."""
        def register(fn):
            self.tasks.append(Task(id, title, fn, nudge, timeout))
            return fn
        return register

    def __repr__(self):
        return f"<Lesson {self.number}: {self.title} ({len(self.tasks)} tasks)>"


# ----------------------------------------------------------------------------------------
# Helpers for writing checks.  They compare values the student's code returned (so the
# comparisons can run apart from the student's code) and say what differs.
# ----------------------------------------------------------------------------------------
def to_array(x, what: str) -> np.ndarray:
    """A Tensor's data or an array-like as an ndarray; anything else fails the check."""
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        return x.data
    if x is None:
        raise CheckFailed(what, "your function returned None (a missing `return`?)")
    try:
        return np.asarray(x)
    except Exception:  # noqa: BLE001
        raise CheckFailed(what, f"your function returned a {type(x).__name__}, expected an array "
                                f"or a Tensor") from None


def _at(idx: tuple) -> str:
    """[0, 2] for an index tuple; '' for the one entry of a 0-d array."""
    return f" at [{', '.join(map(str, idx))}]" if idx else ""


def _dtypes(a: np.ndarray, e: np.ndarray) -> str:
    return "" if a.dtype == e.dtype else f" (your dtype {a.dtype}, the reference's {e.dtype})"


def _num(x) -> str:
    return f"{x:.6g}" if isinstance(x, (float, np.floating)) else str(x)


def compare_arrays(a: np.ndarray, e: np.ndarray, atol: float = 1e-6, rtol: float = 1e-5) -> str:
    """'' when `a` has `e`'s shape and values (to atol + rtol·|e|), else what differs: the shapes,
    or how many entries differ, the largest error and the first differing entry (index, got,
    expected), with the dtypes when they differ.  A pure function of two arrays."""
    a, e = np.asarray(a), np.asarray(e)
    if a.shape != e.shape:
        return f"shape {a.shape}, expected {e.shape}{_dtypes(a, e)}"
    if e.dtype == np.bool_ or a.dtype == np.bool_:
        if a.dtype != np.bool_:
            return f"dtype {a.dtype}, expected a bool array"
        bad = a != e
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return (f"{int(bad.sum())} of {bad.size} entries differ; first{_at(idx)}: got {a[idx]}, "
                    f"expected {e[idx]}")
        return ""
    try:
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
    except (TypeError, ValueError):
        return f"dtype {a.dtype}, expected numbers ({e.dtype})"
    wild = ~np.isfinite(a64) & np.isfinite(e64)
    if wild.any() and wild.size == 1:
        return f"got {a64.reshape(-1)[0]}, expected {_num(e64.reshape(-1)[0])}"
    if wild.any():
        idx = tuple(int(i) for i in np.argwhere(wild)[0])
        return (f"{int(wild.sum())} of {wild.size} values are NaN or Inf where the reference is "
                f"finite; first{_at(idx)}: got {a64[idx]}, expected {_num(e64[idx])}")
    bad = ~np.isclose(a64, e64, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any() and bad.size == 1:
        return (f"got {_num(a64.reshape(-1)[0])}, expected {_num(e64.reshape(-1)[0])} (error "
                f"{abs(a64 - e64).max():.3g}){_dtypes(a, e)}")
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        err = float(np.nanmax(np.abs(a64 - e64)))
        return (f"{int(bad.sum())} of {bad.size} values differ (largest error {err:.3g}); "
                f"first{_at(idx)}: got {_num(a64[idx])}, expected {_num(e64[idx])}{_dtypes(a, e)}")
    return ""


def assert_close(actual, expected, what: str, atol: float = 1e-6, rtol: float = 1e-5,
                 nudge: str = ""):
    """Fail check `what` unless `actual` has `expected`'s shape and values (see compare_arrays)."""
    a, e = to_array(actual, what), to_array(expected, "the reference")
    detail = compare_arrays(a, e, atol, rtol)
    if detail:
        raise CheckFailed(what, detail, nudge)


def expect_equal(got, expected, what: str, nudge: str = ""):
    """Fail check `what` unless got == expected (ints, strings, tuples): 'got X, expected Y'."""
    if not _equal(got, expected):
        raise CheckFailed(what, f"got {_show(got)}, expected {_show(expected)}", nudge)


def expect_number(got, expected: float, what: str, rtol: float = 1e-9, atol: float = 0.0,
                  nudge: str = ""):
    """Fail check `what` unless `got` is a number within atol + rtol·|expected| of `expected`."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise CheckFailed(what, f"got {_show(got)}, expected a number ({expected:.6g})", nudge) from None
    if not abs(value - expected) <= atol + rtol * abs(expected):
        raise CheckFailed(what, f"got {value:.10g}, expected {expected:.10g} (off by "
                                f"{abs(value - expected):.3g})", nudge)


def expect_same_items(got, expected: list, what: str, nudge: str = "", same=None):
    """Fail check `what` unless the list `got` has `expected`'s items in order: the length, or
    the first differing position with both items.  `same(a, b)`: the item comparison."""
    same = same or _equal
    try:
        got = list(got)
    except TypeError:
        raise CheckFailed(what, f"got {_show(got)}, expected a list of {len(expected)} items",
                          nudge) from None
    for i, (g, e) in enumerate(zip(got, expected)):
        if not same(g, e):
            raise CheckFailed(what, f"item {i} differs: got {_show(g)}, expected {_show(e)}", nudge)
    if len(got) != len(expected):
        raise CheckFailed(what, f"{len(got)} items, expected {len(expected)} (got {_show(got)})",
                          nudge)


def _equal(a, b) -> bool:
    try:
        if isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
        return bool(a == b)
    except Exception:  # noqa: BLE001  (a student's value may compare in odd ways)
        return False


def _show(x, limit: int = 160) -> str:
    if isinstance(x, np.generic):
        x = x.item()
    text = repr(x)
    return text if len(text) <= limit else text[:limit - 5] + " ...]"


def require(condition, check: str, detail: str = "", nudge: str = ""):
    """Fail `check` (with what is wrong, `detail`, and this failure's `nudge`) unless condition."""
    if not condition:
        raise CheckFailed(check, detail, nudge)


def get(module, name: str):
    """The student's function or class `name`, or a failure saying it is missing."""
    if not hasattr(module, name):
        raise CheckFailed(f"your file defines `{name}`",
                          f"there is no `{name}` in it (keep the names of the stub file)")
    return getattr(module, name)


@contextlib.contextmanager
def forbid(owner, attr: str, advice: str):
    """Inside the block, calling `owner.attr` fails the check (so a task that asks for softmax
    written with exp and sum cannot call the library's softmax); `advice` is its nudge."""
    own = attr in getattr(owner, "__dict__", {})
    original = owner.__dict__[attr] if own else None
    name = f"{getattr(owner, '__name__', owner)}.{attr}"

    def refuse(*args, **kwargs):
        raise CheckFailed(f"your code does not call the library's {name}",
                          f"it called {name}; this task asks you to write it yourself", advice)

    setattr(owner, attr, refuse)
    try:
        yield
    finally:
        if own:
            setattr(owner, attr, original)
        else:
            delattr(owner, attr)     # inherited (e.g. Function.apply): uncover it again


_REFUSED = "\x00refused\x00"


def _refused(*args, **kwargs):
    # No free variables and only builtins: this code object can stand in for any plain
    # function's (see forbid_function), whatever module that function lives in.  Its name is
    # set to the refused function's, and the message carries it (run_task unpacks it).
    raise AssertionError("\x00refused\x00" + __import__("sys")._getframe(0).f_code.co_qualname)


@contextlib.contextmanager
def forbid_function(*functions):
    """Inside the block, calling any of `functions` (plain library functions) fails the task.
    Their code is swapped, so this also catches a name the student imported with
    `from minigrad... import f` before the check ran."""
    saved = [(f, f.__code__) for f in functions]
    try:
        for f, _ in saved:
            f.__code__ = _refused.__code__.replace(
                co_name=f.__name__, co_qualname=f"{f.__module__}.{f.__qualname__}")
        yield
    finally:
        for f, code in saved:
            f.__code__ = code


def call_watching_locals(fn, *args, **kwargs):
    """Call the student's `fn(*args, **kwargs)` and return (its result, held): held maps each
    local name of fn's own frame that ever held a Tensor (or a list of Tensors: "params[0]") to
    copies of the values it held (at most 16 per name), so a check can tell "the new values were computed, then dropped" from
    "nothing was computed".  The trace covers fn's frame only, not the functions it calls.
    This is the part that must run where the student's code runs; the verdict is computed
    from what it returns."""
    from ..tensor import Tensor

    code = getattr(fn, "__code__", None)
    held: dict[str, list[np.ndarray]] = {}

    def keep(name, value):
        values = held.setdefault(name, [])
        if len(values) < 16 and not any(v.shape == value.shape and np.array_equal(v, value.data)
                                        for v in values):
            values.append(np.array(value.data, copy=True))

    def local_trace(frame, event, arg):
        if event in ("line", "return"):
            for name, value in frame.f_locals.items():
                if isinstance(value, Tensor):
                    keep(name, value)
                elif isinstance(value, (list, tuple)) and len(value) <= 64:
                    for i, item in enumerate(value):          # params = [... for p in params]
                        if isinstance(item, Tensor):
                            keep(f"{name}[{i}]", item)
        return local_trace

    def global_trace(frame, event, arg):
        return local_trace if frame.f_code is code else None

    previous = sys.gettrace()
    sys.settrace(global_trace)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.settrace(previous)
    return result, held


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


def _where(e: BaseException, path: Path | None = None) -> tuple[str, str]:
    """('exercises.py, line 12', 'x = ...'): the deepest frame of the traceback in the student's
    file (else the deepest frame), or the place of a syntax error."""
    if isinstance(e, SyntaxError) and e.filename:
        return f"{Path(e.filename).name}, line {e.lineno}", (e.text or "").strip()
    frames = traceback.extract_tb(e.__traceback__)
    if not frames:
        return "", ""
    mine = [f for f in frames if path is not None and Path(f.filename) == Path(path)]
    f = (mine or frames)[-1]
    return f"{Path(f.filename).name}, line {f.lineno}", (f.line or "").strip()


def _first_line(e: BaseException) -> str:
    text = (e.msg if isinstance(e, SyntaxError) and e.msg else str(e)).strip().splitlines()
    return text[0] if text else ""


def _describe_exception(e: BaseException, path: Path | None = None) -> str:
    """'ValueError: ... (exercises.py, line 12: x = ...)': the deepest frame in the student's file."""
    where, line = _where(e, path)
    place = f" ({where}: {line})" if line else (f" ({where})" if where else "")
    return f"{type(e).__name__}: {_first_line(e)}{place}"


def _crash(e: BaseException, path: Path | None) -> tuple[str, str]:
    """(check, detail) for an exception from the student's code: the check names the exception
    and where it was raised; the detail has its message and the line of code."""
    where, line = _where(e, path)
    check = f"your code raised {type(e).__name__}" + (f" ({where})" if where else "")
    detail = _first_line(e) or "(no message)"
    if line:
        detail += f"\n{where}: {line}"
    return check, detail


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
    check, detail, nudge = "", "", ""
    try:
        with _sandboxed_engine(), _time_limit(task.timeout):
            task.check(module)
        status = PASSED
    except NotImplementedError:
        status, check, detail = TODO, "not implemented yet", "the stub still raises NotImplementedError"
    except TaskTimeout:
        status = TIMEOUT
        check, detail = f"took longer than {task.timeout:g} s", "an endless loop, or far more work than asked?"
    except CheckFailed as e:
        status, check, detail, nudge = FAILED, e.check, e.detail, e.nudge
    except AssertionError as e:                 # a student's own assert, or forbid_function
        status = FAILED
        if str(e).startswith(_REFUSED):
            name = str(e)[len(_REFUSED):]
            check = f"your code does not call the library's {name.rsplit('.', 1)[-1]}"
            detail = f"it called {name}; this task asks you to write it yourself (see the docstring)"
        else:
            where, line = _where(e, path)
            check = "an assert in your code failed" + (f" ({where})" if where else "")
            detail = (_first_line(e) or "(no message)") + (f"\n{where}: {line}" if line else "")
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001  (student code may raise anything, SystemExit too)
        status = CRASHED
        check, detail = _crash(e, path)
    return TaskResult(task, status, check, detail, nudge, time.perf_counter() - start)


def run_lesson(lesson: Lesson, path: Path, only: str | None = None) -> list[TaskResult]:
    """Run every task of `lesson` (or only the task with id `only`) against the file at `path`.
    A file that cannot be imported fails every task with the import error."""
    tasks = [t for t in lesson.tasks if only is None or t.id == only]
    try:
        with _sandboxed_engine():
            module = load_exercises(path)
    except LoadError as e:
        head, _, rest = str(e).partition("\n")
        return [TaskResult(t, CRASHED, f"your file does not import ({Path(path).name})",
                           rest or head) for t in tasks]
    return [run_task(t, module, path) for t in tasks]


# ----------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------
_INDENT, _WIDTH = 8, 100


def _labelled(label: str, text: str) -> list[str]:
    """'        check: text', continuation lines (and long lines, wrapped) under the text."""
    head = " " * _INDENT + f"{label + ':':<7}"
    pad = " " * len(head)
    out = []
    for i, line in enumerate(text.splitlines() or [""]):
        wrapped = textwrap.wrap(line, _WIDTH - len(head), break_long_words=False,
                                break_on_hyphens=False) or [""]
        for j, part in enumerate(wrapped):
            out.append((head if i == 0 and j == 0 else pad) + part)
    return out


def format_table(lesson: Lesson, path: Path, results: list[TaskResult], hints: int = WHAT,
                 command: str | None = None) -> str:
    """The table of results.  Under each failure, by hint level: the failed check (always),
    what is wrong (WHAT, NUDGE) and the nudges (NUDGE).  `command`: the command line that
    produced it (the footer suggests it again with --hint)."""
    lines = [f"Lesson {lesson.number}: {lesson.title} ({lesson.sections})",
             f"checking {path}" + ("  (hints off)" if hints == NO_HINTS else ""), ""]
    w_title = max([len(r.task.title) for r in results] + [len("Task")])
    lines.append(f"  {'Task':<5} {'Title':<{w_title}}  {'Result':<7} {'Time':>6}")
    lines.append("  " + "-" * (5 + 1 + w_title + 2 + 7 + 1 + 6))
    for r in results:
        lines.append(f"  {r.task.id:<5} {r.task.title:<{w_title}}  {r.status:<7} {r.seconds:5.2f}s")
        for label, text in r.report(hints):
            lines.extend(_labelled(label, text))
    n = sum(r.passed for r in results)
    lines += ["", f"{n}/{len(results)} tasks passed" + ("" if n < len(results) else ". Well done!")]
    if n < len(results) and hints == WHAT:
        command = command or f"minigrad lesson check {lesson.number}"
        lines.append(f"Stuck? `{command} --hint` adds a nudge under each failure.")
    return "\n".join(lines)
