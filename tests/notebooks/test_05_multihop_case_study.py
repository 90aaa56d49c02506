"""Notebook 05's own run: the Dallas supernodes and their meaning, the predict-then-test table, the rates over every
city, the swap over every pair, the shares through the state, and the missing links of ``facts_heldout_states``.

Reads the values notebook 05's kernel computed; the case-study code on inputs the notebook does not use (the whole
case study on ``facts_heldout_states``, no city or state named in the code) is tested in ``tests/test_multihop.py``.
"""

from __future__ import annotations

import pytest

from tests.claims import Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "05_multihop_case_study.ipynb"
FROZEN = "('attention', 'nothing')"


def rows(condition: str) -> str:
    """The rows of the predict-then-test table for which ``condition`` (on ``r``) holds."""
    return f"[r for r in table if {condition}]"


# The predict-then-test table's rows, by (group, factor, frozen)
CITY_OR_STATE = rows("r['group'] in ('city', 'state in play')")
STATE_FROZEN = rows("r['group'] == 'state in play' and r['frozen'] == 'attention'")
STATE = rows("r['group'] == 'state in play'")
SAY = rows("r['group'] == 'say the capital'")
ASKS_REMOVED = rows("r['group'] == 'asks for a capital' and r['factor'] == 0")
ASKS_REVERSED_FROZEN = rows("r['group'] == 'asks for a capital' and r['factor'] == -2 and r['frozen'] == 'attention'")
ASKS = rows("r['group'] == 'asks for a capital'")
ASKS_REVERSED = rows("r['group'] == 'asks for a capital' and r['factor'] == -2")

# Written in the kernel: what the prose's words mean in terms of the run's values.
STATE_LINK_ONLY = ("(lambda s: s['state in play → capital'] > s['say the capital → capital'] + abs(s['city → capital']))"
                   "(case_studies.link_strengths(dallas))")
STATE_REVERSED_OFF_TOP = "all(rates['held-out']['state in play', -2.0, f]['capital'] == 0 for f in " + FROZEN + ")"
SAY_REMOVED_KEEPS = "all(by['say the capital', 0.0, f]['capital'] == 1 for by in rates.values() for f in " + FROZEN + ")"
ASKS_NEVER_STATE = "all(r['state'] == 0 for by in rates.values() for k, r in by.items() if k[0] == 'asks for a capital')"
TRAINED_STURDIER = ("all(rates['trained']['state in play', 0.0, f]['capital'] > "
                    "rates['held-out']['state in play', 0.0, f]['capital'] for f in " + FROZEN + ")")
MEDIANS_MOSTLY_THROUGH = "float(held_shares.median()) > 0.5 and float(trained_shares.median()) > 0.5"
GONE = ("abs(links['held-out states'][link]) < 0.05 * links['trained states'][link] "
        "for link in ('say the capital → capital', 'state in play → capital')")
FIRST_LINKS = ("links['held-out states'][link] > links['trained states'][link] > 0 "
               "for link in ('city → state in play', 'state in play → say the capital')")
COMBINATION = "truth['state in play']['precision'] == 1.0 and truth['state in play']['best_member_precision'] < 0.1"

# 7 · across seeds: which seeds of the shipped table (``case_seeds``) each finding of the package holds for.
HOLDS = "facts_findings[case_studies.MULTIHOP_FINDINGS[{}].text]"
EVERY_SEED = " and ".join(HOLDS.format(i) + " == sorted(case_seeds)" for i in (0, 2, 3, 6))
SEED_VALUES = "[row[{!r}] for row in case_seeds.values()]"
SWAP_SEEDS = SEED_VALUES.format("swap: supernode")

