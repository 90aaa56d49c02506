"""The tests every notebook module runs on its notebook's run (each module imports them by name)."""

from __future__ import annotations

import re

import pytest

from tests import claims
from tests.conftest import NOTEBOOK_SECONDS

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


def test_runs_top_to_bottom_and_prints_readably(run, record_property):
    """Every cell runs in a fresh kernel; printed lines fit, carry no float32 noise, and nothing warns."""
    record_property(NOTEBOOK_SECONDS, run.seconds)  # reaches the controller under xdist
    if run.error is not None:
        pytest.fail(f"{run.path.name} failed in cell {run.failing_cell}:\n{run.error}", pytrace=False)
    problems = output_problems(run.nb)
    assert not problems, f"{run.path.name}:\n" + "\n".join(problems)


def test_the_prose_says_what_the_run_measured(run, request):
    """Every number and quantity word in the markdown is claimed, and every claim holds in this run."""
    found = claims.problems(run, request.module.CLAIMS)
    assert not found, f"{run.path.name}: {len(found)} problems\n" + "\n".join(found)
