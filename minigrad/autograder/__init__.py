"""The classroom autograder: `minigrad lesson check N [--file PATH]` and `minigrad lesson list`.

    minigrad lesson list                       the lessons and their tasks
    minigrad lesson check 3                    check lessons/03_attention/exercises.py
    minigrad lesson check 3 --task 3.2         only one task
    minigrad lesson check 3 --file my.py       check another file (a student's copy)
    minigrad lesson check 3 --hint             also a nudge under each failure
    minigrad lesson check 3 --no-hints         an exam: pass/fail and the failed check's name only
    minigrad lesson grade DIR --out grades.csv [--json report.json] [--lessons 1,2] [--timeout S]
                                               a class: a gradebook and a Gradescope-style report
    minigrad lesson check 3 --lang zh          the table, reasons and nudges in Chinese (中文);
                                               also with LANG=zh_CN.UTF-8 or MINIGRAD_LANG=zh

It prints a table of the tasks passed and failed and, under each failure, the check that
failed and what is wrong (the first differing value, shapes and dtypes, or the exception and
the line of the student's code that raised it); --hint adds a nudge (where in the chapter to
look, never the answer's code); --no-hints (or MINIGRAD_LESSON_HINTS=off in the environment,
which --hint cannot override) shows only the name of the failed check.  It exits with status
0 when every task passes, 1 when one fails, 2 on a usage error (no such lesson or file), so a
teacher can script it over a class's files.

The student's file never runs in the grading process: it is imported in a process of its own
(isolation.py, runner.py), with a time limit per task, a memory limit and a fresh state, and
only the values its functions return come back (JSON and .npy, never pickle).  The checks,
their reference values and the verdicts stay here, so nothing the file does in its process
(patching numpy or the checks, printing a table, exiting early) can make a task pass.  What
this does not protect against is in lessons/README.md ("What the autograder protects
against").  `grade` is in grade.py.

Each lesson's checks are one module here, `lessonNN.py`, defining `LESSON` (see core.py); the
stubs and task descriptions are in lessons/NN_name/, the reference solutions in
lessons/solutions/NN_name.py.  Adding a lesson is adding those three things: nothing here
lists the lessons by hand.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shlex
import re
import sys
from pathlib import Path

from .core import (CRASHED, FAILED, NO_HINTS, NUDGE, PASSED, TIMEOUT, TODO, WHAT, CheckFailed,
                   Lesson, LessonReport, LoadError, Task, TaskResult, format_output, format_table,
                   grade_lesson, load_exercises, run_lesson, run_task)
from ..i18n import set_language, tr
from . import isolation
from .isolation import StudentProcess

__all__ = ["main", "lessons", "get_lesson", "find_exercises", "solution_path", "run_lesson",
           "grade_lesson", "run_task", "format_table", "format_output", "load_exercises",
           "Lesson", "LessonReport", "Task", "TaskResult", "StudentProcess", "CheckFailed",
           "LoadError", "PASSED", "FAILED", "TODO", "CRASHED", "TIMEOUT", "NO_HINTS", "WHAT",
           "NUDGE", "HINTS_ENV"]

HINTS_ENV = "MINIGRAD_LESSON_HINTS"      # "off": every check runs as with --no-hints (an exam)

_MODULE_NAME = re.compile(r"^lesson(\d\d)$")


def lessons() -> dict[int, Lesson]:
    """Every lesson with checks, by number (found as minigrad/autograder/lessonNN.py)."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        m = _MODULE_NAME.match(info.name)
        if m:
            lesson = importlib.import_module(f"{__name__}.{info.name}").LESSON
            found[lesson.number] = lesson
    return dict(sorted(found.items()))


def get_lesson(number: int) -> Lesson:
    all_lessons = lessons()
    if number not in all_lessons:
        known = ", ".join(map(str, all_lessons))
        raise KeyError(tr(f"no lesson {number}; the lessons with exercises are {known} (see "
                          f"`minigrad lesson list`)",
                          f"没有第 {number} 课；有练习的课是 {known}（见 `minigrad lesson list`）"))
    return all_lessons[number]


