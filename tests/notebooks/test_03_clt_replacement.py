"""Notebook 03's own run: the short trainings, the four shipped transcoders' fidelity, behaviours, dead features,
the seed-1 transcoder's record, the error nodes and the CLT's shorter paths.

Reads the values notebook 03's kernel computed (``fidelities``, ``behaviour``, ``agreement``, ``seed_record``,
``rates``, ``state``, ``profiles``, ``short_transcoders``), and checks them against the records shipped beside the
transcoders. The replacement model on the other shipped transcoders (held-out states, lookback and control couplets)
and on bad input is tested in ``tests/test_replacement.py``.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.claims import Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "03_clt_replacement.ipynb"
FOUR = ["facts_clt", "facts_plt", "couplets_clt", "couplets_plt"]  # the transcoders the notebook loads
# A position where the world makes a free choice: the original's top token has less than this probability there.
FREE_CHOICE = "0.3"
ONLY_AT_FREE_CHOICES = f"all(bool((top[agree < 1] < {FREE_CHOICE}).all()) for agree, top in agreement.values())"
PLT_THEN_CLT = "[float(profiles['facts_plt'][{0}].sum()), float(profiles['facts_clt'][{0}].sum())]"
CLAIMS = [
    Wording("zero almost everywhere", "a fact of calculus: the step's derivative"),
    Wording("a feature that fires costs about 1 however strongly it fires", "what tanh does: it saturates at 1"),
    Wording("features that never reach their threshold", "what the pre-activation term is for"),
    Rule("**Fidelity** on sentences the organisms never trained on",
         "all(set(w.heldout_sentences()).isdisjoint(w.training_sentences()) for _, w in models.values())"),
    Claim("the two-hop sentences of the facts world's 50 held-out cities", "len(heldout['facts'][0])"),
    Rule("Each organism drew many more training sentences than its world has",  # "many": over five times as many
         "all(w.train_config.steps * w.train_config.batch_size > 5 * len(w.training_sentences()) for _, w in models.values())"),
    Rule("Agreement looks lower on the couplets than on the facts",
         "max(fidelities[n].top1_agreement for n in ('couplets_clt', 'couplets_plt')) "
         "< min(fidelities[n].top1_agreement for n in ('facts_clt', 'facts_plt'))"),
    Rule("yet the KL divergence is tiny for both", "max(f.kl for f in fidelities.values()) < 0.01"),
    Rule("agreement is perfect wherever the original knows what comes next",
         "all(f.top1_agreement_decided == 1.0 for f in fidelities.values())"),
    Rule("falls only at the positions where the *world* makes a free choice",
         f"{ONLY_AT_FREE_CHOICES} and any(bool((agree < 1).any()) for agree, _ in agreement.values())"),
    Rule("There the original spreads its probability almost evenly", ONLY_AT_FREE_CHOICES),
    Claim("counts only positions where the original's top two tokens differ by at least 0.05 in probability",
          "__import__('workbench.circuits.replacement', fromlist=['DECIDED_GAP']).DECIDED_GAP"),
    Wording("cities it never saw in a two-hop sentence", "the held-out cities, by the world's construction"),
    Rule("every facts behaviour stays perfect, as in the original",
         "all(v == 1.0 for n in ('facts_clt', 'facts_plt', 'facts, original') for v in behaviour[n].values())"),
    Rule("every held-out couplet still ends with the right rhyme",
         "behaviour['couplets_clt']['rhyme_accuracy'] == behaviour['couplets_plt']['rhyme_accuracy'] == 1.0"),
    Wording("The facts organism retrained with seed 1", "the seed's name"),
    Rule("it too composes on every held-out city", "seed_record['organism_metrics']['two_hop_heldout_city'] == 1.0"),
    Wording("the seed-1 organism's CLT", "the seed's name"),
    Rule("agrees with its top prediction everywhere, as the shipped one does",
         "seed_fidelity['top1_agreement'] == fidelities['facts_clt'].top1_agreement == 1.0"),
    Rule("with a KL divergence as small", "max(seed_fidelity['kl'], fidelities['facts_clt'].kl) < 0.002"),  # both tiny
    Rule("fewer features per token in each layer",
         "all(a < b for a, b in zip(seed_fidelity['l0'], fidelities['facts_clt'].l0))"),
    Rule("it still answers every held-out two-hop question, as its original does",
         "seed_record['behaviour']['two_hop_heldout_city'] == seed_record['organism_metrics']['two_hop_heldout_city'] "
         "== 1.0"),
    Wording("A feature that never fires on the world's sentences", "the definition of a dead feature"),
    Rule("the facts world's held-out sentences are all two-hop questions",
         "set(facts_world.heldout_sentences()) <= {facts_world.sentence('two_hop', c) for c in facts_world.cities}"),
    Rule("fewer than one in ten features is dead in any layer of any transcoder here",
         "all(bool(((r == 0).sum(1) < 0.1 * r.shape[1]).all()) for r in rates.values())"),
    Rule("Position 0 (`<bos>`) has no feature or error nodes",
         "bool((state.features[:, 0] == 0).all() and (state.errors[:, 0] == 0).all())"),
    Wording("paths of 1, 2, 3, … edges", "the path lengths measured"),
    Rule("paths of one or two edges carry more of it than with the per-layer transcoder, longer paths less",
         "(lambda short, long: short[1] > short[0] and long[1] < long[0])"
         f"({PLT_THEN_CLT.format(':2')}, {PLT_THEN_CLT.format('2:')})"),
    Rule("the difference can only be modest", f"(lambda long: abs(long[1] - long[0]) < 0.1)({PLT_THEN_CLT.format('2:')})"),
    Rule("in the second layer the CLT needs fewer features per token than the PLT",
         "fidelities['facts_clt'].l0[1] < fidelities['facts_plt'].l0[1]"),
    Rule("follows the organisms closely on sentences they never trained on (KL < 0.002 nats)",
         "max(fidelities[n].kl for n in ('facts_clt', 'couplets_clt')) < 0.002"),
    Rule("every held-out two-hop question answered with either transcoder",
         "behaviour['facts_clt']['two_hop_heldout_city'] == behaviour['facts_plt']['two_hop_heldout_city'] == 1.0"),
    Rule("every couplet rhymes",
         "behaviour['couplets_clt']['rhyme_accuracy'] == behaviour['couplets_plt']['rhyme_accuracy'] == 1.0"),
    Rule("top-1 disagreements happen only where the world's next word is a free choice",
         f"all(f.top1_agreement_decided == 1.0 for f in fidelities.values()) and {ONLY_AT_FREE_CHOICES}"),
]

# Agreement over every token of the held-out sentences, free choices included (recorded: facts 1.000, couplets 0.927).
PLAIN_AGREEMENT_FLOOR = {"facts": 0.95, "couplets": 0.9}
DIGEST = ("__import__('hashlib').sha256(b''.join(v.detach().contiguous().numpy().tobytes() "
          "for v in {}.state_dict().values())).hexdigest()")


def shipped_metadata(name):
    from workbench.transcoders import shipped_metadata

    return shipped_metadata(name)


def test_the_four_transcoders_load_with_their_recipe(run):
    from workbench import artifacts

    for name in FOUR:
        recipe = artifacts.get(name).recipe
        cross_layer, d_features, shape, writes = run.value(
            f"(lambda c, m: [c.config.cross_layer, c.config.d_features, [c.config.n_layers, c.config.d_model, "
            f"m.cfg.n_layers, m.cfg.d_model], [W.shape[1] for W in c.W_dec]])"
            f"(shipped_transcoders['{name}'], models['{recipe.organism}'][0])")
        assert (cross_layer, d_features) == (recipe.cross_layer, recipe.d_features), name
        assert shape[:2] == shape[2:], name
        assert writes == ([2, 1] if recipe.cross_layer else [1, 1]), name


def test_the_replacement_follows_the_original_as_recorded_when_shipped(run):
    """Top-1 agreement ≥ 0.95 where the original has decided, KL ≤ 0.01, and the shipped records' figures."""
    for name in FOUR:
        top1, decided, kl = run.value(f"(lambda f: [f.top1_agreement, f.top1_agreement_decided, f.kl])"
                                      f"(fidelities['{name}'])")
        assert decided >= 0.95 and kl <= 0.01, name
        assert top1 >= PLAIN_AGREEMENT_FLOOR[name.split("_")[0]], name
        recorded = shipped_metadata(name)["fidelity"]
        assert top1 == pytest.approx(recorded["top1_agreement"], abs=1e-6), name
        assert kl == pytest.approx(recorded["kl"], rel=1e-3), name


