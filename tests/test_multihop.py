"""Notebook 05: every number it states, recomputed; and the case-study code on both facts organisms."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import torch

from workbench import case_studies, organisms, transcoders, viz

MULTIHOP = Path(case_studies.__file__).parent / "multihop.py"


@pytest.fixture(scope="module")
def facts():
    model, world = organisms.load("facts")
    clt = transcoders.load_clt("facts_clt")
    fire_rate = (case_studies.answer_features(model, world, clt, world.cities) > 0).float().mean(0)
    heldout, trained = world.heldout_cities, case_studies.trained_cities(world)
    supernodes = {c: case_studies.find_supernodes(model, world, clt, c, fire_rate) for c in heldout + trained}
    return model, world, clt, fire_rate, heldout, trained, supernodes


def test_no_city_or_state_in_the_code():
    """Docstrings may tell the story of Dallas; the code's strings and names may not hold a city or a state."""
    world = organisms.get_world("facts")
    tree = ast.parse(MULTIHOP.read_text())
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    code_words = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and id(node) not in docstrings
                  and isinstance(node.value, str)} | {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    text = " ".join(code_words)
    names = [w for w in world.states + world.cities if re.search(rf"\b{re.escape(w)}\b", text)]
    assert not names, f"multihop.py names {names}"


def test_dallas_supernodes_and_their_meaning(facts):
    model, world, clt, fire_rate, *_ , supernodes = facts
    dallas = case_studies.find_supernodes(model, world, clt, "Dallas", fire_rate)
    assert len(world.cities) == 300
    assert {k: len(v) for k, v in dallas.groups.items()} == {
        "city": 1, "asks for a capital": 2, "state in play": 17, "say the capital": 4}
    assert dallas.graph.logit_strings[:2] == ["Austin", "Indianapolis"]
    assert dallas.graph.logit_probabilities[:2].tolist() == pytest.approx([0.91, 0.03], abs=0.005)
    corpus = transcoders.feature_corpus(model, clt, world)
    assert corpus.tokens.shape[0] == 950
    expected = {("asks for a capital", "asks for a capital"): (0.410, 0.929, 0.363),
                ("state in play", "state in play: Texas"): (1.000, 0.316, 0.036),
                ("say the capital", "answer is capital: Texas"): (0.078, 1.000, 0.021)}
    for (group, variable), (precision, recall, best) in expected.items():
        truth = case_studies.group_truth(corpus, world, dallas.features(group), variable)
        assert (truth["precision"], truth["recall"], truth["best_member_precision"]) == pytest.approx(
            (precision, recall, best), abs=0.001), group
    # The broader readings: "asks for a capital" also fires on state questions; "say the capital" fires
    # (almost) only where a capital is asked, on a quarter of those tokens.
    broader = {("asks for a capital", "asks for a state"): (0.560, 0.740),
               ("say the capital", "asks for a capital"): (0.989, 0.254)}
    for (group, variable), (precision, recall) in broader.items():
        truth = case_studies.group_truth(corpus, world, dallas.features(group), variable)
        assert (truth["precision"], truth["recall"]) == pytest.approx((precision, recall), abs=0.001), group
    # The supernode graph's strongest edge is the state group's own push on Austin, over twice its edge into
    # "say the capital".
    edges = {(source, target.split(" (")[0]): weight for source, target, weight in
             viz.supernode_graph(dallas.graph, dallas.pruned, dallas.groups).edges(top=6)}
    assert max(edges, key=lambda e: abs(edges[e])) == ("state in play", 'logit "Austin"')
    assert edges["state in play", 'logit "Austin"'] == pytest.approx(5.87, abs=0.005)
    assert edges["state in play", "say the capital"] == pytest.approx(2.28, abs=0.005)
    merged_names = [n for n in dallas.groups]
    assert merged_names == list(case_studies.GROUPS)


def test_predict_then_test_table(facts):
    model, world, clt, fire_rate, *_ = facts
    dallas = case_studies.find_supernodes(model, world, clt, "Dallas", fire_rate)
    rows = {(r["group"], r["factor"], r["frozen"]): r for r in case_studies.intervention_table(model, world, clt, dallas)}
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


def test_rates_over_every_city(facts):
    model, world, clt, _, heldout, trained, supernodes = facts
    held = case_studies.intervention_rates(model, world, clt, heldout, supernodes)
    train = case_studies.intervention_rates(model, world, clt, trained, supernodes)
    assert max(held["state in play", -2.0, f]["capital"] for f in ("attention", "nothing")) == 0.0
    assert [held["state in play", 0.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.28, 0.30], abs=1e-3)
    assert [train["state in play", 0.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.46, 0.46], abs=1e-3)
    assert max(r["state"] for key, r in held.items() if key[0] == "asks for a capital") == 0.0
    assert max(r["state"] for key, r in train.items() if key[0] == "asks for a capital") == 0.0
    # Removing "say the capital" at 0x leaves the capital on top for every city; at -2x for 62 % / 74 %.
    for rates in (held, train):
        assert [rates["say the capital", 0.0, f]["capital"] for f in ("attention", "nothing")] == [1.0, 1.0]
    assert [held["say the capital", -2.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.62, 0.62], abs=1e-3)
    assert [train["say the capital", -2.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.74, 0.74], abs=1e-3)


def test_swap_over_every_pair(facts):
    model, world, clt, _, heldout, _, supernodes = facts
    swap = case_studies.swap_rates(model, world, clt, heldout, supernodes)
    assert int((~swap["success"].isnan()).sum()) == 2450
    assert swap["success_rate"] == pytest.approx(0.88, abs=0.005)
    assert swap["control_rate"] < 0.0005  # printed as 0.000
    assert swap["control_kept"] == pytest.approx(0.99, abs=0.005)
    assert world.state_swap_success(model, heldout) == pytest.approx(1.00, abs=0.005)
    by_target, by_source = torch.nanmean(swap["success"], 0), torch.nanmean(swap["success"], 1)
    hardest = [world.states[i] for i in by_target.argsort()[:3]]
    assert hardest == ["Massachusetts", "North_Dakota", "Tennessee"]
    assert by_target.sort().values[:3].tolist() == pytest.approx([0.41, 0.55, 0.61], abs=0.005)
    hardest_sources = [world.states[i] for i in by_source.argsort()[:2]]
    assert hardest_sources == ["Oregon", "Massachusetts"]
    assert by_source.sort().values[:2].tolist() == pytest.approx([0.49, 0.61], abs=0.005)
    correlation = torch.corrcoef(torch.stack([by_source, swap["group_sizes"].float()]))[0, 1]
    assert float(correlation) == pytest.approx(0.08, abs=0.005)
    assert swap["group_sizes"].float().mean() == pytest.approx(21, abs=0.5)


def test_through_state_share(facts):
    _, world, _, _, heldout, trained, supernodes = facts
    shares = case_studies.shortcut_shares(world, supernodes)
    held, train = torch.tensor([shares[c] for c in heldout]), torch.tensor([shares[c] for c in trained])
    assert held.median() == pytest.approx(0.60, abs=0.005)
    assert train.median() == pytest.approx(0.63, abs=0.005)
    # The two distributions overlap: each median lies inside the other's interquartile range.
    quartiles = torch.tensor([0.25, 0.75])
    for a, b in ((held, train), (train, held)):
        low, high = b.quantile(quartiles).tolist()
        assert low < float(a.median()) < high


def test_the_missing_link_when_states_are_held_out():
    model, world = organisms.load("facts_heldout_states")
    clt = transcoders.load_clt("facts_heldout_states_clt")
    fire_rate = (case_studies.answer_features(model, world, clt, world.cities) > 0).float().mean(0)
    capitals = set(world.capital_of.values())
    comparison = {"held-out states": [c for c in world.heldout_state_cities if c not in capitals],
                  "trained states": world.heldout_cities}
    links = {}
    for name, cities in comparison.items():
        found = [case_studies.find_supernodes(model, world, clt, c, fire_rate) for c in cities]
        strengths = [case_studies.link_strengths(f) for f in found]
        links[name] = {link: sum(s[link] for s in strengths) / len(strengths) for link in strengths[0]}
        links[name]["p"] = sum(float(f.graph.logit_probabilities[0]) for f in found) / len(found)
    held, trained = links["held-out states"], links["trained states"]
    assert (held["city → state in play"], trained["city → state in play"]) == pytest.approx((7.304, 5.811), abs=0.001)
    assert (held["state in play → say the capital"], trained["state in play → say the capital"]) == pytest.approx(
        (4.888, 2.961), abs=0.001)
    assert (held["say the capital → capital"], trained["say the capital → capital"]) == pytest.approx((-0.014, 1.463), abs=0.001)
    assert (held["state in play → capital"], trained["state in play → capital"]) == pytest.approx((0.065, 4.845), abs=0.001)
    assert (held["p"], trained["p"]) == pytest.approx((0.002, 0.954), abs=0.001)
    evaluation = world.evaluate(model, swap=False)
    assert evaluation["bridge_state_decodable_heldout_state"] == 1.0
    assert evaluation["two_hop_heldout_state"] == 0.0
    assert evaluation["one_hop_city_state"] == evaluation["one_hop_capital"] == 1.0
    # the whole case study runs on this organism too
    rates = case_studies.intervention_rates(model, world, clt, world.heldout_cities[:10])
    assert rates["state in play", -2.0, "nothing"]["n"] == 10
    swap = case_studies.swap_rates(model, world, clt, world.heldout_cities[:10],
                                   {c: case_studies.find_supernodes(model, world, clt, c, fire_rate) for c in world.heldout_cities[:10]})
    assert swap["control_rate"] <= 0.05
