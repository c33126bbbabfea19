"""The autograder runs a student's file in a process of its own (issue 12.1).

Each hostile file below gives wrong answers and tries to pass anyway -- by patching numpy or
the checks, exiting early, hanging, printing a fake table, forging the grader's messages --
and must score 0 on the tasks it cheats.  Lesson 3 (four small tasks) is the target.
"""
from __future__ import annotations

import io
import json
import os
import struct
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from minigrad import autograder
from minigrad.autograder import CRASHED, FAILED, PASSED, TIMEOUT, grade_lesson, protocol
from minigrad.autograder import isolation

ROOT = Path(__file__).resolve().parents[1]
L3 = autograder.get_lesson(3)
SOLUTION_3 = ROOT / "lessons" / "solutions" / f"{L3.folder}.py"

posix_only = pytest.mark.skipif(os.name != "posix", reason="process groups and rlimits are POSIX")

# wrong answers to every task of lesson 3
WRONG = textwrap.dedent("""
    import numpy as np
    import minigrad as mg

    def causal_mask(T):
        return np.ones((T, T), bool)

    def softmax_backward(y, g, dim=-1):
        return y * g

    def padding_mask(lengths, S):
        return np.ones((len(lengths), 1, 1, S), bool)

    def scaled_dot_product_attention(q, k, v, mask=None):
        w = (q @ k.mT).softmax(dim=-1)
        return w @ v, w
    """)

CHEATS = {
    "numpy's comparisons replaced": """
        import numpy, numpy.testing
        numpy.isclose = lambda a, b, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)
        numpy.allclose = lambda *a, **k: True
        numpy.array_equal = lambda *a, **k: True
        numpy.testing.assert_allclose = lambda *a, **k: None
        """,
    "the checks and core.run_task replaced": """
        import minigrad.autograder as ag
        import minigrad.autograder.core as core
        from minigrad.autograder import lesson03
        for t in lesson03.LESSON.tasks:
            t.check = lambda ex: None
        core.run_task = lambda task, *a, **k: core.TaskResult(task, core.PASSED)
        core.assert_close = lambda *a, **k: None
        core.compare_arrays = lambda *a, **k: ""
        ag.run_lesson = lambda lesson, path, only=None, **k: [
            core.TaskResult(t, core.PASSED) for t in lesson.tasks]
        """,
    "the engine's softmax replaced by the student's": """
        import minigrad.nn.functional as F
        F.scaled_dot_product_attention = lambda q, k, v, **kw: (q, q)
        """,
}


def _write(tmp_path, name, *parts) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(textwrap.dedent(p) for p in parts), encoding="utf-8")
    return path


def _table(capsys, path, *extra):
    status = autograder.main(["check", "3", "--file", str(path), *extra])
    return status, capsys.readouterr().out


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_patching_anything_in_the_students_process_passes_no_task(tmp_path, capsys, cheat):
    path = _write(tmp_path, "cheat.py", CHEATS[cheat], WRONG)
    status, out = _table(capsys, path)
    assert status == 1 and "0/4 tasks passed" in out, out
    results = grade_lesson(L3, path).results
    assert [r.status for r in results] == [FAILED] * 4, [r.message for r in results]
    # and the grading process itself is untouched
    assert autograder.core.run_task.__module__ == "minigrad.autograder.core"
    assert np.isclose(1.0, 2.0) == False  # noqa: E712


def test_the_same_file_without_the_cheat_fails_the_same_way(tmp_path):
    honest = grade_lesson(L3, _write(tmp_path, "wrong.py", WRONG)).results
    cheat = grade_lesson(L3, _write(tmp_path, "c.py", CHEATS["numpy's comparisons replaced"],
                                    WRONG)).results
    assert [r.message for r in honest] == [r.message for r in cheat]


def test_os_exit_at_import_fails_every_task(tmp_path, capsys):
    path = _write(tmp_path, "exit.py", WRONG, "import os\nos._exit(0)\n")
    status, out = _table(capsys, path)
    assert status == 1 and "0/4 tasks passed" in out
    results = grade_lesson(L3, path).results
    assert [r.status for r in results] == [CRASHED] * 4
    assert results[0].check == "your file does not import (exit.py)"
    assert "exit status 0" in results[0].detail


def test_sys_exit_at_import_fails_every_task(tmp_path):
    results = grade_lesson(L3, _write(tmp_path, "sysexit.py", WRONG, "import sys\nsys.exit(0)\n")).results
    assert [r.status for r in results] == [CRASHED] * 4
    assert "SystemExit" in results[0].detail and "sysexit.py, line" in results[0].detail


def test_an_endless_loop_at_import_times_out(tmp_path):
    path = _write(tmp_path, "loop.py", WRONG, "while True:\n    pass\n")
    start = time.monotonic()
    results = grade_lesson(L3, path, import_timeout=1.5).results
    assert time.monotonic() - start < 10
    assert [r.status for r in results] == [TIMEOUT] * 4
    assert "importing your file took longer than 1.5 s" in results[0].detail