CLAIMS = [
    # the introduction
    Wording("circuit-tracer's Gemma-2-2B tutorial", "a model's name"),
    Rule('Notebook 04 found no single feature that means "Texas": the state is carried by a combination of features',
         COMBINATION),
    # 1 · supernodes
    Rule("the correct capital is always a logit node",
         "all(int(s.graph.logit_tokens[0]) == s.answer for s in [dallas, *supernodes.values()])"),
    Claim("fire for at least 90 % of the world's cities", "100 * case_studies.QUESTION_FIRE_RATE"),
    Rule("they write only into the logits",
         "float(dallas.graph.adjacency[: dallas.graph.logit_start][:, dallas.groups['say the capital']].abs().sum()) == 0"),
    Rule("The organism answers Austin with most of the probability",
         "dallas.graph.logit_strings[0] == 'Austin' and 0.5 < float(dallas.graph.logit_probabilities[0]) "
         "== float(dallas.graph.logit_probabilities.max())"),
    Rule('Each "state in play" feature alone fires for many states', "truth['state in play']['best_member_precision'] < 0.1"),
    Rule("where all of them fire together the state is Texas every time", "truth['state in play']['precision'] == 1.0"),
    Rule("Their recall is partial", "0 < truth['state in play']['recall'] < 1"),
    Rule('"Asks for a capital" fires on most tokens that ask for a capital', "truth['asks for a capital']['recall'] > 0.5"),
    Rule("but fewer than half of the tokens it fires on do, and more than half ask for a state",
         "truth['asks for a capital']['precision'] < 0.5 < broader_truth['asks for a capital']['precision']"),
    Rule("it fires on every token where Austin is due", "truth['say the capital']['recall'] == 1.0"),
    Rule("but Austin is due on few of the tokens where it fires", "truth['say the capital']['precision'] < 0.1"),
    Rule("Nearly all of them ask for a capital", "broader_truth['say the capital']['precision'] > 0.95"),
    Rule("yet it fires on a minority of such tokens", "broader_truth['say the capital']['recall'] < 0.5"),
    # 2 · predict, then test
    Claim("to −2× (reversed) and to 0 (removed)", "sorted({r['factor'] for r in table})"),
    Wording("the direct edges × (factor − 1)", "the graph's prediction, a definition"),
    Rule("Austin leaves the top three",
         f"all('Austin' not in [t for t, _ in r['top']] for r in {CITY_OR_STATE})"),
    Rule("the graph's prediction is met almost exactly with attention frozen, removed or reversed",
         "all(abs(r['measured']['say the capital'] - r['predicted']['say the capital']) "
         "<= 0.05 * abs(r['predicted']['say the capital']) for r in "
         f"{STATE_FROZEN})"),
    Rule("the direct edges give the size of the state group's effect, not its value",
         f"all(0.5 < r['measured']['answer logit'] / r['predicted']['answer logit'] < 2 for r in "
         f"{STATE}) and any(abs(r['measured']['answer logit'] - "
         f"r['predicted']['answer logit']) > 1 for r in {STATE})"),
    Rule("Freezing attention or not changes little",  # the answer logit moves alike: within a quarter, or half a logit
         "all(abs(a['measured']['answer logit'] - n['measured']['answer logit']) <= 0.25 * max(abs(a['measured']"
         "['answer logit']), abs(n['measured']['answer logit'])) + 0.5 for a in table for n in table if "
         "(a['group'], a['factor'], a['frozen'], n['frozen']) == (n['group'], n['factor'], 'attention', 'nothing'))"),
    Rule("Removing **say the capital** barely matters: Austin stays on top, even reversed",
         f"all(r['top'][0][0] == 'Austin' for r in {SAY})"),
    Rule("Most of the answer is written by the state group itself", STATE_LINK_ONLY),
    Rule('its edge to Austin is the strongest, more than twice its edge into "say the capital"',
         "(lambda e, top: top[:2] == ('state in play', 'logit \"Austin\"') and top[2] > 2 * e['state in play', "
         "'say the capital'])({(s, t.split(' (')[0]): w for s, t, w in strongest_edges}, "
         "max(((s, t.split(' (')[0], w) for s, t, w in strongest_edges), key=lambda e: abs(e[2])))"),
    Rule('removed, it still says Austin; reversed with attention frozen, "is" takes the top, and Texas is nowhere in '
         "the top three",
         f"all(r['top'][0][0] == 'Austin' for r in {ASKS_REMOVED})"
         f" and [r['top'][0][0] for r in {ASKS_REVERSED_FROZEN}]"
         " == ['is'] and all('Texas' not in [t for t, _ in r['top']] for r in "
         f"{ASKS})"),
    Rule("its direct edges to Austin are negative, so it predicts a rise of the answer logit when the group is "
         "reversed, where the logit falls",
         f"all(r['predicted']['answer logit'] > 0 > r['measured']['answer logit'] for r in "
         f"{ASKS_REVERSED})"),
    # 3 · over every city
    Rule("for every held-out city (whose two-hop sentence was never trained)",
         "heldout == world.heldout_cities and not set(heldout) & set(world.trained_two_hop_cities)"),
    Rule("for as many cities whose two-hop sentence was trained (one per state)",
         "len(trained) == len(heldout) == len({world.state_of[c] for c in trained}) "
         "and set(trained) <= set(world.trained_two_hop_cities)"),
    Rule("reversed, the state group takes the capital off the top on every held-out city", STATE_REVERSED_OFF_TOP),
    Rule("removed, it leaves the capital on top for a minority of them",
         "all(rates['held-out']['state in play', 0.0, f]['capital'] < 0.5 for f in " + FROZEN + ")"),
    Rule('Removing "asks for a capital" never makes the organism say the state, for held-out or trained cities',
         ASKS_NEVER_STATE),
    Rule('Removing "say the capital" never takes the capital off the top', SAY_REMOVED_KEEPS),
    Rule("and reversing it leaves the capital on top for most cities",
         "all(by['say the capital', -2.0, f]['capital'] > 0.5 for by in rates.values() for f in " + FROZEN + ")"),
    Rule("with the state group removed, the capital stays on top for more of them than of the held-out ones",
         TRAINED_STURDIER),
    # 4 · the swap over every pair
    Claim("the residual entering block 1",
          "int(__import__('workbench.organisms.facts', fromlist=['STATE_SWAP_HOOK']).STATE_SWAP_HOOK.split('.')[1])"),
    Rule("The swap moves the answer to the target's capital for most pairs", "swap['success_rate'] > 0.5"),
    Rule("the random control never does", "swap['control_rate'] == 0"),
    Rule("leaves the source's capital on top in nearly every pair", "swap['control_kept'] > 0.95"),
    Rule("the hardest target states are about as hard as the hardest sources",
         "abs(float(by_target[by_target.argsort()[0]]) - float(by_source[by_source.argsort()[0]])) < 0.15"),
    Rule("some states are hard both ways", "bool(set(by_target.argsort()[:4].tolist()) & set(by_source.argsort()[:4].tolist()))"),
    Rule("success does not depend on how many features the source's group has (the correlation is near zero)",
         "abs(size_correlation) < 0.2"),
    Rule("The groups are only the features the pruning kept",
         "all(bool(s.pruned.node_mask[n]) for s in supernodes.values() for n in s.groups.get('state in play', []))"),
    Rule("succeeds on every pair", "residual_swap == 1.0"),
    Rule("the pruned groups carry most, not all, of what it takes to move it", "0.5 < swap['success_rate'] < residual_swap"),
    # 5 · shortcut or composition
    Rule("Both kinds of city route most of the city's influence through the state group", MEDIANS_MOSTLY_THROUGH),
    Rule("the two distributions overlap (each median lies inside the other's middle half)",
         "all(float(b.quantile(0.25)) < float(a.median()) < float(b.quantile(0.75)) "
         "for a, b in ((held_shares, trained_shares), (trained_shares, held_shares)))"),
    Rule("with the state group removed, the capital stays on top for more trained cities than held-out ones",
         TRAINED_STURDIER),
    # 6 · where composition fails
    Rule("never saw a two-hop sentence about any city of five states",
         "len({failing_world.state_of[c] for c in failing_world.heldout_state_cities}) == 5 and "
         "not set(failing_world.heldout_state_cities) & set(failing_world.trained_two_hop_cities)"),
    Rule("Their one-hop facts are learned",
         "failing_metrics['one_hop_city_state'] >= 0.99 and failing_metrics['one_hop_capital'] >= 0.99"),
    Rule("the state is decodable where the swap acts", "failing_metrics['bridge_state_decodable_heldout_state'] >= 0.9"),
    Rule("yet two-hop recall for them fails on every city", "failing_metrics['two_hop_heldout_state'] == 0"),
    Rule("The first two links are intact, even stronger, for the held-out states", f"all({FIRST_LINKS})"),
    Rule('for a held-out state the "say the capital" features push it by about zero',
         "abs(links['held-out states']['say the capital → capital']) < "
         "0.05 * links['trained states']['say the capital → capital']"),
    Rule("the state group's direct push, the larger one for trained states, is gone too",
         "links['trained states']['state in play → capital'] > links['trained states']['say the capital → capital'] "
         "and abs(links['held-out states']['state in play → capital']) < "
         "0.05 * links['trained states']['state in play → capital']"),
    Rule("the correct capital gets almost no probability", "links['held-out states']['p(correct capital)'] < 0.01"),
    Rule("it never learned which capital goes with *this* state in the two-hop context",
         "failing_metrics['two_hop_heldout_state'] == 0 and links['held-out states']['p(correct capital)'] < 0.01"),
    # 7 · across seeds
    Wording("seed 0 is the shipped pair", "seed 0 is the recipe unchanged: the shipped checkpoint and transcoder"),
    Rule("Every seed keeps the skeleton of this case study: the organism answers the example's capital; reversing the "
         "state group takes the capital off the top on every held-out city, and removing it leaves the capital on top "
         "for a minority of them, more often for trained cities than held-out ones", EVERY_SEED),
    Rule("the random-feature control almost never moves the answer (at most one pair in 2,450)",
         "max(" + SEED_VALUES.format("swap: random-feature control") + ") * 2450 <= 1.001 and "
         "int((~swap['success'].isnan()).sum()) == 2450"),
    Rule("the residual swap almost always does",  # "almost always": on at least 99 % of pairs, every seed
         "min(" + SEED_VALUES.format("swap: residual mean difference") + ") >= 0.99"),
    Claim("Dallas's state group has 7 to 23 features",
          "[f(" + SEED_VALUES.format("example: state in play members") + ") for f in (min, max)]"),
    Claim("the supernode swap works for 0.25 to 0.88 of pairs", f"[min({SWAP_SEEDS}), max({SWAP_SEEDS})]"),
    Rule("for most pairs on three seeds of four", f"len(case_seeds) == 4 and sum(v > 0.5 for v in {SWAP_SEEDS}) == 3"),
    Claim("a correlation of 0.34 or more",
          "min(row['swap: success vs group size, correlation'] for seed, row in case_seeds.items() if seed)"),
    Rule("On the retrained seeds its success follows the size of the source's group",  # positive where 0 is near zero
         "min(row['swap: success vs group size, correlation'] for s, row in case_seeds.items() if s) > 0.3 > 0.2 > "
         "abs(case_seeds[0]['swap: success vs group size, correlation'])"),
    Rule("only the first two seeds route most of the city's influence through the state group",
         HOLDS.format(12) + " == [0, 1]"),
    Rule('Seed 1 even says the state on a few cities when "asks for a capital" is removed or reversed',
         HOLDS.format(5) + " == [s for s in sorted(case_seeds) if s != 1] and "
         "0 < case_seeds[1]['held-out: asks for a capital scaled: state on top (most)'] <= 0.05"),
    Wording("as Gemma does in the tutorial", "the tutorial's result, described in section 2"),
    # the summary
    Rule('the "state in play" features are Texas only together', COMBINATION),
    Rule('"asks for a capital" also fires on state questions', "broader_truth['asks for a capital']['recall'] > 0.5"),
    Rule('"say the capital" says a capital, not Austin alone',
         "broader_truth['say the capital']['precision'] > 0.95 and truth['say the capital']['precision'] < 0.5"),
    Rule("Reversing the state group takes the capital off the top on every held-out city", STATE_REVERSED_OFF_TOP),
    Rule('removing "say the capital" never does', SAY_REMOVED_KEEPS),
    Rule("since the state group writes most of the answer itself", STATE_LINK_ONLY),
    Rule('removing "asks for a capital" never makes this organism answer the state', ASKS_NEVER_STATE),
    Rule("moves the answer to the target's capital for most pairs of states", "swap['success_rate'] > 0.5"),
    Rule("a random control of the same size never does, and the residual swap always does",
         "swap['control_rate'] == 0 and residual_swap == 1.0"),
    Rule("held-out and trained cities both route most of the city's influence through the state", MEDIANS_MOSTLY_THROUGH),
    Rule("trained cities survive the state's removal more often", TRAINED_STURDIER),
    Rule("the missing links are the last ones", f"all({FIRST_LINKS}) and all({GONE})"),
    Rule("Retrained with other seeds, the groups keep their roles and removing or reversing them does the same",
         EVERY_SEED),
    Rule("how well the pruned state group swaps a state, and how much of the influence it carries, change with the seed",
         f"max({SWAP_SEEDS}) - min({SWAP_SEEDS}) > 0.3 and 0 < len({HOLDS.format(12)}) < len(case_seeds)"),
]