def find_lessons_dir(start: Path | None = None) -> Path | None:
    """The nearest `lessons/` folder: in the current directory or one above it (a checkout),
    else the one beside the installed package (an editable install)."""
    start = Path.cwd() if start is None else Path(start)
    for folder in (start, *start.parents):
        if (folder / "lessons").is_dir():
            return folder / "lessons"
    beside = Path(__file__).resolve().parents[2] / "lessons"
    return beside if beside.is_dir() else None


def find_exercises(lesson: Lesson, start: Path | None = None) -> Path:
    """The default file to check: lessons/<folder>/exercises.py (see find_lessons_dir)."""
    root = find_lessons_dir(start)
    if root is None:
        return Path("lessons") / lesson.folder / "exercises.py"   # reported as missing
    return root / lesson.folder / "exercises.py"


def solution_path(lesson: Lesson, start: Path | None = None) -> Path:
    """The reference solution (for teachers and for the tests): lessons/solutions/<folder>.py."""
    root = find_lessons_dir(start) or Path("lessons")
    return root / "solutions" / f"{lesson.folder}.py"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minigrad lesson",
                                description="classroom exercises and their autograder")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    _lang_flag(sub.add_parser("list", help="the lessons and their tasks"))
    check = sub.add_parser("check", help="check a lesson's exercises and print a table")
    check.add_argument("lesson", type=int, help="lesson number, e.g. 3")
    check.add_argument("--file", default=None,
                       help="the file to check (default: lessons/NN_name/exercises.py, looked for "
                            "in the current directory and the ones above it)")
    check.add_argument("--task", default=None, help="check only this task, e.g. 3.2")
    check.add_argument("--timeout", type=float, default=None, metavar="S",
                       help="seconds each task may take (default: the task's own, 30 s for most)")
    _hint_flags(check)
    _lang_flag(check)
    grade = sub.add_parser("grade", help="grade a class's files: a CSV gradebook and a JSON report")
    grade.add_argument("dir", metavar="DIR",
                       help="one entry per student: DIR/<student>/NN_name.py (or "
                            "NN_name/exercises.py) per lesson, or DIR/<student>.py with --lessons N")
    grade.add_argument("--out", required=True, metavar="CSV",
                       help="the gradebook: one row per student, one column per task (1/0), totals")
    grade.add_argument("--json", default=None, metavar="PATH",
                       help="a JSON list with one Gradescope results.json object per student")
    grade.add_argument("--json-dir", default=None, metavar="DIR",
                       help="one Gradescope results.json per student, as DIR/<student>.json")
    grade.add_argument("--lessons", "--lesson", default=None, metavar="N,M",
                       help="the lessons to grade, e.g. 1,2,3 (default: all)")
    grade.add_argument("--timeout", type=float, default=None, metavar="S",
                       help="seconds each task may take (default: the task's own, 30 s for most)")
    grade.add_argument("--import-timeout", type=float, default=30.0, metavar="S",
                       help="seconds to import a student's file (default 30)")
    grade.add_argument("--memory", type=float, default=None, metavar="MIB",
                       help="memory a student's process may use beyond what minigrad itself takes "
                            "(RLIMIT_AS; default 4096 MiB)")
    _hint_flags(grade)
    _lang_flag(grade)
    return p


def _lang_flag(parser):
    parser.add_argument("--lang", choices=["en", "zh"], default=None,
                        help="the language of the table, the reasons and the nudges: en or zh "
                             "(中文); default: MINIGRAD_LANG, else the locale (LANG=zh_CN.UTF-8 "
                             "gives zh), else en")