def test_a_task_that_swallows_every_exception_still_times_out(tmp_path):
    path = _write(tmp_path, "swallow.py", WRONG, """
        import signal, time
        signal.signal(signal.SIGALRM, signal.SIG_IGN)

        def causal_mask(T):
            while True:
                try:
                    time.sleep(0.01)
                except BaseException:
                    pass
        """)
    start = time.monotonic()
    report = grade_lesson(L3, path, timeout=1.0)
    assert time.monotonic() - start < 15
    statuses = [r.status for r in report.results]
    assert statuses == [TIMEOUT, FAILED, FAILED, FAILED], statuses
    assert report.results[0].check == "took longer than 1 s"
    assert report.processes == 2                 # killed, and a fresh one for the other tasks
    assert autograder.main(["check", "3", "--file", str(path), "--task", "3.1",
                            "--timeout", "0.5"]) == 1
    assert autograder.main(["check", "3", "--file", str(path), "--timeout", "0"]) == 2


def test_a_fake_table_printed_by_the_file_is_shown_as_its_output(tmp_path, capsys):
    path = _write(tmp_path, "show.py", """
        print("Lesson 3: Self-attention (§4.1 自注意力机制)")
        print("  3.1   the causal mask  PASS     0.00s")
        print("4/4 tasks passed. Well done!")
        """, WRONG)
    status, out = _table(capsys, path)
    assert status == 1
    head, _, table = out.partition("\nLesson 3: Self-attention")
    assert head.startswith("your code printed 3 lines:")
    assert "  | 4/4 tasks passed. Well done!" in head
    assert "0/4 tasks passed" in table and "Well done" not in table
    assert all(line.startswith("  | ") for line in head.splitlines()[1:] if line)


def test_forged_answers_and_result_files_are_not_believed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, "forge.py", """
        import json, os, struct
        for name in ("results.json", "grades.csv"):
            with open(name, "w") as f:
                f.write(json.dumps({"score": 100, "tests": []}))
        # an answer saying PASS on every socket the process holds, before the grader asks
        head = json.dumps({"seq": 1, "nonce": "0", "msg": {"ok": True, "status": "PASS"},
                           "arrays": []}).encode()
        for fd in range(3, 64):
            try:
                os.write(fd, b"MGAG" + struct.pack("<IQ", len(head), 0) + head)
            except OSError:
                pass
        """, WRONG)
    status, out = _table(capsys, path)
    assert status == 1 and "0/4 tasks passed" in out
    results = grade_lesson(L3, path).results
    assert not any(r.passed for r in results)
    assert "not the answer to the grader's request" in results[0].detail
    assert not (tmp_path / "results.json").exists() and not (tmp_path / "grades.csv").exists()


def test_os_system_runs_but_only_in_the_students_own_folder(tmp_path, monkeypatch):
    """The documented limit: the file's code runs (it is not a sandbox), in an empty working
    directory of its own that is removed afterwards; it cannot change a verdict."""
    monkeypatch.chdir(tmp_path)
    where = tmp_path / "where.txt"
    path = _write(tmp_path, "system.py", f"""
        import os
        os.system("echo ran > marker.txt; pwd > {where}")
        """, WRONG)
    results = grade_lesson(L3, path).results
    assert [r.status for r in results] == [FAILED] * 4
    ran_in = Path(where.read_text().strip())
    assert ran_in != tmp_path and not (tmp_path / "marker.txt").exists()
    assert not ran_in.exists()                      # its folder is gone with the process


@posix_only
def test_a_process_the_file_starts_is_killed_with_it(tmp_path):
    marker = tmp_path / "orphan.txt"
    path = _write(tmp_path, "orphan.py", f"""
        import os, time
        if os.fork() == 0:
            time.sleep(1.0)
            open("{marker}", "w").write("still running after the grader finished")
            os._exit(0)
        """, WRONG)
    grade_lesson(L3, path)
    time.sleep(1.5)
    assert not marker.exists()


@posix_only
def test_memory_beyond_the_limit_fails_that_task_only(tmp_path):
    pytest.importorskip("resource")
    path = _write(tmp_path, "memory.py", WRONG, """
        def causal_mask(T):
            return np.ones((64, 2 ** 20))       # 512 MiB
        """)
    report = grade_lesson(L3, path, memory_mb=256)
    if not report.limits.get("memory_bytes"):
        pytest.skip("RLIMIT_AS is not supported here")
    r = report.results[0]
    assert r.status == CRASHED and r.check.startswith("your code ran out of memory (MemoryError)")
    assert "memory.py, line" in r.check and "return np.ones((64, 2 ** 20))" in r.detail
    assert [x.status for x in report.results[1:]] == [FAILED] * 3


def test_a_forbidden_library_call_is_caught_even_when_the_exception_is_swallowed(tmp_path):
    path = _write(tmp_path, "sneaky.py", WRONG, """
        def scaled_dot_product_attention(q, k, v, mask=None):
            try:
                return mg.nn.functional.scaled_dot_product_attention(
                    q, k, v, attn_mask=mask, return_weights=True)
            except BaseException:
                w = (q @ k.mT).softmax(dim=-1)
                return w @ v, w
        """)
    (r,) = grade_lesson(L3, path, only="3.4").results
    assert r.status == FAILED
    assert r.check == "your code does not call the library's scaled_dot_product_attention"