def test_dallas_supernodes_and_their_meaning(run):
    assert run.value("len(world.cities)") == 300
    assert run.value("{name: len(nodes) for name, nodes in dallas.groups.items()}") == {
        "city": 1, "asks for a capital": 2, "state in play": 17, "say the capital": 4}
    assert run.value("list(dallas.groups)") == run.value("list(case_studies.GROUPS)")
    assert run.value("dallas.graph.logit_strings[:2]") == ["Austin", "Indianapolis"]
    assert run.value("dallas.graph.logit_probabilities[:2]") == pytest.approx([0.91, 0.03], abs=0.005)
    assert run.value("corpus.tokens.shape[0]") == 950  # the world's distinct sentences
    truth = run.value("truth")
    assert run.value("meaning") == {"asks for a capital": "asks for a capital", "state in play": "state in play: Texas",
                                    "say the capital": "answer is capital: Texas"}
    expected = {"asks for a capital": (0.410, 0.929, 0.363), "state in play": (1.000, 0.316, 0.036),
                "say the capital": (0.078, 1.000, 0.021)}
    for group, (precision, recall, best) in expected.items():
        scores = truth[group]
        assert (scores["precision"], scores["recall"], scores["best_member_precision"]) == pytest.approx(
            (precision, recall, best), abs=0.001), group
    # The broader readings: "asks for a capital" also fires on state questions; "say the capital" fires
    # (almost) only where a capital is asked, on a quarter of those tokens.
    assert run.value("broader") == {"asks for a capital": "asks for a state", "say the capital": "asks for a capital"}
    broader = run.value("broader_truth")
    assert (broader["asks for a capital"]["precision"], broader["asks for a capital"]["recall"]) == pytest.approx(
        (0.560, 0.740), abs=0.001)
    assert (broader["say the capital"]["precision"], broader["say the capital"]["recall"]) == pytest.approx(
        (0.989, 0.254), abs=0.001)


