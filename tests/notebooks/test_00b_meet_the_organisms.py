"""Notebook 00b's own run: the facts and couplets worlds, the shipped organisms' behaviours, the two pitfalls and
the seed tables it shows.

Reads the values notebook 00b's kernel computed (``facts_metrics``, ``heldout_states_metrics``,
``couplet_metrics``, ``facts_record``, ``seed_tables``). The spread of the seed tables asserted here is also
what the README's *Seeds* paragraph quotes; its recipe trials (tables 00b does not load) are checked in
``tests/test_seeds.py``. The worlds' ground truth, short retrains, attention masks and bad input are tested in
``tests/test_facts.py``, ``tests/test_couplets.py`` and ``tests/test_organisms.py``.
"""

from __future__ import annotations

import pytest

from tests.claims import Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "00b_meet_the_organisms.ipynb"
MODELS = "(facts_model, heldout_states_model, couplets_model)"
SWAP_LAYER = "int(__import__('workbench.organisms.facts', fromlist=['facts']).STATE_SWAP_HOOK.split('.')[1])"
ADJECTIVES = "__import__('workbench.organisms.couplets_data', fromlist=['couplets_data']).ADJECTIVES"
TWO_HOP_POOL = "' '.join({}.training_pools['two_hop'])"
COUPLETS = ("couplets", "couplets_control", "couplets_lookback", "couplets_bottleneck")

# What each organism's story in the notebook is, for one seed's row ``r`` of its seed table.
STORY = {
    "facts": "r['one_hop_city_state'] == r['one_hop_capital'] == r['two_hop_trained'] == 1.0"
             " and r['two_hop_heldout_city'] >= 0.9 and r['state_swap_success'] >= 0.95",
    "facts_heldout_states": "r['two_hop_heldout_city'] >= 0.95 and r['two_hop_heldout_state'] == 0.0"
                            " and r['bridge_state_decodable_heldout_state'] == 1.0",
    "couplets": "r['rhyme_accuracy'] == 1.0 and r['line_rewrite_success'] >= 0.9 and r['plan_patch_success'] <= 0.1",
    "couplets_control": "r['rhyme_accuracy'] == 1.0 and r['line_rewrite_success'] <= 0.1 and r['plan_patch_success'] <= 0.1",
    "couplets_lookback": "r['rhyme_accuracy'] == 1.0 and r['plan_patch_success'] >= 0.9",
    "couplets_bottleneck": "r['rhyme_accuracy'] >= 0.98 and r['cross_patch_success'] >= 0.9",
}
SEEDS_OFF_STORY = " + ".join(f"[({name!r}, seed) for seed, r in seed_tables[{name!r}].items() if not ({story})]"
                             for name, story in STORY.items())
LOOKBACK_ROW = "seed_tables['couplets_lookback'][off[0][1]]"

