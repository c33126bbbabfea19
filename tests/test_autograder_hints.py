"""The autograder's graded hints (lessons/README.md, "How much help a failure shows").

    --no-hints   pass/fail and the name of the failed check
    (default)    + what is wrong: the first differing value, shapes, dtypes, the exception
    --hint       + a nudge: where to look, never the answer's code

The worked answers stay in lessons/solutions/: no text the autograder can print, and no
`# TODO` line of a stub, contains a line of a solution's code.
"""
from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from minigrad import autograder
from minigrad.autograder import (CRASHED, FAILED, NO_HINTS, NUDGE, PASSED, WHAT, format_table,
                                 run_lesson)
from minigrad.autograder import core
from minigrad.autograder.lesson02 import _rebinding_detail

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
ALL = autograder.lessons()
TASKS = [(n, t) for n, lesson in ALL.items() for t in lesson.tasks]


def _solution(n):
    return LESSONS_DIR / "solutions" / f"{ALL[n].folder}.py"


def _stub(n):
    return LESSONS_DIR / ALL[n].folder / "exercises.py"


def _norm(text: str) -> str:
    """One space for any run of white space, one kind of quote: how a leak is matched."""
    return re.sub(r"\s+", " ", text.replace("'", '"')).strip()


def _solution_code(n) -> list[str]:
    """The code of lesson n's worked answers, as fragments longer than 25 characters: each
    line of a solution that the stub does not have (so not the docstrings, the signatures,
    the imports), without its comment, and also the part after `return` or after `x =`."""
    stub_lines = {_norm(line) for line in _stub(n).read_text(encoding="utf-8").splitlines()}
    fragments = set()
    for line in _solution(n).read_text(encoding="utf-8").splitlines():
        code = _norm(re.sub(r"\s#.*$", "", line))
        if not code or code.startswith("#") or _norm(line) in stub_lines:
            continue
        candidates = [code]
        if code.startswith("return "):
            candidates.append(code[len("return "):])
        m = re.match(r"^[\w\s,.\[\]()]+?\s(?:[-+*/]?=)\s(.+)$", code)
        if m:
            candidates.append(m.group(1))
        fragments.update(c for c in candidates if len(c) > 25)
    return sorted(fragments)


def _leaks(n, text: str) -> list[str]:
    text = _norm(text)
    return [f for f in _solution_code(n) if f in text]


