"""Suite-wide settings: offline environment, the network guard, and per-notebook wall times."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

from tests import executed

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
    config.made_executed_folder = executed.make_folder()  # the controller's; xdist's workers inherit it
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
MODULE_SECONDS: dict[str, float] = {}
FIRST_NOTEBOOKS = ("08",)  # the longest notebook starts first, so the two workers finish together


def _notebook_order(item) -> tuple:
    """Notebook runs first (the longest of them first), then every other test in collection order."""
    module = item.nodeid.split("::")[0]
    if "tests/notebooks/test_" in module:
        number = module.split("tests/notebooks/test_")[1][:2]
        return (0, number not in FIRST_NOTEBOOKS)
    if "test_notebooks.py" in module:
        return (0, "08_real_model" not in item.nodeid)
    if "test_browser.py" in module:
        return (1, 0)
    return (2, 0)


def pytest_collection_modifyitems(config, items):
    """Notebooks run first: they are the longest tests, and two workers balance best when long work starts early."""
    items.sort(key=_notebook_order)


def pytest_collection_finish(session):
    """Which notebooks a module of this session runs (the browser test waits for those, runs the others)."""
    for item in session.items:
        module = item.nodeid.split("::")[0]
        if "tests/notebooks/test_" in module:
            executed.SCHEDULED.add(module.split("tests/notebooks/test_")[1].removesuffix(".py") + ".ipynb")
        elif "test_notebooks.py::test_notebook_runs[" in item.nodeid:
            executed.SCHEDULED.add(item.nodeid.split("[")[-1].removesuffix("]"))


def pytest_unconfigure(config):
    if getattr(config, "made_executed_folder", False):
        executed.remove_folder()


def pytest_runtest_logreport(report):
    """Collect notebook and module wall times from the reports (which xdist workers send back to the controller)."""
    module = report.nodeid.split("::")[0]
    MODULE_SECONDS[module] = MODULE_SECONDS.get(module, 0.0) + report.duration
    if report.when == "call":
        for name, value in report.user_properties:
            if name == NOTEBOOK_SECONDS:
                if "[" in report.nodeid:  # test_browser.py and test_notebooks.py: one test per notebook
                    browser = "browser: " if "test_browser" in report.nodeid else ""
                    NOTEBOOK_TIMES[browser + report.nodeid.split("[")[-1].split("]")[0]] = value
                else:
                    NOTEBOOK_TIMES[module.split("tests/notebooks/test_")[-1].removesuffix(".py")] = value


def pytest_terminal_summary(terminalreporter):
    if NOTEBOOK_TIMES:
        terminalreporter.section("notebook wall times")
        for name, seconds in sorted(NOTEBOOK_TIMES.items()):
            terminalreporter.write_line(f"{seconds:8.1f} s  {name}")
        terminalreporter.write_line(f"{sum(NOTEBOOK_TIMES.values()):8.1f} s  total")
    if MODULE_SECONDS:
        terminalreporter.section("test module wall times (setup, call and teardown; notebook runs included)")
        for module, seconds in sorted(MODULE_SECONDS.items(), key=lambda item: -item[1])[:15]:
            terminalreporter.write_line(f"{seconds:8.1f} s  {module}")
        terminalreporter.write_line(f"{sum(MODULE_SECONDS.values()):8.1f} s  total over {len(MODULE_SECONDS)} modules")