def test_the_supernode_graphs_strongest_edge_is_the_state_groups_push_on_austin(run):
    edges = {(source, target.split(" (")[0]): weight for source, target, weight in run.value("strongest_edges")}
    assert max(edges, key=lambda e: abs(edges[e])) == ("state in play", 'logit "Austin"')
    assert edges["state in play", 'logit "Austin"'] == pytest.approx(5.87, abs=0.005)
    assert edges["state in play", "say the capital"] == pytest.approx(2.28, abs=0.005)


def test_predict_then_test_table(run):
    rows = {(r["group"], r["factor"], r["frozen"]): r for r in run.value("table")}
    assert len(rows) == 16
    top = {key: (r["top"][0][0], round(r["top"][0][1], 2)) for key, r in rows.items()}
    assert top["city", -2.0, "nothing"] == ("Columbus", 0.22)
    assert top["asks for a capital", -2.0, "attention"] == ("is", 0.32)
    assert rows["asks for a capital", -2.0, "attention"]["top"][1][0] == "Austin"
    assert round(rows["asks for a capital", -2.0, "attention"]["top"][1][1], 2) == 0.22
    assert top["asks for a capital", 0.0, "attention"] == ("Austin", 0.84)
    assert top["state in play", -2.0, "nothing"] == ("Columbus", 0.24)
    assert top["state in play", 0.0, "attention"] == (".", 0.23)
    assert top["say the capital", 0.0, "nothing"] == ("Austin", 0.90)
    assert top["say the capital", -2.0, "nothing"] == ("Austin", 0.62)
    for (group, factor, frozen), row in rows.items():
        if group in ("city", "state in play"):  # Austin leaves the top three
            assert "Austin" not in [token for token, _ in row["top"]]
    state_zero = rows["state in play", 0.0, "attention"]
    state_minus_two = rows["state in play", -2.0, "attention"]
    assert state_zero["predicted"]["say the capital"] == pytest.approx(-2.5, abs=0.05)
    assert state_zero["measured"]["say the capital"] == pytest.approx(-2.5, abs=0.05)
    assert state_minus_two["predicted"]["say the capital"] == pytest.approx(-7.5, abs=0.05)
    assert state_minus_two["measured"]["say the capital"] == pytest.approx(-7.4, abs=0.05)
    # The answer logit: the direct edges give the size, not the value.
    assert (state_zero["predicted"]["answer logit"], state_zero["measured"]["answer logit"]) == pytest.approx(
        (-5.9, -9.2), abs=0.05)
    assert (state_minus_two["predicted"]["answer logit"], state_minus_two["measured"]["answer logit"]) == pytest.approx(
        (-17.6, -16.0), abs=0.05)
    # "asks for a capital" at -2x: the graph predicts a rise of the answer logit where it falls.
    asks = rows["asks for a capital", -2.0, "attention"]
    assert (asks["predicted"]["answer logit"], asks["measured"]["answer logit"]) == pytest.approx((1.8, -3.7), abs=0.05)
    # Removing "asks for a capital" never makes Dallas's prompt answer its state, nor puts it in the top three.
    assert all("Texas" not in [token for token, _ in r["top"]] for key, r in rows.items() if key[0] == "asks for a capital")


