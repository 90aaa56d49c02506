"""The language-model SAE code on inputs notebook 02 does not use: a two-step training run (determinism, signal
handlers), bad names and configs, worked examples of the ground-truth variables and of precision and recall, and a
dashboard asked for a feature the SAE does not have.

Notebook 02's own facts SAE (its recipe, loss recovered, the short run, matching, dashboards, the round trip) is read
from its run in ``tests/notebooks/test_02_sparse_autoencoders.py``.
"""

from __future__ import annotations

import signal

import pytest
import torch

from workbench import artifacts, feature_matching, saes


def test_training_is_deterministic_and_restores_signal_handlers():
    """Two runs of the recipe give the same weights; SAELens's runner leaves Ctrl-C as it found it."""
    before = signal.getsignal(signal.SIGINT)
    first = artifacts.train("facts_resid1", training_tokens=2048, progress=False)
    assert signal.getsignal(signal.SIGINT) is before
    second = artifacts.train("facts_resid1", training_tokens=2048, progress=False)
    assert torch.equal(first.W_dec, second.W_dec)


def test_unknown_sae_names_are_refused():
    with pytest.raises(FileNotFoundError, match="not a shipped SAE.*facts_resid1"):
        saes.load_sae("gpt2_resid")
    with pytest.raises(KeyError, match="facts_resid1"):
        artifacts.train("gpt2_resid")


@pytest.mark.parametrize("field, value", [("architecture", "gated"), ("k", 0), ("lr", 0.0), ("training_tokens", 10)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        saes.LMSAEConfig(**{field: value})


# --- ground truth ----------------------------------------------------------------------------------


def test_token_variables_label_the_right_positions(facts_organism):
    _, world = facts_organism
    tokens = world.tokenize(["Dallas is a city in Texas .", "The capital of the state containing Dallas is Austin ."])
    variables = world.token_variables(tokens)
    # row 0: <bos> Dallas is a city in Texas .   row 1: ... containing(6) Dallas(7) is(8) Austin(9)
    assert variables["city in state: Texas"].nonzero().tolist() == [[0, 1], [1, 7], [1, 9]]
    assert variables["answer is state: Texas"].nonzero().tolist() == [[0, 5]]
    assert variables["answer is capital: Texas"].nonzero().tolist() == [[1, 8]]
    assert variables["state in play: Texas"].sum() == 2
    assert not variables["state in play: California"].any()


def test_precision_and_recall_on_a_worked_example():
    fires = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=torch.bool)
    label = torch.tensor([1, 1, 0, 0], dtype=torch.bool)
    precision, recall = feature_matching.precision_recall(fires, label)
    assert precision.tolist() == [1.0, 0.5, 0.0]
    assert recall.tolist() == [1.0, 0.5, 0.0]
    assert feature_matching.best_match(fires, label, "x").feature == 0
    with pytest.raises(ValueError, match="never true"):
        feature_matching.precision_recall(fires, torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="tokens"):
        feature_matching.precision_recall(fires, label[:3])


# --- dashboards --------------------------------------------------------------------------------------


def test_dashboard_refuses_a_feature_out_of_range(facts_organism):
    model, world = facts_organism
    with pytest.raises(IndexError, match="512 features"):
        saes.feature_dashboard(model, saes.load_sae("facts_resid1"), world.tokenize(world.all_sentences[:4]), 512)