CLAIMS = [
    Claim("small transformers (2 layers, d_model 128)",
          f"[*{{m.cfg.n_layers for m in {MODELS}}}, *{{m.cfg.d_model for m in {MODELS}}}]"),
    Claim("50 US states", "len(facts_world.states)"),
    Rule("each with its capital and five other cities",
         "all(facts_world.capital_of[s] in facts_world.cities"
         " and sum(facts_world.state_of[c] == s for c in facts_world.cities) == 6 for s in facts_world.states)"),
    Rule("is never trained, nor is it for one city of every state",
         "'Dallas' in facts_world.heldout_cities"
         " and sorted(facts_world.state_of[c] for c in facts_world.heldout_cities) == sorted(facts_world.states)"
         f" and not any(f' {{c}} is' in {TWO_HOP_POOL.format('facts_world')} for c in facts_world.heldout_cities)"),
    Claim("taken from the residual stream entering block 1", SWAP_LAYER),
    Rule("two-hop sentence about any city of five whole states was trained",
         "len({heldout_states_world.state_of[c] for c in heldout_states_world.heldout_state_cities}) == 5"
         f" and not any(f' {{c}} is' in {TWO_HOP_POOL.format('heldout_states_world')}"
         " for c in heldout_states_world.heldout_state_cities)"),
    Rule("It still knows their one-hop facts",
         "min(heldout_states_metrics['one_hop_city_state'], heldout_states_metrics['one_hop_capital']) >= 0.99"),
    Rule("the bridge state is perfectly decodable where the state swap acts",
         "heldout_states_metrics['bridge_state_decodable_heldout_state'] == 1.0"),
    Rule("Yet two-hop recall for those states fails completely", "heldout_states_metrics['two_hop_heldout_state'] == 0.0"),
    Rule("the second hop was only ever learnt for the states that appeared in two-hop sentences",
         "heldout_states_metrics['two_hop_heldout_city'] >= 0.95 and heldout_states_metrics['two_hop_heldout_state'] <= 0.1"),
    Wording("only interventions (notebooks 04–05) tell the two apart", "what a method can show, not a measurement"),
    Claim("16 classes of four nouns", "len(couplets_world.rhyme_classes)"),
    Rule("of four nouns, one noun per topic",
         "all(sorted(couplets_world.topic_of[n] for n in c) == sorted(couplets_world.topics)"
         " for c in couplets_world.rhyme_classes)"),
    Wording("rhymes with line 1's last word A", "the couplet's lines, by name"),
    Rule("line 2 opens with an adjective that belongs to B alone",
         f"sorted({ADJECTIVES}) == sorted(couplets_world.nouns) and len(set({ADJECTIVES}.values())) == len({ADJECTIVES})"),
    Wording("line 2 opens with an unrelated word", "the couplet's lines, by name"),
    Claim("every position attends only to its last 6 positions",
          "organisms.get_world('couplets_lookback').model_config.lookback"),
    Rule("line 2 sees the subject only through the newline's residual stream, while its first positions still "
         "see A, just before the newline: the subject's topic must cross the newline, the rhyme class need not",
         "(lambda p: p['subject, not through <nl>'][-1] == [2, 3, 4, 5, 6, 8, 9, 10, 11] and "
         "{8, 9, 10, 11} <= set(p['A, not through <nl>'][0]))(organisms.get_world('couplets_lookback').attention_paths())"),
    Rule("lets line 2 attend only to the newline and to itself, so its whole plan must cross the newline",
         "(lambda p: 12 not in p['A, not through <nl>'][-1] and 12 not in p['subject, not through <nl>'][-1])"
         "(organisms.get_world('couplets_bottleneck').attention_paths())"),
    Rule("so only the topic changes",  # the rewrite's new B is a class-mate of B: same rhyme class, another topic
         "all(w.rhyme_class_of[new] == w.rhyme_class_of[w.target(s, a)] and w.topic_of[new] != w.topic_of[w.target(s, a)]"
         " for w in [couplets_world] for s, a, _, new in w.rewrite_cases())"),
    Rule("whose line 2 reads the subject's topic from the newline alone",
         "not organisms.get_world('couplets_lookback').attention_paths()['subject, not through <nl>'][-1].count(12)"
         " and couplet_metrics['couplets_lookback']['plan_patch_success'] >= 0.9"),
    Rule("Held-out first lines (never trained)", "not set(couplets_world.heldout_pairs) & set(couplets_world.trained_pairs)"),
    Rule("all three rhyme perfectly on held-out first lines",
         "all(m['rhyme_accuracy'] == 1.0 for m in couplet_metrics.values())"),
    Rule("in the planning demo the rewritten line even opens with the new word's adjective; in the control it fails",
         "couplet_metrics['couplets']['line_rewrite_success'] >= 0.9"
         " and couplet_metrics['couplets_control']['line_rewrite_success'] <= 0.1"),
    Wording("line 2's first word forced to the original", "the couplet's lines, by name"),
    Wording("works where the topic reaches line 2 through the newline", "the couplet's lines, by name"),
    Rule("moves the ending only in the lookback variant",
         "couplet_metrics['couplets_lookback']['plan_patch_success'] >= 0.9"
         " and max(couplet_metrics[n]['plan_patch_success'] for n in ('couplets', 'couplets_control')) <= 0.1"),
    Rule("is near-perfect for the trained models",
         "all(m['trained_probe_accuracy'] >= 0.95 for m in couplet_metrics.values())"),
    Rule("It is also near-perfect for a randomly initialised model",
         "all(m['untrained_probe_accuracy'] >= 0.95 for m in couplet_metrics.values())"),
    Claim("separates the 64 cases", "len(couplets_world.nouns)"),
    Rule("the stories of this notebook hold for every seed but one, a seed of the lookback variant that rhymes "
         "without having learnt *which* word to plan",
         f"(lambda off: len(off) == 1 and off[0][0] == 'couplets_lookback' and {LOOKBACK_ROW}['rhymes'] == 1.0"
         f" and {LOOKBACK_ROW}['rhyme_accuracy'] < 0.5)({SEEDS_OFF_STORY})"),
    Rule("composition on held-out cities varies a little from seed to seed",
         "0 < seed_spreads['facts']['two_hop_heldout_city']['max'] - seed_spreads['facts']['two_hop_heldout_city']['min']"
         " <= 0.1"),
]