def test_rates_over_every_city(run):
    assert run.value("[len(heldout), len(trained)]") == [50, 50]
    rates = {name: {(g, f, fr): r for g, f, fr, r in by} for name, by in
             run.value("{name: [[*key, r] for key, r in by.items()] for name, by in rates.items()}").items()}
    held, train = rates["held-out"], rates["trained"]
    assert max(held["state in play", -2.0, f]["capital"] for f in ("attention", "nothing")) == 0.0
    assert [held["state in play", 0.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.28, 0.30], abs=1e-3)
    assert [train["state in play", 0.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.46, 0.46], abs=1e-3)
    assert max(r["state"] for key, r in held.items() if key[0] == "asks for a capital") == 0.0
    assert max(r["state"] for key, r in train.items() if key[0] == "asks for a capital") == 0.0
    # Removing "say the capital" at 0x leaves the capital on top for every city; at -2x for 62 % / 74 %.
    for by_condition in (held, train):
        assert [by_condition["say the capital", 0.0, f]["capital"] for f in ("attention", "nothing")] == [1.0, 1.0]
    assert [held["say the capital", -2.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.62, 0.62], abs=1e-3)
    assert [train["say the capital", -2.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.74, 0.74], abs=1e-3)


def test_swap_over_every_pair(run):
    assert run.value("int((~swap['success'].isnan()).sum())") == 2450
    assert run.value("swap['success_rate']") == pytest.approx(0.88, abs=0.005)
    assert run.value("swap['control_rate']") < 0.0005  # printed as 0.000
    assert run.value("swap['control_kept']") == pytest.approx(0.99, abs=0.005)
    assert run.value("residual_swap") == pytest.approx(1.00, abs=0.005)
    hardest = run.value("[[world.states[i], float(by_target[i])] for i in by_target.argsort()[:3]]")
    assert [state for state, _ in hardest] == ["Massachusetts", "North_Dakota", "Tennessee"]
    assert [rate for _, rate in hardest] == pytest.approx([0.41, 0.55, 0.61], abs=0.005)
    hardest_sources = run.value("[[world.states[i], float(by_source[i])] for i in by_source.argsort()[:2]]")
    assert [state for state, _ in hardest_sources] == ["Oregon", "Massachusetts"]
    assert [rate for _, rate in hardest_sources] == pytest.approx([0.49, 0.61], abs=0.005)
    assert run.value("size_correlation") == pytest.approx(0.08, abs=0.005)
    assert run.value("float(swap['group_sizes'].float().mean())") == pytest.approx(21, abs=0.5)


