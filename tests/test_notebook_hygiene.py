"""Committed notebooks are small and clean: no error outputs, little output, set up offline first."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
MAX_OUTPUT_BYTES = 100_000  # notebooks are committed with outputs cleared (`make clear-outputs`)


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_error_outputs(path):
    errors = [i for i, cell in enumerate(_cells(path)) for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, f"{path.name}: error outputs in cells {errors}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_outputs_are_small(path):
    size = sum(len(json.dumps(cell.get("outputs", []))) for cell in _cells(path))
    assert size <= MAX_OUTPUT_BYTES, f"{path.name}: {size} bytes of outputs; run `make clear-outputs`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_setup_notebook_comes_first(path):
    code = ["".join(cell["source"]) for cell in _cells(path) if cell["cell_type"] == "code"]
    assert code and "setup_notebook(" in code[0], f"{path.name}: first code cell must call workbench.setup_notebook()"
