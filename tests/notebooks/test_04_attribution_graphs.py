"""Notebook 04's own run: the Dallas graph, its edges checked by intervention, pruning, labels, scores, circuit-tracer.

Reads the values notebook 04's kernel computed; the graph code on other organisms, transcoders and edge cases is
tested in ``tests/test_attribution.py`` and ``tests/test_graph_view.py``.
"""

from __future__ import annotations

from tests.claims import Cited, Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "04_attribution_graphs.ipynb"
DEFAULT = "__import__('inspect').signature({}).parameters['{}'].default"
CLAIMS = [
    Rule("(position 0, `<bos>`, excluded)", "int(graph.active_features[:, 1].min()) > 0"),
    Claim("until their probabilities reach 0.95, at most 10",
          f"[{DEFAULT.format('circuits.attribute', 'desired_logit_prob')}, "
          f"{DEFAULT.format('circuits.attribute', 'max_n_logits')}]"),
    Wording("the **logits** of the most likely next tokens", "a definition"),
    Wording("normalise each row of $|A|$ to sum to 1", "a definition"),
    Claim("nodes that carry 80% of the total influence, then the edges that carry 98%",
          f"[100 * {DEFAULT.format('circuits.prune', 'node_threshold')}, "
          f"100 * {DEFAULT.format('circuits.prune', 'edge_threshold')}]"),
    Wording("is the probability at the logit nodes and 0 elsewhere", "a definition"),
    Rule("Hundreds of features are active; most barely touch the answer.",
         "graph.n_features >= 200 and kept_feature_count < graph.n_features / 2"),
    Wording("or falls back to the tokens it fires on most", "what the labelling does"),
    Rule("none names a state", "not any(state in label for label in strongest_labels for state in world.states)"),
    Rule("Every kept feature fires for many states", "precision < 0.1"),
    Wording("partial credit to nodes mostly explained by features", "a definition"),
    Cited("zeroes position 0", "circuit-tracer 0.5.0, `attribute`"),
    Wording("all MLP outputs frozen: only direct effects", "what the freezing does"),
    Rule("Ablate the most influential feature", "top_feature == int(influence[: graph.n_features].argmax())"),
    Wording("ends line 1 with a noun A and, at the newline, must start line 2", "the couplet's lines, by name"),
    Rule("With everything frozen the prediction is exact", "deviation['direct'] < 1e-4"),
    Rule("Edges predict interventions only when nothing else responds", "deviation['direct'] < 1e-4 < deviation['none']"),
]


def test_every_edge_is_the_effect_of_removing_its_source_and_circuit_tracer_agrees(run):
    assert run.value("float((measured - predicted).abs().max() / predicted.abs().max())") < 1e-4
    assert run.value("float(difference)") < 1e-5
    assert run.value("[dallas_scores.replacement, dallas_scores.completeness]") == \
        run.value("list(circuits.Scores(*compute_graph_scores(theirs)))")


def test_the_dallas_graph_prunes_to_a_few_dozen_features_and_its_replacement_explains_most_of_it(run):
    assert 10 <= run.value("kept_feature_count") <= 60
    replacement, completeness = run.value("[dallas_scores.replacement, dallas_scores.completeness]")
    assert replacement >= 0.8 and completeness >= 0.9  # measured 0.906 and 0.969


def test_no_kept_feature_is_a_texas_feature(run):
    """Texas is carried by a combination of broad features, not by one (notebook 05 quotes the 0.04)."""
    assert round(run.value("precision"), 2) == 0.04


def test_ablating_the_strongest_features_lowers_austin(run):
    clean, ablated = run.value("[clean.top_tokens(model.tokenizer, 1)[0], edited.top_tokens(model.tokenizer, 1)[0]]")
    assert clean[0] == "Austin" and clean[1] > 0.8
    assert run.value("dict(edited.top_tokens(model.tokenizer, 10)).get('Austin', 0.0)") < clean[1] - 0.2
