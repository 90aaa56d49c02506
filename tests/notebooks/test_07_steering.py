"""Notebook 07's own run: the steering bench toward California (facts) and food (couplets), every method's sweep, the
AxBench-form tables, the comparison with AxBench, and the side effects of Dallas → California.

Reads the values notebook 07's kernel computed; the steering package on hand-made inputs (the graders on invented
generations, the harmonic mean, hooks at rest, the SAE clamp's arithmetic, generation with a cache) is tested in
``tests/test_steering.py``.
"""

from __future__ import annotations

import pytest

from tests.claims import Cited, Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "07_steering.ipynb"
T = "'transcoder features clamped'"
SAE = "('SAE latent added', 'SAE latent clamped')"


def on_run(body: str) -> str:
    """``body`` evaluated in the kernel with ``f``, ``c``: the facts and couplets sweeps by method, ``fr``, ``cr``:
    their table rows by method, and ``ax``: AxBench's published overall scores."""
    return (f"(lambda f, c, fr, cr, ax: {body})({{s.method: s for s in facts_sweeps}}, "
            "{s.method: s for s in couplets_sweeps}, {r['method']: r for r in facts_table}, "
            "{r['method']: r for r in couplets_table}, viz.AXBENCH_OVERALL)")


PROBE_ONLY_WITHOUT_INSTRUCTION = "all(x.instruction < 0.5 for x in f['probe'].choose if x.concept >= 0.9)"
FINE_TUNING_RISING = ("f['fine-tuning'].choose[-1].overall > f['fine-tuning'].choose[-2].overall "
                      "and fr['fine-tuning']['factor'] == max(f['fine-tuning'].factors)")
AXBENCH_ORDER_HERE = ("fr['difference of means']['overall'] > max(fr[m]['overall'] for m in " + SAE + ") "
                      "and min(fr[m]['overall'] for m in " + SAE + ") > fr['probe']['overall'] "
                      "and ax['DiffMean'] > ax['SAE'] > ax['probe']")
FAR_ABOVE_AXBENCH = ("all(fr[m]['overall'] > 2 * ax[a] for m, a in (('difference of means', 'DiffMean'), "
                     "('SAE latent added', 'SAE'), ('SAE latent clamped', 'SAE'), ('probe', 'probe')))")
TEXAS_ALL_MOVED = "all(e.changed == 1 == e.to_concept for e in dallas_effects if 'other states' not in e.group)"
OTHERS_A_QUARTER = "all(0.2 <= e.changed <= 0.3 for e in dallas_effects if 'other states' in e.group)"
OTHERS_MOSTLY_TO_CALIFORNIA = ("all(0.5 < e.to_concept / e.changed < 1 for e in dallas_effects "
                               "if 'other states' in e.group)")