def test_odd_return_values_fail_with_their_type(tmp_path):
    path = _write(tmp_path, "odd.py", WRONG, """
        class Weird:
            def __repr__(self):
                raise RuntimeError("no repr for you")

        def causal_mask(T):
            return Weird()

        def padding_mask(lengths, S):
            return (x for x in range(3))
        """)
    results = grade_lesson(L3, path).results
    assert results[0].status == FAILED and "returned a Weird" in results[0].detail
    assert results[2].status == FAILED and "returned a generator" in results[2].detail


def test_the_solution_passes_in_both_kinds_of_process(tmp_path):
    fork = grade_lesson(L3, SOLUTION_3).results
    spawn = grade_lesson(L3, SOLUTION_3, isolation="spawn").results
    assert [r.status for r in fork] == [r.status for r in spawn] == [PASSED] * 4
    cheat = _write(tmp_path, "c.py", CHEATS["the checks and core.run_task replaced"], WRONG)
    assert [r.status for r in grade_lesson(L3, cheat, isolation="spawn").results] == [FAILED] * 4


def test_the_students_process_has_a_clean_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_SECRET_OF_THE_TEACHER", "42")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    env = isolation.clean_env()
    assert "MINIGRAD_SECRET_OF_THE_TEACHER" not in env and "PYTHONPATH" not in env
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["MINIGRAD_BACKEND"] == "numpy"
    assert "OPENBLAS_CORETYPE" not in env or "OPENBLAS_CORETYPE" in os.environ
    seen = tmp_path / "seen.json"
    path = _write(tmp_path, "env.py", f"""
        import json, os, sys
        import minigrad as mg
        json.dump({{"env": sorted(os.environ), "isolated": sys.flags.isolated,
                   "cwd": os.getcwd(), "backend": mg.get_backend(),
                   "modules": "test_autograder_isolation" in sys.modules}},
                  open("{seen}", "w"))
        """, WRONG)
    grade_lesson(L3, path, isolation="spawn")
    info = json.loads(seen.read_text())
    assert "MINIGRAD_SECRET_OF_THE_TEACHER" not in info["env"] and "PYTHONPATH" not in info["env"]
    assert info["isolated"] == 1 and info["cwd"] != os.getcwd() and not info["modules"]
    assert info["backend"] == "numpy"


# --- the messages: JSON and .npy, never pickle ---------------------------------------------
def test_arrays_come_back_as_npy_and_a_pickle_is_refused():
    a = np.arange(6.0).reshape(2, 3).T                    # Fortran order survives
    assert np.array_equal(protocol.npy_to_array(protocol.array_to_npy(a)), a)
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(protocol.ProtocolError, match="dtype object"):
        protocol.npy_to_array(buf.getvalue())
    blob = protocol.array_to_npy(np.zeros(4))
    with pytest.raises(protocol.ProtocolError, match="bytes of data"):
        protocol.npy_to_array(blob[:-8])                  # shorter than its header says
    header = blob.replace(b"(4,)", b"(400000000000,)")   # a huge shape, few bytes
    with pytest.raises(protocol.ProtocolError):
        protocol.npy_to_array(header)
    with pytest.raises(TypeError):
        protocol.array_to_npy(np.array(["text"]))


def test_a_frame_is_checked_before_it_is_read():
    frame = protocol.pack(3, "abc", {"ok": True, "value": (np.ones(2), 1.5, [None, "x"])})
    n_header, n_body = protocol.parse_prefix(frame[:protocol.PREFIX_SIZE])
    start = protocol.PREFIX_SIZE
    seq, nonce, tree, arrays = protocol.unpack(frame[start:start + n_header],
                                               frame[start + n_header:])
    msg = protocol.decode_message(tree, arrays, {})
    assert (seq, nonce) == (3, "abc") and msg["value"][1:] == (1.5, [None, "x"])
    with pytest.raises(protocol.ProtocolError, match="does not start"):
        protocol.parse_prefix(b"HACK" + frame[4:protocol.PREFIX_SIZE])
    with pytest.raises(protocol.ProtocolError, match="more than the limit"):
        protocol.parse_prefix(struct.pack("<4sIQ", b"MGAG", 10, 2 ** 40))
    with pytest.raises(protocol.ProtocolError, match="tagged"):
        protocol.decode_message({"$": "pickle", "data": "gASV"}, [], {})
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(protocol.ProtocolError):
        protocol.unpack(json.dumps({"seq": 1, "nonce": "", "arrays": []})[:-1].encode()
                        + b', "msg": ' + deep.encode() + b"}", b"")


def test_the_grader_never_unpickles():
    import re

    for path in (ROOT / "minigrad" / "autograder").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bimport pickle\b|pickle\.loads?\(|allow_pickle=True|np\.load\(",
                             text), path.name


def test_a_bad_isolation_setting_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setenv(isolation.ISOLATION_ENV, "thread")
    assert autograder.main(["check", "3", "--file", str(SOLUTION_3)]) == 2
    assert isolation.ISOLATION_ENV in capsys.readouterr().err
