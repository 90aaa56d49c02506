"""Notebook 05: every number it states, recomputed; and the case-study code on both facts organisms."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import torch

from workbench import case_studies, organisms, transcoders

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
    assert {k: len(v) for k, v in dallas.groups.items()} == {
        "city": 1, "asks for a capital": 2, "state in play": 15, "say the capital": 7}
    assert dallas.graph.logit_strings[:2] == ["Austin", "Indianapolis"]
    assert dallas.graph.logit_probabilities[:2].tolist() == pytest.approx([0.77, 0.13], abs=0.005)
    corpus = transcoders.feature_corpus(model, clt, world)
    expected = {("asks for a capital", "asks for a capital"): (0.877, 0.920, 0.201),
                ("state in play", "state in play: Texas"): (1.000, 0.105, 0.031),
                ("say the capital", "answer is capital: Texas"): (1.000, 0.143, 0.045)}
    for (group, variable), (precision, recall, best) in expected.items():
        truth = case_studies.group_truth(corpus, world, dallas.features(group), variable)
        assert (truth["precision"], truth["recall"], truth["best_member_precision"]) == pytest.approx(
            (precision, recall, best), abs=0.001), group
    merged_names = [n for n in dallas.groups]
    assert merged_names == list(case_studies.GROUPS)


def test_predict_then_test_table(facts):
    model, world, clt, fire_rate, *_ = facts
    dallas = case_studies.find_supernodes(model, world, clt, "Dallas", fire_rate)
    rows = {(r["group"], r["factor"], r["frozen"]): r for r in case_studies.intervention_table(model, world, clt, dallas)}
    assert len(rows) == 16
    top = {key: (r["top"][0][0], round(r["top"][0][1], 2)) for key, r in rows.items()}
    assert top["city", -2.0, "nothing"] == ("Santa_Fe", 0.09)
    assert top["asks for a capital", -2.0, "attention"] == ("Austin", 0.14)
    assert top["asks for a capital", 0.0, "attention"] == ("Austin", 0.69)
    assert top["state in play", -2.0, "nothing"] == ("is", 0.12)
    assert top["state in play", 0.0, "attention"] == ("Sacramento", 0.12)
    assert top["say the capital", 0.0, "nothing"] == ("Austin", 0.52)
    for (group, factor, frozen), row in rows.items():
        if group in ("city", "state in play"):  # Austin leaves the top three
            assert "Austin" not in [token for token, _ in row["top"]]
    state_zero = rows["state in play", 0.0, "attention"]
    assert state_zero["predicted"]["say the capital"] == pytest.approx(-2.7, abs=0.05)
    assert state_zero["measured"]["say the capital"] == pytest.approx(-2.7, abs=0.05)
    # Removing "asks for a capital" never makes Dallas's prompt answer its state.
    assert all(r["top"][0][0] != "Texas" for key, r in rows.items() if key[0] == "asks for a capital")


def test_rates_over_every_city(facts):
    model, world, clt, _, heldout, trained, supernodes = facts
    held = case_studies.intervention_rates(model, world, clt, heldout, supernodes)
    train = case_studies.intervention_rates(model, world, clt, trained, supernodes)
    assert max(held["state in play", -2.0, f]["capital"] for f in ("attention", "nothing")) == 0.0
    assert [held["state in play", 0.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.18, 0.18], abs=1e-3)
    assert [train["state in play", 0.0, f]["capital"] for f in ("attention", "nothing")] == pytest.approx([0.58, 0.48], abs=1e-3)
    assert max(r["state"] for key, r in held.items() if key[0] == "asks for a capital") == pytest.approx(0.02, abs=1e-3)
    assert max(r["state"] for key, r in train.items() if key[0] == "asks for a capital") == pytest.approx(1 / 48, abs=1e-3)


def test_swap_over_every_pair(facts):
    model, world, clt, _, heldout, _, supernodes = facts
    swap = case_studies.swap_rates(model, world, clt, heldout, supernodes)
    assert int((~swap["success"].isnan()).sum()) == 2450
    assert swap["success_rate"] == pytest.approx(0.55, abs=0.005)
    assert swap["control_rate"] == pytest.approx(0.001, abs=0.0005)
    assert swap["control_kept"] == pytest.approx(0.79, abs=0.005)
    assert world.state_swap_success(model, heldout) == pytest.approx(1.00, abs=0.005)
    by_target, by_source = torch.nanmean(swap["success"], 0), torch.nanmean(swap["success"], 1)
    hardest = [world.states[i] for i in by_target.argsort()[:2]]
    assert hardest == ["North_Carolina", "Ohio"]
    assert by_target.sort().values[:4].tolist() == pytest.approx([0.06, 0.12, 0.14, 0.14], abs=0.005)
    assert float(by_source.min()) == pytest.approx(0.27, abs=0.005)
    correlation = torch.corrcoef(torch.stack([by_source, swap["group_sizes"].float()]))[0, 1]
    assert float(correlation) == pytest.approx(-0.10, abs=0.005)
    assert swap["group_sizes"].float().mean() == pytest.approx(13, abs=0.5)


def test_through_state_share(facts):
    _, world, _, _, heldout, trained, supernodes = facts
    shares = case_studies.shortcut_shares(world, supernodes)
    assert torch.tensor([shares[c] for c in heldout]).median() == pytest.approx(0.64, abs=0.005)
    assert torch.tensor([shares[c] for c in trained]).median() == pytest.approx(0.65, abs=0.005)


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
    assert (held["city → state in play"], trained["city → state in play"]) == pytest.approx((5.202, 3.853), abs=0.001)
    assert (held["state in play → say the capital"], trained["state in play → say the capital"]) == pytest.approx(
        (3.611, 2.586), abs=0.001)
    assert (held["say the capital → capital"], trained["say the capital → capital"]) == pytest.approx((0.024, 1.679), abs=0.001)
    assert (held["state in play → capital"], trained["state in play → capital"]) == pytest.approx((-0.201, 3.345), abs=0.001)
    assert (held["p"], trained["p"]) == pytest.approx((0.002, 0.873), abs=0.001)
    assert world.evaluate(model, swap=False)["bridge_state_decodable_heldout_state"] == 1.0
    # the whole case study runs on this organism too
    rates = case_studies.intervention_rates(model, world, clt, world.heldout_cities[:10])
    assert rates["state in play", -2.0, "nothing"]["n"] == 10
    swap = case_studies.swap_rates(model, world, clt, world.heldout_cities[:10],
                                   {c: case_studies.find_supernodes(model, world, clt, c, fire_rate) for c in world.heldout_cities[:10]})
    assert swap["control_rate"] <= 0.05
