"""Notebook 06's own run: planning in rhyming couplets on the four couplets organisms and their transcoders.

Reads the values notebook 06's kernel computed (``workbench.case_studies.planning`` on ``couplets``,
``couplets_lookback``, ``couplets_bottleneck`` and ``couplets_control``): the attention-window arithmetic (what
reaches the position that predicts B, and whether through <nl>), the transcoders' recorded fidelity, the labelled
newline features, the graphs of the rhyme word, suppression and injection at the newline, injection at every
position, the probe-versus-intervention table with the injection split by B's rhyme class (issue 25) and the newline
patched from another class and topic, the rewrite by features or by a direction within and across rhyme classes,
where the bottleneck organism keeps its plan, and the shipped case-study tables of seeds 0–4 it reads (section 9:
``case_seeds``, ``seed_findings``; the command that writes them is tested in ``tests/test_seeds.py``). The F1, clamp and mean-difference exercises are tested in
``tests/test_exercises.py``; the organisms themselves in ``tests/test_couplets.py``.
"""

from __future__ import annotations

import pytest

from tests.claims import Cited, Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "06_rhyme_planning_case_study.ipynb"
ORGANISMS = ["couplets", "couplets_lookback", "couplets_bottleneck", "couplets_control"]
PAPER = "Lindsey et al. 2025, On the Biology of a Large Language Model, §Planning"
NEWLINE = 7  # the position of <nl> in a couplet (workbench.organisms.couplets.NEWLINE_POSITION)
COUNTS = "labels['{}'].counts()"
TABLE_ROW = "table['{}'][\"{}\"]"
SUPPRESSED, INJECTED = "suppression: B gone", "injection: ends with injected word"
ONLY_AT_NEWLINE = "profiles['{0}'][7] {1} and all(rate == 0 for p, rate in profiles['{0}'].items() if p != 7)"
SAME, OTHER = "injection, word of B's rhyme class", "injection, word of another rhyme class"
CROSS = "<nl> patched: another class and topic"
WITHOUT_NEWLINE = "[reaches_b['{}'][s + ', not through <nl>'] for s in ('A', 'subject')]"
PATCHES = 'bottleneck_patches["{}"]'
MLP_PATCH, ATTENTION_PATCH = PATCHES.format("the MLP's output"), PATCHES.format("attention's output, the MLP held clean")

def holds(name: str, i: int) -> str:
    """The seeds (section 9) for which finding ``i`` of ``case_studies.planning_findings(name)`` holds."""
    return f"seed_findings[{name!r}][case_studies.planning_findings({name!r})[{i}].text]"


def every_seed(name: str, *findings: int) -> str:
    return " and ".join(f"{holds(name, i)} == sorted(case_seeds[{name!r}])" for i in findings)


def seed_values(name: str, key: str) -> str:
    """A headline number of ``name`` for each seed of its shipped table, seed 0 first."""
    return f"[row[{key!r}] for row in case_seeds[{name!r}].values()]"


INJECTION_RATES = seed_values("couplets", "injection: ends with the injected word")
PLANNED_SHARES = seed_values("couplets", "planned words with a feature")
BOTTLENECK_LABELLED = seed_values("couplets_bottleneck", "<nl> features patched: labelled only")
BOTTLENECK_UNLABELLED = seed_values("couplets_bottleneck", "<nl> features patched: unlabelled only")
BOTTLENECK_SAME = seed_values("couplets_bottleneck", SAME)
LOOKBACK_RHYMES = "[artifacts.seed_table('couplets_lookback')[s]['rhyme_accuracy'] for s in sorted(case_seeds['couplets_lookback'])]"

CLAIMS = [
    # Introduction
    Wording("Claude 3.5 Haiku", "the name of the model the paper studies"),
    Cited("planned-word features are active there in about half the poems examined", PAPER),
    Cited("ends the line with that word in 70 % of 25 poems", PAPER),
    Claim("each position sees only its last 6 positions", "loaded['couplets_lookback'][1].model_config.lookback"),
    Rule("so the subject reaches the second line only through the newline, while A, just before the newline, is still "
         "seen directly", f"{WITHOUT_NEWLINE.format('couplets_lookback')} == [True, False]"),
    Rule("the second line attends only to the newline and to itself",  # the mask itself: tests/test_organisms.py
         "loaded['couplets_bottleneck'][1].model_config.bottleneck == couplets.NEWLINE_POSITION"),
    Rule("so the whole plan must cross the newline", f"{WITHOUT_NEWLINE.format('couplets_bottleneck')} == [False, False]"),
    Rule("a probe decodes B at the newline, yet nothing has to use it there",
         f"{TABLE_ROW.format('couplets_control', 'probe accuracy')} >= 0.95 and "
         f"{TABLE_ROW.format('couplets_control', SUPPRESSED)} == 0 == {TABLE_ROW.format('couplets_control', INJECTED)}"),
    # 1 · what can reach line 2
    Wording("a path that never passes through the newline's residual stream", "what the arithmetic follows"),
    Wording("Attention is the only thing that moves information between positions",
            "how a transformer is built: embeddings, MLPs and layer norms act on one position"),
    Rule("In the demo and the control, B's position gets A and the subject without the newline",
         f"{WITHOUT_NEWLINE.format('couplets')} == {WITHOUT_NEWLINE.format('couplets_control')} == [True, True]"),
    Rule("In the lookback organism only the subject has to cross the newline",
         f"{WITHOUT_NEWLINE.format('couplets_lookback')} == [True, False]"),
    Rule("A reaches B's position through the first positions of the second line, which still see it in the first layer",
         "set(paths['couplets_lookback']['A, not through <nl>'][0]) - {couplets.A_POSITION} == {8, 9, 10, 11}"),
    Rule("In the bottleneck organism neither reaches B's position except through the newline",
         f"{WITHOUT_NEWLINE.format('couplets_bottleneck')} == [False, False] and "
         "reaches_b['couplets_bottleneck']['A'] and reaches_b['couplets_bottleneck']['subject']"),
    # 2 · transcoders
    Rule("on couplets of the held-out pairs, which the organisms never trained on",
         "all(records[n]['heldout_sentences'] == min(1000, len(loaded[n][1].heldout_sentences())) and "
         "set(loaded[n][1].heldout_sentences()).isdisjoint(loaded[n][1].training_sentences()) for n in ORGANISMS)"),
    Wording("top-1 agreement", "the metric's name: agreement on the most likely token"),
    Rule("a replacement that agrees with the original almost everywhere the original has decided",
         "all(r['fidelity']['top1_agreement_decided'] >= 0.99 for r in records.values())"),
    Rule("still writes the right B on nearly every held-out line",
         "all(r['behaviour']['rhyme_accuracy'] >= 0.95 for r in records.values())"),
    Rule("The bottleneck organism's is the least faithful of the four (the highest KL)",
         "max(records, key=lambda n: records[n]['fidelity']['kl']) == 'couplets_bottleneck'"),
    # 3 · labelled features, graphs
    Claim("A label needs F1 ≥ 0.5", "case_studies.MIN_F1"),
    Rule("The planning demo has **planned-word features**, and they light up on held-out first lines",
         f"{COUNTS.format('couplets')}['planned word'] > 0 and planned_shares['couplets'] > 0"),
    Cited("the paper's \"about half the poems\"", PAPER),
    Rule("Its other newline features carry the two facts that decide B, the topic and the rhyme class",
         f"{COUNTS.format('couplets')}['topic'] > 0 and {COUNTS.format('couplets')}['rhyme class of A'] > 0"),
    Rule("The lookback organism's newline features carry the topic and the subject, none the rhyme class or B",
         f"[{COUNTS.format('couplets_lookback')}[k] > 0 for k in ('topic', 'subject', 'rhyme class of A', "
         f"'planned word')] == [True, True, False, False]"),
    Rule("only the subject has to cross its newline", f"{WITHOUT_NEWLINE.format('couplets_lookback')} == [True, False]"),
    Rule("The bottleneck organism's carry the rhyme class, the word A and a few planned words",  # "a few": under a quarter
         f"{COUNTS.format('couplets_bottleneck')}['rhyme class of A'] > 0 and {COUNTS.format('couplets_bottleneck')}['word A'] > 0"
         " and 0 < len(labels['couplets_bottleneck'].planned_words()) < 0.25 * len(demo_world.nouns)"),
    Rule("the control's carry almost nothing labelled",  # "almost nothing": under 1 % of its <nl> features
         f"sum({COUNTS.format('couplets_control')}.values()) < "
         "0.01 * loaded['couplets_control'][2].config.n_layers * loaded['couplets_control'][2].config.d_features"),
    Rule("B's own graph puts little of its influence at `<nl>`", "newline_shares['couplets']['last'] < 0.1"),
    Rule("the adjective, the line's first word, is decided at `<nl>`", "newline_shares['couplets']['first'] > 0.5"),
    Rule("In every organism the first word's graph sits at `<nl>`",
         "all(newline_shares[n]['first'] > 0.5 for n in ORGANISMS)"),
    # 4 · suppress and inject
    Claim("set the plan of another word to 2 × its mean activation", "case_studies.INJECTION_SCALE"),
    Wording("a clamp adds only the change", "what a clamp does"),
    Rule("Suppression removes B from a minority of held-out lines", "0 < 1 - suppressed.rate('the plan B') < 0.5"),
    Rule("most of what appears instead is **another rhyme of A**",
         "suppressed.rate('another rhyme of A') > 0.5 * (1 - suppressed.rate('the plan B'))"),
    Claim("ends the line with it in **71.9 %**", "100 * injected.rate('injected word')"),
    Cited("beside the paper's 70 %", PAPER),
    Rule("every such line opens with the injected word's adjective", "follows == 1.0"),
    Rule("The stronger the injection, the more lines follow it", "scale_rates[1.0] < scale_rates[2.0] < scale_rates[3.0]"),
    # 5 · where the plan lives
    Rule("only the newline works in the demo: injected anywhere else, the word never ends the line",
         ONLY_AT_NEWLINE.format("couplets", "> 0.5")),
    Rule("lookback and bottleneck organisms the same injection barely works anywhere, the newline included",  # below 0.1
         "all(max(profiles[n].values()) < 0.1 for n in ('couplets_lookback', 'couplets_bottleneck'))"),
    Rule("in the control, nowhere", "all(rate == 0 for rate in profiles['couplets_control'].values())"),
    Rule("Most of these injected words are of another rhyme class than B",
         "(lambda cases, words: sum(demo_world.rhyme_class_of[w] != demo_world.rhyme_class_of[demo_world.target(s, a)] "
         "for (s, a, _), w in zip(cases, words)) > 0.5 * len(words))(*case_studies.sweep_cases(demo_world))"),
    # 6 · a probe against interventions
    Rule("A linear probe for B at the newline is near-perfect in all four, and near-perfect even on an untrained model",
         "all(table[n]['probe accuracy'] >= 0.95 and recorded[n]['untrained_probe_accuracy'] >= 0.95 for n in ORGANISMS)"),
    Rule("The demo plans with features: suppression and injection both act, with words of B's rhyme class and of other "
         "classes", f"{TABLE_ROW.format('couplets', SUPPRESSED)} > 0.2 and {TABLE_ROW.format('couplets', SAME)} > 0.5 "
         f"and {TABLE_ROW.format('couplets', OTHER)} > 0.5"),
    Rule("The **control** shows a near-perfect probe and no planning features, and interventions that do nothing",
         f"{TABLE_ROW.format('couplets_control', 'probe accuracy')} >= 0.95 and "
         f"{COUNTS.format('couplets_control')}['planned word'] == 0 and "
         f"{TABLE_ROW.format('couplets_control', SUPPRESSED)} == 0 == {TABLE_ROW.format('couplets_control', INJECTED)} "
         f"== {TABLE_ROW.format('couplets_control', SAME)} == {TABLE_ROW.format('couplets_control', OTHER)}"),
    Rule("The **lookback** organism's newline carries the topic, not the rhyme class",
         f"{TABLE_ROW.format('couplets_lookback', SAME)} > 0.5 and {TABLE_ROW.format('couplets_lookback', OTHER)} == 0"
         " and directions['couplets_lookback'][case_studies.SPLIT[1]] == 0"),
    Wording("which changes only the topic", "a class-mate of B differs from it in topic alone, by the world's construction"),
    Rule("ends most lines with it", f"{TABLE_ROW.format('couplets_lookback', SAME)} > 0.5"),
    Rule("a word of another rhyme class, never", "splits['couplets_lookback'][case_studies.SPLIT[1]][0] == 0"),
    Rule("never moves B to the donor's", f"{TABLE_ROW.format('couplets_lookback', CROSS)} == 0"),
    Rule("Its rhyme class reaches B's position through the second line's first positions",
         "reaches_b['couplets_lookback']['A, not through <nl>']"),
    Rule("only the topic crosses, and its topic features move it",
         f"not reaches_b['couplets_lookback']['subject, not through <nl>'] and {TABLE_ROW.format('couplets_lookback', SAME)}"
         f" > 0.5 and {COUNTS.format('couplets_lookback')}['topic'] > 0 == {COUNTS.format('couplets_lookback')}['planned word']"
         f" == {COUNTS.format('couplets_lookback')}['rhyme class of A']"),
    Rule("The **bottleneck** organism's newline carries the whole plan",
         f"{TABLE_ROW.format('couplets_bottleneck', CROSS)} >= 0.9"),
    Rule("it moves B to the donor's on nearly every line", f"{TABLE_ROW.format('couplets_bottleneck', CROSS)} >= 0.95"),
    Rule("Yet injecting its labelled features moves B on a minority of lines within B's rhyme class and almost never "
         "across classes",  # "almost never": under 5 %
         f"0 < {TABLE_ROW.format('couplets_bottleneck', SAME)} < 0.5 and {TABLE_ROW.format('couplets_bottleneck', OTHER)} < 0.05"),
    # 7 · features or a direction
    Rule("Within a rhyme class both work in the demo and in the lookback organism",
         "all(comparisons[n][way]['success'] > 0.9 for n in ORGANISMS[:2] for way in ('direction', 'features'))"),
    Rule("the new word differs from B only in topic, and topic features exist there",
         "(lambda w: all(w.rhyme_class_of[new] == w.rhyme_class_of[w.target(s, a)] and "
         "w.topic_of[new] != w.topic_of[w.target(s, a)] for s, a, _, new in w.rewrite_cases()))(loaded['couplets_lookback'][1])"
         f" and {COUNTS.format('couplets_lookback')}['topic'] > 0"),
    Rule("with no side effects: every line is still well-formed",
         "all(r['well_formed'] == 1.0 for n in ORGANISMS[:2] for r in comparisons[n].values())"),
    Rule("In the control neither moves B, as the plan is not read from the newline",
         "comparisons['couplets_control']['direction']['success'] == 0 == comparisons['couplets_control']['features']['success']"
         " and recorded['couplets_control']['plan_patch_success'] <= 0.1"),
    Rule("Across rhyme classes the direction moves B in the demo and the bottleneck organism, and never in the lookback "
         "organism", "directions['couplets'][case_studies.SPLIT[1]] > 0.9 and "
         "directions['couplets_bottleneck'][case_studies.SPLIT[1]] > 0.9 and directions['couplets_lookback'][case_studies.SPLIT[1]] == 0"),
    Rule("whose rhyme class does not cross the newline", "reaches_b['couplets_lookback']['A, not through <nl>']"),
    Rule("In the bottleneck organism the direction works within and across classes where its labelled features mostly fail",
         "min(*directions['couplets_bottleneck'].values(), comparisons['couplets_bottleneck']['direction']['success']) > 0.9"
         " and max(comparisons['couplets_bottleneck']['features']['success'], "
         f"{TABLE_ROW.format('couplets_bottleneck', SAME)}, {TABLE_ROW.format('couplets_bottleneck', OTHER)}) < 0.5"),
    # 8 · where the bottleneck organism keeps its plan
    Wording("all of them, only those that carry a ground-truth label, only those that do not", "which features are clamped"),
    Rule("The plan is what the first MLP writes at the newline: patched alone it moves B on most lines",
         f"{MLP_PATCH} > 0.5"),
    Rule("while what attention writes, with the MLP held, moves it on none",
         f"{ATTENTION_PATCH} == 0"),
    Rule("clamped all together to the donor's, they move B on most lines", f"{PATCHES.format('every transcoder feature')} > 0.5"),
    Rule("The labelled features alone move it on none", f"{PATCHES.format('the labelled features only')} == 0"),
    Rule("the unlabelled ones alone on fewer than half", f"0 < {PATCHES.format('the unlabelled features only')} < 0.5"),
    Rule("the plan is spread over many features, most of which no single variable",
         "labelled_per_line < 0.5 * active_per_line and active_per_line > 10"),
    Claim("names with F1 ≥ 0.5", "case_studies.MIN_F1"),
    Rule("a residual direction, or every feature at once, edits it",
         f"min(directions['couplets_bottleneck'].values()) > 0.9 and {PATCHES.format('every transcoder feature')} > 0.5"),
    # Summary
    Rule("planned-word features at the newline for about half its words",  # "about half": within 0.1 of one half
         "abs(len(labels['couplets'].planned_words()) / len(demo_world.nouns) - 0.5) <= 0.1"),
    Rule("suppressing the plan swaps B for another rhyme",  # the most common ending other than B itself
         "max((r, k) for k, r in suppressed.breakdown().items() if k != 'the plan B')[1] == 'another rhyme of A'"),
    Rule("ends the line with it about as often as in the paper",  # within 5 points of the paper's 70 %
         "abs(injected.rate('injected word') - 0.70) < 0.05"),
    Rule("only at the newline", ONLY_AT_NEWLINE.format("couplets", "> 0.5")),
    Rule("the line's first word follows", "follows == 1.0"),
    Rule("A probe decodes B in all four organisms; only interventions tell the planner from the control",
         f"all(table[n]['probe accuracy'] >= 0.95 for n in ORGANISMS) and {TABLE_ROW.format('couplets', INJECTED)} > 0.5"
         f" and {TABLE_ROW.format('couplets_control', SUPPRESSED)} == 0 == {TABLE_ROW.format('couplets_control', INJECTED)}"),
    Rule("In the lookback organism only the topic crosses it (A reaches B by another path)",
         f"{WITHOUT_NEWLINE.format('couplets_lookback')} == [True, False]"),
    Rule("its topic features move B within a rhyme class, and nothing at the newline moves the rhyme class",
         f"{TABLE_ROW.format('couplets_lookback', SAME)} > 0.5 and {TABLE_ROW.format('couplets_lookback', OTHER)} == 0 == "
         f"{TABLE_ROW.format('couplets_lookback', CROSS)} == directions['couplets_lookback'][case_studies.SPLIT[1]]"),
    Rule("In the bottleneck organism the whole plan crosses it, written by the first MLP and spread over features that "
         "ground-truth labels mostly miss",
         f"{TABLE_ROW.format('couplets_bottleneck', CROSS)} >= 0.9 and {MLP_PATCH} > 0.5 and "
         f"{ATTENTION_PATCH} == 0 and labelled_per_line < 0.5 * active_per_line"),
    Rule("labelled-feature injections mostly fail where a residual direction, or every feature at once, succeeds",
         f"max({TABLE_ROW.format('couplets_bottleneck', SAME)}, {TABLE_ROW.format('couplets_bottleneck', OTHER)}) < 0.5 and "
         f"min(directions['couplets_bottleneck'].values()) > 0.9 and {PATCHES.format('every transcoder feature')} > 0.5"),
    # 9 · across seeds
    Wording("seed 0 is the shipped pair", "seed 0 is the recipe unchanged: the shipped checkpoint and transcoder"),
    Rule("The demo keeps its story on every seed: suppression removes B from a minority of lines, mostly for another "
         "rhyme of A, and injection works within B's rhyme class and across, only at the newline",
         every_seed("couplets", 1, 2, 4, 5)),
    Claim("0.57 to 0.76 of lines", f"[min({INJECTION_RATES}), max({INJECTION_RATES})]"),
    Rule("the paper's 70 % ± 5 on two seeds of five", f"{holds('couplets', 3)} == [0, 3] and len(case_seeds['couplets']) == 5"),
    Claim("(0.39 to 0.61)", f"[min({PLANNED_SHARES}), max({PLANNED_SHARES})]"),
    Rule("The lookback organism's negatives hold on every seed: a word of another rhyme class never ends line 2, and "
         "neither the newline patched from another class and topic nor the direction across classes ever moves B",
         every_seed("couplets_lookback", 2, 3, 4)),
    Rule("Within B's class, injection ends most lines with the new word on two seeds of five",
         f"{holds('couplets_lookback', 1)} == [0, 2]"),
    Rule("Its seed 4 never learned to rhyme held-out pairs, so that row measures an organism without the plan",
         f"{LOOKBACK_RHYMES}[4] < 0.05 and {LOOKBACK_RHYMES}[:4] == [1.0] * 4 "
         "and case_seeds['couplets_lookback'][4]['suppression: the plan B'] < 0.05"),
    Rule("The bottleneck organism's newline carries the whole plan on every seed", every_seed("couplets_bottleneck", 0, 2, 3)),
    Claim("moves B on 0.99 of lines or more", "min(" + seed_values("couplets_bottleneck", CROSS) + ")"),
    Claim("every feature clamped on 0.83 or more", "min(" + seed_values("couplets_bottleneck", "<nl> features patched: every one") + ")"),
    Claim("the direction on 0.98 or more", "min(" + seed_values("couplets_bottleneck", "direction, word of B's rhyme class")
          + " + " + seed_values("couplets_bottleneck", "direction, word of another rhyme class") + ")"),
    Rule("the shipped seed is the one where they catch least",
         f"{BOTTLENECK_LABELLED}[0] == min({BOTTLENECK_LABELLED}) and {BOTTLENECK_SAME}[0] == min({BOTTLENECK_SAME})"),
    Wording("on seeds 1 to 4", "the seeds other than the shipped one"),
    Claim("0.60 to 0.78 of lines", "(lambda v: [min(v[1:]), max(v[1:])])(" + BOTTLENECK_SAME + ")"),
    Rule("the labelled features alone move B on up to a quarter of lines",
         f"0.2 < max({BOTTLENECK_LABELLED}) <= 0.25"),
    Rule("So section 8's \"the labelled features alone move it on none\" is the shipped seed's result",
         f"{holds('couplets_bottleneck', 4)} == [0]"),
    Rule("that the plan is spread over many features holds more weakly on the others",
         f"all(v < {BOTTLENECK_UNLABELLED}[0] for v in {BOTTLENECK_UNLABELLED}[1:]) "
         f"and all(v > {BOTTLENECK_LABELLED}[0] for v in {BOTTLENECK_LABELLED}[1:])"),
    Rule("The control plans nothing on any seed", every_seed("couplets_control", 1)),
]

# The probe-versus-intervention table (section 6), per organism: planning_table's rows, then the injection over every
# held-out line × every other word split by B's rhyme class, and <nl> patched from another rhyme class and topic.
TABLE = {
    "couplets": {"probe accuracy": 1.0, "planned words with features": 33 / 64,
                 "held-out lines with planned-word features": 0.352, SUPPRESSED: 0.367, INJECTED: 0.75,
                 SAME: 379 / 384, OTHER: 5416 / 7680, CROSS: 0.0},
    "couplets_lookback": {"probe accuracy": 0.996, "planned words with features": 0.0,
                          "held-out lines with planned-word features": 0.0, SUPPRESSED: 0.031, INJECTED: 0.039,
                          SAME: 312 / 384, OTHER: 0.0, CROSS: 0.0},
    "couplets_bottleneck": {"probe accuracy": 1.0, "planned words with features": 9 / 64,
                            "held-out lines with planned-word features": 0.086, SUPPRESSED: 0.203, INJECTED: 0.039,
                            SAME: 93 / 384, OTHER: 146 / 7680, CROSS: 0.992},
    "couplets_control": {"probe accuracy": 1.0, "planned words with features": 0.0,
                         "held-out lines with planned-word features": 0.0, SUPPRESSED: 0.0, INJECTED: 0.0,
                         SAME: 0.0, OTHER: 0.0, CROSS: 0.0},
}
# Issue 25's table, every couplets organism: (hits, cases) with a word of B's rhyme class, of another rhyme class.
SPLITS = {"couplets": ((379, 384), (5416, 7680)), "couplets_lookback": ((312, 384), (0, 7680)),
          "couplets_bottleneck": ((93, 384), (146, 7680)), "couplets_control": ((0, 384), (0, 7680))}