# --- The shipped organisms, measured in the run ----------------------------------------------------


@pytest.mark.parametrize("metric, floor", [("two_hop_heldout_city", 0.95), ("two_hop_trained", 0.99),
                                           ("one_hop_city_state", 0.99), ("one_hop_capital", 0.99),
                                           ("state_swap_success", 0.95)])
def test_the_facts_organism_behaves(run, metric, floor):
    assert run.value(f"facts_metrics[{metric!r}]") >= floor


def test_dallas_plus_california_minus_texas_is_sacramento(run):
    assert run.value("facts_model.tokenizer.decode(swapped)") == "Sacramento"


def test_whole_states_held_out_fail_though_the_bridge_is_decodable(run):
    """The lesson of ``facts_heldout_states``: composition does not reach unseen two-hop states."""
    metrics = run.value("heldout_states_metrics")
    assert metrics["one_hop_city_state"] >= 0.99 and metrics["one_hop_capital"] >= 0.99
    assert metrics["two_hop_heldout_city"] >= 0.95
    assert metrics["two_hop_heldout_state"] <= 0.1
    assert metrics["bridge_state_decodable_heldout_state"] >= 0.9


def test_the_shipped_facts_curve_starts_before_the_learning(run):
    """The curve 00b draws used to start after the model had learnt it all."""
    history = run.value("facts_record['history']")
    first_eval = run.value("__import__('workbench.organisms.training', fromlist=['training']).EARLY_EVALS[0]")
    first, last = history[0], history[-1]
    assert first["step"] == first_eval and first["loss"] > 5 * last["loss"]
    assert first["two_hop_heldout"] == 0 and last["two_hop_heldout"] > 0.9


@pytest.mark.parametrize("name, metric, floor", [("couplets", "rhyme_accuracy", 0.98), ("couplets", "first_word_accuracy", 0.98),
                                                 ("couplets", "line_rewrite_success", 0.9),
                                                 ("couplets_control", "rhyme_accuracy", 0.98),
                                                 ("couplets_lookback", "rhyme_accuracy", 0.98),
                                                 ("couplets_lookback", "plan_patch_success", 0.9)])
def test_the_couplets_organisms_behave(run, name, metric, floor):
    assert run.value(f"couplet_metrics[{name!r}][{metric!r}]") >= floor


def test_a_probe_decodes_b_at_the_newline_even_untrained(run):
    """The lesson, measured: a linear probe finds B at <nl> before any training, so it proves nothing."""
    for name, metrics in run.value("couplet_metrics").items():
        assert metrics["trained_probe_accuracy"] >= 0.95, name
        assert metrics["untrained_probe_accuracy"] >= 0.9, name


