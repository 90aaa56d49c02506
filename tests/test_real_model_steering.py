"""Steering SmolLM2 toward Texas with notebook 07's bench (notebook 08): the judge-free grader, the shipped
sweep record and every number the notebook's steering section states, recomputed the notebook's way."""

from __future__ import annotations

import pytest
import torch

from workbench import saes, steering

# The notebook's task, cell for cell: prompts that tokenize to one length (one batch), a state asked for.
STATES = ["Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida",
          "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine",
          "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska",
          "Nevada", "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
          "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas",
          "Utah", "Vermont", "Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming"]
OTHER_CITIES = ["Seattle", "Miami", "Denver", "Detroit", "Philadelphia", "Portland", "Memphis", "Milwaukee",
                "Minneapolis", "Cleveland", "Orlando", "Tampa", "Indianapolis", "Columbus", "Cincinnati", "Charlotte",
                "Raleigh", "Richmond", "Omaha", "Boise", "Albuquerque", "Honolulu", "Louisville", "Birmingham",
                "Providence", "Newark", "Reno", "Charleston", "Jacksonville", "Syracuse", "Berkeley", "Burlington",
                "Dayton", "Akron", "Lexington", "Boulder", "Fargo", "Springfield", "Salem", "Helena", "Juneau",
                "Montgomery", "Concord", "Augusta", "Annapolis", "Frankfort", "Little Rock", "Saint Paul"]
TEXAS_CITIES = ["Dallas", "Austin", "Waco", "Galveston", "Plano", "Tyler", "Irving", "Midland", "Denton",
                "Brownsville", "Arlington", "El Paso", "San Antonio", "Fort Worth"]
TEMPLATE = "{} is a city in the state of"
CONCEPT_WORDS = ["Texas", "Dallas", "Houston", "Austin"]
RECORD = "smollm2_texas.json"


def texas_task(model):
    return steering.prompted_task(model, "Texas", [(TEMPLATE.format(c), "state") for c in OTHER_CITIES],
                                  {"state": STATES}, CONCEPT_WORDS, [TEMPLATE.format(c) for c in TEXAS_CITIES],
                                  {"state": "Texas"}, n_tokens=4, n_choose=12, n_report=24)


def texas_methods(model, task, sae):
    return steering.standard_methods(model, task, sae=sae, vector_factors=(0.125, 0.25, 0.5, 1.0, 2.0),
                                     clamp_factors=(1.0, 4.0, 16.0, 64.0), finetune_steps=(), effect_candidates=8)


@pytest.fixture(scope="module")
def bench(smollm2):
    task = texas_task(smollm2)
    methods, choices = texas_methods(smollm2, task, saes.load_sae("smollm2_resid24"))
    sweeps = steering.recorded_sweeps(task, methods, steering.RECORD_DIR / RECORD)
    return task, methods, choices, sweeps


# ---- the grader -------------------------------------------------------------------------------


def test_the_prompts_are_one_batch_and_the_splits_as_stated(smollm2):
    task = texas_task(smollm2)
    assert len({smollm2.to_tokens(case.prompt).shape[1] for case in task.cases}) == 1
    assert {split: len(task.split(split)) for split in steering.SPLITS} == {"train": 12, "choose": 12, "report": 24}
    assert sum(label for _, label in task.examples) == len(TEXAS_CITIES)
    assert task.concept_words == ["ĠAustin", "ĠDallas", "ĠHouston", "ĠTexas"]  # each concept word is one token


def test_grader_reads_concept_and_form_from_the_text(smollm2):
    task = texas_task(smollm2)
    case = task.split("report")[0]

    def tokens(text):
        return smollm2.tokenizer.convert_ids_to_tokens(smollm2.to_tokens(text, prepend_bos=False)[0].tolist())

    assert task.grade(case, tokens(" Texas, and it"))[:2] == (1, 1)
    assert task.grade(case, tokens(" New York, near Dallas"))[:2] == (1, 1)  # a state first, the concept later
    assert task.grade(case, tokens(" the city of Texas"))[:2] == (1, 0)  # the concept, but not a state first
    assert task.grade(case, tokens(" Texasville is"))[:2] == (0, 0)  # whole words only
    assert task.grade(case, tokens(" California that is"))[:2] == (0, 1)


def test_fluency_is_one_for_the_models_own_text_and_low_for_noise(smollm2):
    prompts = [TEMPLATE.format(c) for c in OTHER_CITIES[:4]]
    own = steering.generate(smollm2, prompts, 4)
    assert steering.fluency_in_top_k(smollm2, prompts, own).tolist() == [1.0] * 4
    noise = [smollm2.tokenizer.convert_ids_to_tokens([1000, 2000, 3000, 4000])] * 4
    assert steering.fluency_in_top_k(smollm2, prompts, noise).max() < 0.5


def test_generation_batches_by_token_count(smollm2):
    """Prompts of different token counts are generated apart and land in their own places."""
    prompts = [TEMPLATE.format("Seattle"), TEMPLATE.format("Chicago"), TEMPLATE.format("Miami")]
    together = steering.generate(smollm2, prompts, 3)
    alone = [steering.generate(smollm2, [p], 3)[0] for p in prompts]
    assert together == alone


# ---- the record and the table -----------------------------------------------------------------


def test_the_record_is_what_the_bench_measures(smollm2, bench):
    """Three of the six methods at their chosen factor, recomputed (choose and report together, as the sweep
    batched them): the table's best, an SAE latent added by label and one clamped by effect (all six would
    double the file's time)."""
    task, methods, _, sweeps = bench
    checked = ("difference of means", "SAE latent added", "SAE latent (by effect) clamped")
    for method, recorded in zip(methods, sweeps):
        if method.name not in checked:
            continue
        model, fwd_hooks = method.setup(recorded.best_factor)
        scores = steering.evaluate(model, task, fwd_hooks)
        assert scores["choose"] == recorded.choose[recorded.best_index], method.name
        assert scores["report"] == recorded.reported, method.name


def test_a_record_of_another_task_is_refused(smollm2, bench, tmp_path):
    import json
    import shutil

    task, methods, _, _ = bench
    copy = tmp_path / RECORD
    shutil.copy(steering.RECORD_DIR / RECORD, copy)
    record = json.loads(copy.read_text())
    record["task"]["cases"][0][1] = "train"
    copy.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="another task"):
        steering.recorded_sweeps(task, methods, copy)
    with pytest.raises(ValueError, match="records the methods"):
        steering.recorded_sweeps(task, methods[:1], steering.RECORD_DIR / RECORD)


def test_unsteered_scores(smollm2, bench):
    task = bench[0]
    unsteered = steering.evaluate(smollm2, task, splits=("report",))["report"]  # the notebook's call
    assert (unsteered.concept, unsteered.overall, unsteered.fluency) == (0.0, 0.0, 1.0)
    assert round(unsteered.instruction, 3) == 0.917


def test_the_choices_the_notebook_prints(bench):
    choices = bench[2]
    assert choices.hook == "blocks.24.hook_resid_pre" and round(choices.unit) == 336
    assert (choices.sae_by_label[0], round(choices.sae_by_label[1], 2)) == (762, 0.74)
    assert (choices.sae_by_effect[0], round(choices.sae_by_effect[1], 2)) == (46, 0.12)


def test_the_table_the_notebook_states(bench):
    """Difference of means is the only method that steers to Texas; no SAE latent names Texas on a report prompt."""
    rows = steering.table(bench[3])
    best = rows[0]
    assert best["method"] == "difference of means" and best["factor"] == 0.25
    assert [round(best[k], 2) for k in ("concept", "instruction", "fluency", "overall")] == [0.83, 0.88, 0.94, 0.82]
    probe = next(row for row in rows if row["method"] == "probe")
    assert round(probe["concept"] * 24) == 2
    assert all(row["overall"] <= 0.1 for row in rows[1:])
    sae_sweeps = [s for s in bench[3] if s.method.startswith("SAE")]
    assert len(sae_sweeps) == 4 and all(s.reported.concept == 0.0 for s in sae_sweeps)
    # pushed hard, every SAE method breaks the answer's form (instruction 0 at its largest factor on 'choose')
    assert all(s.choose[-1].instruction == 0.0 for s in sae_sweeps)
    dom = next(s for s in bench[3] if s.method == "difference of means")
    assert dom.choose[2].instruction < dom.choose[1].instruction and dom.choose[3].fluency < dom.choose[2].fluency


def test_the_examples_and_side_effects_the_notebook_states(smollm2, bench):
    task, methods, _, sweeps = bench
    rows = steering.table(sweeps)
    prompt = task.split("report")[0].prompt
    assert prompt == TEMPLATE.format("Seattle")
    assert steering.generate(smollm2, [prompt], 1)[0] == ["ĠCalifornia"]
    best = next(m for m in methods if m.name == rows[0]["method"])
    sae_row = next(row for row in rows if row["method"].startswith("SAE"))
    sae_method = next(m for m in methods if m.name == sae_row["method"])
    assert steering.steered_text(smollm2, best, rows[0]["factor"], prompt, 6).startswith(" Texas")
    assert sae_row["method"] == "SAE latent added"
    assert steering.steered_text(smollm2, sae_method, sae_row["factor"], prompt, 6).startswith(" New York")
    capital_states = [s for s in STATES if s != "Texas" and len(smollm2.to_tokens(" " + s, prepend_bos=False)[0]) == 1]
    groups = {"Texas cities": [TEMPLATE.format(c) for c in TEXAS_CITIES],
              "cities outside Texas": [TEMPLATE.format(c) for c in OTHER_CITIES],
              "capitals of other states": [f"The capital of {s} is the city of" for s in capital_states]}
    unsteered = steering.generate(smollm2, groups["Texas cities"], 1)
    assert sum(words == ["ĠTexas"] for words in unsteered) == 3
    _, best_hooks = best.setup(rows[0]["factor"])
    effects = {e.group: e for e in steering.side_effects(smollm2, groups, best_hooks, task.concept_words)}
    assert [e.n for e in effects.values()] == [14, 48, 39]
    assert round(effects["Texas cities"].to_concept, 2) == 0.86
    assert round(effects["cities outside Texas"].to_concept, 2) == 0.81
    capitals = effects["capitals of other states"]
    assert (round(capitals.changed, 2), capitals.to_concept) == (0.23, 0.0)
