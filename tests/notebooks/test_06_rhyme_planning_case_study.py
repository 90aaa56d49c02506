"""Notebook 06's own run: planning in rhyming couplets on the three couplets organisms and their transcoders.

Reads the values notebook 06's kernel computed (``workbench.case_studies.planning`` on ``couplets``,
``couplets_lookback`` and ``couplets_control``): the transcoders' recorded fidelity, the labelled newline features,
the graphs of the rhyme word, suppression and injection at the newline, injection at every position, the
probe-versus-intervention table, and the rewrite by features or by a direction. The F1, clamp and mean-difference
exercises are tested in ``tests/test_exercises.py``; the organisms themselves in ``tests/test_couplets.py``.
"""

from __future__ import annotations

import pytest

from tests.claims import Cited, Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "06_rhyme_planning_case_study.ipynb"
ORGANISMS = ["couplets", "couplets_lookback", "couplets_control"]
PAPER = "Lindsey et al. 2025, On the Biology of a Large Language Model, §Planning"
NEWLINE = 7  # the position of <nl> in a couplet (workbench.organisms.couplets.NEWLINE_POSITION)
COUNTS = "labels['{}'].counts()"
TABLE_ROW = "table['{}']['{}']"
SUPPRESSED, INJECTED = "suppression: B gone", "injection: ends with injected word"
ONLY_AT_NEWLINE = "profiles['{0}'][7] {1} and all(rate == 0 for p, rate in profiles['{0}'].items() if p != 7)"

