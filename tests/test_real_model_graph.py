"""SmolLM2's per-layer transcoders (``smollm2_plt``): the shipped copy against its record, the recipe, the hub switch.

Notebook 08's graph of the Dallas fact, circuit-tracer's copy of it, the figure and the numbers it prints from the
record are read from its run in ``tests/notebooks/test_08_real_model.py``. Here: ``evaluate`` remeasures the
shipped transcoders on the first held-out rows and gets their record's spot check, the registry and a short retrain, and the switch to circuit-tracer's
pretrained transcoders for a hub model (offline, and with ``from_pretrained`` stubbed).
"""

from __future__ import annotations

import pytest
import torch

from workbench import artifacts, circuits, models, transcoders
from workbench.artifacts.kinds import SPOT_CHECK_ROWS

NAME = "smollm2_plt"


@pytest.fixture(scope="module")
def plt():
    return transcoders.load_clt(NAME)


def test_the_shipped_transcoders_evaluate_to_their_records_spot_check(plt):
    """``evaluate`` remeasures the shipped copy on the first held-out rows and gets what the record measured on
    them when it shipped (the whole record was measured by the same call, on more rows)."""
    record = transcoders.shipped_metadata(NAME)
    spot = record["spot_check"]
    assert spot["heldout_rows"] == SPOT_CHECK_ROWS < record["heldout_rows"]
    metrics = artifacts.get(NAME).evaluate(rows=SPOT_CHECK_ROWS)
    for key, value in spot["fidelity"].items():
        assert metrics["fidelity"][key] == pytest.approx(value, rel=1e-3, abs=1e-4), key
    assert metrics["explained_variance"] == pytest.approx(spot["explained_variance"], abs=1e-3)


def test_the_recipe_is_registered_on_the_real_model_and_its_corpus(plt):
    artifact = artifacts.get(NAME)
    assert artifact.kind == "transcoder" and artifact.organism == models.SMOLLM2 == plt.organism
    assert artifact.recipe.corpus == "smollm2_text" and not artifact.recipe.cross_layer
    assert (plt.config.n_layers, plt.config.d_model, plt.config.d_features) == (30, 576, artifact.recipe.d_features)
    assert sum(path.stat().st_size for path in artifact.paths) < 30e6


def test_a_short_retrain_runs_from_the_recipe():
    """The recipe's own code path, a few steps on a few rows (the full run takes CPU-minutes)."""
    trained = artifacts.train(NAME, progress=False, train_rows=4, steps=2, batch_size=64)
    assert trained.organism == models.SMOLLM2 and trained.config.d_features == artifacts.get(NAME).recipe.d_features


def test_a_hub_model_takes_circuit_tracers_pretrained_transcoders(monkeypatch):
    """The switch: a hub name goes to ``ReplacementModel.from_pretrained``, which offline fails clearly."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.ModelUnavailable, match="HF_HUB_OFFLINE=1") as raised:
        circuits.replacement_model("gemma-2-2b", device="cpu")
    assert "'gemma'" in str(raised.value) and models.SMOLLM2 in str(raised.value)
    with pytest.raises(ValueError, match="transcoder_set"):
        circuits.replacement_model("gpt2", device="cpu")


def test_the_switch_calls_circuit_tracer_with_the_known_set(monkeypatch):
    from circuit_tracer import ReplacementModel

    calls = []
    monkeypatch.setattr(ReplacementModel, "from_pretrained", lambda *args, **kwargs: calls.append((args, kwargs)) or "rm")
    assert circuits.replacement_model("gemma-2-2b", device="cpu") == "rm"
    assert calls[0][0] == ("gemma-2-2b", "gemma") and calls[0][1]["device"] == torch.device("cpu")
