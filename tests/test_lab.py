"""`make lab` opens the course for any user: the launcher's choices, and the real server answering."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from workbench import lab

REPO = Path(__file__).resolve().parents[1]
START_BUDGET_S = 25.0


@pytest.mark.parametrize("euid", [0, 1000])
@pytest.mark.parametrize("display", [True, False])
def test_lab_command_adapts_to_user_and_display(euid, display):
    command, notes = lab.lab_command(["--port=8890"], euid=euid, display=display)
    assert command[1:4] == ["-m", "jupyterlab", "--ServerApp.root_dir=notebooks"]
    assert ("--allow-root" in command) == (euid == 0)
    assert ("--no-browser" in command) == (not display)
    assert command[-1] == "--port=8890", "the learner's own flags must come last, so they win"
    assert len(notes) == 1 + (euid == 0)
    assert ("Running as root" in notes[0]) == (euid == 0)
    assert ("No display found" in notes[-1]) == (not display) and "Ctrl-C (twice)" in notes[-1]


def test_has_display():
    assert lab.has_display({}, "linux") is False
    assert lab.has_display({"DISPLAY": ":0"}, "linux") is True
    assert lab.has_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is True
    assert lab.has_display({}, "darwin") is True


def test_launcher_outside_the_repository_says_where_to_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="no notebooks/ folder.*repository root"):
        lab.main([])


def _make_lab_command_line(lab_args: str) -> str:
    """The recipe `make lab` runs, with this interpreter's venv and without rebuilding it."""
    # STAMP= drops the "build .venv first" prerequisite; VENV points make at the running venv.
    dry_run = subprocess.run(
        ["make", "-s", "-n", "--no-print-directory", "lab", "STAMP=", f"VENV={sys.prefix}", f"LAB_ARGS={lab_args}"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    lines = dry_run.stdout.strip().splitlines()
    assert len(lines) == 1, f"`make -n lab` should print one command, printed:\n{dry_run.stdout}"
    return lines[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_lab_serves_the_notebooks(tmp_path):
    """Run `make lab`'s command line as this user (root in CI) with no display; list the notebooks."""
    port, token = _free_port(), secrets.token_hex(8)
    command_line = _make_lab_command_line(f"--port={port} --IdentityProvider.token={token} --ServerApp.port_retries=0")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")  # leave no server files in the user's home
    log_path = tmp_path / "lab.log"
    # No proxy: a $http_proxy would send this loopback request off the machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://127.0.0.1:{port}/api/contents?token={token}"
    started = time.perf_counter()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            ["/bin/sh", "-c", command_line], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        listing = None
        while listing is None:
            if server.poll() is not None:
                pytest.fail(f"`{command_line}` exited with {server.returncode}:\n{log_path.read_text()}")
            if time.perf_counter() - started > START_BUDGET_S:
                pytest.fail(f"JupyterLab did not answer on port {port} in {START_BUDGET_S} s:\n{log_path.read_text()}")
            try:
                with opener.open(url, timeout=2) as response:
                    listing = json.load(response)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        print(f"JupyterLab answered after {time.perf_counter() - started:.1f} s")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            pytest.fail(f"JupyterLab ignored SIGTERM for 10 s:\n{log_path.read_text()}")

    listed = {item["name"] for item in listing["content"] if item["type"] == "notebook"}
    expected = {path.name for path in (REPO / "notebooks").glob("*.ipynb")}
    assert expected and listed == expected, f"contents API listed {sorted(listed)}, notebooks/ holds {sorted(expected)}"
    output = log_path.read_text()
    assert ("Running as root: passing --allow-root to Jupyter." in output) == (os.geteuid() == 0), output
    assert "No display found: open the URL below in your browser. Stop the server with Ctrl-C (twice)." in output
    # Jupyter masks a token given on its command line ("token=..."); a generated one is printed whole.
    assert f"http://127.0.0.1:{port}/lab?token=" in output, f"the URL to open was not printed:\n{output}"
