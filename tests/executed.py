"""The suite's executed notebooks, kept for the browser test: each notebook runs once, and is looked at as it ran.

The controller makes one folder per session and passes it to xdist's workers in the environment
(``FOLDER_ENV``). A notebook's module writes its run there as soon as the run ends (outputs and
widget state), or a ``.failed`` mark when the kernel died; the browser test waits for one or the other.
When no module of this session runs a notebook (``pytest tests/test_browser.py`` alone, or ``-k``),
the browser test runs it itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

FOLDER_ENV = "WORKBENCH_EXECUTED_NOTEBOOKS"
SCHEDULED: set[str] = set()  # notebooks whose module runs in this session (set at collection, in every process)


def make_folder() -> bool:
    """Create the session's folder unless a parent process did; True if this process made it."""
    if os.environ.get(FOLDER_ENV):
        return False
    os.environ[FOLDER_ENV] = tempfile.mkdtemp(prefix="workbench-executed-")
    return True


def remove_folder() -> None:
    shutil.rmtree(os.environ.pop(FOLDER_ENV), ignore_errors=True)


def _path(name: str) -> Path:
    return Path(os.environ[FOLDER_ENV]) / name


def write(nb, name: str) -> None:
    """Write the executed notebook ``nb`` as ``name``, whole or not at all (a reader never sees half a file)."""
    import nbformat

    if not os.environ.get(FOLDER_ENV):
        return
    partial = _path(name + ".partial")
    nbformat.write(nb, partial)
    partial.rename(_path(name))


def give_up(name: str) -> None:
    """Say that ``name`` will not be written in this session (its kernel died or timed out)."""
    if os.environ.get(FOLDER_ENV):
        _path(name + ".failed").touch()


def written(name: str) -> bool:
    return bool(os.environ.get(FOLDER_ENV)) and _path(name).exists()


def wait_for(name: str, timeout_s: float) -> Path:
    """The executed copy of ``name`` once its module has written it; fails if it never comes or its run died."""
    deadline = time.monotonic() + timeout_s
    while not _path(name).exists():
        if _path(name + ".failed").exists():
            raise RuntimeError(f"{name} did not run to its end in its module (see that module's failure)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}: no executed copy after {timeout_s:.0f} s")
        time.sleep(0.5)
    return _path(name)
