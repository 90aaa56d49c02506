"""The steering bench (notebook 07): exact scores, every method, factor choice, side effects.

Every number notebook 07 states or prints is asserted here (computed the notebook's way).
"""

from __future__ import annotations

import pytest
import torch

from workbench import organisms, saes, steering, transcoders
from workbench.steering import bench, vectors


@pytest.fixture(scope="module")
def facts_bench(facts_organism):
    model, world = facts_organism
    task = steering.facts_task(world, "California")
    methods, choices = steering.standard_methods(model, task, sae=saes.load_sae("facts_resid1"),
                                                 clt=transcoders.load_clt("facts_clt"))
    sweeps = [steering.sweep(task, method) for method in methods]
    return model, world, task, methods, choices, sweeps


@pytest.fixture(scope="module")
def couplets_bench():
    model, world = organisms.load("couplets")
    task = steering.couplets_task(world, "food")
    methods, choices = steering.standard_methods(model, task, clt=transcoders.load_clt("couplets_clt"))
    sweeps = [steering.sweep(task, method) for method in methods]
    return model, world, task, methods, choices, sweeps


def rows(sweeps):
    return {row["method"]: row for row in steering.table(sweeps)}


# ---- scores -----------------------------------------------------------------------------------


def test_harmonic_mean_is_zero_when_any_score_is_zero():
    grades = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [0.5, 1.0, 1.0]])
    torch.testing.assert_close(bench.harmonic_mean(grades), torch.tensor([1.0, 0.0, 3 / 4], dtype=torch.float64))


def test_facts_grader_reads_the_ground_truth(facts_organism):
    _, world = facts_organism
    task = steering.facts_task(world, "California")
    two_hop = next(c for c in task.cases if c.prompt == world.two_hop_prompt("Dallas"))
    city_in = next(c for c in task.cases if c.prompt == world.city_state_prompt("Dallas"))
    assert task.grade(two_hop, ["Sacramento", "."]) == (1, 1, 1)
    assert task.grade(two_hop, ["California", "."]) == (1, 0, 1)  # a state where a capital was asked
    assert task.grade(two_hop, ["Los_Angeles", "."]) == (1, 0, 1)  # a city of California, not a capital
    assert task.grade(two_hop, ["Austin", "."]) == (0, 1, 1)
    assert task.grade(city_in, ["California", "is"]) == (1, 1, 0)
    assert task.target_completion(two_hop) == f"{two_hop.prompt} Sacramento ."


def test_couplets_grader_reads_the_ground_truth():
    world = organisms.get_world("couplets")
    task = steering.couplets_task(world, "food")
    case = next(c for c in task.cases if c.truth["a"] == "lake")
    cake = [world.first_word_table["cake"], ",", "he", "found", "the", "cake", "<eos>"]
    assert task.grade(case, cake) == (1, 1, 1)
    assert task.grade(case, [world.first_word_table["snake"], *cake[1:]]) == (1, 1, 0)  # wrong adjective
    assert task.grade(case, [*cake[:5], "tea", "<eos>"]) == (1, 0, 0)
    assert task.target_completion(case).endswith("the cake <eos>")


def test_splits_and_unsteered_scores(facts_bench, couplets_bench):
    for bench_, train in ((facts_bench, 787), (couplets_bench, 240)):
        task = bench_[2]
        assert {s: len(task.split(s)) for s in steering.SPLITS} == {"train": train, "choose": 48, "report": 96}
    facts = steering.evaluate(facts_bench[0], facts_bench[2])["report"]
    assert (facts.concept, facts.instruction, facts.fluency, facts.overall) == (0.0, 1.0, 1.0, 0.0)
    couplets = steering.evaluate(couplets_bench[0], couplets_bench[2])["report"]
    assert (couplets.concept, couplets.instruction, couplets.fluency, couplets.overall) == (0.0, 1.0, 1.0, 0.0)


def test_generation_with_a_cache_matches_the_worlds_own():
    model, world = organisms.load("couplets")
    prompts = [world.first_line_prompt(s, a) for s, a in world.heldout_pairs[:16]]
    assert steering.generate(model, prompts, 7) == world.complete(model, prompts)


# ---- hooks ------------------------------------------------------------------------------------


def test_hooks_at_rest_change_nothing(facts_bench):
    model, world, task, _, choices, _ = facts_bench
    tokens = model.to_tokens([world.two_hop_prompt("Dallas")])
    with torch.no_grad():
        clean = model(tokens)
        clt = transcoders.load_clt("facts_clt")
        unclamped = vectors.clt_clamp_hooks(clt, model.cfg.n_layers, [], [])
        torch.testing.assert_close(model.run_with_hooks(tokens, fwd_hooks=unclamped), clean)
        direction = vectors.vector_method("d", model, choices.hook, torch.ones(model.cfg.d_model), 1.0, [0.0])
        torch.testing.assert_close(model.run_with_hooks(tokens, fwd_hooks=direction.setup(0.0)[1]), clean)


def test_sae_clamp_writes_value_minus_activation_along_the_decoder(facts_bench):
    model, world, _, _, choices, _ = facts_bench
    sae = saes.load_sae("facts_resid1")
    latent = choices.sae_by_label[0]
    resid = torch.randn(2, 3, model.cfg.d_model)
    with torch.no_grad():
        out = vectors.sae_clamp(sae, latent, 5.0)(resid.clone(), None)
        expected = resid + (5.0 - sae.encode(resid)[..., latent])[..., None] * sae.W_dec[latent]
    torch.testing.assert_close(out, expected)


# ---- the facts bench --------------------------------------------------------------------------


