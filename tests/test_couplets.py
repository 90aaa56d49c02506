"""The couplets worlds: CMU-checked ground truth, couplet shape, bad words, the lookback mask, checkpoint files, a
short retrain.

The shipped organisms' behaviours (rhyme, rewrite, patch, probes) are asserted on notebook 00b's own run
(``tests/notebooks/test_00b_meet_the_organisms.py``); here: the worlds themselves, attention patterns of the
lookback organism on the hunter/cake couplet, and a model retrained for a fraction of the recipe.
"""

from __future__ import annotations

import dataclasses
import itertools

import pronouncing
import pytest
import torch

from workbench import artifacts, organisms
from workbench.organisms.couplets import (
    A_POSITION,
    B_POSITION,
    LOOKBACK,
    NEWLINE_POSITION,
    SUBJECT_POSITION,
    CoupletsBottleneckWorld,
    CoupletsControlWorld,
    CoupletsLookbackWorld,
    CoupletsWorld,
)
from workbench.organisms.couplets_data import ADJECTIVES, OPENERS
from workbench.organisms.tokenizer import UnknownWordError

WORLDS = {cls.name: cls for cls in (CoupletsWorld, CoupletsControlWorld, CoupletsLookbackWorld, CoupletsBottleneckWorld)}


def rhyming_parts(word: str) -> set[str]:
    return {pronouncing.rhyming_part(phones) for phones in pronouncing.phones_for_word(word)}


# ---- ground truth ---------------------------------------------------------------------------------
def test_every_pair_in_a_rhyme_class_rhymes_per_cmu():
    world = CoupletsWorld()
    assert len(world.rhyme_classes) >= 16
    assert all(len(rhyme_class) >= 4 for rhyme_class in world.rhyme_classes)
    for rhyme_class in world.rhyme_classes:
        for a, b in itertools.combinations(rhyme_class, 2):
            assert rhyming_parts(a) & rhyming_parts(b), f"{a!r} and {b!r} do not rhyme in CMUdict"
            assert b in pronouncing.rhymes(a)
    # ...and no noun rhymes with a noun of another class, so "rhymes with A" names A's class.
    for first, second in itertools.combinations(world.rhyme_classes, 2):
        for a, b in itertools.product(first, second):
            assert not rhyming_parts(a) & rhyming_parts(b), f"{a!r} and {b!r} rhyme across classes"


def test_topic_and_rhyme_class_determine_b():
    world = CoupletsWorld()
    assert len(set(world.nouns)) == len(world.nouns)
    for c, rhyme_class in enumerate(world.rhyme_classes):
        for topic in world.topics:
            matches = [n for n in rhyme_class if world.topic_of[n] == topic]
            assert matches == [world.target_table[(topic, c)]]
    for subject, a in world.pairs:
        b = world.target(subject, a)
        assert b != a and b in world.rhymes_with(a) and world.topic_of[b] == world.topic_of[subject]
    with pytest.raises(ValueError, match="topic"):
        world.target("hunter", "snake")
    # The planning demo's first word names B alone; the openers name nothing.
    assert sorted(ADJECTIVES) == sorted(world.nouns)
    assert len(set(ADJECTIVES.values())) == len(ADJECTIVES)
    assert not set(OPENERS) & set(ADJECTIVES.values())


def test_heldout_pairs_are_never_trained():
    world = CoupletsWorld()
    held = set(world.heldout_pairs)
    assert len(held) == 2 * len(world.topics) * len(world.rhyme_classes)
    assert {s for s, _ in held} == set(world.subjects) and {a for _, a in held} == set(world.nouns)
    sentences = world.sample_sentences(10_000, torch.Generator().manual_seed(0))
    seen = {(s.split()[1], s.split()[5]) for s in sentences}
    assert not seen & held
    assert seen == set(world.trained_pairs)


def test_couplet_shape_and_positions():
    world = CoupletsWorld()
    couplet = world.couplet("hunter", "cake")
    assert couplet == "the hunter looked at the cake <nl> hissing , he found the snake <eos>"
    words = ["<bos>", *couplet.split()]
    assert (words[SUBJECT_POSITION], words[NEWLINE_POSITION], words[B_POSITION]) == ("hunter", "<nl>", "snake")
    # The lookback is exactly the span that lets only <nl> carry the subject to B (see couplets.py).
    assert LOOKBACK == NEWLINE_POSITION - SUBJECT_POSITION + 1 == (B_POSITION - 1) - NEWLINE_POSITION + 1
    assert CoupletsControlWorld().couplet("hunter", "cake", opener="so").split()[7] == "so"


def test_bad_word_raises_with_suggestions():
    model, world = organisms.load("couplets")
    with pytest.raises(UnknownWordError, match=r"'snaek'.*snake"):
        model.to_tokens("the hunter looked at the snaek <nl>")
    prompt = world.first_line_prompt("hunter", "cake")
    assert model.to_str_tokens(prompt) == ["<bos>", *prompt.split()]


# ---- shipped checkpoints --------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(WORLDS))
def test_checkpoint_is_small_safetensors(name):
    path = organisms.checkpoint_path(name)
    assert path.suffix == ".safetensors" and path.stat().st_size < 5 * 2**20


