"""The facts world's ground truth, the tokenizer on other prompts and bad input, the checkpoint file, a short retrain.

The shipped organisms' behaviours (facts and facts_heldout_states), the Dallas swap and the Dallas answer are
asserted on notebooks 00 and 00b's own runs (``tests/notebooks/``); here: San_Antonio's prompt, a misspelt
city, and a model retrained for a tenth of the recipe.
"""

from __future__ import annotations

import pytest

from workbench import organisms
from workbench.organisms.facts import FactsWorld
from workbench.organisms.tokenizer import UnknownWordError
from workbench.organisms.training import TrainConfig


def test_ground_truth():
    world = FactsWorld()
    assert len(world.states) == 50
    assert all(len([c for c in world.cities if world.state_of[c] == s]) >= 6 for s in world.states)
    assert world.state_of["San_Antonio"] == "Texas" and world.capital_of["Texas"] == "Austin"
    assert "Dallas" in world.heldout_cities
    assert {world.state_of[c] for c in world.heldout_cities} == set(world.states)
    trained = " ".join(world.training_pools["two_hop"])
    for city in world.heldout_cities:
        assert f" {city} is" not in trained, f"held-out two-hop sentence for {city} is in the training pool"


def test_tokenizer_round_trip_and_bad_words(facts_organism):
    model, world = facts_organism
    prompt = world.two_hop_prompt("San_Antonio")
    assert model.to_str_tokens(prompt) == ["<bos>", *prompt.split()]
    with pytest.raises(UnknownWordError, match=r"'Dalas'.*Dallas"):
        model.to_tokens("The capital of the state containing Dalas is")


def test_checkpoint_is_small_safetensors():
    path = organisms.checkpoint_path("facts")
    assert path.suffix == ".safetensors" and path.stat().st_size < 5 * 2**20


def test_short_retrain_passes_floor():
    """A tenth of the recipe from scratch: the facts are learnt and composition is under way."""
    config = TrainConfig(steps=150, batch_size=128, seed=0, eval_every=150)
    metrics = organisms.evaluate("facts", organisms.train("facts", train_config=config, progress=False))
    assert metrics["one_hop_city_state"] >= 0.99 and metrics["one_hop_capital"] >= 0.99
    assert metrics["two_hop_trained"] >= 0.99
    assert metrics["two_hop_heldout_city"] >= 0.6  # 0.74 measured (0.88 after 250 steps); the full recipe reaches 0.98
