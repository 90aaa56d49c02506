"""Notebook 07's own run: the steering bench toward California (facts) and food (couplets), every method's sweep, the
AxBench-form tables, the shipped table over every state and topic as the notebook read it (its live rows equal to the
shipped ones, each method's mean, spread and first places), the comparison with AxBench, and the side effects of
Dallas → California.

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


def over_concepts(body: str) -> str:
    """``body`` evaluated in the kernel with ``fs``, ``cs``: the facts and couplets summaries by method (mean, std, min,
    max, first, alone over every concept of the shipped table the notebook loaded), ``fe``, ``ce``: their entries by
    concept, ``share``: ``steering.share_of_concepts``, and ``ax``: AxBench's published overall scores."""
    return (f"(lambda fs, cs, fe, ce, share, ax: {body})("
            "{r['method']: r for r in method_summaries['facts']}, {r['method']: r for r in method_summaries['couplets']}, "
            "concept_entries['facts'], concept_entries['couplets'], steering.share_of_concepts, viz.AXBENCH_OVERALL)")


PROBE_ONLY_WITHOUT_INSTRUCTION = "all(x.instruction < 0.5 for x in f['probe'].choose if x.concept >= 0.9)"
SAE_ALL = ("'SAE latent added'", "'SAE latent clamped'", "'SAE latent (by effect) added'", "'SAE latent (by effect) clamped'")
PROBE_ABOVE_EVERY_SAE = "all(fs['probe']['mean'] > fs[m]['mean'] for m in (" + ", ".join(SAE_ALL) + "))"
DOM_BEST_FACTS = ("fs['difference of means']['mean'] == max(r['mean'] for r in fs.values()) "
                  "and fs['difference of means']['std'] == min(r['std'] for r in fs.values()) "
                  "and fs['difference of means']['first'] < len(fe) / 2")
FT_THEN_PROBE = ("[m for m in sorted(fs, key=lambda m: -fs[m]['mean'])][:3] == "
                 "['difference of means', 'fine-tuning', 'probe']")
SAE_WHOLE_RANGE = "fs['SAE latent added']['min'] == 0 and fs['SAE latent added']['max'] == 1"
FT_LARGEST_BUDGET = ("all(next(r for r in e['rows'] if r['method'] == 'fine-tuning')['factor'] == "
                     "max(steering.FINETUNE_STEPS) for e in fe.values())")
CLAMPS_LOWEST_MOST = "share(fe, lambda s: s['transcoder features clamped'] == min(s.values())) > 0.5"
COUPLETS_ORDER = ("cs['fine-tuning']['min'] == 1 and cs['fine-tuning']['alone'] == len(ce) "
                  "and [m for m in sorted(cs, key=lambda m: -cs[m]['mean'])] == "
                  "['fine-tuning', 'difference of means', 'probe', 'transcoder features clamped']")
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
    Wording("Section 4 asks", "a section of this notebook, by number"),
    Rule("On this concept the directions and the SAE latent all reach the concept",
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
    # 3 · couplets (toward food)
    Wording("Steer line 2 of the couplets organism", "the couplet's line, by name"),
    Rule("Here the price of steering is paid in **fluency** as well: past the best factor the line stops being a "
         "couplet line.",
         on_run(f"all(c[m].choose[-1].fluency < 0.5 < c[m].choose[c[m].best_index].fluency "
                f"for m in ('difference of means', 'probe', {T}))")),
    Rule("Toward food the order differs from California's at the top: fine-tuning first, then the difference of means "
         "(toward California the difference of means came first, ahead of fine-tuning); the probe and the transcoder "
         "clamps follow, as toward California.",
         on_run(f"[r['method'] for r in couplets_table] == ['fine-tuning', 'difference of means', 'probe', {T}] "
                "and facts_table[0]['method'] == 'difference of means' "
                f"and fr['fine-tuning']['overall'] > fr['probe']['overall'] > fr[{T}]['overall'] "
                f"and facts_table[-1]['method'] == {T}")),
    # 4 · every state and every topic (the shipped table, read by the notebook)
    Rule("toward Ohio, for instance, the probe beats the difference of means, and the SAE latent that best matches "
         "Ohio's examples barely steers",
         over_concepts("(lambda s: s['probe'] > s['difference of means'] and s['SAE latent added'] < 0.1)"
                       "(steering.overall_by_method(fe['Ohio']))")),
    Rule("That takes about ten CPU-minutes", "9 <= concept_cpu_minutes <= 11"),
    Rule("The cell reads it and checks that California and food, run live above, give exactly the rows it holds.",
         "all(live == concept_entries[task][concept] for (task, concept), live in live_entries.items()) "
         "and set(live_entries) == {('facts', 'California'), ('couplets', 'food')}"),
    Wording('"first" counts the concepts where a method\'s score is the highest of that concept\'s own table, ties '
            'included ("alone": without a tie); where one SAE latent is chosen both by label and by effect it is one '
            'method there', "how the table counts (steering.first_places)"),
    Rule("the difference of means has the best mean and the smallest spread, but it ranks first on fewer than half of "
         "the states", over_concepts(DOM_BEST_FACTS)),
    Rule("Fine-tuning comes second on average, then the probe.", over_concepts(FT_THEN_PROBE)),
    Rule("The SAE latent chosen by label spans the whole range, from steering perfectly on some states to not at all on "
         "others (California is near the top), and its mean falls below the probe's.",
         over_concepts(f"{SAE_WHOLE_RANGE} and fe['California']['rows'][1]['method'] == 'SAE latent added' "
                       "and fs['SAE latent added']['mean'] < fs['probe']['mean']")),
    Rule("picks another latent on about a third of the states, and there that latent steers better in most cases: the "
         "gain they report, which California alone did not show.",
         "0.3 <= len(other_latent) / len(facts_entries) <= 0.37 and effect_wins > len(other_latent) / 2 "
         "and steering.same_latent(facts_entries['California'])"),
    Rule("The **transcoder clamps** score lowest on most states, even though on most states a transcoder feature "
         "matches the state's examples well (an F1 of 0.5 or more)",
         "clamps_last > 0.5 and sum(f >= 0.5 for f in closest_feature) > len(facts_entries) / 2"),
    Rule("fine-tuning steers every topic perfectly; the difference of means comes second on average, though the probe "
         "beats it on one topic; the clamps come last on every topic.",
         over_concepts(f"{COUPLETS_ORDER} and share(ce, lambda s: s['probe'] > s['difference of means']) * len(ce) == 1 "
                       "and share(ce, lambda s: s['transcoder features clamped'] == min(s.values())) == 1")),
    # 5 · against AxBench, over the states
    Rule("of the three methods that read a direction off the examples, the difference of means comes first on average, "
         "well above the probe and the SAE latent, as in AxBench.",
         over_concepts("all(fs['difference of means']['mean'] > fs[m]['mean'] + 0.1 for m in ('probe',) + ("
                       + ", ".join(SAE_ALL) + ")) and ax['DiffMean'] > max(ax['SAE'], ax['probe'])")),
    Rule("AxBench's bottom order, DiffMean > SAE > probe, does not hold on average: the probe's mean is above the SAE "
         "latent's (chosen by label or by effect), and the whole order holds on a fifth of the states.",
         over_concepts(PROBE_ABOVE_EVERY_SAE) + " and axbench_order_share == 0.2"),
    Rule("All three methods score far above AxBench's means",
         over_concepts("all(fs[m]['mean'] > 2 * ax[a] for m, a in (('difference of means', 'DiffMean'), "
                       "('SAE latent added', 'SAE'), ('probe', 'probe')))")),
    Rule("the difference of means beats fine-tuning on average and on most states, where AxBench's SFT beat them all",
         over_concepts("fs['difference of means']['mean'] > fs['fine-tuning']['mean'] and means_beat_finetuning > 0.5 "
                       "and ax['SFT'] > max(ax['DiffMean'], ax['SAE'], ax['probe'])")),
    Rule("the transcoder clamps (which AxBench did not test) come last",
         over_concepts(f"fs[{T}]['mean'] == min(r['mean'] for r in fs.values())")),
    Rule("so the difference of means fitted on them steers every state well",
         over_concepts("fs['difference of means']['min'] > 0.75")),
    Rule("its direction steers less reliably (a lower mean, a wider spread)",
         over_concepts("fs['probe']['mean'] < fs['difference of means']['mean'] "
                       "and fs['probe']['std'] > fs['difference of means']['std']")),
    Rule("some states have a latent that steers perfectly, others get a best-labelled latent that barely steers, which "
         "is why choosing by output effect helps where it picks another latent.",
         over_concepts(SAE_WHOLE_RANGE) + " and effect_wins > len(other_latent) / 2"),
    Wording("A dictionary latent is only as good as the feature the SAE happened to learn", "an explanation"),
    Rule("Fine-tuning is chosen at the largest budget of its sweep on every state, so it is still rising there",
         over_concepts(FT_LARGEST_BUDGET)),
    # 6 · side effects
    Rule("it sends **every** answer about Texas (Dallas's own questions, the other Texas cities', the capital of "
         "Texas) to California or Sacramento", TEXAS_ALL_MOVED),
    Rule("it changes about a quarter of the answers about *other* states, most of those, not all, to California.",
         f"{OTHERS_A_QUARTER} and {OTHERS_MOSTLY_TO_CALIFORNIA}"),
    Wording("(factor 0 is the unsteered model)", "a definition"),
    # the summary, over every concept of the shipped table
    Rule("Over the states of the facts task the difference of means has the best mean score and the smallest spread, "
         "yet ranks first on fewer than half of them; fine-tuning (still rising at its largest budget) and the probe "
         "follow on average, and the SAE latent chosen by label ranges from perfect to useless, better chosen by its "
         "output effect.",
         over_concepts(f"{DOM_BEST_FACTS} and {FT_THEN_PROBE} and {FT_LARGEST_BUDGET} and {SAE_WHOLE_RANGE} "
                       "and fs['SAE latent (by effect) added']['mean'] > fs['SAE latent added']['mean']")),
    Rule("Over the couplets topics fine-tuning is first on every topic, then on average the difference of means and the "
         "probe. Transcoder clamps of a few features score lowest on both tasks.",
         over_concepts(f"{COUPLETS_ORDER} and fs[{T}]['mean'] == min(r['mean'] for r in fs.values())")),
    Rule("One concept (California) would have told another story: there the SAE latent came second and choosing it by "
         "effect changed nothing.",
         "facts_table[1]['method'].startswith('SAE latent') and steering.same_latent(facts_entries['California'])"),
    Rule("Of its bottom order (DiffMean > SAE > probe) only the first place holds over our states, at far higher "
         "scores: on average the probe beats the SAE latent.",
         over_concepts(f"fs['difference of means']['mean'] > max(fs[m]['mean'] for m in ('probe',) + ({', '.join(SAE_ALL)})) "
                       f"and {PROBE_ABOVE_EVERY_SAE} "
                       "and all(fs[m]['mean'] > 2 * ax[a] for m, a in (('difference of means', 'DiffMean'), "
                       "('SAE latent added', 'SAE'), ('probe', 'probe')))")),
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
    """The comparison cell prints AxBench's score beside each method's mean over the states, for the methods both run."""
    ours, pairs = run.value("[facts_means, ours_for_axbench]")
    assert ours == {r["method"]: r["mean"] for r in run.value("method_summaries['facts']")}
    assert set(pairs) <= set(run.value("viz.AXBENCH_OVERALL")) and set(pairs.values()) <= set(ours)


# ---- over every concept: the shipped table as the notebook read it ------------------------------------------------

def test_the_live_rows_are_the_shipped_rows(run):
    """California and food, run live in the notebook, give the very rows (and choices) of the shipped table."""
    from workbench import steering

    shipped = steering.read_concept_record()["tasks"]
    live = run.value("{f'{t} {c}': e for (t, c), e in live_entries.items()}")
    assert live == {"facts California": shipped["facts"]["concepts"]["California"],
                    "couplets food": shipped["couplets"]["concepts"]["food"]}
    assert run.value("concept_entries") == {task: record["concepts"] for task, record in shipped.items()}


# method: mean, std, min, max, first (ties included), alone; over the 50 states and the 4 topics
FACTS_SUMMARY = [
    ("difference of means", 0.922, 0.056, 0.771, 1.000, 23, 18),
    ("fine-tuning", 0.868, 0.088, 0.479, 0.979, 12, 10),
    ("probe", 0.787, 0.137, 0.406, 0.990, 6, 5),
    ("SAE latent (by effect) added", 0.776, 0.197, 0.052, 1.000, 2, 1),
    ("SAE latent (by effect) clamped", 0.766, 0.215, 0.021, 1.000, 2, 0),
    ("SAE latent clamped", 0.694, 0.289, 0.000, 1.000, 9, 3),
    ("SAE latent added", 0.692, 0.290, 0.000, 1.000, 11, 3),
    ("transcoder features clamped", 0.174, 0.172, 0.000, 0.594, 0, 0),
]
COUPLETS_SUMMARY = [
    ("fine-tuning", 1.000, 0.000, 1.000, 1.000, 4, 4),
    ("difference of means", 0.826, 0.055, 0.760, 0.906, 0, 0),
    ("probe", 0.719, 0.075, 0.615, 0.823, 0, 0),
    ("transcoder features clamped", 0.339, 0.132, 0.198, 0.552, 0, 0),
]


@pytest.mark.parametrize("task, expected", [("facts", FACTS_SUMMARY), ("couplets", COUPLETS_SUMMARY)])
def test_each_methods_mean_spread_and_first_places(run, task, expected):
    rows = run.value(f"method_summaries['{task}']")
    got = [(r["method"], *(round(r[k], 3) for k in ("mean", "std", "min", "max")), r["first"], r["alone"])
           for r in rows]
    assert got == expected
    assert all(r["n"] == (50 if task == "facts" else 4) for r in rows)


def test_what_the_notebook_counts_over_the_states(run):
    other, wins, closest, clamps_last, order, beat_ft = run.value(
        "[len(other_latent), effect_wins, sum(f >= 0.5 for f in closest_feature), clamps_last, axbench_order_share, "
        "means_beat_finetuning]")
    assert (other, wins, closest) == (17, 12, 34)
    assert (clamps_last, order, beat_ft) == (0.9, 0.2, 0.64)


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
