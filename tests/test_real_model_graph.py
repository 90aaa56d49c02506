"""Notebook 08's transcoder and attribution graph of the Dallas fact: every number it states, recomputed.

The shipped per-layer transcoders (``smollm2_plt``) evaluate to their recorded figures; the graph
of "Dallas is in the state of" → " Texas" has the node counts and scores the notebook quotes; and
circuit-tracer, given the same model and transcoders, computes the same edges.
"""

from __future__ import annotations

import pytest
import torch

from workbench import artifacts, circuits, models, transcoders, viz

NAME = "smollm2_plt"
DALLAS = "Dallas is in the state of"
# What the notebook quotes, rounded as there.
QUOTED = {
    "fidelity": {"kl": 4.34, "top1_agreement": 0.11, "mean_l0": 27},
    "explained": [0.34, 0.16, 3, 0.89, 2],  # median, min (its layer), max (its layer)
    "graph": {"features": 6300, "kept_features": 984, "kept_errors": 151, "scores": (0.508, 0.870),
              "figure_features": 137, "figure_errors": 70, "largest_edge": 10.4, "per_layer_position": 30},
}


@pytest.fixture(scope="module")
def plt():
    return transcoders.load_clt(NAME)


@pytest.fixture(scope="module")
def graph(smollm2, plt):
    texas = smollm2.to_single_token(" Texas")
    return circuits.attribute(smollm2, plt, DALLAS, logit_tokens=[texas], name=NAME, device="cpu")


def test_the_shipped_transcoders_evaluate_to_their_record(plt):
    """``evaluate`` remeasures the shipped copy on the held-out rows and gets what was recorded when it shipped."""
    record = transcoders.shipped_metadata(NAME)
    metrics = artifacts.evaluate(NAME)
    for key, value in record["fidelity"].items():
        assert metrics["fidelity"][key] == pytest.approx(value, rel=1e-3, abs=1e-4), key
    assert metrics["explained_variance"] == pytest.approx(record["explained_variance"], abs=1e-3)
    fit = record["fidelity"]
    quoted = QUOTED["fidelity"]
    assert round(fit["kl"], 2) == quoted["kl"] and round(fit["top1_agreement"], 2) == quoted["top1_agreement"]
    assert round(sum(fit["l0"]) / len(fit["l0"])) == quoted["mean_l0"]
    explained = torch.tensor(record["explained_variance"])
    assert [round(float(explained.median()), 2), round(float(explained.min()), 2), int(explained.argmin()),
            round(float(explained.max()), 2), int(explained.argmax())] == QUOTED["explained"]


def test_the_recipe_is_registered_on_the_real_model_and_its_corpus(plt):
    artifact = artifacts.get(NAME)
    assert artifact.kind == "transcoder" and artifact.organism == models.SMOLLM2 == plt.organism
    assert artifact.recipe.corpus == "smollm2_text" and not artifact.recipe.cross_layer
    assert (plt.config.n_layers, plt.config.d_model, plt.config.d_features) == (30, 576, artifact.recipe.d_features)
    assert sum(path.stat().st_size for path in artifact.paths) < 30e6


def test_a_short_retrain_runs_from_the_recipe():
    """The recipe's own code path, a few steps on a few rows (the full run takes CPU-minutes)."""
    trained = artifacts.train(NAME, progress=False, train_rows=4, steps=2, batch_size=64)
    assert trained.organism == models.SMOLLM2 and trained.config.d_features == artifacts.get(NAME).recipe.d_features


def test_the_graph_of_the_dallas_fact(graph):
    pruned = circuits.prune(graph)
    quoted = QUOTED["graph"]
    assert graph.n_pos == 8 and graph.logit_strings == [" Texas"]  # tokens as text: no "Ġ" for the space
    assert graph.token_strings[-3:] == [" the", " state", " of"]
    assert graph.text == "<|im_start|>Dallas is in the state of"  # the tokens' own spaces
    title = viz.graph_figure(graph).layout.title.text
    assert "smollm2_plt: &lt;|im_start|&gt; Dallas is in the state of → Texas" in title
    assert round(graph.n_features / (graph.n_layers * (graph.n_pos - 1))) == QUOTED["graph"]["per_layer_position"]
    assert round(float(graph.logit_probabilities[0]), 2) == 0.19
    assert graph.n_features == quoted["features"]
    assert int(pruned.node_mask[: graph.n_features].sum()) == quoted["kept_features"]
    assert int(pruned.node_mask[graph.error_start:graph.token_start].sum()) == quoted["kept_errors"]
    scores = circuits.scores(graph)
    assert (round(scores.replacement, 3), round(scores.completeness, 3)) == quoted["scores"]


def test_circuit_tracer_computes_the_same_graph(smollm2, plt, graph):
    """circuit-tracer, on the same model (GQA and a gated MLP renamed into its modules) and transcoders."""
    replacement = circuits.replacement_model(models.SMOLLM2, smollm2, plt, device="cpu")
    theirs = circuits.attribute_with_circuit_tracer(replacement, graph.tokens, logit_tokens=graph.logit_tokens,
                                                    max_feature_nodes=32)
    assert theirs.n_features == 32
    assert circuits.graph_difference(graph, theirs) < 1e-5  # the notebook: "to within 1e-5"
    assert round(float(graph.adjacency.abs().max()), 1) == QUOTED["graph"]["largest_edge"]


def test_the_figure_fits_and_nothing_hides_anything(graph):
    from tests.test_graph_view import drawn_boxes, overlapping
    from workbench import viz

    pruned = circuits.prune(graph, node_threshold=0.5)  # the notebook's figure
    assert int(pruned.node_mask[: graph.n_features].sum()) == QUOTED["graph"]["figure_features"]
    assert int(pruned.node_mask[graph.error_start:graph.token_start].sum()) == QUOTED["graph"]["figure_errors"]
    figure = viz.graph_figure(graph, pruned)
    markers, labels, ticks, (width, height) = drawn_boxes(figure)
    assert not overlapping(markers) and not overlapping(labels) and not overlapping(labels, markers)
    assert not overlapping(ticks)
    assert figure.layout.width <= 840


def test_a_hub_model_takes_circuit_tracers_pretrained_transcoders(monkeypatch):
    """The switch: a hub name goes to ``ReplacementModel.from_pretrained``, which offline fails clearly."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.ModelUnavailable, match="HF_HUB_OFFLINE=1") as raised:
        circuits.replacement_model("gemma-2-2b", device="cpu")
    assert "'gemma'" in str(raised.value) and models.SMOLLM2 in str(raised.value)
    with pytest.raises(ValueError, match="transcoder_set"):
        circuits.replacement_model("gpt2", device="cpu")


def test_the_switch_calls_circuit_tracer_with_the_known_set(monkeypatch):
    from circuit_tracer import ReplacementModel

    calls = []
    monkeypatch.setattr(ReplacementModel, "from_pretrained", lambda *args, **kwargs: calls.append((args, kwargs)) or "rm")
    assert circuits.replacement_model("gemma-2-2b", device="cpu") == "rm"
    assert calls[0][0] == ("gemma-2-2b", "gemma") and calls[0][1]["device"] == torch.device("cpu")