LABEL_COUNTS = {
    "couplets": {"planned word": 45, "rhyme class of A": 66, "topic": 119, "word A": 6, "subject": 0},
    "couplets_lookback": {"planned word": 0, "rhyme class of A": 0, "topic": 49, "word A": 0, "subject": 36},
    "couplets_bottleneck": {"planned word": 13, "rhyme class of A": 29, "topic": 16, "word A": 30, "subject": 1},
    "couplets_control": {"planned word": 0, "rhyme class of A": 0, "topic": 0, "word A": 2, "subject": 0},
}
GRAPH_SHARES = {"couplets": (0.01, 0.77), "couplets_lookback": (0.11, 0.86), "couplets_bottleneck": (0.25, 0.82),
                "couplets_control": (0.01, 0.92)}
REWRITE = {"couplets": (1.0, 0.992), "couplets_lookback": (1.0, 0.965), "couplets_bottleneck": (0.996, 0.289),
           "couplets_control": (0.0, 0.0)}  # direction, features (within a rhyme class)
DIRECTIONS = {"couplets": (1.0, 1.0), "couplets_lookback": (1.0, 0.0), "couplets_bottleneck": (0.979, 0.995),
              "couplets_control": (0.0, 0.0)}  # B's rhyme class, another rhyme class
BOTTLENECK_PATCHES = {"the residual stream entering the last layer": 0.992, "attention's output, the MLP held clean": 0.0,
                      "the MLP's output": 0.906, "every transcoder feature": 0.828, "the labelled features only": 0.0,
                      "the unlabelled features only": 0.440}
# The attention-window arithmetic: after layers 0 and 1, the positions that can carry A / the subject without <nl>.
WITHOUT_NEWLINE_PATHS = {
    "couplets_lookback": {"A, not through <nl>": [[6, 8, 9, 10, 11], [6, 8, 9, 10, 11, 12]],
                          "subject, not through <nl>": [[2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 8, 9, 10, 11]]},
    "couplets_bottleneck": {"A, not through <nl>": [[6], [6]],
                            "subject, not through <nl>": [[2, 3, 4, 5, 6], [2, 3, 4, 5, 6]]},
}


def test_what_reaches_line_two_by_the_attention_mask(run):
    """Issue 25: the lookback organism's B position gets A (positions 8–11 see it in layer 0) but not the subject
    without <nl>; the bottleneck organism's gets neither; the demo and the control get both."""
    paths = run.value("paths")
    for name, expected in WITHOUT_NEWLINE_PATHS.items():
        assert {source: paths[name][source] for source in expected} == expected, name
    reaches = run.value("reaches_b")
    assert {name: (r["A, not through <nl>"], r["subject, not through <nl>"]) for name, r in reaches.items()} == {
        "couplets": (True, True), "couplets_lookback": (True, False), "couplets_bottleneck": (False, False),
        "couplets_control": (True, True)}
    assert run.value("predicts_b") == 12


def test_shipped_transcoders_are_faithful(run):
    records = run.value("records")
    for name, record in records.items():
        if name == "couplets_bottleneck":  # the least faithful: KL 0.0048, decided agreement 0.998, rhyme 0.965
            assert round(record["fidelity"]["kl"], 4) == 0.0048
            assert round(record["fidelity"]["top1_agreement_decided"], 3) == 0.998
            assert round(record["behaviour"]["rhyme_accuracy"], 3) == 0.965
            continue
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
    """Only at <nl>, in every organism but the bottleneck one, whose position 12 takes the injected word once."""
    profiles = run.value("profiles")
    elsewhere = {"couplets_bottleneck": {"12": 1 / 128}}
    for name in ORGANISMS:
        profile = profiles[name]
        assert list(profile) == [str(p) for p in range(1, 13)], name
        assert profile[str(NEWLINE)] == pytest.approx(TABLE[name][INJECTED], abs=5e-4), name
        assert {p: rate for p, rate in profile.items() if rate and p != str(NEWLINE)} == elsewhere.get(name, {}), name


def test_probe_versus_intervention_table(run):
    table = run.value("table")
    for name in ORGANISMS:
        assert table[name] == pytest.approx(TABLE[name], abs=5e-4), name


def test_the_injection_split_by_rhyme_class(run):
    """Issue 25's table, measured in the notebook over every held-out line × every other word."""
    splits = run.value("splits")
    assert {name: tuple(tuple(split[side]) for side in ("B's rhyme class", "another rhyme class"))
            for name, split in splits.items()} == SPLITS


