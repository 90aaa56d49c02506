"""Execute every notebook in notebooks/ with nbmake's runner, in a fresh kernel, offline.

The numbers each notebook teaches are asserted in the test module of the workbench code it
calls; this test proves the notebook itself runs top to bottom, and that what it prints reads
well in a notebook: lines that fit, numbers without float32 noise, no warnings.
"""

from __future__ import annotations

import re
import time

import pytest
from nbmake.nb_run import NotebookRun

from tests.conftest import NOTEBOOK_SECONDS, REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600
MAX_LINE = 100  # characters: a notebook's output area in JupyterLab at 1280 px holds about 105
FLOAT_NOISE = re.compile(r"\d\.\d{9,}")  # 0.03999999910593033: a float32 printed in full


def output_problems(nb) -> list[str]:
    """Printed lines too wide for a notebook, float32 noise, and warnings on stderr, by cell."""
    problems = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream":
                continue
            if output["name"] == "stderr" and re.search(r"warn", output["text"], flags=re.I):
                problems.append(f"cell {index} warns: {output['text'][:300]}")
            for line in output["text"].splitlines():
                if len(line) > MAX_LINE:
                    problems.append(f"cell {index} prints {len(line)} characters: {line[:120]}…")
                if FLOAT_NOISE.search(line):
                    problems.append(f"cell {index} prints float noise: {line[:120]}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, record_property):
    start = time.perf_counter()
    result = NotebookRun(path, default_timeout=CELL_TIMEOUT_S).execute()
    record_property(NOTEBOOK_SECONDS, time.perf_counter() - start)  # reaches the controller under xdist
    if result.error is not None:
        pytest.fail(f"{path.name} failed in cell {result.error.failing_cell_index}:\n{result.error.trace}", pytrace=False)
    problems = output_problems(result.nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