def test_behaviours_survive_replacement_as_recorded_when_shipped(run):
    """CLTs: held-out two-hop ≥ 0.9, one-hop ≥ 0.95, rhymes ≥ 0.95; PLTs (for comparison): two-hop ≥ 0.8, rhymes ≥ 0.9."""
    from workbench import organisms

    for name in FOUR:
        metrics = run.value(f"behaviour['{name}']")
        assert metrics == pytest.approx(shipped_metadata(name)["behaviour"], abs=1e-6), name
        if name.endswith("_plt"):
            assert metrics.get("two_hop_heldout_city", 1.0) >= 0.8 and metrics.get("rhyme_accuracy", 1.0) >= 0.9
        elif name.startswith("facts"):
            assert metrics["two_hop_heldout_city"] >= 0.9 and metrics["one_hop_city_state"] >= 0.95
        else:
            assert metrics["rhyme_accuracy"] >= 0.95
    original = run.value("behaviour['facts, original']")
    recorded = organisms.checkpoint_metadata("facts")["metrics"]
    assert original == pytest.approx({metric: recorded[metric] for metric in original}, abs=1e-6)


def test_dead_features_per_transcoder(run):
    dead = run.value("{name: (rate == 0).sum(1) for name, rate in rates.items()}")
    assert {name: max(per_layer) for name, per_layer in dead.items()} == \
        {"facts_clt": 15, "facts_plt": 8, "couplets_clt": 17, "couplets_plt": 3}
    assert run.value("[rate.shape[1] for rate in rates.values()]") == [256] * 4


