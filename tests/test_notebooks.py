"""Every notebook runs once in the suite, in the test module under ``tests/notebooks/`` that reads its run.

Notebooks not yet given such a module (``NOT_YET_READ``) still run here, with nbmake's runner as
``tests.notebook_client.run_notebook`` calls it: the kernel's messages awaited in one-second slices,
which keeps a lost socket wake-up from stalling a notebook for its whole timeout.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests import executed
from tests.conftest import NOTEBOOK_SECONDS, REPO
from tests.notebook_client import run_notebook, sliced
from tests.notebooks.common import output_problems

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600
NOT_YET_READ: list[str] = []  # notebooks still run here, without a module reading their run
COURSE_SO_FAR = [f"{n:02d}" for n in range(9)]  # 00–08: the prose bar of issue 31
MAX_PROSE_NUMBERS, MAX_PROSE_MEASUREMENTS = 220, 100


def module_of(notebook: Path) -> Path:
    return REPO / "tests" / "notebooks" / f"test_{notebook.stem}.py"


def test_every_notebook_is_read_by_its_own_module_or_listed_as_not_yet():
    read = [p.stem for p in NOTEBOOKS if module_of(p).exists()]
    assert sorted(set(p.stem for p in NOTEBOOKS) - set(read)) == sorted(NOT_YET_READ)


def test_the_prose_of_notebooks_00_to_08_reports_few_numbers():
    """Prose explains; cells measure. Counted as issue 31 counts (ordered-list markers included)."""
    import nbformat

    from tests import claims

    found, percentages = [], 0
    for path in NOTEBOOKS:
        if path.stem[:2] in COURSE_SO_FAR:
            for text in claims.markdown_cells(nbformat.read(path, as_version=4)):
                found += claims.numbers(text) + re.findall(r"(?m)^[ \t]*(\d+)\.(?=\s)", text)
                percentages += len(re.findall(claims.NUMBER.pattern + r"\s?%", claims.prose(text)))
    measurements = [number for number in found if claims.is_decimal(number)] + [None] * percentages
    assert len(found) <= MAX_PROSE_NUMBERS and len(measurements) <= MAX_PROSE_MEASUREMENTS, (len(found), len(measurements))


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem in NOT_YET_READ],
                         ids=[p.name for p in NOTEBOOKS if p.stem in NOT_YET_READ])
def test_notebook_runs(path, record_property):
    start = time.perf_counter()
    result = run_notebook(path, CELL_TIMEOUT_S)
    record_property(NOTEBOOK_SECONDS, time.perf_counter() - start)  # reaches the controller under xdist
    executed.write(result.nb, path.name)  # for the browser test
    if result.error is not None:
        pytest.fail(f"{path.name} failed in cell {result.error.failing_cell_index}:\n{result.error.trace}", pytrace=False)
    problems = output_problems(result.nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_sliced_polls_end_at_the_callers_deadline_and_return_what_a_slice_finds():
    """The waits of ``run_notebook``'s client: slices of at most ``slice_s``, none past the caller's timeout."""
    import asyncio
    from queue import Empty

    timeouts = []

    async def never(timeout):
        timeouts.append(timeout)
        await asyncio.sleep(timeout)
        raise Empty

    with pytest.raises(Empty):
        asyncio.run(sliced(never, slice_s=0.1)(timeout=0.25))
    assert timeouts[0] == 0.1 and all(0 <= t <= 0.1 for t in timeouts) and timeouts[-1] < 0.1  # the last: what was left

    calls = []

    async def third_time(timeout):
        calls.append(timeout)
        if len(calls) < 3:
            raise Empty
        return {"msg_type": "execute_reply"}

    assert asyncio.run(sliced(third_time, slice_s=0.1)(timeout=None)) == {"msg_type": "execute_reply"}
    assert calls == [0.1, 0.1, 0.1]
