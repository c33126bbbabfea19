"""Build the lesson notebooks in two editions, English and Chinese (中文), from one source.

notebooks/src/NN_name.py (jupytext percent format, the source that is reviewed) holds every
markdown cell twice, as a pair of consecutive cells, English first:

    # %% [markdown] lang="en"
    # # Lesson 3 · Self-attention (§4.1 自注意力机制)
    # %% [markdown] lang="zh"
    # # 第 3 课 · 自注意力机制（§4.1）

and every code cell once, shared by both editions.  The first code cell holds the line
`set_language("en")` (from minigrad.i18n); the Chinese edition gets `set_language("zh")`
instead, so `tr("...", "...")` in plots and prints gives Chinese there.  Outputs:

    notebooks/NN_name.ipynb        English cells only
    notebooks/zh/NN_name.ipynb     Chinese cells only

each executed from a clean kernel with notebooks/ as its working directory (the same relative
paths for both editions; a markdown link would need `../` in zh/, and the sources have none),
outputs and plots kept, stable cell ids, the `lang` metadata dropped.

    python notebooks/build.py                 # build both editions of every notebook
    python notebooks/build.py --lang zh 03    # only the Chinese edition of 03_*
    python notebooks/build.py --check         # exit 1 if a saved edition is out of step with its source

A source not converted yet (no `lang` metadata at all) still builds its English notebook, from
all its markdown cells; its Chinese edition is skipped with a note (tests/test_bilingual.py
names the sources allowed to be in that state while they are being converted).

The checks are functions here, used by the tests: `bilingual_problems(nb)` (pairs complete, in
order, non-empty, Chinese in Chinese, display formulas the same in both), `code_difference(en,
zh)` (the editions' code cells identical but for the set_language line) and `check(source,
lang)` (a saved edition matches its source and was executed).

Needs: jupytext, nbformat, nbclient, ipykernel, matplotlib.  Outputs are reproducible: the
notebooks seed minigrad's generator (mg.manual_seed) and use the NumPy reference backend.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
import time
from pathlib import Path

from minigrad.i18n import is_chinese   # the test the bilingual checks use: a CJK ideograph

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
LANGS = ("en", "zh")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
SET_EN = 'set_language("en")'
SET_ZH = 'set_language("zh")'
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)


def sources(prefixes=()) -> list[Path]:
    found = sorted(SRC.glob("[0-9][0-9]_*.py"))
    return [p for p in found if not prefixes or any(p.stem.startswith(x) for x in prefixes)]


def target(source: Path, lang: str = "en") -> Path:
    if lang not in LANGS:
        raise ValueError(f"unknown edition {lang!r}: use one of {', '.join(LANGS)}")
    return (HERE if lang == "en" else HERE / "zh") / f"{source.stem}.ipynb"


def read_source(source: Path):
    """The source as one notebook holding both languages' cells (with their `lang` metadata)."""
    import jupytext

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("jupytext", None)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def is_bilingual(nb) -> bool:
    """True when any markdown cell of the source is marked lang="en" or lang="zh"."""
    return any(c.cell_type == "markdown" and "lang" in c.metadata for c in nb.cells)


def _rewrite_set_language(src: str, old: str, new: str) -> str:
    lines = src.split("\n")
    hits = [i for i, line in enumerate(lines) if line.strip() == old]
    if len(hits) != 1:
        raise ValueError(f"the first code cell must hold the line {old} exactly once "
                         f"(found {len(hits)})")
    i = hits[0]
    lines[i] = lines[i].replace(old, new)
    return "\n".join(lines)