def test_through_state_share(run):
    assert run.value("float(held_shares.median())") == pytest.approx(0.60, abs=0.005)
    assert run.value("float(trained_shares.median())") == pytest.approx(0.63, abs=0.005)
    # The two distributions overlap: each median lies inside the other's interquartile range.
    assert run.value("all(float(b.quantile(0.25)) < float(a.median()) < float(b.quantile(0.75)) "
                     "for a, b in ((held_shares, trained_shares), (trained_shares, held_shares)))") is True


def test_the_missing_link_when_states_are_held_out(run):
    links = run.value("links")
    held, trained = links["held-out states"], links["trained states"]
    assert (held["city → state in play"], trained["city → state in play"]) == pytest.approx((7.304, 5.811), abs=0.001)
    assert (held["state in play → say the capital"], trained["state in play → say the capital"]) == pytest.approx(
        (4.888, 2.961), abs=0.001)
    assert (held["say the capital → capital"], trained["say the capital → capital"]) == pytest.approx((-0.014, 1.463), abs=0.001)
    assert (held["state in play → capital"], trained["state in play → capital"]) == pytest.approx((0.065, 4.845), abs=0.001)
    assert (held["p(correct capital)"], trained["p(correct capital)"]) == pytest.approx((0.002, 0.954), abs=0.001)
    metrics = run.value("failing_metrics")
    assert metrics["bridge_state_decodable_heldout_state"] == 1.0
    assert metrics["two_hop_heldout_state"] == 0.0
    assert metrics["one_hop_city_state"] == metrics["one_hop_capital"] == 1.0


