"""Write each lesson's stub file from its reference solution, so the two never drift apart.

    python lessons/make_stubs.py            # rewrite lessons/NN_name/exercises.py for every solution
    python lessons/make_stubs.py --check    # exit 1 if a stub is out of date (the tests run this)

In lessons/solutions/NN_name.py, every top-level function and every method of a top-level
class becomes, in the stub, its signature, its docstring (the spec), the `# TODO` comment
lines that open its body, and `raise NotImplementedError`.  Everything else (imports,
section comments, class attributes) is copied as is.  The module docstring's first line
(which ends in "-- REFERENCE SOLUTION ...") is replaced by the student's header.
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADER = '''"""{title}.

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check {number}

The tasks are described in lessons/{folder}/README.md; each docstring is the exact spec.

把每个标有 TODO 的函数补全（替换掉 `raise NotImplementedError`），然后检查：

    minigrad lesson check {number} --lang zh

题目说明见 lessons/{folder}/README.zh.md；每个文档字符串（先英文，后中文）就是精确的规格说明。
"""
'''


def _bodies(tree):
    """(function node) for top-level functions and methods of top-level classes."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield item


def make_stub(solution: Path) -> str:
    source = solution.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    doc = tree.body[0]
    if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)):
        raise ValueError(f"{solution}: the solution must open with a docstring")
    m = re.match(r"Lesson (\d+) exercises: (.*?) -- REFERENCE SOLUTION", doc.value.value)
    if not m:
        raise ValueError(f"{solution}: the docstring must start 'Lesson N exercises: <title> -- "
                         "REFERENCE SOLUTION'")
    number, title = int(m.group(1)), f"Lesson {m.group(1)} exercises: {m.group(2)}"
    replace = {}                                  # first line index -> (last line index, new lines)
    for fn in _bodies(tree):
        first = fn.body[0]
        has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str)
        if not has_doc:
            raise ValueError(f"{solution}:{fn.lineno}: {fn.name} needs a docstring (the spec)")
        body_start = first.end_lineno              # 0-based index of the line after the docstring
        indent = " " * fn.body[0].col_offset
        kept, i = [], body_start
        while i < fn.end_lineno and lines[i].strip().startswith("# TODO"):
            kept.append(lines[i])
            i += 1
        replace[body_start] = (fn.end_lineno, kept + [f"{indent}raise NotImplementedError"])
    out, i = [], doc.end_lineno
    while i < len(lines):
        if i in replace:
            end, new = replace[i]
            out.extend(new)
            i = end
        else:
            out.append(lines[i])
            i += 1
    header = HEADER.format(title=title, number=number, folder=solution.stem)
    return header + "\n".join(out).rstrip() + "\n"


def stub_path(solution: Path) -> Path:
    return solution.parent.parent / solution.stem / "exercises.py"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only report stubs that are out of date")
    args = p.parse_args(argv)
    stale = []
    for solution in sorted((HERE / "solutions").glob("[0-9][0-9]_*.py")):
        stub, target = make_stub(solution), stub_path(solution)
        if target.exists() and target.read_text(encoding="utf-8") == stub:
            continue
        if args.check:
            stale.append(target)
        else:
            target.parent.mkdir(exist_ok=True)
            target.write_text(stub, encoding="utf-8")
            print(f"wrote {target.relative_to(HERE.parent)}")
    for target in stale:
        print(f"out of date: {target} (run python lessons/make_stubs.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
