"""The autograder's machinery: lessons, tasks, the checks' helpers, running a lesson's tasks
against a student's file, and the table it prints.

A lesson's checks live in one module, `lessonNN.py`, next to this file:

    from ..i18n import Text, tr
    from .core import CheckFailed, Lesson, assert_close

    LESSON = Lesson(3, "03_attention", Text("Self-attention", "自注意力机制"), "§4.1 自注意力机制")

    @LESSON.task("3.1", Text("the causal mask", "因果掩码"),
                 nudge=Text("§4.1 Masks: query t may see keys 0..t, never the future",
                            "§4.1 掩码：查询 t 只能看到键 0..t，看不到未来"))
    def check_causal_mask(ex):              # ex: the student's file, as the grader sees it
        assert_close(ex.causal_mask(4), np.tril(np.ones((4, 4), bool)), "causal_mask(4)")

Everything the learner reads has two forms (minigrad/i18n.py): titles and nudges, made at
import time, are Text(en, zh), shown in the language of the moment they are printed; the
names of checks and what is wrong, made while a check runs, are tr(en, zh).  A check's name
that is code only ("causal_mask(4)") reads the same in both languages and needs no second
form.  tests/test_i18n.py fails on a message with one form.

The student's file is imported in a process of its own (isolation.py); the check runs here,
in the grading process.  `ex.causal_mask(4)` runs the student's function there and gives back
what it returned, as data: arrays and numbers, a StudentTensor for a Tensor (its data, grad,
requires_grad), a RemoteObject for anything else (a model: calling it runs it there).  What a
plain call cannot observe (a gradient through the student's graph, the locals of a function)
is observed there by a probe, `ex.run(probe, ...)` (probes.py), and reported as data too.
The references and the verdict are computed here, from those values: nothing the student's
code does in its process can change them.

A check passes when it returns, and fails when it raises: `CheckFailed(check, detail, nudge)`
(or AssertionError) says which check failed, what differs and, optionally, a nudge for this
particular failure.  The student's code raising NotImplementedError means "not implemented
yet"; any other exception there is reported as a crash of the student's code, with the line
it came from; a task past its time limit, or a process that dies, fails with the reason.

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
import sys
import textwrap
import time
import traceback
from pathlib import Path

import numpy as np

from ..i18n import Text, is_chinese, language, tr
from .isolation import (IMPORT_TIMEOUT, MEMORY_MB, ImportFailed, Refused, RemoteObject,
                        StudentGarbled, StudentGone, StudentProcess, StudentRaised,
                        StudentTensor, StudentTimeout, forbidden)

PASSED, FAILED, TODO, CRASHED, TIMEOUT = "PASS", "FAIL", "TODO", "ERROR", "TIMEOUT"

# The status words as the table shows them (the constants above stay the same in both
# languages: the gradebook's CSV and JSON, and scripts, read them).
STATUS_WORDS = {PASSED: Text("PASS", "通过"), FAILED: Text("FAIL", "未通过"),
                TODO: Text("TODO", "待完成"), CRASHED: Text("ERROR", "出错"),
                TIMEOUT: Text("TIMEOUT", "超时"), "MISSING": Text("MISSING", "缺交")}
# The labels of the lines under a failure (TaskResult.report gives the keys).
LABELS = {"check": Text("check", "检查"), "why": Text("why", "原因"), "nudge": Text("nudge", "提示")}


def status_word(status: str) -> str:
    """A status constant as the current language writes it ("FAIL" -> "未通过" in Chinese)."""
    word = STATUS_WORDS.get(status)
    return str(word) if word is not None else status


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


@dataclasses.dataclass
class Task:
    id: str                 # "3.2"
    title: str              # Text("the backward of softmax", "softmax 的反向传播")
    check: object           # check(exercises_module) -> None, raises on failure
    nudge: str              # Text(...), shown under a failure with --hint: where to look
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
        return f"{self.check}: {self.detail}" if self.detail else str(self.check)

    def report(self, hints: int = WHAT) -> list[tuple[str, str]]:
        """(label, text) pairs to print under a failure at hint level `hints`: the labels are
        keys ("check", "why", "nudge"; LABELS shows them), the texts in the current language."""
        if self.passed:
            return []
        lines = [("check", str(self.check))]
        if hints >= WHAT and self.detail:
            lines.append(("why", str(self.detail)))
        if hints >= NUDGE:
            for text in (self.nudge, self.task.nudge):
                if text:
                    lines.append(("nudge", str(text)))
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
# Helpers for writing checks.  They compare values the student's code returned (sent back
# from its process) with references computed here, and say what differs.
# ----------------------------------------------------------------------------------------
def to_array(x, what: str) -> np.ndarray:
    """A Tensor's data or an array-like as an ndarray; anything else fails the check."""
    from ..tensor import Tensor

    if isinstance(x, (Tensor, StudentTensor)):
        return x.data
    if x is None:
        raise CheckFailed(what, tr("your function returned None (a missing `return`?)",
                                   "你的函数返回了 None（是不是漏了 `return`？）"))
    if isinstance(x, RemoteObject):
        raise CheckFailed(what, tr(f"your function returned a {x.type_name}, expected an array "
                                   f"or a Tensor",
                                   f"你的函数返回了 {x.type_name}，应当返回数组或 Tensor"))
    try:
        return np.asarray(x)
    except Exception:  # noqa: BLE001
        raise CheckFailed(what, tr(f"your function returned a {type(x).__name__}, expected an "
                                   f"array or a Tensor",
                                   f"你的函数返回了 {type(x).__name__}，应当返回数组或 Tensor")) from None