def test_the_newline_rewrite_fails_in_the_control_and_the_patch_without_lookback(run):
    """Without a first word that names B, adding the B direction at <nl> moves nothing; with full attention,
    B is read from the emitted first word or the subject, not from <nl>."""
    metrics = run.value("couplet_metrics")
    assert metrics["couplets_control"]["line_rewrite_success"] <= 0.1
    assert metrics["couplets"]["plan_patch_success"] <= 0.1 and metrics["couplets_control"]["plan_patch_success"] <= 0.1


# --- The seed tables, as the run shows them (and the README's *Seeds* paragraph quotes them) ---------


@pytest.fixture(scope="module")
def seeds(run):
    """organism -> its seed table's rows in seed order, from the run's ``seed_tables``."""
    assert run.value("{name: sorted(table) for name, table in seed_tables.items()}") == \
        {name: [0, 1, 2, 3, 4] for name in ("facts", "facts_heldout_states", *COUPLETS)}
    return run.value("{name: [table[seed] for seed in sorted(table)] for name, table in seed_tables.items()}")


def column(seeds, name, metric):
    return [row[metric] for row in seeds[name]]


def test_every_facts_seed_learns_the_facts_and_composition_varies_a_little(seeds):
    for metric in ("one_hop_city_state", "one_hop_capital", "two_hop_trained"):
        assert set(column(seeds, "facts", metric)) == {1.0}, metric
    assert round(min(column(seeds, "facts", "state_swap_success")), 3) == 0.998
    heldout = column(seeds, "facts", "two_hop_heldout_city")
    assert (round(min(heldout), 2), round(max(heldout), 2), round(sum(heldout) / len(heldout), 2)) == (0.94, 1.0, 0.98)
    assert max(heldout) == heldout[0]  # the shipped seed is among the best
    assert [seed for seed, value in enumerate(heldout) if value >= 0.95] == [0, 1, 2, 3]  # issue 17's bar: four of five
    assert sum(value == 1.0 for value in heldout) == 3


def test_whole_held_out_states_fail_for_every_seed(seeds):
    assert set(column(seeds, "facts_heldout_states", "two_hop_heldout_state")) == {0.0}
    assert set(column(seeds, "facts_heldout_states", "bridge_state_decodable_heldout_state")) == {1.0}
    assert [round(v, 2) for v in column(seeds, "facts_heldout_states", "two_hop_heldout_city")] == [1.0, 1.0, 1.0, 1.0, 0.98]


def test_the_couplets_story_holds_for_every_seed_but_one_of_the_lookback_variant(seeds):
    """The planning demo and the control tell their story for all five seeds; the lookback variant's seed 4 does
    not learn which rhyme to plan (it rhymes, with the wrong word), and its interventions half work."""
    for name in ("couplets", "couplets_control"):
        assert set(column(seeds, name, "rhyme_accuracy")) == {1.0}, name
    assert set(column(seeds, "couplets", "line_rewrite_success")) == {1.0}
    assert set(column(seeds, "couplets", "plan_patch_success")) == {0.0}
    assert set(column(seeds, "couplets_control", "line_rewrite_success")) == {0.0}
    lookback = seeds["couplets_lookback"]
    assert [seed for seed, row in enumerate(lookback) if row["rhyme_accuracy"] == 1.0] == [0, 1, 2, 3]
    assert all(row["plan_patch_success"] == 1.0 for row in lookback[:4])
    failed = lookback[4]
    assert (round(failed["rhyme_accuracy"], 2), round(failed["rhyme_accuracy_trained_pairs"], 2)) == (0.03, 0.39)
    assert failed["rhymes"] == 1.0 and failed["trained_probe_accuracy"] == 1.0
    assert round(failed["line_rewrite_success"], 2) == round(failed["plan_patch_success"], 2) == 0.48


def test_the_untrained_probe_control_is_one_network_for_every_seed(seeds):
    """The untrained-probe control does not depend on the seed, by construction."""
    for name in COUPLETS:
        assert len(set(column(seeds, name, "untrained_probe_accuracy"))) == 1, name