CLAIMS = [
    # the introduction
    Wording("on Gemma-2", "a model's name"),
    Cited("an LLM judge scoring each generation 0–2", "AxBench (Wu et al. 2025): the judge's scale"),
    Rule("Their ranking put prompting first, then the fine-tunes (LoReFT, SFT, LoRA), and far below them DiffMean, "
         "then SAE latents, then the probe",
         "(lambda a: a['prompting'] == max(a.values()) and min(a['LoReFT'], a['SFT'], a['LoRA']) > 2 * a['DiffMean'] "
         "and a['DiffMean'] > a['SAE'] > a['probe'])(viz.AXBENCH_OVERALL)"),
    Wording("(steer line 2's topic)", "the couplet's line, by name"),
    # 1 · the facts task and the exercises
    Wording("three exact 0/1 scores", "a definition: each score is true or false"),
    Rule("on prompts the choice never saw",
         "all(not {c.prompt for c in t.split('choose')} & {c.prompt for c in t.split('report')} "
         "for t in (facts_task, couplets_task))"),
    Rule("Unsteered, the model answers correctly and fluently and never names California",
         "all(s.concept == 0 and s.instruction == 1 and s.fluency == 1 for s in facts_baseline.values())"),
    Claim("so its overall score is 0", "facts_baseline['report'].overall"),
    Wording("prompts labelled 1 when their true answer concerns California (its cities' questions, its capital "
            "question) and 0 otherwise", "a definition"),
    Wording("factor 1 adds a vector as long as a typical residual", "a definition of the factor's unit"),
    Wording("(0 if any of them is 0)", "a definition"),
    Wording("the harmonic mean of a generation is 1 exactly when all three hold", "arithmetic of exact scores"),
    # 2 · every method
    Claim("entering block 1", "int(facts_choices.hook.split('.')[1])"),
    Wording("whose direction most raises the probability of California's words", "how the method chooses"),
    Rule("(hundreds of sentences", "100 <= len(facts_task.split('train')) < 1000"),
    Rule("The directions and the SAE latent all reach the concept",
         on_run("all(max(x.concept for x in f[m].choose) >= 0.95 "
                "for m in ('difference of means', 'probe', 'SAE latent added', 'SAE latent clamped'))")),
    Rule("Pushed past its best factor, the difference of means breaks the **instruction** first (it names California, "
         "but not as the type of answer asked for) while fluency holds, and breaks fluency too at its largest factor.",
         on_run("(lambda s: s.choose[s.best_index + 1].concept == 1 and s.choose[s.best_index + 1].instruction < 1 "
                "and all(x.fluency == 1 for x in s.choose[:-1]) and s.choose[-1].fluency < 0.5)"
                "(f['difference of means'])")),
    Rule("The probe names California in nearly every answer only once the instruction is lost",
         on_run("max(x.concept for x in f['probe'].choose) >= 0.9 and " + PROBE_ONLY_WITHOUT_INSTRUCTION)),
    Rule("it keeps fluency throughout", on_run("min(x.fluency for x in f['probe'].choose) >= 0.9")),
    Rule("The SAE latent breaks **fluency** first.",  # at the first factor past its best where it breaks
         on_run("all((lambda b: b.fluency < b.instruction)(next(x for x in f[m].choose[f[m].best_index:] "
                "if x.overall < 0.9)) for m in " + SAE + ")")),
    Rule("Fine-tuning names California in no answer for its first budgets and in most answers only at the largest "
         "budget the sweep tries.",
         on_run("all(x.concept == 0 for x in f['fine-tuning'].choose[:-1]) "
                "and f['fine-tuning'].choose[-1].concept > 0.5")),
    Rule("The transcoder clamps break instruction and fluency and barely reach the concept.",
         on_run(f"max(x.concept for x in f[{T}].choose) <= 0.05 and f[{T}].choose[-1].instruction < 0.5 "
                f"and f[{T}].choose[-1].fluency < 0.5")),
    # 3 · against AxBench
    Rule("the difference of means, the SAE latent and the probe come in AxBench's order: the difference of means "
         "first, then the SAE latent (added or clamped), then the probe.", on_run(AXBENCH_ORDER_HERE)),
    Rule("all three score far above AxBench's", on_run(FAR_ABOVE_AXBENCH)),
    Rule("the difference of means and the SAE latent beat fine-tuning, where AxBench's SFT beat them all",
         on_run("min(fr[m]['overall'] for m in ('difference of means',) + " + SAE + ") > fr['fine-tuning']['overall'] "
                "and ax['SFT'] > max(ax['DiffMean'], ax['SAE'], ax['probe'])")),
    Rule("the transcoder clamps (which AxBench did not test) come last", f"facts_table[-1]['method'] == {T}"),
    Rule("at its chosen factor it names California in fewer answers than the difference of means or the SAE latent, "
         "and it reaches the concept only where the instruction is lost",
         on_run("fr['probe']['concept'] < min(fr[m]['concept'] for m in ('difference of means',) + " + SAE + ") and "
                + PROBE_ONLY_WITHOUT_INSTRUCTION)),
    Rule("The SAE's best latent matches the concept's examples less than exactly", "facts_choices.sae_by_label[1] < 1"),
    Rule("yet steering with it names California in every report answer and keeps the instruction in nearly all",
         on_run("all(fr[m]['concept'] == 1 and fr[m]['instruction'] >= 0.9 for m in " + SAE + ")")),
    # generalises from one concept (California): issue 25 item 4 re-runs the bench over every concept
    Rule("Choosing the latent by its output effect picks **the same latent** here, so there is no gap for that "
         "choice to close: the gain Arad et al. found does not appear on this organism.",
         on_run("facts_choices.sae_by_effect[0] == facts_choices.sae_by_label[0] "
                "and not any('by effect' in m for m in fr)")),
    Rule("Fine-tuning is still rising at the largest budget of the sweep.", on_run(FINE_TUNING_RISING)),
    Rule("The transcoder features that best match the concept are broad in both layers (F1 below 0.4: no California "
         "feature)",
         "max(x[2] for x in facts_choices.clt_features) < 0.4 "
         "and sorted({x[0] for x in facts_choices.clt_features}) == list(range(facts_model.cfg.n_layers))"),
    Rule("clamping them breaks instruction and fluency while naming California in few answers",
         on_run(f"fr[{T}]['concept'] < 0.1 and fr[{T}]['instruction'] < 0.5 and fr[{T}]['fluency'] < 0.5")),
    # 4 · side effects
    Rule("it sends **every** answer about Texas (Dallas's own questions, the other Texas cities', the capital of "
         "Texas) to California or Sacramento", TEXAS_ALL_MOVED),
    Rule("it changes about a quarter of the answers about *other* states, most of those, not all, to California.",
         f"{OTHERS_A_QUARTER} and {OTHERS_MOSTLY_TO_CALIFORNIA}"),
    # 5 · couplets
    Wording("Steer line 2 of the couplets organism", "the couplet's line, by name"),
    Rule("Here the price of steering is paid in **fluency** as well: past the best factor the line stops being a "
         "couplet line.",
         on_run(f"all(c[m].choose[-1].fluency < 0.5 < c[m].choose[c[m].best_index].fluency "
                f"for m in ('difference of means', 'probe', {T}))")),
    # "on facts" generalises from one concept (California)
    Rule("The order differs from the facts task's at the top: fine-tuning first, then the difference of means (on "
         "facts the difference of means came first, ahead of fine-tuning); the probe and the transcoder clamps "
         "follow, as on facts.",
         on_run(f"[r['method'] for r in couplets_table] == ['fine-tuning', 'difference of means', 'probe', {T}] "
                "and facts_table[0]['method'] == 'difference of means' "
                f"and fr['fine-tuning']['overall'] > fr['probe']['overall'] > fr[{T}]['overall'] "
                f"and facts_table[-1]['method'] == {T}")),
    Wording("(factor 0 is the unsteered model)", "a definition"),
    # the summary; "On facts" and "holds on facts" generalise from one concept (California)
    Rule("On facts the difference of means scores highest, the SAE latent (the same one chosen by label or by effect) "
         "nearly as high, then fine-tuning (still rising at its largest budget) and the probe; on couplets "
         "fine-tuning is first, then the difference of means and the probe. Transcoder clamps of a few features "
         "score lowest on both.",
         on_run("fr['difference of means']['overall'] > max(fr[m]['overall'] for m in " + SAE + ") "
                "> fr['difference of means']['overall'] - 0.05 "
                "and min(fr[m]['overall'] for m in " + SAE + ") > fr['fine-tuning']['overall'] "
                f"> fr['probe']['overall'] > fr[{T}]['overall'] and " + FINE_TUNING_RISING + " "
                f"and [r['method'] for r in couplets_table] == ['fine-tuning', 'difference of means', 'probe', {T}]")),
    Rule("its bottom order (DiffMean > SAE > probe) holds on facts at far higher scores",
         on_run(f"{AXBENCH_ORDER_HERE} and {FAR_ABOVE_AXBENCH}")),
    Rule("the Dallas → California rewrite moves every Texas answer and about a quarter of the answers about other "
         "states", f"{TEXAS_ALL_MOVED} and {OTHERS_A_QUARTER}"),
]


