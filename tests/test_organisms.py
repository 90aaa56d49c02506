"""The training recipe shared by every organism is reproducible, and its configs refuse bad values.

Short training runs, checkpoint files, corrupt checkpoints and bad configs; nothing here is what a notebook
computes (notebook 00b's shipped training curve is checked on its run, ``tests/notebooks/``).
"""

from __future__ import annotations


import pytest
import torch

from workbench import organisms
from workbench import hooks
from workbench.organisms.model import OrganismConfig, reach, visible_keys
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
    with pytest.raises(ValueError, match="bottleneck"):
        OrganismConfig(bottleneck=16)
    with pytest.raises(ValueError, match="TrainConfig.lr"):
        TrainConfig(lr=0)


def test_reach_follows_the_attention_mask_layer_by_layer():
    """Positions 0–12 of a couplet: what position 6 (A) or 2 (the subject) can reach, and without position 7."""
    lookback = OrganismConfig(lookback=6)  # each query sees itself and the 5 positions before it
    assert reach(lookback, 13, 6) == [[6, 7, 8, 9, 10, 11], list(range(6, 13))]
    assert reach(lookback, 13, 6, avoid=7) == [[6, 8, 9, 10, 11], [6, 8, 9, 10, 11, 12]]
    assert reach(lookback, 13, 2, avoid=7) == [[2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 8, 9, 10, 11]]
    bottleneck = OrganismConfig(bottleneck=7)  # queries after 7 see only 7 onwards
    assert visible_keys(bottleneck, 13)[8:, :7].sum() == 0 and visible_keys(bottleneck, 13)[8:, 7].all()
    assert reach(bottleneck, 13, 6) == [[6, 7], list(range(6, 13))]
    assert reach(bottleneck, 13, 6, avoid=7) == [[6], [6]] and reach(bottleneck, 13, 2, avoid=7) == [[2, 3, 4, 5, 6]] * 2
    assert reach(OrganismConfig(), 13, 2, avoid=7)[0] == [2, 3, 4, 5, 6, 8, 9, 10, 11, 12]  # causal: everything later


@pytest.mark.parametrize("name", ["couplets", "couplets_lookback", "couplets_bottleneck"])
def test_the_model_attends_exactly_where_visible_keys_says(name):
    """``visible_keys`` (what ``reach`` follows) is the mask the organism applies: no weight on a hidden key."""
    model, world = organisms.load(name)
    tokens = model.to_tokens(world.couplet("hunter", "cake"))
    _, cache = model.run_with_cache(tokens, names_filter=lambda hook: hook.endswith("hook_pattern"))
    visible = visible_keys(world.model_config, tokens.shape[1])
    for layer in range(model.cfg.n_layers):
        pattern = cache[hooks.attn_pattern(layer)][0]  # (head, query, key)
        assert pattern[:, ~visible].max() == 0, layer
        assert pattern[:, visible].min() > 0, layer


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
