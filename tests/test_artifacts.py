"""One registry of shipped artifacts, one command line, and no machine's paths in what ships."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from workbench import artifacts, models, organisms
from tests.conftest import REPO


def run_cli(*args: str) -> str:
    """Stdout of ``python -m workbench.artifacts ARGS`` in a fresh process."""
    command = [sys.executable, "-m", "workbench.artifacts", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def test_every_shipped_thing_is_registered():
    assert set(artifacts.names("organism")) == set(organisms.names())
    assert artifacts.names("sae") == ["facts_resid1", "smollm2_resid24"]
    assert set(artifacts.names("transcoder")) == {
        "facts_clt", "facts_plt", "facts_heldout_states_clt", "couplets_clt", "couplets_plt",
        "couplets_lookback_clt", "couplets_control_clt", "couplets_bottleneck_clt", "smollm2_plt",
    }
    for name in artifacts.names():
        artifact = artifacts.get(name)
        assert artifact.paths and all(path.exists() for path in artifact.paths), name
        assert artifact.organism in models.offline_names()  # an organism, or the real model offline (notebook 08)
        if artifact.kind == "transcoder":  # it records whose MLPs it replaces, and refuses any other organism
            from workbench.transcoders import load_clt

            assert load_clt(name).organism == artifact.organism, name


def test_unknown_names_and_kinds_are_refused():
    with pytest.raises(KeyError, match="facts_clt"):
        artifacts.get("gpt2_clt")
    with pytest.raises(ValueError, match="transcoder"):
        artifacts.names("probe")


def test_cli_lists_kind_size_and_command():
    out = run_cli("list")
    for name in artifacts.names():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert artifacts.get(name).kind in line
        assert re.search(r"\d+\.\d\d MB", line)
        assert f"python -m workbench.artifacts train {name}" in line


def test_cli_evaluates_an_organism_as_json():
    metrics = json.loads(run_cli("evaluate", "facts", "--json"))
    assert set(metrics) >= {"two_hop_heldout_city", "two_hop_trained", "one_hop_city_state", "one_hop_capital", "state_swap_success"}
    assert metrics == pytest.approx(organisms.checkpoint_metadata("facts")["metrics"], abs=1e-9)


def test_cli_rebuilds_the_lookback_from_the_checkpoint_config():
    """The lookback organism loaded from its checkpoint's JSON config keeps its attention mask."""
    metrics = json.loads(run_cli("evaluate", "couplets_lookback", "--json"))
    assert metrics["plan_patch_success"] >= 0.9 and metrics["rhyme_accuracy"] >= 0.98


def test_the_sae_evaluates_to_its_loss_recovered():
    metrics = artifacts.evaluate("facts_resid1")
    assert round(metrics["ce_recovered"], 3) == 0.987 and metrics["explained_variance"] >= 0.95  # notebook 02


# Absolute paths of the machine that trained something: POSIX home, temp and work folders, Windows drives.
MACHINE_PATH = re.compile(r"(?<![\w.])(/(home|root|tmp|work|Users|var|private|mnt)/|[A-Za-z]:\\\\)")


def test_no_shipped_file_records_a_machine_path():
    shipped = [path for name in artifacts.names() for path in artifacts.get(name).paths]
    texts = [path for path in shipped if path.suffix == ".json"]
    assert texts, "no JSON records found among the shipped files"
    for path in texts:
        found = MACHINE_PATH.search(path.read_text())
        assert found is None, f"{path.relative_to(REPO)} records a machine path near {found.group(0)!r}"
