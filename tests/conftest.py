"""Suite-wide settings: offline environment, the network guard, and per-notebook wall times."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GUARD_DIR = Path(__file__).resolve().parent / "network_guard"

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
}

NOTEBOOK_TIMES: dict[str, float] = {}


def _load_guard():
    spec = importlib.util.spec_from_file_location("workbench_network_guard", GUARD_DIR / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    """Go offline before anything imports Hugging Face libraries; guard this process and its children."""
    os.environ.update(OFFLINE_ENV)
    guard = _load_guard()
    log_fd, log_path = tempfile.mkstemp(prefix="network-guard-", suffix=".log")
    os.close(log_fd)
    os.environ[guard.LOG_ENV] = log_path
    # Child processes (notebook kernels, `python -m workbench...`) import the guard at start-up.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(GUARD_DIR), os.environ.get("PYTHONPATH", "")) if p
    )
    guard.install()
    config.network_guard_log = Path(log_path)
    from workbench.runtime import set_threads

    set_threads()  # the one thread-count decision (workbench.runtime.DEFAULT_THREADS)


@pytest.fixture(autouse=True)
def network_guard(request):
    """Fail any test during which this process or a child tried to reach the network."""
    log = request.config.network_guard_log
    log.write_text("")
    yield
    attempts = log.read_text()
    if attempts:
        log.write_text("")
        pytest.fail(f"network access attempted (tests must run offline):\n{attempts}", pytrace=False)


@pytest.fixture(scope="session")
def facts_organism():
    """``(model, world)`` of the shipped facts organism, loaded once for every module that reads it."""
    from workbench import organisms

    return organisms.load("facts")


@pytest.fixture(scope="module")
def smollm2():
    """SmolLM2-135M on the CPU, loaded once per module (each real-model test file edits it with hooks of its own)."""
    from workbench import models

    return models.load_model(models.SMOLLM2, device="cpu")


NOTEBOOK_SECONDS = "notebook_seconds"


def pytest_collection_modifyitems(config, items):
    """Run the notebooks first: they are the longest tests, and two workers balance best when long work starts early."""
    items.sort(key=lambda item: "test_notebooks.py" not in item.nodeid)


def pytest_runtest_logreport(report):
    """Collect notebook wall times from the reports (which xdist workers send back to the controller)."""
    if report.when == "call":
        for name, value in report.user_properties:
            if name == NOTEBOOK_SECONDS:
                browser = "browser: " if "test_browser" in report.nodeid else ""
                NOTEBOOK_TIMES[browser + report.nodeid.split("[")[-1].rstrip("]")] = value


def pytest_terminal_summary(terminalreporter):
    if not NOTEBOOK_TIMES:
        return
    terminalreporter.section("notebook wall times")
    for name, seconds in sorted(NOTEBOOK_TIMES.items()):
        terminalreporter.write_line(f"{seconds:8.1f} s  {name}")
    terminalreporter.write_line(f"{sum(NOTEBOOK_TIMES.values()):8.1f} s  total")
