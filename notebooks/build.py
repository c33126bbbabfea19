"""Build the lesson notebooks: notebooks/src/NN_name.py (jupytext percent format, the source
that is reviewed) -> notebooks/NN_name.ipynb, executed from a clean kernel with its outputs
(plots included) saved, so a web view shows them.

    python notebooks/build.py                 # build every notebook
    python notebooks/build.py 03 04           # only those whose name starts with 03 or 04
    python notebooks/build.py --check         # exit 1 if an .ipynb's code differs from its source

Needs: jupytext, nbformat, nbclient, ipykernel, matplotlib.  Each notebook runs with the
notebooks/ folder as its working directory.  Outputs are reproducible: the notebooks seed
minigrad's generator (mg.manual_seed) and use the NumPy reference backend.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def sources(prefixes=()) -> list[Path]:
    found = sorted(SRC.glob("[0-9][0-9]_*.py"))
    return [p for p in found if not prefixes or any(p.stem.startswith(x) for x in prefixes)]


def target(source: Path) -> Path:
    return HERE / f"{source.stem}.ipynb"


def read_source(source: Path):
    import jupytext

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("jupytext", None)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb, timeout: int = 120):
    """Run every cell in a fresh kernel, in notebooks/ (raises CellExecutionError on an error)."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNELSPEC["name"],
                            resources={"metadata": {"path": str(HERE)}}, record_timing=False)
    client.execute()
    return nb


def code_cells(nb) -> list[str]:
    return [c.source.strip() for c in nb.cells if c.cell_type == "code"]


def build(source: Path) -> float:
    import nbformat

    start = time.perf_counter()
    nb = execute(read_source(source))
    for i, cell in enumerate(nb.cells):          # stable ids: clean diffs from one build to the next
        cell["id"] = f"{source.stem[:2]}-{i:03d}"
    nbformat.write(nb, target(source))
    return time.perf_counter() - start


def check(source: Path) -> str | None:
    """None when notebooks/NN_name.ipynb holds the source's cells and was executed."""
    import nbformat

    path = target(source)
    if not path.exists():
        return f"{path.name} is missing"
    built = nbformat.read(path, as_version=4)
    src = read_source(source)
    if [c.source.strip() for c in built.cells] != [c.source.strip() for c in src.cells]:
        return f"{path.name} differs from src/{source.name} (rebuild it)"
    if any(c.cell_type == "code" and c.source.strip() and c.execution_count is None
           for c in built.cells):
        return f"{path.name} has cells that were not executed (rebuild it)"
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("only", nargs="*", help="build only notebooks whose name starts with these")
    p.add_argument("--check", action="store_true", help="check that each .ipynb matches its source")
    args = p.parse_args(argv)
    todo = sources(args.only)
    if not todo:
        print("no notebook sources matched", file=sys.stderr)
        return 2
    if args.check:
        problems = [m for m in map(check, todo) if m]
        for m in problems:
            print(m)
        return 1 if problems else 0
    for source in todo:
        print(f"{target(source).name}: executed in {build(source):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