def edition(nb, lang: str):
    """One edition of a source notebook: its `lang` markdown cells (metadata `lang` dropped) and
    every code cell; for zh, the first code cell's set_language("en") line says "zh".
    A source without lang metadata gives its English edition from all its markdown cells and
    has no Chinese edition (ValueError)."""
    if lang not in LANGS:
        raise ValueError(f"unknown edition {lang!r}: use one of {', '.join(LANGS)}")
    bilingual = is_bilingual(nb)
    if lang == "zh" and not bilingual:
        raise ValueError("the source has no Chinese cells yet (no markdown cell has lang metadata)")
    out = copy.deepcopy(nb)
    cells, first_code = [], True
    for cell in out.cells:
        if cell.cell_type == "markdown" and bilingual:
            if cell.metadata.get("lang") != lang:
                continue
            del cell.metadata["lang"]
        elif cell.cell_type == "code" and first_code:
            first_code = False
            if lang == "zh":
                cell.source = _rewrite_set_language(cell.source, SET_EN, SET_ZH)
        cells.append(cell)
    out.cells = cells
    return out


def execute(nb, timeout: int = 120):
    """Run every cell in a fresh kernel, in notebooks/ (raises CellExecutionError on an error)."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNELSPEC["name"],
                            resources={"metadata": {"path": str(HERE)}}, record_timing=False)
    client.execute()
    return nb


def code_cells(nb) -> list[str]:
    return [c.source.strip() for c in nb.cells if c.cell_type == "code"]


def build(source: Path, lang: str = "en") -> float:
    """Write one executed edition of a source; returns the seconds it took."""
    import nbformat

    start = time.perf_counter()
    nb = execute(edition(read_source(source), lang))
    for i, cell in enumerate(nb.cells):          # stable ids: clean diffs from one build to the next
        cell["id"] = f"{source.stem[:2]}-{i:03d}"
    path = target(source, lang)
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    return time.perf_counter() - start


# --- the checks ---------------------------------------------------------------------------

def bilingual_problems(nb, name: str = "source") -> list[str]:
    """What is wrong with a source's two languages (empty: nothing).  Every markdown cell is
    half of a pair: lang="en" directly followed by lang="zh", both non-empty, the Chinese one
    with Chinese characters and not a copy of the English, both with the same display formulas
    ($$...$$); the first code cell holds set_language("en"); the first pair opens the lesson
    ("# Lesson N · ..." with § and "you will be able to" / "# 第 N 课 · ...")."""
    if not is_bilingual(nb):
        return [f"{name}: not bilingual: no markdown cell has lang=\"en\"/\"zh\" metadata"]
    problems = []
    cells = nb.cells
    i = 0
    while i < len(cells):
        cell = cells[i]
        if cell.cell_type != "markdown":
            i += 1
            continue
        where = f"{name}: markdown cell {i}"
        lang = cell.metadata.get("lang")
        if lang not in LANGS:
            problems.append(f"{where} has lang={lang!r}: every markdown cell needs lang=\"en\" or \"zh\"")
            i += 1
            continue
        if lang == "zh":
            problems.append(f"{where} is Chinese without an English cell before it "
                            "(a pair is en then zh)")
            i += 1
            continue
        nxt = cells[i + 1] if i + 1 < len(cells) else None
        if nxt is None or nxt.cell_type != "markdown" or nxt.metadata.get("lang") != "zh":
            problems.append(f"{where} is English without its Chinese twin right after it")
            i += 1
            continue
        en, zh = cell.source.strip(), nxt.source.strip()
        if not en:
            problems.append(f"{where} (en) is empty")
        if not zh:
            problems.append(f"{name}: markdown cell {i + 1} (zh) is empty")
        elif not is_chinese(zh):
            problems.append(f"{name}: markdown cell {i + 1} (zh) has no Chinese characters")
        elif zh == en:
            problems.append(f"{name}: markdown cell {i + 1} (zh) is a copy of the English")
        if sorted(m.strip() for m in _DISPLAY_MATH.findall(en)) != \
                sorted(m.strip() for m in _DISPLAY_MATH.findall(zh)):
            problems.append(f"{name}: markdown cells {i}/{i + 1}: the display formulas ($$...$$) "
                            "differ between English and Chinese")
        i += 2
    code = [c for c in cells if c.cell_type == "code"]
    if not code or SET_EN not in [line.strip() for line in code[0].source.split("\n")]:
        problems.append(f"{name}: the first code cell lacks the line {SET_EN}")
    if any(SET_ZH in c.source for c in code):
        problems.append(f"{name}: {SET_ZH} in the source (build.py writes it for the zh edition)")
    first = [c for c in cells if c.cell_type == "markdown"][:2]
    if len(first) == 2 and first[0].metadata.get("lang") == "en" and first[1].metadata.get("lang") == "zh":
        en, zh = first[0].source, first[1].source
        if not (en.startswith("# Lesson ") and "§" in en and "you will be able to" in en):
            problems.append(f"{name}: the first English cell must start \"# Lesson N · \" and "
                            "hold § and \"you will be able to\"")
        if not re.match(r"# 第 ?\d+ ?课", zh):
            problems.append(f"{name}: the first Chinese cell must start \"# 第 N 课 · \"")
    return problems


def _normalised_code(nb, lang: str) -> list[str]:
    code = code_cells(nb)
    if lang == "zh" and code:
        code[0] = code[0].replace(SET_ZH, SET_EN)
    return code


def code_difference(en_nb, zh_nb) -> str | None:
    """None when the two editions' code cells are the same but for set_language("en"/"zh")."""
    en, zh = _normalised_code(en_nb, "en"), _normalised_code(zh_nb, "zh")
    if len(en) != len(zh):
        return f"the English edition has {len(en)} code cells, the Chinese {len(zh)}"
    for k, (a, b) in enumerate(zip(en, zh)):
        if a != b:
            return f"code cell {k} differs between the editions"
    firsts = [c.source for c in zh_nb.cells if c.cell_type == "code"][:1]
    if not firsts or SET_ZH not in [line.strip() for line in firsts[0].split("\n")]:
        return f"the Chinese edition's first code cell does not call {SET_ZH}"
    return None