CLAIMS = [
    # Introduction
    Wording("Claude 3.5 Haiku", "the name of the model the paper studies"),
    Cited("planned-word features are active there in about half the poems examined", PAPER),
    Cited("ends the line with that word in 70 % of 25 poems", PAPER),
    Claim("the second line sees only its last 6 positions", "loaded['couplets_lookback'][1].model_config.lookback"),
    Rule("a probe decodes B at the newline, yet nothing has to use it there",
         f"{TABLE_ROW.format('couplets_control', 'probe accuracy')} >= 0.95 and "
         f"{TABLE_ROW.format('couplets_control', SUPPRESSED)} == 0 == {TABLE_ROW.format('couplets_control', INJECTED)}"),
    # 1 · transcoders
    Rule("on couplets of the held-out pairs, which the organisms never trained on",
         "all(records[n]['heldout_sentences'] == min(1000, len(loaded[n][1].heldout_sentences())) and "
         "set(loaded[n][1].heldout_sentences()).isdisjoint(loaded[n][1].training_sentences()) for n in ORGANISMS)"),
    Wording("top-1 agreement", "the metric's name: agreement on the most likely token"),
    Rule("a replacement that agrees with the original wherever the original has decided, and still rhymes",
         "all(r['fidelity']['top1_agreement_decided'] == 1.0 and r['behaviour']['rhyme_accuracy'] == 1.0 "
         "for r in records.values())"),
    # 2 · labelled features, graphs
    Claim("A label needs F1 ≥ 0.5", "case_studies.MIN_F1"),
    Rule("Only the planning demo has **planned-word features**, and they light up on held-out first lines",
         f"{COUNTS.format('couplets')}['planned word'] > 0 and planned_shares['couplets'] > 0 and "
         "all(labels[n].counts()['planned word'] == 0 for n in ORGANISMS[1:])"),
    Cited("the paper's \"about half the poems\"", PAPER),
    Rule("Its other newline features carry the two facts that decide B, the topic and the rhyme class",
         f"{COUNTS.format('couplets')}['topic'] > 0 and {COUNTS.format('couplets')}['rhyme class of A'] > 0"),
    Rule("The lookback organism's newline features carry the topic and the subject, none the rhyme class or B",
         f"[{COUNTS.format('couplets_lookback')}[k] > 0 for k in ('topic', 'subject', 'rhyme class of A', "
         f"'planned word')] == [True, True, False, False]"),
    Rule("the control's carry almost nothing labelled",  # "almost nothing": under 1 % of its <nl> features
         f"sum({COUNTS.format('couplets_control')}.values()) < "
         "0.01 * loaded['couplets_control'][2].config.n_layers * loaded['couplets_control'][2].config.d_features"),
    Rule("B's own graph puts little of its influence at `<nl>`", "newline_shares['couplets']['last'] < 0.1"),
    Rule("the adjective, the line's first word, is decided at `<nl>`", "newline_shares['couplets']['first'] > 0.5"),
    Rule("In every organism the first word's graph sits at `<nl>`",
         "all(newline_shares[n]['first'] > 0.5 for n in ORGANISMS)"),
    # 3 · suppress and inject
    Claim("set the plan of another word to 2 × its mean activation", "case_studies.INJECTION_SCALE"),
    Wording("a clamp adds only the change", "what a clamp does"),
    Rule("Suppression removes B from a minority of held-out lines", "0 < 1 - suppressed.rate('the plan B') < 0.5"),
    Rule("most of what appears instead is **another rhyme of A**",
         "suppressed.rate('another rhyme of A') > 0.5 * (1 - suppressed.rate('the plan B'))"),
    Claim("ends the line with it in **71.9 %**", "100 * injected.rate('injected word')"),
    Cited("beside the paper's 70 %", PAPER),
    Rule("every such line opens with the injected word's adjective", "follows == 1.0"),
    Rule("The stronger the injection, the more lines follow it", "scale_rates[1.0] < scale_rates[2.0] < scale_rates[3.0]"),
    # 4 · where the plan lives
    Rule("only the newline works in the demo: injected anywhere else, the word never ends the line",
         ONLY_AT_NEWLINE.format("couplets", "> 0.5")),
    Rule("the same injection barely works even at the newline, and nowhere else",  # "barely": below 0.1
         ONLY_AT_NEWLINE.format("couplets_lookback", "< 0.1")),
    Rule("in the control, nowhere", "all(rate == 0 for rate in profiles['couplets_control'].values())"),
    # 5 · a probe against interventions
    Rule("A linear probe for B at the newline is near-perfect in all three, and near-perfect even on an untrained model",
         "all(table[n]['probe accuracy'] >= 0.95 and recorded[n]['untrained_probe_accuracy'] >= 0.95 for n in ORGANISMS)"),
    Rule("The demo plans with features: suppression and injection both act",
         f"{TABLE_ROW.format('couplets', SUPPRESSED)} > 0.2 and {TABLE_ROW.format('couplets', INJECTED)} > 0.5"),
    Rule("The **control** shows a near-perfect probe and no planning features, and interventions that do nothing",
         f"{TABLE_ROW.format('couplets_control', 'probe accuracy')} >= 0.95 and "
         f"{COUNTS.format('couplets_control')}['planned word'] == 0 and "
         f"{TABLE_ROW.format('couplets_control', SUPPRESSED)} == 0 == {TABLE_ROW.format('couplets_control', INJECTED)}"),
    # What notebook 00b measured (recorded with the checkpoint): the <nl> residual of a donor with the same A and a
    # subject of another topic moves B. Not that the lookback organism reads its rhyme or planned word there.
    Rule("patching the newline residual moves B", "recorded['couplets_lookback']['plan_patch_success'] >= 0.9"),
    Rule("its transcoder features at `<nl>` carry the topic and the subject but no rhyme class and no planned word",
         f"[{COUNTS.format('couplets_lookback')}[k] > 0 for k in ('topic', 'subject', 'rhyme class of A', "
         f"'planned word')] == [True, True, False, False]"),
    Rule("feature interventions barely act",
         f"{TABLE_ROW.format('couplets_lookback', SUPPRESSED)} < 0.1 and {TABLE_ROW.format('couplets_lookback', INJECTED)} < 0.1"),
    Rule("MLP transcoder features neither read out as a label",
         f"{COUNTS.format('couplets_lookback')}['planned word'] == 0 == {COUNTS.format('couplets_lookback')}['rhyme class of A']"),
    Rule("a residual direction can:", "comparisons['couplets_lookback']['direction']['success'] > 0.9"),
    # 6 · features or a direction
    Rule("Within a rhyme class both work in the demo and in the lookback organism",
         "all(comparisons[n][way]['success'] > 0.9 for n in ORGANISMS[:2] for way in ('direction', 'features'))"),
    Rule("the new word differs from B only in topic, and topic features exist there",
         "(lambda w: all(w.rhyme_class_of[new] == w.rhyme_class_of[w.target(s, a)] and "
         "w.topic_of[new] != w.topic_of[w.target(s, a)] for s, a, _, new in w.rewrite_cases()))(loaded['couplets_lookback'][1])"
         f" and {COUNTS.format('couplets_lookback')}['topic'] > 0"),
    Rule("with no side effects: every line is still well-formed",
         "all(r['well_formed'] == 1.0 for c in comparisons.values() for r in c.values())"),
    Rule("In the control neither moves B, as the plan is not read from the newline",
         "comparisons['couplets_control']['direction']['success'] == 0 == comparisons['couplets_control']['features']['success']"
         " and recorded['couplets_control']['plan_patch_success'] <= 0.1"),
    Rule("in the lookback organism they reach the topic but not the rhyme",
         "comparisons['couplets_lookback']['features']['success'] > 0.9 and "
         f"{COUNTS.format('couplets_lookback')}['topic'] > 0 == {COUNTS.format('couplets_lookback')}['rhyme class of A']"),
    # Summary
    Rule("planned-word features at the newline for about half its words",  # "about half": within 0.1 of one half
         "abs(len(labels['couplets'].planned_words()) / len(demo_world.nouns) - 0.5) <= 0.1"),
    Rule("suppressing the plan swaps B for another rhyme",  # the most common ending other than B itself
         "max((r, k) for k, r in suppressed.breakdown().items() if k != 'the plan B')[1] == 'another rhyme of A'"),
    Rule("ends the line with it about as often as in the paper",  # within 5 points of the paper's 70 %
         "abs(injected.rate('injected word') - 0.70) < 0.05"),
    Rule("only at the newline", ONLY_AT_NEWLINE.format("couplets", "> 0.5")),
    Rule("the line's first word follows", "follows == 1.0"),
    Rule("A probe decodes B in all three organisms; only interventions tell the planner from the control",
         f"all(table[n]['probe accuracy'] >= 0.95 for n in ORGANISMS) and {TABLE_ROW.format('couplets', INJECTED)} > 0.5"
         f" and {TABLE_ROW.format('couplets_control', SUPPRESSED)} == 0 == {TABLE_ROW.format('couplets_control', INJECTED)}"),
    Rule("transcoder-feature interventions fail",
         f"{TABLE_ROW.format('couplets_lookback', SUPPRESSED)} < 0.1 and {TABLE_ROW.format('couplets_lookback', INJECTED)} < 0.1"),
]

