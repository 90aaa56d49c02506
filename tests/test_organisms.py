"""The training recipe shared by every organism is reproducible, and its configs refuse bad values."""

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


def test_unknown_organism_lists_the_known_ones():
    with pytest.raises(KeyError, match="facts"):
        organisms.get_world("gpt5")