# --- 7 · across seeds: the shipped table the notebook read (artifacts.case_seed_table("facts")) ---------------------

SEED_ZERO_IS_THIS_RUN = {  # the table's seed 0 (the shipped pair) against what this run measured
    "swap: supernode": "swap['success_rate']", "swap: random-feature control": "swap['control_rate']",
    "swap: control keeps the source's capital": "swap['control_kept']", "swap: residual mean difference": "residual_swap",
    "swap: success vs group size, correlation": "size_correlation",
    "example: state in play members": "len(dallas.groups['state in play'])",
    "example: state in play: precision": "truth['state in play']['precision']",
    "held-out: state in play ×+0, nothing frozen: capital on top": "rates['held-out']['state in play', 0.0, 'nothing']['capital']",
    "trained: state in play ×+0, nothing frozen: capital on top": "rates['trained']['state in play', 0.0, 'nothing']['capital']",
    "through the state group: held-out median": "float(held_shares.median())",
    "through the state group: trained median": "float(trained_shares.median())",
}


def test_the_seed_table_row_zero_is_this_run(run):
    row = run.value("case_seeds[0]")
    live = run.value("[" + ", ".join(SEED_ZERO_IS_THIS_RUN.values()) + "]")
    assert [row[key] for key in SEED_ZERO_IS_THIS_RUN] == pytest.approx(live, abs=1e-6)
    assert run.value("sorted(case_seeds)") == [0, 1, 2, 3]
    assert run.value("list(facts_findings)") == run.value("[f.text for f in case_studies.MULTIHOP_FINDINGS]")