# The probe-versus-intervention table (section 5), per organism.
TABLE = {
    "couplets": {"probe accuracy": 1.0, "planned words with features": 33 / 64,
                 "held-out lines with planned-word features": 0.352, SUPPRESSED: 0.367, INJECTED: 0.75},
    "couplets_lookback": {"probe accuracy": 0.996, "planned words with features": 0.0,
                          "held-out lines with planned-word features": 0.0, SUPPRESSED: 0.031, INJECTED: 0.039},
    "couplets_control": {"probe accuracy": 1.0, "planned words with features": 0.0,
                         "held-out lines with planned-word features": 0.0, SUPPRESSED: 0.0, INJECTED: 0.0},
}
LABEL_COUNTS = {
    "couplets": {"planned word": 45, "rhyme class of A": 66, "topic": 119, "word A": 6, "subject": 0},
    "couplets_lookback": {"planned word": 0, "rhyme class of A": 0, "topic": 49, "word A": 0, "subject": 36},
    "couplets_control": {"planned word": 0, "rhyme class of A": 0, "topic": 0, "word A": 2, "subject": 0},
}
GRAPH_SHARES = {"couplets": (0.01, 0.77), "couplets_lookback": (0.11, 0.86), "couplets_control": (0.01, 0.92)}
REWRITE = {"couplets": (1.0, 0.992), "couplets_lookback": (1.0, 0.965), "couplets_control": (0.0, 0.0)}  # direction, features


def test_shipped_transcoders_are_faithful(run):
    for name, record in run.value("records").items():
        assert record["fidelity"]["top1_agreement_decided"] == pytest.approx(1.0), name
        assert record["behaviour"]["rhyme_accuracy"] == pytest.approx(1.0), name
        assert record["fidelity"]["kl"] < 1e-3, name


def test_labels_per_organism(run):
    assert run.value("{name: labels[name].counts() for name in ORGANISMS}") == LABEL_COUNTS


def test_graph_of_the_rhyme_word(run):
    shares = run.value("newline_shares")
    assert {name: (round(s["last"], 2), round(s["first"], 2)) for name, s in shares.items()} == GRAPH_SHARES


def test_demo_suppression_and_full_injection_grid(run):
    """Section 3: suppression (every held-out line) and injection (every held-out line × every other word)."""
    suppressed = run.value("suppressed.breakdown()")
    assert suppressed == pytest.approx({"the plan B": 0.633, "another rhyme of A": 0.273, "other": 0.094}, abs=5e-4)
    assert run.value("len(injected.kinds)") == 128 * 63 == 8064
    assert run.value("injected.rate('injected word')") == pytest.approx(0.719, abs=5e-4)
    assert run.value("follows") == 1.0
    rates = run.value("[scale_rates[s] for s in (1.0, 2.0, 3.0)]")
    assert rates == pytest.approx([0.320, 0.750, 0.859], abs=5e-4)


def test_plan_lives_at_the_newline_only(run):
    profiles = run.value("profiles")
    for name in ORGANISMS:
        profile = profiles[name]
        assert list(profile) == [str(p) for p in range(1, 13)], name
        assert profile[str(NEWLINE)] == pytest.approx(TABLE[name][INJECTED], abs=5e-4), name
        assert all(rate == 0 for position, rate in profile.items() if position != str(NEWLINE)), name


def test_probe_versus_intervention_table(run):
    table = run.value("table")
    for name in ORGANISMS:
        assert table[name] == pytest.approx(TABLE[name], abs=5e-4), name


def test_features_or_a_direction(run):
    comparisons = run.value("comparisons")
    for name in ORGANISMS:
        direction, features = REWRITE[name]
        assert comparisons[name]["direction"]["success"] == pytest.approx(direction, abs=5e-4), name
        assert comparisons[name]["features"]["success"] == pytest.approx(features, abs=5e-4), name
        assert comparisons[name]["direction"]["well_formed"] == comparisons[name]["features"]["well_formed"] == 1.0


def test_key_value_cache_writes_the_same_lines(run):
    """The notebook writes every second line with a key-value cache; on each organism it equals plain generation."""
    same = run.value(
        "[case_studies.write_line_two(m, w, case_studies.heldout_cases(w)) == "
        "w.complete(m, [w.first_line_prompt(*case) for case in case_studies.heldout_cases(w)]) for m, w, _ in loaded.values()]")
    assert same == [True, True, True]
