"""The training recipe shared by every organism is reproducible, and its configs refuse bad values.

Short training runs, checkpoint files, corrupt checkpoints and bad configs; nothing here is what a notebook
computes (notebook 00b's shipped training curve is checked on its run, ``tests/notebooks/``).
"""

from __future__ import annotations


import pytest
import torch

from workbench import organisms
from workbench.organisms.model import OrganismConfig
from workbench.organisms.training import TrainConfig


@pytest.mark.parametrize("name", organisms.names())
def test_training_is_deterministic(name):
    config = TrainConfig(steps=5, batch_size=16, eval_every=5)
    first = organisms.train(name, train_config=config, progress=False)
    second = organisms.train(name, train_config=config, progress=False)
    for (key, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), f"{name}: {key} differs between two runs with the same seed"


@pytest.mark.parametrize("name", organisms.names())
def test_shipped_checkpoint_round_trips_its_config(name):
    model, world = organisms.load(name)
    assert organisms.checkpoint_path(name).stat().st_size < 5 * 2**20
    assert model.cfg.n_layers == world.model_config.n_layers and model.cfg.d_vocab == len(world.tokenizer)


def test_configs_name_the_bad_field():
    with pytest.raises(ValueError, match="n_heads"):
        OrganismConfig(d_model=130, n_heads=4)
    with pytest.raises(ValueError, match="lookback"):
        OrganismConfig(lookback=99)
    with pytest.raises(ValueError, match="TrainConfig.lr"):
        TrainConfig(lr=0)


def test_a_corrupt_checkpoint_is_named_as_such(tmp_path):
    from workbench.organisms.model import CheckpointError, load_checkpoint

    world = organisms.get_world("facts")
    corrupt = tmp_path / "facts.safetensors"
    corrupt.write_bytes(organisms.checkpoint_path("facts").read_bytes()[:1000])  # a download cut short
    with pytest.raises(CheckpointError, match="not a valid organism checkpoint: not a safetensors file"):
        load_checkpoint(corrupt, world.tokenizer)
    corrupt.write_bytes(organisms.checkpoint_path("facts").read_bytes())  # the weights without their record
    with pytest.raises(CheckpointError, match=r"not a valid organism checkpoint: its record facts\.json .* is missing"):
        load_checkpoint(corrupt, world.tokenizer)
    corrupt.with_suffix(".json").write_text("{ not json")
    with pytest.raises(CheckpointError, match="its record facts.json cannot be read"):
        load_checkpoint(corrupt, world.tokenizer)


def test_the_training_curve_starts_before_the_learning():
    """A short run records the early evaluations (the shipped facts curve that notebook 00b draws is checked on
    its run)."""
    from workbench.organisms.training import EARLY_EVALS

    history = []
    organisms.train("facts", train_config=TrainConfig(steps=5, batch_size=16, eval_every=5), progress=False,
                    history=history)
    assert [row["step"] for row in history] == [step for step in EARLY_EVALS if step < 5] + [5]


def test_models_carry_their_organism_name():
    """Transcoders are checked against ``cfg.model_name`` (tests/test_replacement.py)."""
    assert organisms.load("couplets_control")[0].cfg.model_name == "couplets_control"
    config = TrainConfig(steps=1, batch_size=4, eval_every=1)
    assert organisms.train("facts", train_config=config, progress=False).cfg.model_name == "facts"


def test_unknown_organism_lists_the_known_ones():
    with pytest.raises(KeyError, match="facts"):
        organisms.get_world("gpt5")