def check(source: Path, lang: str = "en") -> str | None:
    """None when the saved edition holds the source's cells for that language and was executed."""
    import nbformat

    path = target(source, lang)
    shown = path.relative_to(HERE)
    if not path.exists():
        return f"{shown} is missing (python notebooks/build.py --lang {lang} {source.stem[:2]})"
    built = nbformat.read(path, as_version=4)
    try:
        want = edition(read_source(source), lang)
    except ValueError as e:
        return f"{shown}: src/{source.name}: {e}"
    if [(c.cell_type, c.source.strip()) for c in built.cells] != \
            [(c.cell_type, c.source.strip()) for c in want.cells]:
        return f"{shown} differs from src/{source.name} (rebuild it)"
    if any("lang" in c.metadata for c in built.cells):
        return f"{shown} still carries lang metadata (rebuild it)"
    if any(c.cell_type == "code" and c.source.strip() and c.execution_count is None
           for c in built.cells):
        return f"{shown} has cells that were not executed (rebuild it)"
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("only", nargs="*", help="build only notebooks whose name starts with these")
    p.add_argument("--lang", choices=("en", "zh", "all"), default="all",
                   help="which edition to build or check (default: both)")
    p.add_argument("--check", action="store_true", help="check that each edition matches its source")
    args = p.parse_args(argv)
    todo = sources(args.only)
    if not todo:
        print("no notebook sources matched", file=sys.stderr)
        return 2
    langs = LANGS if args.lang == "all" else (args.lang,)
    problems = 0
    for source in todo:
        bilingual = is_bilingual(read_source(source))
        for lang in langs:
            if lang == "zh" and not bilingual:
                print(f"zh/{source.stem}.ipynb: skipped, src/{source.name} has no Chinese cells yet")
                continue
            if args.check:
                message = check(source, lang)
                if message:
                    print(message)
                    problems += 1
            else:
                seconds = build(source, lang)
                print(f"{target(source, lang).relative_to(HERE)}: executed in {seconds:.1f} s", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