# ---- the values the notebook prints, as the run computed them --------------------------------------------------

SWEEPS = ("{{s.method: {{'factors': s.factors, 'best': s.best_index, 'reported_is_best': s.reported is "
          "s.report[s.best_index], 'choose': [x.as_dict() for x in s.choose]}} for s in {}}}")


@pytest.fixture(scope="module")
def facts(run):
    return run.value(SWEEPS.format("facts_sweeps"))


@pytest.fixture(scope="module")
def couplets(run):
    return run.value(SWEEPS.format("couplets_sweeps"))


def at(sweeps, method, factor):
    return sweeps[method]["choose"][sweeps[method]["factors"].index(factor)]


def test_splits_and_the_unsteered_model(run):
    assert run.value("{s: len(facts_task.split(s)) for s in steering.SPLITS}") == {"train": 787, "choose": 48,
                                                                                  "report": 96}
    assert run.value("{s: len(couplets_task.split(s)) for s in steering.SPLITS}") == {"train": 240, "choose": 48,
                                                                                     "report": 96}
    for baseline in ("facts_baseline", "couplets_baseline"):
        assert run.value(f"{baseline}['report'].as_dict()") == {"concept": 0.0, "instruction": 1.0, "fluency": 1.0,
                                                                 "overall": 0.0}