def hunter_cake_patterns(name: str) -> list:
    """Organism ``name``'s attention pattern (head, query, key) in each layer, on the hunter/cake couplet."""
    model, world = organisms.load(name)
    _, cache = model.run_with_cache(model.to_tokens(world.couplet("hunter", "cake")),
                                    names_filter=lambda hook: hook.endswith("hook_pattern"))
    return [cache[f"blocks.{layer}.attn.hook_pattern"][0] for layer in range(model.cfg.n_layers)]


def test_lookback_hides_the_subject_from_line_two():
    """Only <nl> sees the subject (layer 0) and is seen by the query that predicts B (layer 1)."""
    for pattern in hunter_cake_patterns("couplets_lookback"):
        assert pattern[:, B_POSITION - 1, :NEWLINE_POSITION].max() == 0
        assert pattern[:, NEWLINE_POSITION + 1 :, : SUBJECT_POSITION + 1].max() == 0
        assert pattern[:, NEWLINE_POSITION, SUBJECT_POSITION].min() > 0


def test_only_the_bottleneck_leaves_the_newline_as_the_only_path():
    """The attention-window arithmetic (``attention_paths``): what reaches the position that predicts B without
    passing through <nl>. Lookback: A does (positions 8–11 see it in layer 0), the subject does not."""
    predicts_b = B_POSITION - 1
    reaches = {name: {source: predicts_b in layers[-1] for source, layers in world().attention_paths().items()}
               for name, world in WORLDS.items()}
    without_newline = {name: (r["A, not through <nl>"], r["subject, not through <nl>"]) for name, r in reaches.items()}
    assert without_newline == {"couplets": (True, True), "couplets_control": (True, True),
                               "couplets_lookback": (True, False), "couplets_bottleneck": (False, False)}
    lookback = CoupletsLookbackWorld().attention_paths()["A, not through <nl>"]
    assert lookback[0] == [6, 8, 9, 10, 11]


def test_the_bottleneck_hides_line_one_from_line_two():
    """Every query after <nl> gives no weight to line 1; <nl> itself attends to the subject and to A."""
    patterns = hunter_cake_patterns("couplets_bottleneck")
    for pattern in patterns:
        assert pattern[:, NEWLINE_POSITION + 1:, :NEWLINE_POSITION].max() == 0
    newline = patterns[0][:, NEWLINE_POSITION]
    assert newline[:, SUBJECT_POSITION].max() > 0.2 and newline[:, A_POSITION].max() > 0.2


def test_patching_the_newline_from_another_class_and_topic_moves_b_only_in_the_bottleneck():
    """Issue 25: <nl> patched from a couplet of another rhyme class *and* topic (384 held-out cases) ends
    line 2 with the donor's B in ≥ 0.9 of them in the bottleneck organism; never in the lookback organism,
    whose rhyme class reaches B through line 2's first positions."""
    for name, low, high in (("couplets_bottleneck", 0.9, 1.0), ("couplets_lookback", 0.0, 0.0)):
        model, world = organisms.load(name)
        cases = world.cross_patch_cases()
        assert len(cases) == 384 and all(
            world.topic_of[d] != world.topic_of[s] and world.rhyme_class_of[da] != world.rhyme_class_of[a]
            for s, a, _, d, da in cases)
        assert low <= world.cross_patch_success(model) <= high, name


# ---- training -------------------------------------------------------------------------------------
def test_short_retrain_passes_floor():
    """A fraction of the recipe already writes held-out couplets (the full recipe is shipped)."""
    world = CoupletsWorld()
    config = dataclasses.replace(world.train_config, steps=150, eval_every=150)
    model = organisms.train("couplets", train_config=config, progress=False)
    assert world.rhyme_scores(model, world.heldout_pairs, verbs=["looked"])["rhyme_accuracy"] >= 0.5


def test_the_bottleneck_recipe_and_its_transcoder_retrain_from_the_registry():
    """``artifacts.train`` on the registry's recipes, shortened: the organism keeps its mask and learns the
    couplets' grammar (its rhyme comes after step 500 of 800, too late for a test); the transcoder recipe on
    the shipped organism already follows it where it has decided."""
    history = []
    model = artifacts.train("couplets_bottleneck", steps=40, eval_every=40, progress=False, history=history)
    world = organisms.get_world("couplets_bottleneck")
    assert history[-1]["loss"] < 0.3 * history[0]["loss"]
    line = world.complete(model, [world.first_line_prompt("hunter", "cake")])[0]
    assert line[1:3] == [",", "he"] and line[4] == "the"
    _, cache = model.run_with_cache(model.to_tokens(world.couplet("hunter", "cake")),
                                    names_filter=lambda name: name.endswith("hook_pattern"))
    assert cache["blocks.1.attn.hook_pattern"][0, :, NEWLINE_POSITION + 1:, :NEWLINE_POSITION].max() == 0
    clt = artifacts.train("couplets_bottleneck_clt", steps=150, n_sentences=1000, progress=False)
    assert artifacts.evaluate("couplets_bottleneck_clt", clt)["fidelity"]["top1_agreement_decided"] >= 0.9
