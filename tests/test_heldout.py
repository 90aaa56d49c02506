"""Held out means held out: no row a dictionary is judged on is a row it, or its organism, trained on.

Reads no notebook. Tests every world's ``heldout_sentences`` against its ``training_sentences`` (and that those are
all ``sample_sentences`` draws), ``activations.heldout_tokens`` against the rows each shipped dictionary's recipe
draws (``organism_activations`` for a transcoder, ``organism_dataset`` for an SAE), and a real model's corpus split.
"""

import pytest
import torch

from workbench import activations, artifacts, organisms


def rows(tokens: torch.Tensor) -> set[tuple[int, ...]]:
    return {tuple(row) for row in tokens.tolist()}


def sentences(world, tokens: torch.Tensor) -> list[str]:
    """The sentences of token ``rows`` (``<bos>`` and padding dropped): every word of a world is one token."""
    special = {world.tokenizer.bos_token, world.tokenizer.pad_token}
    return [" ".join(t for t in world.tokenizer.convert_ids_to_tokens(row) if t not in special) for row in tokens.tolist()]


def drawn(world, n_rows: int, seed: int) -> set[str]:
    """The sentences of ``world.sample_tokens(n_rows, seed)`` (the rows every dictionary's recipe draws)."""
    return set(world.sample_sentences(n_rows, torch.Generator().manual_seed(seed)))


@pytest.fixture(scope="module", params=organisms.names())
def world(request):
    return organisms.get_world(request.param)


def test_training_sentences_are_every_sentence_the_sampler_draws(world):
    assert drawn(world, 5000, 0) <= set(world.training_sentences())
    assert sentences(world, world.sample_tokens(20, 3)) == world.sample_sentences(20, torch.Generator().manual_seed(3))


def test_no_heldout_sentence_is_a_training_sentence(world):
    heldout = world.heldout_sentences()
    assert heldout and len(set(heldout)) == len(heldout)
    assert set(heldout).isdisjoint(world.training_sentences())


def test_the_evaluation_rows_are_heldout_sentences(world):
    tokens, mask = activations.heldout_tokens(world)
    assert len(tokens) == min(1000, len(world.heldout_sentences())) and bool(mask.any(1).all())
    evaluated = sentences(world, tokens)
    assert len(set(evaluated)) == len(evaluated) and set(evaluated) <= set(world.heldout_sentences())
    assert set(evaluated).isdisjoint(world.training_sentences())


def recipes_drawing_from(organism: str) -> list[tuple[str, int, int]]:
    """(artifact, rows, seed) of every shipped dictionary trained on ``organism``'s sentences."""
    drawn = []
    for name in artifacts.names():
        artifact = artifacts.get(name)
        if isinstance(artifact, artifacts.OrganismTranscoder) and artifact.organism == organism:
            config = artifact.recipe.train_config()
            drawn.append((name, config.n_sentences, config.seed))
        elif isinstance(artifact.recipe, artifacts.SAERecipe) and artifact.organism == organism:
            drawn.append((name, artifact.recipe.dataset_rows, artifact.recipe.dataset_seed))
    return drawn


def test_no_evaluation_row_is_among_the_rows_a_shipped_dictionary_trained_on(world):
    evaluated = set(sentences(world, activations.heldout_tokens(world)[0]))
    for name, n_rows, seed in recipes_drawing_from(world.name):
        assert evaluated.isdisjoint(drawn(world, n_rows, seed)), name


def test_every_organism_dictionary_is_checked():
    checked = {name for organism in organisms.names() for name, _, _ in recipes_drawing_from(organism)}
    assert checked == {name for name in artifacts.names() if isinstance(artifacts.get(name).recipe,
                                                                         (artifacts.TranscoderRecipe, artifacts.SAERecipe))}


@pytest.mark.parametrize("name", [name for name in artifacts.names() if hasattr(artifacts.get(name).recipe, "split")])
def test_a_real_models_heldout_rows_are_not_among_its_training_rows(name):
    """The corpus's last rows: each begins with one of the openings the training rows begin with, then differs."""
    train, heldout = artifacts.get(name).recipe.split()
    assert len(heldout) == artifacts.get(name).recipe.heldout_rows
    assert rows(heldout).isdisjoint(rows(train))