def test_what_the_facts_methods_were_built_from(run):
    hook, unit, by_label, by_effect, clt_features = run.value(
        "[facts_choices.hook, facts_choices.unit, facts_choices.sae_by_label, facts_choices.sae_by_effect, "
        "facts_choices.clt_features]")
    assert hook == "blocks.1.hook_resid_pre" == run.value("facts_sae.cfg.metadata.hook_name")
    # notebook 00b's rewrite (the side effects) is read and added at the same hook
    assert run.value("__import__('workbench.organisms.facts', fromlist=['_']).STATE_SWAP_HOOK") == hook
    assert unit == pytest.approx(5.83, abs=0.005)
    assert by_label[0] == 422 and by_label[1] == pytest.approx(0.83, abs=0.005)
    assert by_effect[0] == by_label[0]  # choosing by effect picks the same latent
    assert by_effect[1] == pytest.approx(0.55, abs=0.005)
    assert [(layer, index) for layer, index, _ in clt_features] == [(0, 77), (0, 54), (1, 87), (1, 94)]
    assert [round(f1, 2) for _, _, f1 in clt_features] == [0.23, 0.20, 0.36, 0.31]


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


@pytest.mark.parametrize("table, expected", [("facts_table", FACTS_TABLE), ("couplets_table", COUPLETS_TABLE)])
def test_the_axbench_form_tables(run, table, expected):
    rows = run.value(table)
    got = [(r["method"], r["factor"], *(round(r[k] * 96) for k in ("concept", "instruction", "fluency", "overall")))
           for r in rows]
    assert got == expected
    for r in rows:
        assert r["overall"] * 96 == pytest.approx(round(r["overall"] * 96))  # counts of 96 exactly


def test_each_factor_is_chosen_on_choose_and_reported_on_report(facts, couplets):
    for sweeps in (facts, couplets):
        for sweep in sweeps.values():
            overall = [x["overall"] for x in sweep["choose"]]
            assert overall[sweep["best"]] == max(overall) and sweep["reported_is_best"]


