"""The lesson notebooks, both editions (notebooks/NN_name.ipynb in English, notebooks/zh/NN_name.ipynb
in Chinese), are in step with their source and run from a clean kernel without error.

Deselect with  `python -m pytest -m "not notebooks"`  (they take ~10 s each on 2 cores, per edition).
Needs nbformat, nbclient and ipykernel (the `test` extra); the source check needs jupytext.
The bilingual checks (pairs of cells, identical code) are in tests/test_bilingual.py.
"""
from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EDITIONS = {"en": NOTEBOOKS, "zh": NOTEBOOKS / "zh"}
PATHS = [(lang, p) for lang, folder in EDITIONS.items()
         for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))]
IDS = [f"{lang}-{p.stem}" for lang, p in PATHS]
CELL_TIMEOUT = 60       # seconds per cell; a whole notebook should take well under 30 s


def _build_module():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_source_has_a_notebook():
    sources = sorted(p.stem for p in (NOTEBOOKS / "src").glob("[0-9][0-9]_*.py"))
    assert sources and sources == [p.stem for lang, p in PATHS if lang == "en"]


def test_every_bilingual_source_has_a_chinese_notebook_and_no_other():
    pytest.importorskip("jupytext")
    build = _build_module()
    bilingual = [p.stem for p in build.sources() if build.is_bilingual(build.read_source(p))]
    assert bilingual == [p.stem for lang, p in PATHS if lang == "zh"]


@pytest.mark.parametrize("lang,path", PATHS, ids=IDS)
def test_saved_notebook_matches_its_source_and_keeps_its_outputs(lang, path):
    pytest.importorskip("jupytext")
    problem = _build_module().check(NOTEBOOKS / "src" / f"{path.stem}.py", lang)
    assert problem is None, problem
    nb = nbformat.read(path, as_version=4)
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.outputs), "no plot saved"
    first = nb.cells[0].source
    if lang == "en":
        assert first.startswith("# Lesson ") and "§" in first and "you will be able to" in first
    else:
        assert first.startswith("# 第") and "§" in first


@pytest.mark.notebooks
@pytest.mark.parametrize("lang,path", PATHS, ids=IDS)
def test_notebook_executes_from_a_clean_kernel(lang, path):
    nb = nbformat.read(path, as_version=4)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()          # raises CellExecutionError (with the cell and traceback) on an error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors
