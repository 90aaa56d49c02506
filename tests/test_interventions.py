"""Feature interventions on the original model, checked against the graph's edges."""

import pytest
import torch

from workbench import organisms
from workbench.circuits import graph as graphs
from workbench.circuits.attribution import attribute
from workbench.transcoders import load_clt
from workbench.circuits.interventions import FeatureEdit, ablate, intervene, measured_effects, predicted_effects


@pytest.fixture(scope="module")
def dallas():
    model, world = organisms.load("facts")
    clt = load_clt("facts_clt")
    graph = attribute(model, clt, world.two_hop_prompt("Dallas"))
    top = graphs.node_influence(graph)[: graph.n_features].argsort(descending=True)[:4].tolist()
    return model, world, clt, graph, top


def test_with_everything_frozen_an_ablation_moves_each_target_by_its_edge(dallas):
    model, _, clt, graph, top = dallas
    for node in top:
        layer, pos, index = graph.active_features[node].tolist()
        predicted = predicted_effects(graph, node, 0.0)
        measured = measured_effects(model, clt, graph, ablate(layer, pos, index), freeze="direct")
        assert (measured - predicted).abs().max() <= 1e-4 * predicted.abs().max()


def test_clamping_scales_the_prediction_linearly(dallas):
    model, _, clt, graph, top = dallas
    node = top[0]
    layer, pos, index = graph.active_features[node].tolist()
    doubled = 2 * float(graph.activations[node])
    predicted = predicted_effects(graph, node, doubled)
    for edit in (FeatureEdit(layer, pos, index, "set", doubled), FeatureEdit(layer, pos, index, "scale", 2.0),
                 FeatureEdit(layer, pos, index, "add", doubled / 2)):
        measured = measured_effects(model, clt, graph, edit, freeze="direct")
        assert (measured - predicted).abs().max() <= 1e-4 * predicted.abs().max()


def test_the_free_model_departs_from_the_direct_prediction(dallas):
    """The point of comparing: downstream MLPs and attention respond, so direct effects are only part of the story."""
    model, _, clt, graph, top = dallas
    layer, pos, index = graph.active_features[top[0]].tolist()
    predicted = predicted_effects(graph, top[0], 0.0)
    free = measured_effects(model, clt, graph, ablate(layer, pos, index), freeze="none")
    assert (free - predicted).abs().max() > 0.1 * predicted.abs().max()


def test_no_edit_reproduces_the_original_and_ablation_lowers_the_answer(dallas):
    model, world, clt, graph, top = dallas
    tokens = graph.tokens
    clean = intervene(model, clt, tokens, [])
    torch.testing.assert_close(clean.logits, model(tokens[None])[0], atol=1e-5, rtol=0)
    assert clean.top_tokens(model.tokenizer, 1)[0][0] == "Austin"
    edits = [ablate(*graph.active_features[n].tolist()) for n in top]
    austin = world.token_ids(["Austin"])[0]
    ablated = intervene(model, clt, tokens, edits, freeze="attention")
    assert ablated.logits[-1].softmax(-1)[austin] < clean.logits[-1].softmax(-1)[austin]


def test_bad_edits_are_refused(dallas):
    model, _, clt, graph, _ = dallas
    with pytest.raises(ValueError, match="mode"):
        FeatureEdit(0, 1, 2, "multiply", 2.0)
    with pytest.raises(ValueError, match="outside the transcoder"):
        intervene(model, clt, graph.tokens, ablate(5, 1, 2))
    with pytest.raises(ValueError, match="freeze"):
        intervene(model, clt, graph.tokens, [], freeze="everything")
    with pytest.raises(ValueError, match="not a feature"):
        predicted_effects(graph, graph.logit_start, 0.0)