def test_the_rankings_the_notebook_states(run, facts):
    facts_rows = {r["method"]: r for r in run.value("facts_table")}
    order = list(facts_rows)
    assert order[0] == "difference of means" and order[-1] == "transcoder features clamped"
    assert not any("by effect" in m for m in order)  # one latent: no "by effect" rows
    assert facts_rows["difference of means"]["overall"] > max(
        r["overall"] for m, r in facts_rows.items() if m != "difference of means")
    for name in ("SAE latent added", "SAE latent clamped"):
        assert facts_rows["fine-tuning"]["overall"] < facts_rows[name]["overall"] < \
            facts_rows["difference of means"]["overall"]
        assert facts_rows[name]["concept"] == 1.0 and round(facts_rows[name]["instruction"] * 96) == 92
    assert facts_rows["SAE latent added"]["overall"] > facts_rows["probe"]["overall"] > \
        facts_rows["transcoder features clamped"]["overall"]
    assert facts_rows["fine-tuning"]["overall"] > facts_rows["probe"]["overall"]
    clamps = facts["transcoder features clamped"]["choose"]
    assert max(x["concept"] for x in clamps) == pytest.approx(2 / 48)
    couplets_rows = {r["method"]: r for r in run.value("couplets_table")}
    assert list(couplets_rows) == ["fine-tuning", "difference of means", "probe", "transcoder features clamped"]
    assert couplets_rows["fine-tuning"]["overall"] > couplets_rows["difference of means"]["overall"]


def test_what_couplets_steering_breaks_past_the_best_factor(couplets):
    means = couplets["difference of means"]
    assert means["choose"][-1]["fluency"] < 0.5 < means["choose"][means["best"]]["fluency"]


def test_what_facts_steering_breaks_and_in_which_order(facts):
    # the difference of means breaks the instruction first (factor 3), then fluency too (factor 4)
    dm3, dm4 = at(facts, "difference of means", 3.0), at(facts, "difference of means", 4.0)
    assert dm3["concept"] == 1.0 and round(dm3["instruction"], 2) == 0.44 and dm3["fluency"] == 1.0
    assert dm4["concept"] == 1.0 and round(dm4["fluency"], 2) == 0.42
    # the probe names California in nearly every answer only from factor 3, with the instruction lost; fluency kept
    probe = facts["probe"]
    assert max(x["concept"] for x in probe["choose"][:probe["factors"].index(3.0)]) < 0.6
    assert round(at(facts, "probe", 3.0)["concept"], 2) == 0.96 and round(at(facts, "probe", 3.0)["instruction"], 2) == 0.33
    assert round(min(x["fluency"] for x in probe["choose"]), 2) == 0.96
    # the SAE latent breaks fluency first
    sae4 = at(facts, "SAE latent added", 4.0)
    assert sae4["fluency"] == 0.0 and round(sae4["instruction"], 2) == 0.69
    for method in ("SAE latent added", "SAE latent clamped"):
        broken = next(x for x in facts[method]["choose"] if x["overall"] < 0.9 and x["concept"] == 1.0)
        assert broken["fluency"] < broken["instruction"]
    # fine-tuning: no answer names California for 8 steps, two thirds after 16 (the sweep's largest budget)
    assert at(facts, "fine-tuning", 8)["concept"] == 0.0 and at(facts, "fine-tuning", 16)["concept"] == pytest.approx(2 / 3)
    assert max(facts["fine-tuning"]["factors"]) == 16


def test_axbench_beside_ours(run):
    """The comparison cell prints AxBench's score beside the facts table's overall for the methods both run."""
    ours, pairs = run.value("[facts_overall, ours_for_axbench]")
    assert ours == {r["method"]: r["overall"] for r in run.value("facts_table")}
    assert set(pairs) <= set(run.value("viz.AXBENCH_OVERALL")) and set(pairs.values()) <= set(ours)


def test_dallas_to_california_side_effects(run):
    got = [(group, n, round(changed, 2), round(to_concept, 2)) for group, n, changed, to_concept in
           run.value("[[e.group, e.n, e.changed, e.to_concept] for e in dallas_effects]")]
    assert got == [
        ("Dallas itself", 3, 1.0, 1.0),
        ("other cities of Texas", 15, 1.0, 1.0),
        ("capital of Texas", 1, 1.0, 1.0),
        ("cities of other states", 882, 0.23, 0.15),
        ("capitals of other states", 49, 0.24, 0.18),
    ]
    assert sum(n for _, n, _, _ in got) == 950