def test_facts_choices(facts_bench):
    choices = facts_bench[4]
    assert choices.hook == "blocks.1.hook_resid_pre"
    assert choices.unit == pytest.approx(5.10, abs=0.005)
    assert choices.sae_by_label[0] == 231 and choices.sae_by_label[1] == pytest.approx(0.93, abs=0.005)
    assert choices.sae_by_effect[0] == 382 != choices.sae_by_label[0]  # choosing by effect picks another latent
    assert choices.sae_by_effect[1] == pytest.approx(0.38, abs=0.005)
    assert [(l, i) for l, i, _ in choices.clt_features] == [(0, 132), (0, 105), (1, 19), (1, 168)]
    assert [round(f, 2) for _, _, f in choices.clt_features] == [0.27, 0.22, 0.57, 0.53]
    assert max(f for l, _, f in choices.clt_features if l == 0) < 0.3  # broad layer-0 features


FACTS_TABLE = [  # method, factor, concept, instruction, fluency, overall (× 96 report prompts)
    ("fine-tuning", 16, 95, 95, 95, 95),
    ("probe", 1.5, 89, 83, 92, 80),
    ("SAE latent (by effect) added", 3.0, 95, 75, 96, 74),
    ("SAE latent (by effect) clamped", 8.0, 95, 75, 96, 74),
    ("difference of means", 1.0, 71, 94, 96, 69),
    ("SAE latent added", 1.5, 79, 75, 86, 68),
    ("SAE latent clamped", 3.0, 57, 86, 87, 56),
    ("transcoder features clamped", 16.0, 23, 17, 23, 17),
]

COUPLETS_TABLE = [
    ("fine-tuning", 8, 96, 96, 96, 96),
    ("difference of means", 1.0, 87, 96, 96, 87),
    ("probe", 1.0, 71, 82, 86, 67),
    ("transcoder features clamped", 3.0, 60, 40, 86, 19),
]


@pytest.mark.parametrize("name, expected", [("facts", FACTS_TABLE), ("couplets", COUPLETS_TABLE)])
def test_tables(name, expected, facts_bench, couplets_bench):
    sweeps = (facts_bench if name == "facts" else couplets_bench)[5]
    table = steering.table(sweeps)
    got = [(r["method"], r["factor"], *(round(r[k] * 96) for k in ("concept", "instruction", "fluency", "overall")))
           for r in table]
    assert got == expected
    for r in table:
        assert r["overall"] * 96 == pytest.approx(round(r["overall"] * 96))  # counts of 96 exactly


def test_factor_is_chosen_on_choose_and_reported_on_report(facts_bench):
    for sweep in facts_bench[5]:
        best = max(s.overall for s in sweep.choose)
        assert sweep.choose[sweep.best_index].overall == best
        assert sweep.reported is sweep.report[sweep.best_index]


def test_rankings_the_notebook_states(facts_bench, couplets_bench):
    facts, couplets = rows(facts_bench[5]), rows(couplets_bench[5])
    # facts: fine-tuning alone at the top, the probe second; the SAE latent chosen by label below the difference of
    # means and the probe, the one chosen by effect above the difference of means; transcoder clamps last
    order = [r["method"] for r in steering.table(facts_bench[5])]
    assert order[:2] == ["fine-tuning", "probe"] and order[-1] == "transcoder features clamped"
    assert facts["fine-tuning"]["overall"] > max(r["overall"] for m, r in facts.items() if m != "fine-tuning")
    for name in ("SAE latent added", "SAE latent clamped"):
        assert facts[name]["overall"] < facts["difference of means"]["overall"] < facts["probe"]["overall"]
        # the label-chosen SAE rows lose on concept and instruction, not only on instruction
        assert facts[name]["concept"] < 0.85 and facts[name]["instruction"] < 0.9
    for name in ("SAE latent (by effect) added", "SAE latent (by effect) clamped"):
        assert facts["difference of means"]["overall"] < facts[name]["overall"] < facts["probe"]["overall"]
    clamps = next(s for s in facts_bench[5] if s.method == "transcoder features clamped")
    assert max(s.concept for s in clamps.choose) == pytest.approx(0.125)  # "at most 13 %" on choose
    # couplets: fine-tuning > difference of means > probe > transcoder clamps
    order = [r["method"] for r in steering.table(couplets_bench[5])]
    assert order == ["fine-tuning", "difference of means", "probe", "transcoder features clamped"]
    # past the best factor, couplets steering breaks fluency
    dm = next(s for s in couplets_bench[5] if s.method == "difference of means")
    assert dm.choose[-1].fluency < 0.5 < dm.choose[dm.best_index].fluency


def test_facts_steering_breaks_instruction_not_fluency(facts_bench):
    for sweep in facts_bench[5]:
        if sweep.method in ("difference of means", "probe"):
            strongest = sweep.choose[-1]
            assert strongest.concept == 1.0 and strongest.fluency >= 0.97 and strongest.instruction < 0.5


# ---- side effects -----------------------------------------------------------------------------


def test_dallas_to_california_side_effects(facts_bench):
    model, world, _, _, choices, _ = facts_bench
    means = world.state_means(model)
    vector = means[world.states.index("California")] - means[world.states.index("Texas")]
    effects = steering.side_effects(model, steering.facts_prompt_groups(world, "Dallas"),
                                    [(choices.hook, steering.add_at_last_position(vector))],
                                    ["California", world.capital_of["California"]])
    got = [(e.group, e.n, round(e.changed, 2), round(e.to_concept, 2)) for e in effects]
    assert got == [
        ("Dallas itself", 3, 0.67, 0.33),
        ("other cities of Texas", 15, 0.33, 0.33),
        ("capital of Texas", 1, 1.0, 1.0),
        ("cities of other states", 882, 0.3, 0.28),
        ("capitals of other states", 49, 0.47, 0.49),
    ]
    assert sum(e.n for e in effects) == 950