def test_features_or_a_direction(run):
    comparisons = run.value("comparisons")
    directions = run.value("directions")
    for name in ORGANISMS:
        direction, features = REWRITE[name]
        assert comparisons[name]["direction"]["success"] == pytest.approx(direction, abs=5e-4), name
        assert comparisons[name]["features"]["success"] == pytest.approx(features, abs=5e-4), name
        if name != "couplets_bottleneck":
            assert comparisons[name]["direction"]["well_formed"] == comparisons[name]["features"]["well_formed"] == 1.0
        same, other = DIRECTIONS[name]
        assert directions[name] == pytest.approx({"B's rhyme class": same, "another rhyme class": other}, abs=5e-4), name
    bottleneck = comparisons["couplets_bottleneck"]
    assert (round(bottleneck["direction"]["well_formed"], 3), round(bottleneck["features"]["well_formed"], 3)) == (0.996, 0.945)


def test_where_the_bottleneck_organism_keeps_its_plan(run):
    assert run.value("bottleneck_patches") == pytest.approx(BOTTLENECK_PATCHES, abs=5e-4)
    assert (round(run.value("active_per_line"), 1), round(run.value("labelled_per_line"), 1)) == (60.2, 8.9)


def test_key_value_cache_writes_the_same_lines(run):
    """The notebook writes every second line with a key-value cache; on each organism it equals plain generation."""
    same = run.value(
        "[case_studies.write_line_two(m, w, case_studies.heldout_cases(w)) == "
        "w.complete(m, [w.first_line_prompt(*case) for case in case_studies.heldout_cases(w)]) for m, w, _ in loaded.values()]")
    assert same == [True] * 4
