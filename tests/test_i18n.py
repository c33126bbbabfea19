"""Both languages (issue 16): minigrad.i18n's rules, and every message of the autograder in
English and Chinese -- found statically (no bare English literal where a check's name, detail
or nudge is made) and at run time (each lesson's checks against its stub and against a broken
copy of its solution, in both languages)."""
import ast
import re
from pathlib import Path

import pytest

from minigrad import autograder
from minigrad.autograder import core
from minigrad.i18n import Text, is_chinese, language, set_language, tr

ROOT = Path(__file__).resolve().parents[1]
AUTOGRADER = ROOT / "minigrad" / "autograder"
LOCALE_VARS = ("MINIGRAD_LANG", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture(autouse=True)
def _english_by_default(monkeypatch):
    for var in LOCALE_VARS:
        monkeypatch.delenv(var, raising=False)
    set_language(None)
    yield
    set_language(None)


# ----------------------------------------------------------------------------------------
# minigrad.i18n
# ----------------------------------------------------------------------------------------
def test_the_language_by_precedence(monkeypatch):
    assert language() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert language() == "zh"
    monkeypatch.setenv("LC_MESSAGES", "en_US.UTF-8")          # LC_MESSAGES before LANG
    assert language() == "en"
    monkeypatch.setenv("LC_ALL", "zh_TW.UTF-8")               # LC_ALL before both
    assert language() == "zh"
    monkeypatch.setenv("MINIGRAD_LANG", "en")                 # MINIGRAD_LANG before the locale
    assert language() == "en"
    monkeypatch.setenv("MINIGRAD_LANG", "klingon")            # a bad value is ignored
    assert language() == "zh"
    assert set_language("zh") == "zh"                         # set_language before everything
    monkeypatch.setenv("MINIGRAD_LANG", "en")
    assert language() == "zh"
    assert set_language(None) == "en"                         # back to the environment's
    with pytest.raises(ValueError, match="unknown language"):
        set_language("fr")


def test_tr_and_text_choose_when_shown():
    t = Text("the causal mask", "因果掩码")
    assert str(t) == "the causal mask" and f"{t:<20}|" == "the causal mask     |"
    set_language("zh")
    assert str(t) == "因果掩码" and f"[{t}]" == "[因果掩码]" and "题目：" + t == "题目：因果掩码"
    assert t + "！" == "因果掩码！" and tr("yes", "是") == "是"
    assert repr(t) == "Text('the causal mask', '因果掩码')"
    set_language("en")
    assert tr("yes", "是") == "yes"
    for bad in (("", "是"), ("yes", ""), ("yes", None)):
        with pytest.raises(TypeError):
            tr(*bad)
    with pytest.raises(TypeError):
        Text("only English", "")
    assert is_chinese("a 字") and not is_chinese("§4.1 x·y → z")


# ----------------------------------------------------------------------------------------
# Static: no message of the autograder is a bare English literal
# ----------------------------------------------------------------------------------------
# callee name -> positions of its message arguments; keywords that are messages
MESSAGE_ARGS = {"CheckFailed": (0, 1, 2), "require": (1, 2, 3), "assert_close": (2,),
                "expect_equal": (2,), "expect_number": (2,), "expect_same_items": (2,),
                "to_array": (1,), "forbid": (2,), "task": (1,), "Lesson": (2,), "_scalar": (1,),
                "_integer": (1,), "_same": (2,), "TaskResult": (2, 3), "LoadError": (0,),
                "ImportFailed": (1,), "StudentGone": (0,), "StudentGarbled": (0,)}
MESSAGE_KEYWORDS = {"check", "detail", "nudge", "advice", "title", "what"}
ENGLISH = re.compile(r"[A-Za-z]{2,} +[A-Za-z]{2,}")   # two words: prose, not code


def _literal_text(node) -> str | None:
    """The text of a str literal or f-string (placeholders dropped), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts = [_literal_text(node.left), _literal_text(node.right)]
        return " ".join(p for p in parts if p is not None) or None
    return None


def _untranslated(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        args = [a for i, a in enumerate(node.args) if i in MESSAGE_ARGS.get(name, ())]
        if name in MESSAGE_ARGS or name in ("task",):
            args += [k.value for k in node.keywords if k.arg in MESSAGE_KEYWORDS]
        for arg in args:
            text = _literal_text(arg)
            if text is not None and ENGLISH.search(re.sub(r"`[^`]*`", "", text)):
                found.append(f"{path.name}:{arg.lineno}: {text[:70]!r}")
    return found


def test_no_message_of_the_autograder_is_english_only():
    """Every literal given as a check's name, detail or nudge, a task's title or a failure's
    text is wrapped in tr(en, zh) or Text(en, zh); a name that is code ("causal_mask(4)")
    reads the same in both languages.  Covers every lessonNN.py, present and future."""
    files = sorted(AUTOGRADER.glob("*.py"))
    assert {"core.py", "lesson01.py", "lesson09.py"} <= {f.name for f in files}
    problems = [p for f in files for p in _untranslated(f)]
    assert not problems, "messages without a Chinese form:\n" + "\n".join(problems)


def test_the_scan_finds_a_bare_message(tmp_path):
    bad = tmp_path / "lesson99.py"
    bad.write_text('require(ok, "the loss goes down", f"got {x}, expected less")\n'
                   'require(ok, tr("the loss goes down", "损失下降"), "causal_mask(4)")\n'
                   '@LESSON.task("9.9", "a bare title", nudge="look at the chapter")\n'
                   'def check(ex): pass\n', encoding="utf-8")
    found = _untranslated(bad)
    assert len(found) == 4 and all("lesson99.py" in f for f in found), found


def test_every_task_has_a_title_and_a_nudge_in_both_languages():
    for lesson in autograder.lessons().values():
        assert isinstance(lesson.title, Text) and is_chinese(lesson.title.zh), lesson
        for t in lesson.tasks:
            for what in (t.title, t.nudge):
                assert isinstance(what, Text), (t.id, what)
                assert is_chinese(what.zh) and not _chinese_prose(what.en), (t.id, what)


# ----------------------------------------------------------------------------------------
# Run time: every lesson's checks, against its stub and a broken solution, in both languages
# ----------------------------------------------------------------------------------------
_SECTION = re.compile(r"§[\d.]+ ?[\u3400-\u9fff]*")
ZH_WORDS = ("检查", "原因", "提示", "你的", "应为", "得到", "尚未实现", "通过")

# The solution with every public function's result changed a little: a wrong answer that
# runs, so that the checks' "what differs" messages are made.
BREAK = '''

def _minigrad_i18n_perturb(r):
    import numpy as _np
    import minigrad as _mg
    if isinstance(r, tuple):
        return tuple(_minigrad_i18n_perturb(x) for x in r)
    if isinstance(r, _mg.Tensor) and r.dtype.kind == "f":
        return r * 1.5 + 0.25
    if isinstance(r, _np.ndarray) and r.dtype == bool:
        return ~r
    if isinstance(r, _np.ndarray) and r.dtype.kind in "fiu":
        return r * 2 + 1
    if isinstance(r, (int, float)) and not isinstance(r, bool):
        return r * 2 + 1
    return r


def _minigrad_i18n_break(f):
    import functools

    @functools.wraps(f)
    def broken(*args, **kwargs):
        return _minigrad_i18n_perturb(f(*args, **kwargs))
    return broken


for _name, _f in list(globals().items()):
    if callable(_f) and getattr(_f, "__module__", None) == __name__ and not _name.startswith("_") \\
            and not isinstance(_f, type):
        globals()[_name] = _minigrad_i18n_break(_f)
'''


def _outside_sections(text: str) -> str:
    """`text` without the chapter's section references (§4.1 自注意力机制), which the English
    edition cites in the chapter's own words."""
    return _SECTION.sub("", str(text))


def _chinese_prose(text: str) -> list[str]:
    """Runs of Chinese long enough to be a sentence, outside the section references.  The
    English edition may cite a chapter term in brackets (计算成本) or a line of a poem (床前明月光),
    never a Chinese sentence."""
    return re.findall(r"[\u3400-\u9fff，。：；（）！？]{7,}", _outside_sections(text))


def _files(lesson, tmp_path):
    stub = autograder.find_exercises(lesson, ROOT)
    solution = autograder.solution_path(lesson, ROOT)
    out = []
    if stub.is_file():
        out.append(("stub", stub))
    if solution.is_file():
        broken = tmp_path / f"{lesson.folder}_broken.py"
        broken.write_text(solution.read_text(encoding="utf-8") + BREAK, encoding="utf-8")
        out.append(("broken", broken))
    return out


def _assert_speaks(lang, lesson, results, table):
    failed = [r for r in results if not r.passed]
    assert failed, f"lesson {lesson.number}: nothing failed, so nothing was shown"
    if lang == "zh":
        assert table.startswith(f"第 {lesson.number} 课："), table[:80]
        assert f"通过 {len(results) - len(failed)}/{len(results)} 道题" in table
        for r in failed:
            said = f"{r.check}\n{r.detail}"
            assert is_chinese(said), f"{lesson.number} {r.task.id}: {said!r}"
            assert core.status_word(r.status) in table and is_chinese(core.status_word(r.status))
    else:
        assert table.startswith(f"Lesson {lesson.number}: "), table[:80]
        english = _outside_sections(table)
        for word in ZH_WORDS:
            assert word not in english, f"lesson {lesson.number}: {word!r} in the English table"
        long_runs = _chinese_prose(english)
        assert not long_runs, f"lesson {lesson.number}: Chinese in the English table: {long_runs}"


@pytest.mark.parametrize("number", sorted(autograder.lessons()))
def test_every_lesson_speaks_both_languages(number, tmp_path):
    lesson = autograder.get_lesson(number)
    files = _files(lesson, tmp_path)
    if not files:
        pytest.skip(f"lesson {number} has no stub and no solution yet")
    for kind, path in files:
        for lang in ("en", "zh"):
            set_language(lang)
            results = autograder.run_lesson(lesson, path)
            table = core.format_table(lesson, path, results, core.NUDGE)
            _assert_speaks(lang, lesson, results, table)


def test_the_students_process_speaks_the_graders_language(tmp_path):
    """The place of an error is written in the student's process: it gets the language too."""
    bad = tmp_path / "exercises.py"
    bad.write_text("import numpy as np\nx = 1 / 0\n", encoding="utf-8")
    lesson = autograder.get_lesson(3)
    set_language("zh")
    (r, *_) = autograder.run_lesson(lesson, bad)
    assert r.check == "你的文件无法导入（exercises.py）" and "exercises.py 第 2 行" in r.detail, r
    set_language("en")
    (r, *_) = autograder.run_lesson(lesson, bad)
    assert r.check == "your file does not import (exercises.py)" and "exercises.py, line 2" in r.detail


def test_lesson_check_lang_zh_and_a_chinese_locale(capsys, monkeypatch):
    assert autograder.main(["check", "3", "--lang", "zh", "--hint"]) == 1
    out = capsys.readouterr().out
    assert "第 3 课：自注意力机制" in out and "待完成" in out and "提示：" in out
    set_language(None)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert autograder.main(["check", "3"]) == 1
    out = capsys.readouterr().out
    assert "通过 0/4 道题" in out and "卡住了？" in out
    assert autograder.main(["check", "3", "--lang", "en"]) == 1      # --lang wins over the locale
    out = capsys.readouterr().out
    assert "0/4 tasks passed" in out and "Stuck?" in out and not is_chinese(_outside_sections(out))
    assert autograder.main(["list", "--lang", "zh"]) == 0
    assert "第 3.1 题：因果掩码" in capsys.readouterr().out


def test_the_chinese_table_lines_up_and_wraps():
    """Chinese characters take two columns: the columns line up by width, and a long Chinese
    line is cut between characters, never before closing punctuation."""
    set_language("zh")
    assert core.display_width("因果掩码 ab") == 11
    lines = core._wrap("这是一个很长的句子，" * 12, 40)
    assert len(lines) > 1 and all(core.display_width(l) <= 42 for l in lines)
    assert not any(l.startswith(("，", "。", "）")) for l in lines)
    lesson = autograder.get_lesson(3)
    results = [core.TaskResult(t, core.TODO, "尚未实现") for t in lesson.tasks]
    table = core.format_table(lesson, Path("x.py"), results, core.NO_HINTS)
    rows = [l for l in table.splitlines() if l.startswith("  3.")]
    ends = {core.display_width(l) for l in rows}
    assert len(rows) == 4 and len(ends) == 1, rows
