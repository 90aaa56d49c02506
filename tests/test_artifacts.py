"""One registry of shipped artifacts, one command line, and no machine's paths in what ships."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys

import pytest
import torch

from workbench import artifacts, models, organisms, saes, transcoders
from workbench.artifacts import cli
from tests.conftest import REPO


def run_cli(*args: str, fresh_process: bool = False) -> str:
    """Stdout of ``python -m workbench.artifacts ARGS``: in a fresh process, or (a process's start-up saved) the same
    ``main`` called here."""
    if fresh_process:
        command = [sys.executable, "-m", "workbench.artifacts", *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(list(args)) == 0
    return out.getvalue()


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
    out = run_cli("list", fresh_process=True)
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
    assert metrics["heldout_sentences"] == 50
    assert metrics["ce_recovered"] >= 0.9 and metrics["explained_variance"] >= 0.95  # the bar; notebook 02 reads its own run


# Absolute paths of the machine that trained something: POSIX home, temp and work folders, Windows drives.
MACHINE_PATH = re.compile(r"(?<![\w.])(/(home|root|tmp|work|Users|var|private|mnt)/|[A-Za-z]:\\\\)")


def test_no_shipped_file_records_a_machine_path():
    shipped = [path for name in artifacts.names() for path in artifacts.get(name).paths]
    texts = [path for path in shipped if path.suffix == ".json"]
    assert texts, "no JSON records found among the shipped files"
    for path in texts:
        found = MACHINE_PATH.search(path.read_text())
        assert found is None, f"{path.relative_to(REPO)} records a machine path near {found.group(0)!r}"


# ---- one class per kind, registered once; ship writes a measured record for every kind -------------


def test_each_artifact_is_of_the_kind_registered_for_its_recipe():
    assert artifacts.KINDS == ("organism", "corpus", "sae", "transcoder")
    for name in artifacts.names():
        artifact = artifacts.get(name)
        assert type(artifact) is artifacts.KINDS_BY_RECIPE[type(artifact.recipe)], name
    assert isinstance(artifacts.get("smollm2_resid24"), artifacts.CorpusSAE)
    assert isinstance(artifacts.get("facts_resid1"), artifacts.OrganismSAE)
    with pytest.raises(TypeError, match="no kind of artifact"):
        artifacts.artifact("a_probe", object())


def test_only_transcoders_take_training_options():
    with pytest.raises(ValueError, match="only transcoders"):
        artifacts.ship("facts_resid1", out="elsewhere")


def shipped_copy(name):
    """Stands in for retraining: the shipped copy, as ``train`` would return it (``save_to``: SAELens's files there too)."""
    import shutil

    source = saes.CHECKPOINT_DIR / name

    def train(self, *, progress=True, history=None, save_to=None, **overrides):
        shutil.copytree(source, save_to)
        return saes.load_sae(name)

    return train


def test_ship_writes_the_organism_sae_with_a_measured_record(monkeypatch, tmp_path):
    """The organism's SAE ships a record as the real model's does (a copy of the shipped SAE stands in for training)."""
    from workbench.saes import loading

    monkeypatch.setattr(artifacts.OrganismSAE, "train", shipped_copy("facts_resid1"))
    shipped = loading.CHECKPOINT_DIR
    monkeypatch.setattr(loading, "CHECKPOINT_DIR", tmp_path)
    paths = artifacts.ship("facts_resid1")
    assert tmp_path / "facts_resid1" / "record.json" in paths
    record = saes.sae_record("facts_resid1")
    assert record["recipe"] == {"organism": "facts", "config": artifacts.get("facts_resid1").recipe.config,
                                "dataset_rows": 60_000, "dataset_seed": 0}
    assert record["command"] == "python -m workbench.artifacts train facts_resid1" and "train_cpu_seconds" in record
    assert round(record["ce_recovered"], 3) == 0.978  # measured, as notebook 02 states
    assert record["heldout_sentences"] == 50  # the held-out cities' two-hop sentences, never trained on
    assert saes.model_sae("facts", device="cpu")[0] == "facts_resid1"  # a shipped SAE with a record is the model's
    assert {p.name for p in (shipped / "facts_resid1").iterdir()} < {p.name for p in paths}


def test_ship_writes_a_transcoder_and_its_record_to_out(tmp_path):
    paths = artifacts.ship("facts_plt", out=tmp_path / "facts_plt", steps=5, n_sentences=64)
    assert paths == [tmp_path / "facts_plt.safetensors", tmp_path / "facts_plt.json"]
    record = json.loads(paths[1].read_text())["metadata"]
    assert record["recipe"]["train"]["steps"] == 5 and record["recipe"]["organism"] == "facts"
    assert set(record) >= {"train_cpu_seconds", "train_wall_seconds", "command", "fidelity", "behaviour"}
    assert transcoders.load_clt(paths[0]).config.d_features == artifacts.get("facts_plt").recipe.d_features


def test_ship_writes_a_corpus_with_its_measures_in_the_header(monkeypatch, tmp_path):
    from workbench.activations import corpus

    rows = artifacts.load("smollm2_text")[:3, :16]
    monkeypatch.setattr(artifacts.Corpus, "train", lambda self, **options: rows)
    monkeypatch.setattr(corpus, "CORPUS_DIR", tmp_path)
    [path] = artifacts.ship("smollm2_text")
    header = corpus.corpus_header(path)
    assert header["model"] == models.SMOLLM2 and header["rows"] == "3" and header["tokens"] == "48"
    assert header["command"] == "python -m workbench.artifacts train smollm2_text"
    assert torch.equal(corpus.load_rows(path), rows)


def test_ship_writes_an_organism_with_its_behaviours(monkeypatch, tmp_path):
    model = organisms.load("facts")[0]  # stands in for retraining
    monkeypatch.setattr(artifacts.Organism, "train", lambda self, **options: model)
    monkeypatch.setattr(organisms, "CHECKPOINT_DIR", tmp_path)
    paths = artifacts.ship("facts")
    assert paths[:2] == [tmp_path / "facts.safetensors", tmp_path / "facts.json"]
    record = organisms.checkpoint_metadata("facts")
    assert record["metrics"]["two_hop_heldout_city"] == 1.0 and "train_seconds" in record
