"""Execute every notebook in notebooks/ with nbmake's runner, in a fresh kernel, offline.

The numbers each notebook teaches are asserted in the test module of the workbench code it
calls; this test proves the notebook itself runs top to bottom.
"""

from __future__ import annotations

import time

import pytest
from nbmake.nb_run import NotebookRun

from tests.conftest import NOTEBOOK_SECONDS, REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, record_property):
    start = time.perf_counter()
    result = NotebookRun(path, default_timeout=CELL_TIMEOUT_S).execute()
    record_property(NOTEBOOK_SECONDS, time.perf_counter() - start)  # reaches the controller under xdist
    if result.error is not None:
        pytest.fail(f"{path.name} failed in cell {result.error.failing_cell_index}:\n{result.error.trace}", pytrace=False)