def test_cross_layer_features_leave_fewer_features_to_the_second_layer(run):
    for organism in ("facts", "couplets"):
        clt, plt = run.value(f"[fidelities['{organism}_clt'].l0[1], fidelities['{organism}_plt'].l0[1]]")
        assert clt < 0.8 * plt, organism
    assert [round(x) for x in run.value("[fidelities['facts_clt'].l0[1], fidelities['facts_plt'].l0[1]]")] == [14, 24]


def test_cross_layer_features_shorten_paths(run):
    """Over the two-hop prompts of twenty held-out cities, the CLT carries less influence on 3-edge paths."""
    assert run.value("len(two_hop_prompts)") == 20
    profiles = run.value("profiles")
    for profile in profiles.values():
        assert sum(profile) == pytest.approx(1.0)
    assert [round(profiles[name][2], 2) for name in ("facts_clt", "facts_plt")] == [0.09, 0.14]


def test_the_seed_one_transcoder_as_the_notebook_prints_it(run):
    """The record the notebook loads is the shipped one; its figures beside the shipped transcoder's."""
    from workbench import artifacts

    record = run.value("seed_record")
    assert record == artifacts.seed_transcoder_record("facts_clt", 1)
    fidelity = record["fidelity"]
    shipped = run.value("(lambda f: [f.top1_agreement, f.kl])(fidelities['facts_clt'])")
    assert record["heldout_sentences"] == 50
    assert round(fidelity["top1_agreement_decided"], 3) == 1.0
    assert (round(fidelity["top1_agreement"], 3), round(shipped[0], 3)) == (1.0, 1.0)
    assert (round(fidelity["kl"], 4), round(shipped[1], 4)) == (0.0006, 0.0012)


def test_the_short_run_is_the_shipped_recipe_stopped_early_and_already_close(run):
    """``artifacts.train("facts_clt", steps=150)`` here gives the notebook's short CLT bit for bit, which already
    mostly agrees with the original and answers one-hop questions."""
    from workbench import artifacts

    retrained = artifacts.train("facts_clt", steps=150, progress=False)
    ours = hashlib.sha256(b"".join(v.detach().contiguous().numpy().tobytes()
                                   for v in retrained.state_dict().values())).hexdigest()
    assert run.value(DIGEST.format("short_transcoders['CLT']")) == ours
    history = run.value("histories['CLT']")
    assert history[-1]["reconstruction"] < history[0]["reconstruction"]
    result = run.value("artifacts.evaluate('facts_clt', short_transcoders['CLT'])")
    assert result["fidelity"]["top1_agreement"] >= 0.9
    assert result["behaviour"]["one_hop_city_state"] >= 0.9
