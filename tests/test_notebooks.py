"""Execute every notebook in notebooks/ with nbmake's runner, in a fresh kernel, offline.

(nbmake's runner as ``tests.notebook_client.run_notebook`` calls it: the kernel's messages awaited in
one-second slices, which keeps a lost socket wake-up from stalling a notebook for its whole timeout.)

The numbers each notebook teaches are asserted in the test module of the workbench code it
calls; this test proves the notebook itself runs top to bottom, and that what it prints reads
well in a notebook: lines that fit, numbers without float32 noise, no warnings.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import NOTEBOOK_SECONDS, REPO
from tests.notebook_client import run_notebook, sliced

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
    result = run_notebook(path, CELL_TIMEOUT_S)
    record_property(NOTEBOOK_SECONDS, time.perf_counter() - start)  # reaches the controller under xdist
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