def _strings_in(path: Path) -> list[str]:
    """Every string literal of a module, f-strings' literal parts included: all the text its
    checks can print (check names, details, nudges), apart from computed values."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _table(capsys, *argv) -> tuple[int, str]:
    status = autograder.main(list(argv))
    return status, capsys.readouterr().out


def _mutant(tmp_path, n, old, new, name="exercises.py") -> Path:
    source = _solution(n).read_text(encoding="utf-8")
    assert source.count(old) == 1, old
    path = tmp_path / name
    path.write_text(source.replace(old, new), encoding="utf-8")
    return path


# --- every task has a nudge, and nothing printable gives the answer away -------------------
def test_the_leak_detector_catches_a_hint_that_is_the_solution():
    # the kind of hint this replaced (task 3.4's was the whole function)
    old_hint = ("scores = q @ k.mT / math.sqrt(d_k); scores = mg.where(mg.tensor(mask), scores, "
                "float('-inf')); w = scores.softmax(dim=-1); return w @ v, w")
    assert _leaks(3, old_hint)
    assert _leaks(2, "inside no_grad: p.data -= lr * p.grad.data; then p.grad = None")
    assert not _leaks(3, ALL[3].tasks[3].nudge)


@pytest.mark.parametrize("lesson,task", TASKS, ids=[t.id for _, t in TASKS])
def test_every_task_has_a_nudge_that_points_without_giving_the_answer(lesson, task):
    nudge = task.nudge
    assert isinstance(nudge, str) and len(nudge) >= 80, (task.id, nudge)
    assert re.search(r"§|notebook|docstring", nudge), f"{task.id}: say where to look"
    assert not _leaks(lesson, nudge), (task.id, _leaks(lesson, nudge))
    others = [t.nudge for _, t in TASKS if t is not task]
    assert nudge not in others


@pytest.mark.parametrize("lesson", sorted(ALL))
def test_no_text_the_checks_can_print_contains_solution_code(lesson):
    module = Path(sys.modules[ALL[lesson].tasks[0].check.__module__].__file__)
    texts = _strings_in(module)
    for t in ALL[lesson].tasks:                                       # the scan sees the nudges
        assert any(len(text) > 40 and text in t.nudge for text in texts), t.id
    leaks = {text: _leaks(lesson, text) for text in texts if _leaks(lesson, text)}
    assert not leaks, leaks


@pytest.mark.parametrize("lesson", sorted(ALL))
def test_the_stubs_todo_lines_do_not_give_the_answer(lesson):
    todos = [line for line in _stub(lesson).read_text(encoding="utf-8").splitlines()
             if line.strip().startswith("# TODO")]
    assert len(todos) >= len(ALL[lesson].tasks)
    leaks = {line.strip(): _leaks(lesson, line) for line in todos if _leaks(lesson, line)}
    assert not leaks, leaks


def test_the_nudges_of_wrong_answers_do_not_give_the_answer(tmp_path):
    from test_lessons import MUTANTS

    for k, (lesson, task, old, new) in enumerate(MUTANTS):
        source = _solution(lesson).read_text(encoding="utf-8").replace(old, new)
        path = tmp_path / f"m{k}.py"
        path.write_text(("from minigrad import Tensor\n" if "Tensor(" in new else "") + source,
                        encoding="utf-8")
        (r,) = run_lesson(ALL[lesson], path, only=task)
        assert r.status != PASSED
        nudges = " ".join(text for label, text in r.report(NUDGE) if label == "nudge")
        assert nudges and not _leaks(lesson, nudges), (task, new, _leaks(lesson, nudges))


# --- the default level: what is wrong, computed from the values --------------------------
def test_default_shows_the_failed_check_and_its_first_differing_value(tmp_path, capsys):
    path = _mutant(tmp_path, 3, "return y * (g - np.sum(g * y, axis=dim, keepdims=True))",
                   "return y * g")
    status, out = _table(capsys, "check", "3", "--file", str(path), "--task", "3.2")
    assert status == 1
    assert "check: softmax_backward for shape (4, 5), dim=-1" in out
    m = re.search(r"(\d+) of 20 values differ \(largest error ([\d.e+-]+)\); first at \[(\d+), (\d+)\]: "
                  r"got ([-\d.e+]+), expected ([-\d.e+]+)", _norm(out))
    assert m, out
    # the numbers are the checker's: recompute them from the same inputs
    from minigrad.backends import numpy_ref
    rng = np.random.default_rng(9)
    x, g = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    y = numpy_ref.softmax(x, -1)
    got, expected = y * g, numpy_ref.softmax_backward(y, g, -1)
    bad = ~np.isclose(got, expected, atol=1e-12, rtol=1e-5)
    i, j = (int(v) for v in np.argwhere(bad)[0])
    assert (int(m.group(3)), int(m.group(4))) == (i, j) and int(m.group(1)) == bad.sum()
    assert float(m.group(5)) == pytest.approx(got[i, j], rel=1e-5)
    assert float(m.group(6)) == pytest.approx(expected[i, j], rel=1e-5)
    assert float(m.group(2)) == pytest.approx(np.abs(got - expected).max(), rel=1e-2)
    assert "nudge:" not in out and _norm(ALL[3].tasks[1].nudge) not in _norm(out)
    assert "--hint` adds a nudge" in out


def test_default_shows_shapes_when_they_differ(tmp_path, capsys):
    path = _mutant(tmp_path, 3, "return keep[:, None, None, :]", "return keep")
    status, out = _table(capsys, "check", "3", "--file", str(path), "--task", "3.3")
    assert status == 1
    assert "check: padding_mask([3, 5, 1], S=5)" in out
    assert "why:   shape (3, 5), expected (3, 1, 1, 5)" in out


def test_compare_arrays_says_shapes_dtypes_and_the_first_difference():
    assert core.compare_arrays(np.zeros((2, 3)), np.zeros((3, 2))) == "shape (2, 3), expected (3, 2)"
    text = core.compare_arrays(np.zeros(3, np.float32), np.zeros((1, 3)))
    assert text == "shape (3,), expected (1, 3) (your dtype float32, the reference's float64)"
    text = core.compare_arrays(np.array([1, 2, 3]), np.array([1.0, 2.0, 3.5]))
    assert text == ("1 of 3 values differ (largest error 0.5); first at [2]: got 3, expected 3.5 "
                    "(your dtype int64, the reference's float64)")
    text = core.compare_arrays(np.array([[1.0, np.nan]]), np.array([[1.0, 2.0]]))
    assert text == ("1 of 2 values are NaN or Inf where the reference is finite; first at [0, 1]: "
                    "got nan, expected 2")
    assert core.compare_arrays(np.eye(2) > 0, np.ones((2, 2)) > 0) == (
        "2 of 4 entries differ; first at [0, 1]: got False, expected True")
    assert core.compare_arrays(np.float64(1.0), np.float64(2.0)) == "got 1, expected 2 (error 1)"
    assert core.compare_arrays(np.array([np.inf]), np.array([3.0])) == "got inf, expected 3"
    assert core.compare_arrays(np.ones(3), np.ones(3) + 1e-9) == ""


def test_an_exception_shows_the_line_of_the_students_code(tmp_path, capsys):
    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent("""\
        import numpy as np

        def causal_mask(T):
            rows = np.arange(T)
            return rows[T + 1]
        """), encoding="utf-8")
    status, out = _table(capsys, "check", "3", "--file", str(path), "--task", "3.1")
    assert status == 1
    assert "ERROR" in out and "check: your code raised IndexError (student.py, line 5)" in out
    assert "index 2 is out of bounds" in out and "student.py, line 5: return rows[T + 1]" in out
    status, out = _table(capsys, "check", "3", "--file", str(path), "--task", "3.1", "--no-hints")
    assert "check: your code raised IndexError (student.py, line 5)" in out
    assert "return rows[T + 1]" not in out and "out of bounds" not in out


def test_calling_the_library_instead_names_the_function(tmp_path):
    path = _mutant(tmp_path, 3, "    weights = scores.softmax(dim=-1)",
                   "    return mg.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, "
                   "return_weights=True)\n    weights = scores.softmax(dim=-1)")
    (r,) = run_lesson(ALL[3], path, only="3.4")
    assert r.status == FAILED
    assert r.check == "your code does not call the library's scaled_dot_product_attention"
    assert re.match(r"it called minigrad\.nn\.[a-z_]+\.scaled_dot_product_attention; ", r.detail)
    path = _mutant(tmp_path, 2, "    m = x.amax(dim=dim, keepdim=True).detach()\n    e = (x - m).exp()\n"
                   "    return e / e.sum(dim=dim, keepdim=True)", "    return x.softmax(dim)", "b.py")
    (r,) = run_lesson(ALL[2], path, only="2.1")
    assert r.status == FAILED and r.check == "your code does not call the library's Softmax.apply"
    assert r.nudge == "build softmax from exp, sum and division"


def _nudge_of(tmp_path, lesson, task, old, new):
    (r,) = run_lesson(ALL[lesson], _mutant(tmp_path, lesson, old, new, f"n{abs(hash(new))}.py"),
                      only=task)
    assert r.status == FAILED, r.message
    return r.nudge


def test_a_failures_own_nudge_follows_from_the_wrong_values(tmp_path):
    # LayerNorm: the unbiased variance and ε outside the root are told apart by their values
    var = "var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)"
    assert "C − 1" in _nudge_of(tmp_path, 4, "4.3", var, "var = x.var(dim=-1, keepdim=True)")
    assert "inside the square root" in _nudge_of(tmp_path, 4, "4.3", "(var + eps).sqrt()",
                                                 "(var.sqrt() + eps)")
    assert _nudge_of(tmp_path, 4, "4.3", "(var + eps).sqrt()", "(var + 2 * eps).sqrt()") == ""
    # parameter and FLOP counts: the piece the count is off by
    assert "weight tying" in _nudge_of(tmp_path, 4, "4.5", "+ 2 * C\n", "+ 2 * C + vocab_size * C\n")
    assert "ln_f" in _nudge_of(tmp_path, 4, "4.5", "+ 2 * C\n", "\n")
    assert "QKᵀ and PV" in _nudge_of(tmp_path, 8, "8.4", "+ 2 * T * T * C * 2 +", "+")
    assert "head" in _nudge_of(tmp_path, 8, "8.4", "return int(n_layer * per_layer + 2 * T * C * vocab_size)",
                               "return int(n_layer * per_layer)")
    assert "2 FLOPs" in _nudge_of(tmp_path, 8, "8.3", "return int(2 * int(np.prod(batch, dtype=np.int64)) * n * k * m)",
                                  "return int(int(np.prod(batch, dtype=np.int64)) * n * k * m)")


# --- --hint and --no-hints -----------------------------------------------------------------
def test_hint_adds_the_nudges(tmp_path, capsys):
    path = _mutant(tmp_path, 2, "e = (x - m).exp()", "e = x.exp()")
    status, out = _table(capsys, "check", "2", "--file", str(path), "--task", "2.1", "--hint")
    assert status == 1
    flat = _norm(out)
    assert "check: softmax of logits around 1000" in out and "why:" in out
    assert _norm("e^1000 overflows to inf") in flat                   # this failure's own nudge
    assert _norm(ALL[2].tasks[0].nudge) in flat                       # and the task's
    assert "--hint` adds" not in out
    status, out = _table(capsys, "check", "2", "--file", str(_stub(2)), "--hint")
    assert status == 1 and out.count("nudge:") == len(ALL[2].tasks)   # a nudge for a TODO too


def test_no_hints_shows_pass_fail_and_the_check_name_only(tmp_path, capsys):
    path = _mutant(tmp_path, 2, "e = (x - m).exp()", "e = x.exp()")
    status, out = _table(capsys, "check", "2", "--file", str(path), "--no-hints")
    assert status == 1
    assert "(hints off)" in out and "4/5 tasks passed" in out
    assert re.search(r"2\.1 .* FAIL ", out)
    assert "check: softmax of logits around 1000" in out
    for shown_only_with_hints in ("why:", "nudge:", "values", "got", "expected", "--hint"):
        assert shown_only_with_hints not in out, shown_only_with_hints
    assert _norm(ALL[2].tasks[0].nudge) not in _norm(out)
    status, out = _table(capsys, "check", "2", "--file", str(_stub(2)), "--no-hints")
    assert status == 1 and out.count("check: not implemented yet") == len(ALL[2].tasks)
    assert _table(capsys, "check", "2", "--file", str(_solution(2)), "--no-hints")[0] == 0
    assert autograder.main(["check", "2", "--hint", "--no-hints"]) == 2


def test_the_levels_of_one_result():
    r = core.TaskResult(ALL[3].tasks[0], FAILED, "causal_mask(4)", "1 of 16 entries differ",
                        "row = query")
    assert r.report(NO_HINTS) == [("check", "causal_mask(4)")]
    assert r.report(WHAT) == [("check", "causal_mask(4)"), ("why", "1 of 16 entries differ")]
    assert r.report(NUDGE)[2:] == [("nudge", "row = query"), ("nudge", ALL[3].tasks[0].nudge)]
    assert r.message == "causal_mask(4): 1 of 16 entries differ"
    table = format_table(ALL[3], Path("x.py"), [r], NO_HINTS)
    assert "1 of 16" not in table and "check: causal_mask(4)" in table


def test_a_teacher_turns_hints_off_in_the_environment(tmp_path, capsys, monkeypatch):
    path = _mutant(tmp_path, 2, "e = (x - m).exp()", "e = x.exp()")
    monkeypatch.setenv(autograder.HINTS_ENV, "off")
    status = autograder.main(["check", "2", "--file", str(path), "--task", "2.1", "--hint"])
    captured = capsys.readouterr()
    assert status == 1 and "(hints off)" in captured.out
    assert "nudge:" not in captured.out and "why:" not in captured.out
    assert f"{autograder.HINTS_ENV}=off" in captured.err
    monkeypatch.setenv(autograder.HINTS_ENV, "maybe")
    assert autograder.main(["check", "2", "--file", str(path)]) == 2
    assert autograder.HINTS_ENV in capsys.readouterr().err


# --- task 2.4: an update that rebinds a name ------------------------------------------------
_STEP = "            p.data -= lr * p.grad.data\n"


def test_sgd_step_that_rebinds_the_loop_name_is_explained(tmp_path):
    path = _mutant(tmp_path, 2, _STEP, "            p = p - lr * p.grad\n")
    (r,) = run_lesson(ALL[2], path, only="2.4")
    assert r.status == FAILED
    assert r.check == "the parameters after one step (compared with mg.optim.SGD(lr=0.1))"
    text = _norm(r.detail)
    assert text.startswith("no parameter changed: parameter 0 (3, 2) still holds its values from "
                           "before the step (first at [0, 0]: got")
    assert "its local name `p` held a new Tensor equal to the updated parameter" in text
    assert "rebinds the name" in text and "p.data -= ..." in text


def test_sgd_step_with_minus_equals_is_in_place_or_explained(tmp_path):
    from minigrad import Tensor

    path = _mutant(tmp_path, 2, _STEP, "            p -= lr * p.grad\n")
    (r,) = run_lesson(ALL[2], path, only="2.4")
    if hasattr(Tensor, "__isub__"):          # in place, as in PyTorch (under no_grad)
        assert r.status == PASSED, r.message
    else:                                    # Python falls back to p = p - lr * p.grad
        assert r.status == FAILED and "rebinds the name" in r.detail
        assert "minigrad's Tensor has no in-place -=" in _norm(r.detail)


def test_sgd_step_that_builds_a_new_list_or_replaces_the_entries_is_explained(tmp_path):
    body = ("    with mg.no_grad():\n        for p in params:\n            if p.grad is None:\n"
            "                continue\n" + _STEP + "            p.grad = None")
    path = _mutant(tmp_path, 2, body, "    params = [p - lr * p.grad if p.grad is not None else p "
                                      "for p in params]")
    (r,) = run_lesson(ALL[2], path, only="2.4")
    assert r.status == FAILED and "its local list `params` held a new Tensor" in _norm(r.detail)
    path = _mutant(tmp_path, 2, body, "    for i, p in enumerate(params):\n"
                   "        if p.grad is not None:\n"
                   "            params[i] = mg.tensor(p.data - lr * p.grad.data, requires_grad=True)",
                   "c.py")
    (r,) = run_lesson(ALL[2], path, only="2.4")
    assert r.status == FAILED and r.check == "sgd_step keeps the parameter objects in the list"
    assert "positions [0, 1]" in r.detail


def test_sgd_step_that_changes_values_wrongly_gets_the_ordinary_comparison(tmp_path):
    path = _mutant(tmp_path, 2, _STEP, "            p.data = p.data + lr * p.grad.data\n")
    (r,) = run_lesson(ALL[2], path, only="2.4")
    assert r.status == FAILED and r.check.startswith("parameter 0 after one step")
    assert "values differ" in r.detail and "rebind" not in r.detail


def test_the_rebinding_explanation_follows_what_the_tensor_supports():
    before = [np.zeros(2)]
    expected = [np.ones(2)]
    held = {"p": [np.zeros(2), np.ones(2)]}
    old = _rebinding_detail(before, [np.zeros(2)], expected, held, False, False)
    assert "`p -= lr * p.grad` does the same" in _norm(old) and "p.sub_" not in old
    new = _rebinding_detail(before, [np.zeros(2)], expected, held, True, True)
    assert "does the same" not in new
    assert "p -= ... under mg.no_grad(), or p.sub_(...) under mg.no_grad()" in _norm(new)
    nothing = _rebinding_detail(before, [np.zeros(2)], expected, {"p": [np.zeros(2)]}, True, True)
    assert "No local name of your sgd_step ever held the updated values" in nothing
    assert _rebinding_detail(before, [np.full(2, 0.5)], expected, held, True, True) is None


def test_watching_locals_restores_the_tracer(tmp_path):
    from minigrad import Tensor

    def student(xs):
        t = Tensor(np.arange(3.0))
        t = t + 1
        ys = [t * 2]
        return len(ys)

    before = sys.gettrace()
    result, held = core.call_watching_locals(student, [])
    assert result == 1 and sys.gettrace() is before
    assert [v.tolist() for v in held["t"]] == [[0, 1, 2], [1, 2, 3]]
    assert [v.tolist() for v in held["ys[0]"]] == [[2, 4, 6]]

    def fails():
        raise KeyError("x")

    with pytest.raises(KeyError):
        core.call_watching_locals(fails)
    assert sys.gettrace() is before
