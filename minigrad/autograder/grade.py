"""`minigrad lesson grade DIR --out grades.csv [--json report.json]`: a class's gradebook.

DIR holds one entry per student; the student's name is the entry's name:

    DIR/alice/03_attention.py              a folder per student, one file per lesson, named
    DIR/alice/03_attention/exercises.py    like lessons/solutions/ (or like lessons/: a copy
    DIR/alice/lessons/03_attention/exercises.py     of the lesson folders)
    DIR/bob.py  (with --lessons 3)         one file per student, all for the same lesson
    DIR/carol/exercises.py  (with --lessons 3)

Every task of every lesson asked for (--lessons 1,2,3; all by default) is graded, each
lesson's file in a process of its own (see isolation.py), each task within its time limit;
a missing file scores 0 for its lesson's tasks (MISSING).

    --out grades.csv      student, one column per task (1 passed, 0 not), the passed tasks per
                          lesson, passed, out_of, percent, seconds
    --json report.json    a list with one object per student in the format of Gradescope's
                          results.json ("score", "max_score", "execution_time", "output",
                          "tests": [{"name", "number", "score", "max_score", "status",
                          "output"}], and "extra_data": {"student", ...})
    --json-dir DIR2       the same object for each student as DIR2/<student>.json: one
                          results.json per submission, as Gradescope reads it

The output of a test is what `minigrad lesson check` prints under a failure, at the level of
--hint / --no-hints / MINIGRAD_LESSON_HINTS (the default: the failed check and what is wrong).
A summary line ends the run: students graded, the mean score, the failures by kind, the time.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ..i18n import language, tr
from .core import LABELS, WHAT, TaskResult, grade_lesson, status_word
from .isolation import IMPORT_TIMEOUT, MEMORY_MB

MISSING = "MISSING"


@dataclasses.dataclass
class Submission:
    student: str
    files: dict            # lesson number -> Path, or None when the student has no file for it
    looked_for: dict       # lesson number -> the paths looked for (for a MISSING's detail)


@dataclasses.dataclass
class StudentGrade:
    student: str
    results: list          # TaskResult of every task of every lesson, in order
    seconds: float
    processes: int = 0

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)


class UsageError(Exception):
    pass


def _candidates(folder: Path, lesson, single: bool) -> list[Path]:
    names = [folder / f"{lesson.folder}.py", folder / lesson.folder / "exercises.py",
             folder / "lessons" / lesson.folder / "exercises.py"]
    if single:
        names.append(folder / "exercises.py")
    return names


def find_submissions(root: Path, lessons: list) -> list[Submission]:
    """One Submission per entry of `root` (see the module's docstring for the layouts)."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"no such folder: {root}")
    single = len(lessons) == 1
    entries = sorted(p for p in root.iterdir()
                     if not p.name.startswith((".", "_")) and (p.is_dir() or p.suffix == ".py"))
    files = [p for p in entries if p.is_file()]
    if files and not single:
        raise UsageError(f"{root} holds .py files ({files[0].name}, ...): a file per student is "
                         f"for one lesson; say which with --lessons N (or give each student a "
                         f"folder with one file per lesson, e.g. alice/03_attention.py)")
    out = []
    for entry in entries:
        if entry.is_file():
            lesson = lessons[0]
            out.append(Submission(entry.stem, {lesson.number: entry}, {lesson.number: [entry]}))
            continue
        found, looked = {}, {}
        for lesson in lessons:
            names = _candidates(entry, lesson, single)
            looked[lesson.number] = names
            found[lesson.number] = next((p for p in names if p.is_file()), None)
        out.append(Submission(entry.name, found, looked))
    if not out:
        raise UsageError(f"{root} holds no submissions (a folder or a .py file per student)")
    return out


def grade_student(sub: Submission, lessons: list, *, timeout=None, memory_mb=MEMORY_MB,
                  import_timeout=IMPORT_TIMEOUT, isolation=None) -> StudentGrade:
    start = time.perf_counter()
    results, processes = [], 0
    for lesson in lessons:
        path = sub.files.get(lesson.number)
        if path is None:
            looked = ", ".join(str(p) for p in sub.looked_for.get(lesson.number, []))
            results += [TaskResult(t, MISSING, tr(f"no file for lesson {lesson.number}",
                                                  f"没有第 {lesson.number} 课的文件"),
                                   tr(f"looked for {looked}", f"找过：{looked}"))
                        for t in lesson.tasks]
            continue
        report = grade_lesson(lesson, path, timeout=timeout, memory_mb=memory_mb,
                              import_timeout=import_timeout, isolation=isolation)
        results += report.results
        processes += report.processes
    return StudentGrade(sub.student, results, time.perf_counter() - start, processes)


# ----------------------------------------------------------------------------------------
# The gradebook and the report
# ----------------------------------------------------------------------------------------
def _atomic_write(path: Path, text: str):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def gradebook_csv(grades: list[StudentGrade], lessons: list) -> str:
    tasks = [t for lesson in lessons for t in lesson.tasks]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student"] + [t.id for t in tasks] + [f"lesson {l.number}" for l in lessons]
               + ["passed", "out_of", "percent", "seconds"])
    for g in grades:
        by_id = {r.task.id: r for r in g.results}
        cells = [int(by_id[t.id].passed) for t in tasks]
        per_lesson = [sum(by_id[t.id].passed for t in l.tasks) for l in lessons]
        w.writerow([g.student] + cells + per_lesson +
                   [g.passed, len(tasks), f"{100 * g.passed / max(len(tasks), 1):.1f}",
                    f"{g.seconds:.2f}"])
    return buf.getvalue()


