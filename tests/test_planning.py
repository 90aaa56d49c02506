"""Notebook 06: every number it states, on all three couplets organisms (``workbench.case_studies.planning``)."""

from __future__ import annotations

import pytest

from workbench import case_studies, organisms, transcoders

ORGANISMS = ["couplets", "couplets_lookback", "couplets_control"]

# Stated in notebook 06, section 5 (the probe-versus-intervention table), per organism.
TABLE = {
    "couplets": {"probe accuracy": 1.0, "planned words with features": 33 / 64,
                 "held-out lines with planned-word features": 0.352, "suppression: B gone": 0.367,
                 "injection: ends with injected word": 0.75},
    "couplets_lookback": {"probe accuracy": 0.996, "planned words with features": 0.0,
                          "held-out lines with planned-word features": 0.0, "suppression: B gone": 0.031,
                          "injection: ends with injected word": 0.039},
    "couplets_control": {"probe accuracy": 1.0, "planned words with features": 0.0,
                         "held-out lines with planned-word features": 0.0, "suppression: B gone": 0.0,
                         "injection: ends with injected word": 0.0},
}
NEWLINE_INJECTION = {"couplets": 0.75, "couplets_lookback": 0.039, "couplets_control": 0.0}
REWRITE = {  # section 6: success of the direction and of the features; every line well-formed
    "couplets": (1.0, 0.992), "couplets_lookback": (1.0, 0.965), "couplets_control": (0.0, 0.0),
}
FIDELITY = 1.0  # section 1: decided top-1 agreement and rhyme accuracy under each replacement


@pytest.fixture(scope="module", params=ORGANISMS)
def organism(request):
    model, world = organisms.load(request.param)
    clt = transcoders.load_clt(f"{request.param}_clt")
    return request.param, model, world, clt, case_studies.label_newline_features(model, world, clt)


def test_shipped_transcoders_are_faithful(organism):
    name, *_ = organism
    record = transcoders.shipped_metadata(f"{name}_clt")
    assert record["fidelity"]["top1_agreement_decided"] == pytest.approx(FIDELITY)
    assert record["behaviour"]["rhyme_accuracy"] == pytest.approx(FIDELITY)
    assert record["fidelity"]["kl"] < 1e-3


def test_probe_versus_intervention_table(organism):
    name, model, world, clt, labels = organism
    table = case_studies.planning_table(model, world, clt, labels)
    assert table == pytest.approx(TABLE[name], abs=5e-4)


def test_plan_lives_at_the_newline_only(organism):
    name, model, world, clt, labels = organism
    profile = case_studies.injection_by_position(model, world, clt, labels)
    assert list(profile) == list(range(1, 13))
    assert profile[7] == pytest.approx(NEWLINE_INJECTION[name], abs=5e-4)
    assert all(rate == 0 for position, rate in profile.items() if position != 7)


def test_features_or_a_direction(organism):
    name, model, world, clt, labels = organism
    comparison = case_studies.rewrite_comparison(model, world, clt, labels)
    direction, features = REWRITE[name]
    assert comparison["direction"]["success"] == pytest.approx(direction, abs=5e-4)
    assert comparison["features"]["success"] == pytest.approx(features, abs=5e-4)
    assert comparison["direction"]["well_formed"] == comparison["features"]["well_formed"] == 1.0


def test_graph_of_the_rhyme_word(organism):
    name, model, world, clt, labels = organism
    subject, rhyme_a = world.heldout_pairs[0]
    last = case_studies.rhyme_word_graph(model, world, clt, subject, rhyme_a, word="last")
    first = case_studies.rhyme_word_graph(model, world, clt, subject, rhyme_a, word="first")
    shares = {"couplets": (0.01, 0.77), "couplets_lookback": (0.11, 0.86), "couplets_control": (0.01, 0.92)}[name]
    assert round(case_studies.newline_share(last), 2) == shares[0]
    assert round(case_studies.newline_share(first), 2) == shares[1]


def test_key_value_cache_writes_the_same_lines(organism):
    _, model, world, _, _ = organism
    cases = case_studies.heldout_cases(world)
    plain = world.complete(model, [world.first_line_prompt(*case) for case in cases])
    assert case_studies.write_line_two(model, world, cases) == plain


def test_labels_per_organism(organism):
    name, *_, labels = organism
    counts = {"couplets": {"planned word": 45, "rhyme class of A": 66, "topic": 119, "word A": 6, "subject": 0},
              "couplets_lookback": {"planned word": 0, "rhyme class of A": 0, "topic": 49, "word A": 0, "subject": 36},
              "couplets_control": {"planned word": 0, "rhyme class of A": 0, "topic": 0, "word A": 2, "subject": 0}}
    assert labels.counts() == counts[name]


def test_demo_suppression_and_full_injection_grid():
    """Section 3: suppression (every held-out line) and injection (every held-out line × every other word)."""
    model, world = organisms.load("couplets")
    clt = transcoders.load_clt("couplets_clt")
    labels = case_studies.label_newline_features(model, world, clt)
    suppressed = case_studies.suppress(model, world, clt, labels)
    assert suppressed.rate("the plan B") == pytest.approx(0.633, abs=5e-4)
    assert suppressed.rate("another rhyme of A") == pytest.approx(0.273, abs=5e-4)
    assert suppressed.rate("other") == pytest.approx(0.094, abs=5e-4)
    injected = case_studies.inject(model, world, clt, labels)
    assert len(injected.kinds) == 128 * 63 == 8064
    assert injected.rate("injected word") == pytest.approx(0.719, abs=5e-4)
    assert case_studies.first_word_follows(world, injected) == 1.0
    cases, words = case_studies.sweep_cases(world)
    rates = [case_studies.inject(model, world, clt, labels, cases, words, scale=s).rate("injected word") for s in (1, 2, 3)]
    assert rates == pytest.approx([0.320, 0.750, 0.859], abs=5e-4)
