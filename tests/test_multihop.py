"""The two-hop case-study code on inputs notebook 05 does not use: the whole case study (interventions over cities,
the swap) on ``facts_heldout_states``, and no city or state written into the code.

Notebook 05's own numbers (the Dallas supernodes, the table, the rates, the swap, the shares, the missing links) are
read from its run in ``tests/notebooks/test_05_multihop_case_study.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from workbench import case_studies, organisms, transcoders

MULTIHOP = Path(case_studies.__file__).parent / "multihop.py"


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


def test_the_whole_case_study_runs_on_the_organism_with_states_held_out():
    """Notebook 05 only reads this organism's links; the interventions and the swap run on it too."""
    model, world = organisms.load("facts_heldout_states")
    clt = transcoders.load_clt("facts_heldout_states_clt")
    cities = world.heldout_cities[:10]
    rates = case_studies.intervention_rates(model, world, clt, cities)  # finds the supernodes itself
    assert rates["state in play", -2.0, "nothing"]["n"] == 10
    fire_rate = (case_studies.answer_features(model, world, clt, world.cities) > 0).float().mean(0)
    swap = case_studies.swap_rates(model, world, clt, cities,
                                   {c: case_studies.find_supernodes(model, world, clt, c, fire_rate) for c in cities})
    assert swap["control_rate"] <= 0.05
