"""Each module here reads one notebook's own run: the notebook runs once, its kernel stays up for the tests.

A module names its notebook (``NOTEBOOK``) and the claims its prose makes (``CLAIMS``, see
``tests.claims``), imports the shared tests from ``tests.notebooks.common`` and reads the run's values
with ``run.value("expression")``. ``make test`` distributes by module (``--dist loadscope``), so the
whole module goes to one worker and the notebook runs once per suite.
"""

from __future__ import annotations

import pytest

from tests import executed
from tests.conftest import REPO
from tests.notebook_client import KernelRun

CELL_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def run(request):
    """The module's notebook, executed top to bottom in a fresh kernel; the kernel ends with the module.

    The executed notebook goes at once to the browser test (``tests.executed``), which draws its outputs.
    """
    name = request.module.NOTEBOOK
    try:
        kernel_run = KernelRun(REPO / "notebooks" / name, CELL_TIMEOUT_S)
    except BaseException:
        executed.give_up(name)
        raise
    executed.write(kernel_run.nb, name)
    yield kernel_run
    kernel_run.close()
