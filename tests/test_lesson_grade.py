"""`minigrad lesson grade DIR --out grades.csv --json report.json`: a class's gradebook.

Ten submissions for lessons 3 and 9 (seven tasks): correct ones in the three folder layouts,
partly wrong ones, stubs, a missing file, and hostile ones.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from minigrad import autograder

ROOT = Path(__file__).resolve().parents[1]
ALL = autograder.lessons()
L3, L9 = ALL[3], ALL[9]
TASKS = [t.id for t in L3.tasks + L9.tasks]


def _solution(lesson):
    return (ROOT / "lessons" / "solutions" / f"{lesson.folder}.py").read_text(encoding="utf-8")


def _stub(lesson):
    return (ROOT / "lessons" / lesson.folder / "exercises.py").read_text(encoding="utf-8")


def _mutant(lesson, old, new):
    source = _solution(lesson)
    assert source.count(old) == 1
    return source.replace(old, new)


CHEAT = """import numpy
import minigrad.autograder.core as core
core.run_task = lambda task, *a, **k: core.TaskResult(task, core.PASSED)
numpy.isclose = lambda a, b, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)
numpy.allclose = lambda *a, **k: True
"""
WRONG_3_2 = ("return y * (g - np.sum(g * y, axis=dim, keepdims=True))", "return y * g")
WRONG_9_2 = ("R = layer @ R", "R = R @ layer")

# student -> (lesson 3's file, lesson 9's file, the layout), and the tasks each must pass
CLASS = {
    "alice": (_solution(L3), _solution(L9), "flat"),
    "bob": (_solution(L3), _solution(L9), "folder"),
    "carol": (_solution(L3), _solution(L9), "lessons"),
    "dave": (_mutant(L3, *WRONG_3_2), _mutant(L9, *WRONG_9_2), "flat"),
    "erin": (_solution(L3), _stub(L9), "flat"),
    "frank": (_stub(L3), _stub(L9), "folder"),
    "grace": (CHEAT + _mutant(L3, *WRONG_3_2), CHEAT + _mutant(L9, *WRONG_9_2), "flat"),
    "heidi": (_solution(L3) + "\nimport os\nos._exit(0)\n", _solution(L9), "flat"),
    "ivan": (_solution(L3), 'print("9.1 PASS\\n9.2 PASS\\n9.3 PASS")\n' + _solution(L9)
             + "\nwhile True:\n    pass\n", "flat"),
    "judy": (_solution(L3), None, "flat"),
}
EXPECTED = {          # student -> tasks passed, and the kinds of the failures
    "alice": (7, {}), "bob": (7, {}), "carol": (7, {}),
    "dave": (5, {"FAIL": 2}), "erin": (4, {"TODO": 3}), "frank": (0, {"TODO": 7}),
    "grace": (5, {"FAIL": 2}), "heidi": (3, {"ERROR": 4}), "ivan": (4, {"TIMEOUT": 3}),
    "judy": (4, {"MISSING": 3}),
}


def _place(root: Path, student: str, lesson, text: str, layout: str):
    folder = root / student
    path = {"flat": folder / f"{lesson.folder}.py",
            "folder": folder / lesson.folder / "exercises.py",
            "lessons": folder / "lessons" / lesson.folder / "exercises.py"}[layout]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    subs = root / "submissions"
    for student, (f3, f9, layout) in CLASS.items():
        _place(subs, student, L3, f3, layout)
        if f9 is not None:
            _place(subs, student, L9, f9, layout)
    out = root / "out"
    status = autograder.main(["grade", str(subs), "--out", str(out / "grades.csv"),
                              "--json", str(out / "report.json"), "--json-dir", str(out / "gs"),
                              "--lessons", "3,9", "--timeout", "20", "--import-timeout", "2"])
    return status, out


def test_grade_writes_the_gradebook(graded):
    status, out = graded
    assert status == 0
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8")))
    assert [r["student"] for r in rows] == sorted(CLASS)
    header = list(rows[0])
    assert header == ["student", *TASKS, "lesson 3", "lesson 9", "passed", "out_of", "percent",
                      "seconds"]
    for r in rows:
        passed, _ = EXPECTED[r["student"]]
        assert int(r["passed"]) == passed, r
        assert int(r["passed"]) == sum(int(r[t]) for t in TASKS)
        assert int(r["lesson 3"]) + int(r["lesson 9"]) == passed and r["out_of"] == "7"
        assert float(r["percent"]) == pytest.approx(100 * passed / 7, abs=0.05)
    by = {r["student"]: r for r in rows}
    assert by["dave"]["3.2"] == "0" and by["dave"]["9.2"] == "0" and by["dave"]["3.1"] == "1"
    assert by["grace"]["3.2"] == "0" and by["grace"]["9.2"] == "0"       # the cheats score 0


def test_grade_writes_a_gradescope_report(graded):
    _, out = graded
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [s["extra_data"]["student"] for s in report] == sorted(CLASS)
    for s in report:
        passed, kinds = EXPECTED[s["extra_data"]["student"]]
        assert s["score"] == passed and s["max_score"] == 7
        assert isinstance(s["execution_time"], float) and isinstance(s["output"], str)
        assert [t["number"] for t in s["tests"]] == TASKS
        for t in s["tests"]:
            assert set(t) >= {"name", "score", "max_score", "output", "status"}
            assert t["max_score"] == 1 and t["score"] in (0, 1)
            assert t["status"] == ("passed" if t["score"] else "failed")
        seen = {}
        for t in s["tests"]:
            if not t["score"]:
                kind = t["extra_data"]["result"]
                seen[kind] = seen.get(kind, 0) + 1
        assert seen == kinds, (s["extra_data"]["student"], seen)
        gs = json.loads((out / "gs" / f"{s['extra_data']['student']}.json").read_text("utf-8"))
        assert gs == s
    heidi = next(s for s in report if s["extra_data"]["student"] == "heidi")
    assert "exit status 0" in heidi["tests"][0]["output"]
    dave = next(s for s in report if s["extra_data"]["student"] == "dave")
    failed = next(t for t in dave["tests"] if t["number"] == "3.2")
    assert failed["name"] == "3.2 the backward of softmax"
    assert "check: softmax_backward for shape (4, 5), dim=-1" in failed["output"]
    assert "why:" in failed["output"] and "nudge:" not in failed["output"]


def test_grade_prints_a_line_per_student_and_a_summary(tmp_path, capsys):
    subs = tmp_path / "subs"
    _place(subs, "ann", L3, _solution(L3), "flat")
    _place(subs, "ben", L3, _mutant(L3, *WRONG_3_2), "flat")
    assert autograder.main(["grade", str(subs), "--out", str(tmp_path / "g.csv"),
                            "--lessons", "3", "--no-hints", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "ann" in out and "4/4" in out and "ben" in out and "3/4" in out
    summary = [line for line in out.splitlines() if line.startswith("graded ")]
    assert summary and "graded 2 students on 1 lesson (4 tasks each)" in summary[0]
    assert "mean score 3.5/4 (88%)" in summary[0] and "FAIL 1" in summary[0]
    assert " s per student" in summary[0]
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    failed = [t for t in report[1]["tests"] if not t["score"]][0]
    assert "why:" not in failed["output"] and "check:" in failed["output"]   # --no-hints


def test_one_file_per_student_for_one_lesson(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ann.py").write_text(_solution(L9), encoding="utf-8")
    (subs / "ben.py").write_text(_stub(L9), encoding="utf-8")
    csv_path = tmp_path / "g.csv"
    assert autograder.main(["grade", str(subs), "--out", str(csv_path), "--lessons", "9"]) == 0
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert [(r["student"], r["passed"]) for r in rows] == [("ann", "3"), ("ben", "0")]
    # without --lessons, a file per student is ambiguous
    assert autograder.main(["grade", str(subs), "--out", str(csv_path)]) == 2
    assert "--lessons N" in capsys.readouterr().err


def test_grade_usage_errors(tmp_path, capsys):
    out = str(tmp_path / "g.csv")
    assert autograder.main(["grade", str(tmp_path / "nowhere"), "--out", out]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert autograder.main(["grade", str(tmp_path), "--out", out]) == 2
    assert "no submissions" in capsys.readouterr().err
    (tmp_path / "ann").mkdir()
    assert autograder.main(["grade", str(tmp_path), "--out", out, "--lessons", "42"]) == 2
    assert autograder.main(["grade", str(tmp_path), "--out", out, "--lessons", "x"]) == 2
    assert autograder.main(["grade", str(tmp_path), "--out", out, "--timeout", "0"]) == 2
    assert autograder.main(["grade", str(tmp_path)]) == 2                 # --out is required
    assert not Path(out).exists()