def _test_output(r: TaskResult, hints: int) -> str:
    if r.passed:
        return tr("passed", "通过")
    colon = tr(": ", "：")
    lines = [status_word(r.status)] + [f"{LABELS[label]}{colon}{text}"
                                       for label, text in r.report(hints)]
    return "\n".join(lines)


def gradescope_results(g: StudentGrade, hints: int = WHAT) -> dict:
    """One student's results in the format of Gradescope's results.json."""
    tests = [{"name": f"{r.task.id} {r.task.title}", "number": r.task.id,    # the title: str
              "score": 1.0 if r.passed else 0.0, "max_score": 1.0,
              "status": "passed" if r.passed else "failed", "output": _test_output(r, hints),
              "extra_data": {"result": r.status, "seconds": round(r.seconds, 3)}}
             for r in g.results]
    failed = Counter(r.status for r in g.results if not r.passed)
    kinds = ", ".join(f"{n} {status_word(s)}" for s, n in sorted(failed.items()))
    summary = tr(f"{g.passed}/{len(g.results)} tasks passed", f"通过 {g.passed}/{len(g.results)} 道题") + (
        tr(f" ({kinds})", f"（{kinds}）") if failed else "")
    return {"score": float(g.passed), "max_score": float(len(g.results)),
            "execution_time": round(g.seconds, 2), "output": summary, "tests": tests,
            "extra_data": {"student": g.student, "processes": g.processes}}


def summary_line(grades: list[StudentGrade], lessons: list, seconds: float) -> str:
    n_tasks = sum(len(l.tasks) for l in lessons)
    n = len(grades)
    mean = sum(g.passed for g in grades) / max(n, 1)
    reasons = Counter(r.status for g in grades for r in g.results if not r.passed)
    fails = ", ".join(f"{s} {reasons[s]}" for s in ("FAIL", "TODO", "ERROR", "TIMEOUT", MISSING)
                      if reasons[s])
    if language() == "zh":
        fails_zh = "，".join(f"{status_word(s)} {reasons[s]}"
                            for s in ("FAIL", "TODO", "ERROR", "TIMEOUT", MISSING) if reasons[s])
        return (f"评阅了 {n} 名学生的 {len(lessons)} 课（每人 {n_tasks} 道题），用时 {seconds:.1f} 秒"
                f"（每名学生 {seconds / max(n, 1):.1f} 秒）：平均得分 {mean:.1f}/{n_tasks}"
                f"（{100 * mean / max(n_tasks, 1):.0f}%）；未通过的题目按类别：{fails_zh or '无'}")
    return (f"graded {n} student{'s' * (n != 1)} on {len(lessons)} lesson"
            f"{'s' * (len(lessons) != 1)} ({n_tasks} tasks each) in {seconds:.1f} s "
            f"({seconds / max(n, 1):.1f} s per student): mean score {mean:.1f}/{n_tasks} "
            f"({100 * mean / max(n_tasks, 1):.0f}%); failed tasks by kind: {fails or 'none'}")


def run(args, all_lessons: dict, hints: int) -> int:
    """The `grade` action (args from __init__._parser); returns the exit status."""
    try:
        if args.lessons:
            try:
                numbers = [int(x) for x in args.lessons.split(",") if x.strip()]
            except ValueError:
                raise UsageError(f"--lessons {args.lessons!r}: give lesson numbers, e.g. 1,2,3") from None
            unknown = [x for x in numbers if x not in all_lessons]
            if unknown or not numbers:
                raise UsageError(f"no lesson {unknown[0] if unknown else args.lessons!r}; the "
                                 f"lessons are {', '.join(map(str, all_lessons))}")
            lessons = [all_lessons[x] for x in dict.fromkeys(numbers)]
        else:
            lessons = list(all_lessons.values())
        if args.timeout is not None and not args.timeout > 0:
            raise UsageError("--timeout must be a positive number of seconds")
        if args.memory is not None and not args.memory > 0:
            raise UsageError("--memory must be a positive number of MiB")
        subs = find_submissions(Path(args.dir), lessons)
    except UsageError as e:
        print(f"minigrad lesson grade: error: {e}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    grades = []
    n_tasks = sum(len(l.tasks) for l in lessons)
    width = max(len(s.student) for s in subs)
    for sub in subs:
        g = grade_student(sub, lessons, timeout=args.timeout,
                          memory_mb=MEMORY_MB if args.memory is None else args.memory,
                          import_timeout=args.import_timeout)
        grades.append(g)
        failed = Counter(r.status for r in g.results if not r.passed)
        print(f"  {g.student:<{width}}  {g.passed:>3}/{n_tasks}  {g.seconds:6.1f} s" +
              ("  " + ", ".join(f"{s} {c}" for s, c in sorted(failed.items())) if failed else ""),
              flush=True)
    seconds = time.perf_counter() - start
    _atomic_write(Path(args.out), gradebook_csv(grades, lessons))
    reports = [gradescope_results(g, hints) for g in grades]
    if args.json:
        _atomic_write(Path(args.json), json.dumps(reports, ensure_ascii=False, indent=1) + "\n")
    if args.json_dir:
        for g, rep in zip(grades, reports):
            _atomic_write(Path(args.json_dir) / f"{g.student}.json",
                          json.dumps(rep, ensure_ascii=False, indent=1) + "\n")
    print(summary_line(grades, lessons, seconds))
    written = [args.out] + ([args.json] if args.json else []) + \
              ([f"{args.json_dir}/<student>.json"] if args.json_dir else [])
    print(tr("wrote ", "已写入 ") + ", ".join(str(w) for w in written))
    return 0


__all__ = ["find_submissions", "grade_student", "gradebook_csv", "gradescope_results",
           "summary_line", "run", "MISSING"]