def _at(idx: tuple) -> str:
    """[0, 2] for an index tuple; '' for the one entry of a 0-d array."""
    where = f"[{', '.join(map(str, idx))}]"
    return tr(f" at {where}", f"位于 {where}") if idx else ""


def _dtypes(a: np.ndarray, e: np.ndarray) -> str:
    return "" if a.dtype == e.dtype else tr(f" (your dtype {a.dtype}, the reference's {e.dtype})",
                                            f"（你的 dtype 是 {a.dtype}，参考答案的是 {e.dtype}）")


def _num(x) -> str:
    return f"{x:.6g}" if isinstance(x, (float, np.floating)) else str(x)


def compare_arrays(a: np.ndarray, e: np.ndarray, atol: float = 1e-6, rtol: float = 1e-5) -> str:
    """'' when `a` has `e`'s shape and values (to atol + rtol·|e|), else what differs: the shapes,
    or how many entries differ, the largest error and the first differing entry (index, got,
    expected), with the dtypes when they differ.  A pure function of two arrays."""
    a, e = np.asarray(a), np.asarray(e)
    if a.shape != e.shape:
        return tr(f"shape {a.shape}, expected {e.shape}{_dtypes(a, e)}",
                  f"形状为 {a.shape}，应为 {e.shape}{_dtypes(a, e)}")
    if e.dtype == np.bool_ or a.dtype == np.bool_:
        if a.dtype != np.bool_:
            return tr(f"dtype {a.dtype}, expected a bool array",
                      f"dtype 为 {a.dtype}，应为布尔数组")
        bad = a != e
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return tr(f"{int(bad.sum())} of {bad.size} entries differ; first{_at(idx)}: got {a[idx]}, "
                      f"expected {e[idx]}",
                      f"{bad.size} 个元素中有 {int(bad.sum())} 个不同；第一个{_at(idx)}：得到 {a[idx]}，"
                      f"应为 {e[idx]}")
        return ""
    try:
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
    except (TypeError, ValueError):
        return tr(f"dtype {a.dtype}, expected numbers ({e.dtype})",
                  f"dtype 为 {a.dtype}，应为数值（{e.dtype}）")
    wild = ~np.isfinite(a64) & np.isfinite(e64)
    if wild.any() and wild.size == 1:
        return tr(f"got {a64.reshape(-1)[0]}, expected {_num(e64.reshape(-1)[0])}",
                  f"得到 {a64.reshape(-1)[0]}，应为 {_num(e64.reshape(-1)[0])}")
    if wild.any():
        idx = tuple(int(i) for i in np.argwhere(wild)[0])
        return tr(f"{int(wild.sum())} of {wild.size} values are NaN or Inf where the reference is "
                  f"finite; first{_at(idx)}: got {a64[idx]}, expected {_num(e64[idx])}",
                  f"{wild.size} 个值中有 {int(wild.sum())} 个是 NaN 或 Inf，而参考值是有限数；"
                  f"第一个{_at(idx)}：得到 {a64[idx]}，应为 {_num(e64[idx])}")
    bad = ~np.isclose(a64, e64, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any() and bad.size == 1:
        err = f"{abs(a64 - e64).max():.3g}"
        return tr(f"got {_num(a64.reshape(-1)[0])}, expected {_num(e64.reshape(-1)[0])} (error "
                  f"{err}){_dtypes(a, e)}",
                  f"得到 {_num(a64.reshape(-1)[0])}，应为 {_num(e64.reshape(-1)[0])}（误差 "
                  f"{err}）{_dtypes(a, e)}")
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        err = float(np.nanmax(np.abs(a64 - e64)))
        return tr(f"{int(bad.sum())} of {bad.size} values differ (largest error {err:.3g}); "
                  f"first{_at(idx)}: got {_num(a64[idx])}, expected {_num(e64[idx])}{_dtypes(a, e)}",
                  f"{bad.size} 个值中有 {int(bad.sum())} 个不同（最大误差 {err:.3g}）；"
                  f"第一个{_at(idx)}：得到 {_num(a64[idx])}，应为 {_num(e64[idx])}{_dtypes(a, e)}")
    return ""


def assert_close(actual, expected, what: str, atol: float = 1e-6, rtol: float = 1e-5,
                 nudge: str = ""):
    """Fail check `what` unless `actual` has `expected`'s shape and values (see compare_arrays)."""
    a, e = to_array(actual, what), to_array(expected, tr("the reference", "参考答案"))
    detail = compare_arrays(a, e, atol, rtol)
    if detail:
        raise CheckFailed(what, detail, nudge)


def expect_equal(got, expected, what: str, nudge: str = ""):
    """Fail check `what` unless got == expected (ints, strings, tuples): 'got X, expected Y'."""
    if not _equal(got, expected):
        raise CheckFailed(what, tr(f"got {_show(got)}, expected {_show(expected)}",
                                   f"得到 {_show(got)}，应为 {_show(expected)}"), nudge)


def expect_number(got, expected: float, what: str, rtol: float = 1e-9, atol: float = 0.0,
                  nudge: str = ""):
    """Fail check `what` unless `got` is a number within atol + rtol·|expected| of `expected`."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise CheckFailed(what, tr(f"got {_show(got)}, expected a number ({expected:.6g})",
                                   f"得到 {_show(got)}，应为一个数（{expected:.6g}）"), nudge) from None
    if not abs(value - expected) <= atol + rtol * abs(expected):
        off = f"{abs(value - expected):.3g}"
        raise CheckFailed(what, tr(f"got {value:.10g}, expected {expected:.10g} (off by {off})",
                                   f"得到 {value:.10g}，应为 {expected:.10g}（相差 {off}）"), nudge)


def expect_same_items(got, expected: list, what: str, nudge: str = "", same=None):
    """Fail check `what` unless the list `got` has `expected`'s items in order: the length, or
    the first differing position with both items.  `same(a, b)`: the item comparison."""
    same = same or _equal
    try:
        got = list(got)
    except TypeError:
        raise CheckFailed(what, tr(f"got {_show(got)}, expected a list of {len(expected)} items",
                                   f"得到 {_show(got)}，应为含 {len(expected)} 项的列表"),
                          nudge) from None
    for i, (g, e) in enumerate(zip(got, expected)):
        if not same(g, e):
            raise CheckFailed(what, tr(f"item {i} differs: got {_show(g)}, expected {_show(e)}",
                                       f"第 {i} 项不同：得到 {_show(g)}，应为 {_show(e)}"), nudge)
    if len(got) != len(expected):
        raise CheckFailed(what, tr(f"{len(got)} items, expected {len(expected)} (got {_show(got)})",
                                   f"共 {len(got)} 项，应为 {len(expected)} 项（得到 {_show(got)}）"),
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
        raise CheckFailed(tr(f"your file defines `{name}`", f"你的文件定义了 `{name}`"),
                          tr(f"there is no `{name}` in it (keep the names of the stub file)",
                             f"文件里没有 `{name}`（请保留练习文件中的名字）"))
    return getattr(module, name)


class _Forbidden:
    """A library function a check forbids: `Owner.attr` (kind "attr") or a plain function
    (kind "function").  The student's process swaps it for one that refuses to run
    (runner._forbidden); the texts of the failure are made here."""

    def __init__(self, kind, target, attr=None, advice=""):
        self.kind, self.target, self.attr, self.advice = kind, target, attr, advice
        if kind == "attr":
            self.name = f"{getattr(target, '__name__', target)}.{attr}"
            self.check = tr(f"your code does not call the library's {self.name}",
                            f"你的代码不调用库里的 {self.name}")
            self.detail = tr(f"it called {self.name}; this task asks you to write it yourself",
                             f"它调用了 {self.name}；这道题要求你自己实现它")
        else:
            self.name = f"{target.__module__}.{target.__qualname__}"
            short = self.name.rsplit('.', 1)[-1]
            self.check = tr(f"your code does not call the library's {short}",
                            f"你的代码不调用库里的 {short}")
            self.detail = tr(f"it called {self.name}; this task asks you to write it yourself "
                             f"(see the docstring)",
                             f"它调用了 {self.name}；这道题要求你自己实现它（见文档字符串）")

    def wire(self) -> dict:
        if self.kind == "attr":
            return {"kind": "attr", "owner": self.target, "attr": self.attr}
        return {"kind": "function", "target": self.target}


@contextlib.contextmanager
def _forbidding(specs):
    token = forbidden.set(forbidden.get() + tuple(specs))
    try:
        yield
    finally:
        forbidden.reset(token)


def forbid(owner, attr: str, advice: str):
    """Inside the block, the student's code calling `owner.attr` fails the check (so a task
    that asks for softmax written with exp and sum cannot call the library's softmax);
    `advice` is its nudge.  The grader's own calls are not affected: it only tells the
    student's process, with every call made inside the block."""
    return _forbidding([_Forbidden("attr", owner, attr, advice)])


def forbid_function(*functions):
    """Inside the block, the student's code calling any of `functions` (plain library
    functions) fails the task.  The student's process swaps their code, so this also catches
    a name the student imported with `from minigrad... import f`."""
    return _forbidding([_Forbidden("function", f) for f in functions])


def type_name(x) -> str:
    """The type of a value the student's code returned ("Tensor", "list", "MLP", ...)."""
    if isinstance(x, StudentTensor):
        return "Tensor"
    if isinstance(x, RemoteObject):
        return x.type_name
    return type(x).__name__


def is_tensor(x) -> bool:
    """The student's function returned a minigrad Tensor (it comes back as a StudentTensor)."""
    from ..tensor import Tensor
    return isinstance(x, (StudentTensor, Tensor))


def call_watching_locals(fn, *args, **kwargs):
    """Call the student's `fn(*args, **kwargs)` and return (its result, held): held maps each
    local name of fn's own frame that ever held a Tensor (or a list of Tensors: "params[0]") to
    copies of the values it held (at most 16 per name), so a check can tell "the new values
    were computed, then dropped" from "nothing was computed".  The trace covers fn's frame
    only, not the functions it calls.  It runs in the student's process (lesson02's
    watch_sgd_step probe); the verdict is computed in the grader from what it returns."""
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
# Loading the student's file (in the student's process: runner.py)
# ----------------------------------------------------------------------------------------
class LoadError(Exception):
    """The student's file is missing or cannot be imported (the message says why)."""


def load_exercises(path: Path):
    """Import the file at `path` as a fresh module (never cached: every check sees the latest
    edit).  A syntax error or an exception at import time becomes LoadError."""
    path = Path(path)
    if not path.is_file():
        raise LoadError(tr(f"no such file: {path}", f"没有这个文件：{path}"))
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
        raise LoadError(tr(f"importing {path} failed:", f"导入 {path} 失败：")
                        + f"\n{_describe_exception(e, path)}") from None
    return module


def _where(e: BaseException, path: Path | None = None) -> tuple[str, str]:
    """('exercises.py, line 12', 'x = ...'): the deepest frame of the traceback in the student's
    file (else the deepest frame), or the place of a syntax error."""
    if isinstance(e, SyntaxError) and e.filename:
        return _line_of(Path(e.filename).name, e.lineno), (e.text or "").strip()
    frames = traceback.extract_tb(e.__traceback__)
    if not frames:
        return "", ""
    mine = [f for f in frames if path is not None and Path(f.filename) == Path(path)]
    f = (mine or frames)[-1]
    return _line_of(Path(f.filename).name, f.lineno), (f.line or "").strip()


def _line_of(name: str, line) -> str:
    """'exercises.py, line 12' (第 12 行 in Chinese)."""
    return tr(f"{name}, line {line}", f"{name} 第 {line} 行")


def _paren(text: str) -> str:
    """' (text)' in English, '（text）' in Chinese."""
    return tr(f" ({text})", f"（{text}）")


def _first_line(e: BaseException) -> str:
    text = (e.msg if isinstance(e, SyntaxError) and e.msg else str(e)).strip().splitlines()
    return text[0] if text else ""


def _describe_exception(e: BaseException, path: Path | None = None) -> str:
    """'ValueError: ... (exercises.py, line 12: x = ...)': the deepest frame in the student's file."""
    where, line = _where(e, path)
    place = _paren(f"{where}{tr(': ', '：')}{line}") if line else (_paren(where) if where else "")
    return f"{type(e).__name__}: {_first_line(e)}{place}"


def _crash(e: BaseException, path: Path | None) -> tuple[str, str]:
    """(check, detail) for an exception from the student's code: the check names the exception
    and where it was raised; the detail has its message and the line of code."""
    where, line = _where(e, path)
    check = tr(f"your code raised {type(e).__name__}", f"你的代码抛出了 {type(e).__name__}") + \
        (_paren(where) if where else "")
    detail = _first_line(e) or tr("(no message)", "（没有错误信息）")
    if line:
        detail += f"\n{where}{tr(': ', '：')}{line}"
    return check, detail


# ----------------------------------------------------------------------------------------
# Running tasks: the checks run here, the student's code in its own process (isolation.py)
# ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _sandboxed_engine():
    """The checks compute their references from the same engine state every time (seed, grad
    mode, anomaly mode, the readable NumPy backend), restored afterwards."""
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


def _raised(info: dict) -> tuple[str, str, str]:
    """(status, check, detail) for an exception the student's code raised in its process."""
    where, line = info.get("where") or "", info.get("line") or ""
    message = info.get("message") or tr("(no message)", "（没有错误信息）")
    place = _paren(where) if where else ""
    more = f"\n{where}{tr(': ', '：')}{line}" if line else ""
    category = info.get("category")
    if category == "todo":
        return (TODO, tr("not implemented yet", "尚未实现"),
                tr("the stub still raises NotImplementedError",
                   "练习函数仍在抛出 NotImplementedError"))
    if category == "assert":
        return FAILED, tr("an assert in your code failed", "你代码中的 assert 不成立") + place, \
            message + more
    if category == "memory":
        return (CRASHED, tr("your code ran out of memory (MemoryError)",
                            "你的代码耗尽了内存（MemoryError）") + place,
                tr("it asked for more memory than the limit the grader sets for a student's "
                   "process", "它申请的内存超过了评分程序给学生进程设定的上限") + more)
    kind = info.get("type")
    return (CRASHED, (tr(f"your code raised {kind}", f"你的代码抛出了 {kind}") if kind else
                      tr("your code raised an exception", "你的代码抛出了异常")) + place,
            message + more)


def _import_failure(task: Task, e: ImportFailed, path: Path) -> TaskResult:
    name = Path(path).name
    cannot = tr(f"your file does not import ({name})", f"你的文件无法导入（{name}）")
    if e.kind == "timeout":
        return TaskResult(task, TIMEOUT, tr("your file does not finish importing",
                                            "你的文件导入没有结束"), e.text)
    if e.kind == "error":
        head, _, rest = e.text.partition("\n")
        return TaskResult(task, CRASHED, cannot, rest or head)
    return TaskResult(task, CRASHED, cannot,
                      e.text + tr(" while the file was being imported", "（发生在导入文件时）"))


def run_task(task: Task, student: StudentProcess, path: Path | None = None,
             timeout: float | None = None) -> TaskResult:
    """Run one task's check against the student's file in `student` (its process is started
    first if it is not running; ImportFailed fails the task).  `timeout`: instead of the
    task's own limit.  A task that times out or ends the process leaves it stopped: the next
    task starts a new one."""
    limit = float(timeout or task.timeout)
    start = time.perf_counter()
    if not student.alive:
        try:
            student.start()
        except ImportFailed as e:
            return dataclasses.replace(_import_failure(task, e, student.path),
                                       seconds=time.perf_counter() - start)
    student.begin_task(limit)
    check, detail, nudge = "", "", ""
    try:
        with _sandboxed_engine(), _forbidding(()):
            task.check(student.exercises)
        status = PASSED
    except Refused as e:
        status, check, detail, nudge = FAILED, e.spec.check, e.spec.detail, e.spec.advice
    except StudentRaised as e:
        status, check, detail = _raised(e.info)
    except StudentTimeout:
        status = TIMEOUT
        check = tr(f"took longer than {limit:g} s", f"用时超过 {limit:g} 秒")
        detail = tr("an endless loop, or far more work than asked?",
                    "是死循环，还是做了远超题目要求的计算？")
    except StudentGone as e:
        status = CRASHED
        check = tr("the process running your code ended during this task",
                   "运行你代码的进程在这道题进行中结束了")
        detail = str(e)
    except StudentGarbled as e:
        status = CRASHED
        check = tr("the process running your code sent back something that is not an answer",
                   "运行你代码的进程发回的内容不是一个答案")
        detail = str(e)
    except CheckFailed as e:
        status, check, detail, nudge = FAILED, e.check, e.detail, e.nudge
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001  (a value of an odd type in the check's comparison)
        status = CRASHED
        check = tr(f"your result could not be checked ({type(e).__name__})",
                   f"你的结果无法检查（{type(e).__name__}）")
        detail = _first_line(e) or tr("(no message)", "（没有错误信息）")
    return TaskResult(task, status, check, detail, nudge, time.perf_counter() - start)


@dataclasses.dataclass
class LessonReport:
    """The results of one lesson's tasks on one file, and what the file printed."""
    results: list
    output: str = ""                # the last part of what the student's code printed
    output_lines: int = 0
    seconds: float = 0.0
    processes: int = 0              # processes started (1, plus one after each timeout or crash)
    limits: dict = dataclasses.field(default_factory=dict)


def grade_lesson(lesson: Lesson, path: Path, only: str | None = None, *,
                 timeout: float | None = None, isolation: str | None = None,
                 memory_mb: float | None = MEMORY_MB,
                 import_timeout: float = IMPORT_TIMEOUT) -> LessonReport:
    """Run every task of `lesson` (or only the task `only`) against the file at `path`, the
    file imported in a process of its own (isolation.StudentProcess).  A file that does not
    import fails every task with the reason."""
    start = time.perf_counter()
    tasks = [t for t in lesson.tasks if only is None or t.id == only]
    results = []
    failure = None
    with StudentProcess(path, isolation=isolation, memory_mb=memory_mb,
                        import_timeout=import_timeout) as student:
        for t in tasks:
            if failure is not None:
                results.append(dataclasses.replace(failure, task=t, seconds=0.0))
                continue
            if not student.alive:
                t0 = time.perf_counter()
                try:
                    student.start()
                except ImportFailed as e:
                    failure = _import_failure(t, e, path)
                    results.append(dataclasses.replace(failure, seconds=time.perf_counter() - t0))
                    continue
            results.append(run_task(t, student, path, timeout))
    return LessonReport(results, student.output, student.output_lines,
                        time.perf_counter() - start, student.starts, student.limits)


def run_lesson(lesson: Lesson, path: Path, only: str | None = None, **options) -> list[TaskResult]:
    """The results of grade_lesson (same arguments)."""
    return grade_lesson(lesson, path, only, **options).results


def format_output(text: str, lines: int, shown: int = 20) -> str:
    """What the student's code printed, each line behind a bar, so that nothing it printed
    can pass for the grader's table."""
    kept = text.splitlines()[-shown:]
    if language() == "zh":
        head = f"你的代码输出了 {lines} 行" + (f"（以下是最后 {len(kept)} 行）：" if len(kept) < lines
                                         else "：")
    else:
        head = (f"your code printed {lines} line{'s' * (lines != 1)}" +
                (f" (the last {len(kept)}):" if len(kept) < lines else ":"))
    return "\n".join([head] + [f"  | {line[:200]}" for line in kept])


# ----------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------
_INDENT, _WIDTH = 8, 100


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: a Chinese character (or full-width punctuation)
    takes two, as East Asian terminals show them."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _ljust(text: str, width: int) -> str:
    text = str(text)
    return text + " " * max(width - display_width(text), 0)


def _wrap(line: str, width: int) -> list[str]:
    """`line` cut into pieces of at most `width` columns: at spaces, and between Chinese
    characters (which have no spaces between them); an English word is never cut."""
    if not is_chinese(line):
        return textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""]
    import re
    pieces = re.findall(r"\s+|[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]|[^\s\u2e80-\u9fff"
                        r"\u3000-\u303f\uff00-\uffef]+", line)
    out, current = [], ""
    for piece in pieces:
        closing = piece in _NO_LINE_START        # ，。）… never start a line (避头)
        if current and display_width(current + piece) > width and not closing:
            out.append(current.rstrip())
            current = "" if piece.isspace() else piece
        else:
            current += piece
    if current.strip():
        out.append(current.rstrip())
    return out or [""]


_NO_LINE_START = set("，。、；：！？）》」』”’,.;:!?)]}")


def _labelled(label: str, text: str) -> list[str]:
    """'        check: text', continuation lines (and long lines, wrapped) under the text.
    `label` is a key of LABELS ("check", "why", "nudge"), shown in the current language."""
    shown = str(LABELS.get(label, label))
    head = " " * _INDENT + _ljust(shown + tr(":", "："), 7)
    pad = " " * display_width(head)
    out = []
    for i, line in enumerate(str(text).splitlines() or [""]):
        for j, part in enumerate(_wrap(line, _WIDTH - display_width(head))):
            out.append((head if i == 0 and j == 0 else pad) + part)
    return out


def format_table(lesson: Lesson, path: Path, results: list[TaskResult], hints: int = WHAT,
                 command: str | None = None) -> str:
    """The table of results, in the current language (minigrad.i18n).  Under each failure, by
    hint level: the failed check (always), what is wrong (WHAT, NUDGE) and the nudges (NUDGE).
    `command`: the command line that produced it (the footer suggests it again with --hint)."""
    zh = language() == "zh"
    title = (f"第 {lesson.number} 课：{lesson.title}（{lesson.sections}）" if zh else
             f"Lesson {lesson.number}: {lesson.title} ({lesson.sections})")
    lines = [title,
             tr(f"checking {path}", f"检查 {path}") +
             (tr("  (hints off)", "（已关闭提示）") if hints == NO_HINTS else ""), ""]
    heads = [str(h) for h in (tr("Task", "题号"), tr("Title", "题目"), tr("Result", "结果"),
                              tr("Time", "用时"))]
    w_id = max([display_width(heads[0]), 5])
    w_title = max([display_width(str(r.task.title)) for r in results] + [display_width(heads[1])])
    w_status = max([display_width(status_word(r.status)) for r in results]
                   + [display_width(heads[2]), 7])
    w_time = max(display_width(heads[3]), 6)
    lines.append(f"  {_ljust(heads[0], w_id)} {_ljust(heads[1], w_title)}  "
                 f"{_ljust(heads[2], w_status)} {' ' * (w_time - display_width(heads[3]))}{heads[3]}")
    lines.append("  " + "-" * (w_id + 1 + w_title + 2 + w_status + 1 + w_time))
    for r in results:
        seconds = tr(f"{r.seconds:5.2f}s", f"{r.seconds:5.2f}秒")
        lines.append(f"  {_ljust(r.task.id, w_id)} {_ljust(r.task.title, w_title)}  "
                     f"{_ljust(status_word(r.status), w_status)} "
                     f"{' ' * (w_time - display_width(seconds))}{seconds}")
        for label, text in r.report(hints):
            lines.extend(_labelled(label, text))
    n = sum(r.passed for r in results)
    if zh:
        lines += ["", f"通过 {n}/{len(results)} 道题" + ("" if n < len(results) else "。做得好！")]
    else:
        lines += ["", f"{n}/{len(results)} tasks passed" + ("" if n < len(results) else ". Well done!")]
    if n < len(results) and hints == WHAT:
        command = command or f"minigrad lesson check {lesson.number}"
        lines.append(tr(f"Stuck? `{command} --hint` adds a nudge under each failure.",
                        f"卡住了？`{command} --hint` 会在每个未通过的题目下给出提示。"))
    return "\n".join(lines)