def _hint_flags(parser):
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--hint", action="store_true",
                       help="also show a nudge under each failure: the formula, the section, the "
                            "function to look at (never the answer)")
    level.add_argument("--no-hints", action="store_true",
                       help="for an exam: only pass/fail and the name of the failed check (no "
                            f"values, no nudge); {HINTS_ENV}=off does the same for every run")


def _hint_level(args) -> int:
    """NO_HINTS, WHAT or NUDGE from the flags and the environment (a teacher's off wins)."""
    env = os.environ.get(HINTS_ENV, "").strip().lower()
    if env not in ("", "on", "off"):
        raise ValueError(f"{HINTS_ENV}={os.environ[HINTS_ENV]!r}: use 'off' (an exam: no hints) "
                         f"or 'on'")
    if env == "off":
        if args.hint:
            print(tr(f"minigrad lesson: hints are turned off here ({HINTS_ENV}=off): showing only "
                     f"the failed checks",
                     f"minigrad lesson：这里关闭了提示（{HINTS_ENV}=off），只显示未通过的检查"),
                  file=sys.stderr)
        return NO_HINTS
    return NO_HINTS if args.no_hints else NUDGE if args.hint else WHAT


def main(argv=None) -> int:
    """`minigrad lesson ...`; returns the exit status (0 all passed, 1 a task failed, 2 usage)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:          # argparse: --help (0) or a usage error (2)
        return int(e.code or 0)
    if args.lang:
        set_language(args.lang)        # every message, here and in the student's process
    if args.action == "list":
        for lesson in lessons().values():
            print(tr(f"Lesson {lesson.number}: {lesson.title} ({lesson.sections})  "
                     f"[lessons/{lesson.folder}]",
                     f"第 {lesson.number} 课：{lesson.title}（{lesson.sections}）  "
                     f"[lessons/{lesson.folder}]"))
            for t in lesson.tasks:
                print(tr(f"  Task {t.id}: {t.title}", f"  第 {t.id} 题：{t.title}"))
        return 0
    if args.action == "grade":
        from . import grade
        try:
            hints = _hint_level(args)
            isolation.launcher()                   # a bad $MINIGRAD_GRADER_ISOLATION is a usage error
        except ValueError as e:
            print(f"minigrad lesson: error: {e.args[0]}", file=sys.stderr)
            return 2
        return grade.run(args, lessons(), hints)
    try:
        lesson = get_lesson(args.lesson)
        hints = _hint_level(args)
        isolation.launcher()
        if args.timeout is not None and not args.timeout > 0:
            raise ValueError(tr("--timeout must be a positive number of seconds",
                                "--timeout 必须是正的秒数"))
    except (KeyError, ValueError) as e:
        print(f"minigrad lesson: error: {e.args[0]}", file=sys.stderr)
        return 2
    if args.task is not None and args.task not in {t.id for t in lesson.tasks}:
        ids = ", ".join(t.id for t in lesson.tasks)
        print("minigrad lesson: error: " +
              tr(f"lesson {lesson.number} has no task {args.task}; its tasks are {ids}",
                 f"第 {lesson.number} 课没有第 {args.task} 题；它的题目是 {ids}"), file=sys.stderr)
        return 2
    path = Path(args.file) if args.file else find_exercises(lesson)
    if not path.is_file():
        print("minigrad lesson: error: " + tr(f"no such file: {path}", f"没有这个文件：{path}") +
              ("" if args.file else tr(" (run from the folder that holds lessons/, or pass --file)",
                                       "（请在包含 lessons/ 的文件夹中运行，或者用 --file 指定）")),
              file=sys.stderr)
        return 2
    report = grade_lesson(lesson, path, only=args.task, timeout=args.timeout)
    results = report.results
    command = f"minigrad lesson check {lesson.number}" + \
        (f" --file {shlex.quote(args.file)}" if args.file else "") + \
        (f" --task {args.task}" if args.task else "")
    if report.output:
        print(format_output(report.output, report.output_lines) + "\n")
    print(format_table(lesson, path, results, hints, command))
    return 0 if all(r.passed for r in results) else 1
