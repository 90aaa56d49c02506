"""Open the course in JupyterLab: the one definition behind ``make lab`` and its test.

``python -m workbench.lab [JUPYTER ARGS...]`` starts JupyterLab on ``notebooks/`` in any fresh
environment. Jupyter refuses to run as root (containers, CI) unless told ``--allow-root``, and on
a machine without a display it cannot open a browser; the launcher passes what is needed, says so
in one line each, and hands every other argument to Jupyter (``--port 8890``, ``--no-browser``,
``--IdentityProvider.token=...``); Jupyter also reads $JUPYTER_PORT and $JUPYTER_TOKEN.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

NOTEBOOKS = "notebooks"
STOP_HINT = "Stop the server with Ctrl-C (twice)."


def has_display(environ: dict | None = None, platform: str | None = None) -> bool:
    """Whether a browser can open here: always on macOS and Windows, with $DISPLAY or $WAYLAND_DISPLAY elsewhere."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform == "darwin" or platform.startswith("win"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def lab_command(
    args: list[str] = (),
    *,
    notebooks: str | Path = NOTEBOOKS,
    euid: int | None = None,
    display: bool | None = None,
) -> tuple[list[str], list[str]]:
    """The JupyterLab command line for this user and machine, and the one-line notes to print.

    ``euid`` and ``display`` default to this process's user and machine; tests pass them to
    check the other cases. ``args`` go last, so a learner's own flags win.
    """
    if euid is None:
        euid = os.geteuid() if hasattr(os, "geteuid") else -1
    if display is None:
        display = has_display()
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebooks}"]
    notes = []
    if euid == 0:
        command.append("--allow-root")
        notes.append("Running as root: passing --allow-root to Jupyter.")
    if display:
        notes.append(f"Opening the course in your browser. {STOP_HINT}")
    else:
        command.append("--no-browser")
        notes.append(f"No display found: open the URL below in your browser. {STOP_HINT}")
    return command + list(args), notes


def main(argv: list[str] | None = None) -> None:
    """Print the notes, then replace this process with JupyterLab (so Ctrl-C and signals reach it)."""
    args = sys.argv[1:] if argv is None else argv
    if not Path(NOTEBOOKS).is_dir():
        sys.exit(f"workbench.lab: no {NOTEBOOKS}/ folder in {Path.cwd()}; run `make lab` from the repository root.")
    command, notes = lab_command(args)
    for note in notes:
        print(note, file=sys.stderr, flush=True)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
