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
    assert choices.unit == pytest.approx(5.83, abs=0.005)
    assert choices.sae_by_label[0] == 422 and choices.sae_by_label[1] == pytest.approx(0.83, abs=0.005)
    assert choices.sae_by_effect[0] == choices.sae_by_label[0]  # choosing by effect picks the same latent
    assert choices.sae_by_effect[1] == pytest.approx(0.55, abs=0.005)
    assert [(l, i) for l, i, _ in choices.clt_features] == [(0, 77), (0, 54), (1, 87), (1, 94)]
    assert [round(f, 2) for _, _, f in choices.clt_features] == [0.23, 0.20, 0.36, 0.31]
    assert max(f for _, _, f in choices.clt_features) < 0.4  # broad in both layers: no California feature


FACTS_TABLE = [  # method, factor, concept, instruction, fluency, overall (× 96 report prompts)
    ("difference of means", 1.5, 96, 94, 96, 94),
    ("SAE latent added", 2.0, 96, 92, 96, 92),
    ("SAE latent clamped", 4.0, 96, 92, 96, 92),
    ("fine-tuning", 16, 72, 87, 87, 72),
    ("probe", 2.0, 59, 79, 90, 48),
    ("transcoder features clamped", 16.0, 6, 23, 23, 6),
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
    # facts: the difference of means alone at the top, the SAE latent (one latent: no "by effect" rows) next, above
    # fine-tuning, which is above the probe; transcoder clamps last
    order = [r["method"] for r in steering.table(facts_bench[5])]
    assert order[0] == "difference of means" and order[-1] == "transcoder features clamped"
    assert not any("by effect" in m for m in order)
    assert facts["difference of means"]["overall"] > max(r["overall"] for m, r in facts.items() if m != "difference of means")
    for name in ("SAE latent added", "SAE latent clamped"):
        assert facts["fine-tuning"]["overall"] < facts[name]["overall"] < facts["difference of means"]["overall"]
        # the SAE latent names California in every answer and keeps the instruction in 92 of 96
        assert facts[name]["concept"] == 1.0 and round(facts[name]["instruction"] * 96) == 92
    # AxBench's order among difference of means, SAE latent and probe
    assert facts["SAE latent added"]["overall"] > facts["probe"]["overall"] > facts["transcoder features clamped"]["overall"]
    assert facts["fine-tuning"]["overall"] > facts["probe"]["overall"]
    clamps = next(s for s in facts_bench[5] if s.method == "transcoder features clamped")
    assert max(s.concept for s in clamps.choose) == pytest.approx(2 / 48)  # "at most 4 %" on choose
    # couplets: fine-tuning > difference of means > probe > transcoder clamps (top two swapped against facts)
    order = [r["method"] for r in steering.table(couplets_bench[5])]
    assert order == ["fine-tuning", "difference of means", "probe", "transcoder features clamped"]
    assert couplets["fine-tuning"]["overall"] > couplets["difference of means"]["overall"]
    assert facts["fine-tuning"]["overall"] < facts["difference of means"]["overall"]
    # past the best factor, couplets steering breaks fluency
    dm = next(s for s in couplets_bench[5] if s.method == "difference of means")
    assert dm.choose[-1].fluency < 0.5 < dm.choose[dm.best_index].fluency


def test_what_facts_steering_breaks_and_in_which_order(facts_bench):
    sweeps = {s.method: s for s in facts_bench[5]}

    def at(method, factor):
        sweep = sweeps[method]
        return sweep.choose[sweep.factors.index(factor)]

    # the difference of means breaks the instruction first (factor 3), then fluency too (factor 4)
    dm3, dm4 = at("difference of means", 3.0), at("difference of means", 4.0)
    assert dm3.concept == 1.0 and round(dm3.instruction, 2) == 0.44 and dm3.fluency == 1.0
    assert dm4.concept == 1.0 and round(dm4.fluency, 2) == 0.42
    # the probe names California in nearly every answer only from factor 3, with the instruction lost; fluency kept
    probe = sweeps["probe"]
    assert max(s.concept for s in probe.choose[:probe.factors.index(3.0)]) < 0.6
    assert round(at("probe", 3.0).concept, 2) == 0.96 and round(at("probe", 3.0).instruction, 2) == 0.33
    assert round(min(s.fluency for s in probe.choose), 2) == 0.96
    # the SAE latent breaks fluency first
    sae4 = at("SAE latent added", 4.0)
    assert sae4.fluency == 0.0 and round(sae4.instruction, 2) == 0.69
    for method in ("SAE latent added", "SAE latent clamped"):
        broken = next(s for s in sweeps[method].choose if s.overall < 0.9 and s.concept == 1.0)
        assert broken.fluency < broken.instruction
    # fine-tuning: no answer names California for 8 steps, two thirds after 16 (the sweep's largest budget)
    assert at("fine-tuning", 8).concept == 0.0 and at("fine-tuning", 16).concept == pytest.approx(2 / 3)
    assert max(sweeps["fine-tuning"].factors) == 16


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
        ("Dallas itself", 3, 1.0, 1.0),
        ("other cities of Texas", 15, 1.0, 1.0),
        ("capital of Texas", 1, 1.0, 1.0),
        ("cities of other states", 882, 0.23, 0.15),
        ("capitals of other states", 49, 0.24, 0.18),
    ]
    assert sum(e.n for e in effects) == 950
