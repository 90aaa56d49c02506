"""Attribution graphs: edges against measured effects, against circuit-tracer, and graph scores.

On inputs the notebooks do not compute: the organisms' evaluation prompts (the first held-out two-hop question or
couplet under three shipped transcoders, and each organism's median over all of them), a random three-layer
organism, and bad prompts. Notebook 04's Dallas graph and notebook 03's path lengths are read from their own runs
(``tests/notebooks/``).
"""

import statistics

import pytest
import torch

from workbench import organisms
from workbench.circuits import graph as graphs
from workbench.circuits.attribution import attribute, circuit_tracer_model, graph_from_state
from workbench.circuits.local_replacement import ablation_effects, prompt_state, run_local
from workbench.transcoders import load_clt

ORGANISMS = {"facts": "facts_clt", "couplets": "couplets_clt"}


@pytest.fixture(scope="module", params=["facts_clt", "facts_plt", "couplets_clt"])
def setup(request):
    """(model, world, transcoder, one evaluation prompt as token ids) for each shipped transcoder."""
    clt = load_clt(request.param)
    model, world = organisms.load(request.param.split("_")[0])
    return model, world, clt, evaluation_prompts(world)[0]


def evaluation_prompts(world) -> list[torch.Tensor]:
    """The prompts each organism is evaluated on: two-hop questions, first lines of couplets."""
    if world.name == "facts":
        texts = [world.two_hop_prompt(city) for city in world.heldout_cities]
    else:
        texts = [world.first_line_prompt(s, a) for s, a in world.heldout_pairs]
    return [row[row != world.tokenizer.pad_token_id] for row in world.tokenize(texts)]


def test_the_local_replacement_model_reproduces_the_original_logits(setup):
    model, _, clt, tokens = setup
    state = prompt_state(model, clt, tokens)
    logits, _ = run_local(model, clt, state)
    torch.testing.assert_close(logits[0], state.logits, atol=1e-4, rtol=0)


def test_every_edge_is_the_measured_effect_of_removing_its_source(setup):
    """Verification 1: zero each source with everything else frozen; the drop in each target is the edge."""
    model, _, clt, tokens = setup
    state = prompt_state(model, clt, tokens)
    graph = graph_from_state(model, clt, state)
    measured = ablation_effects(model, clt, state, graph)
    targets = graph.target_nodes()
    predicted = graph.adjacency[targets][:, : graph.logit_start]
    relative = (measured - predicted).abs().max() / predicted.abs().max()
    assert relative <= 1e-4, f"largest edge error {relative:.2e} of the largest edge"
    # Error and token nodes have no incoming edges; logits have no outgoing ones.
    assert not graph.adjacency[graph.error_start : graph.logit_start].any()
    assert not graph.adjacency[:, graph.logit_start :].any()


def test_circuit_tracer_computes_the_same_graph_and_scores(setup):
    """Verification 2: same organism, same transcoder, loaded into circuit-tracer offline."""
    from circuit_tracer import attribute as circuit_tracer_attribute
    from circuit_tracer.graph import compute_graph_scores, prune_graph

    model, _, clt, tokens = setup
    ours = attribute(model, clt, tokens)
    replacement = circuit_tracer_model(model, clt)
    theirs = circuit_tracer_attribute(tokens, replacement, batch_size=256)
    assert torch.equal(ours.active_features, theirs.active_features)
    assert torch.equal(ours.logit_tokens, theirs.logit_token_ids)
    difference = (ours.adjacency - theirs.adjacency_matrix).abs().max()
    assert difference <= 1e-4 * ours.adjacency.abs().max()
    for mine, reference in zip(graphs.scores(ours), compute_graph_scores(theirs)):
        assert mine == pytest.approx(reference, abs=1e-4)
    pruned = graphs.prune(ours)
    reference = prune_graph(theirs)
    assert (pruned.node_mask != reference.node_mask).sum() <= 2  # ties at the threshold may fall either way


@pytest.mark.parametrize("organism", list(ORGANISMS))
def test_median_completeness_over_the_evaluation_prompts(organism):
    """Verification 4: the CLT explains most of what matters on the prompts each organism is judged by."""
    model, world = organisms.load(organism)
    clt = load_clt(ORGANISMS[organism])
    prompts = evaluation_prompts(world)[::2]
    completeness = [graphs.scores(attribute(model, clt, p)).completeness for p in prompts]
    assert statistics.median(completeness) >= 0.85


def test_graphs_save_and_load_as_plain_data(setup, tmp_path):
    model, _, clt, tokens = setup
    graph = attribute(model, clt, tokens, name="test")
    loaded = graphs.load_graph(graphs.save_graph(graph, tmp_path / "g.safetensors"))
    assert torch.equal(loaded.adjacency, graph.adjacency)
    assert loaded.token_strings == graph.token_strings and loaded.model == graph.model
    assert graphs.scores(loaded) == graphs.scores(graph)


def test_node_bookkeeping_follows_circuit_tracer_order(setup):
    model, _, clt, tokens = setup
    graph = attribute(model, clt, tokens)
    kinds = [graph.node_kind(i) for i in range(graph.n_nodes)]
    assert kinds == (["feature"] * graph.n_features + ["error"] * (graph.n_layers * graph.n_pos)
                     + ["token"] * graph.n_pos + ["logit"] * graph.n_logits)
    assert graph.node_location(graph.error_start + graph.n_pos + 3) == (1, 3)
    assert graph.node_label(graph.logit_start).startswith('logit "')
    layer, pos, index = graph.active_features[5].tolist()
    assert graph.feature_node(layer, pos, index) == 5
    assert not (graph.active_features[:, 1] == 0).any(), "no feature nodes at <bos>"
    with pytest.raises(IndexError):
        graph.node_kind(graph.n_nodes)


def test_pruning_keeps_tokens_and_logits_and_drops_most_features(setup):
    model, _, clt, tokens = setup
    graph = attribute(model, clt, tokens)
    pruned = graphs.prune(graph)
    assert pruned.node_mask[graph.token_start :].all()
    assert pruned.node_mask[: graph.n_features].float().mean() < 0.5
    kept_edges = pruned.edge_mask & (graph.adjacency != 0)
    assert kept_edges.sum() < (graph.adjacency != 0).sum()


def test_bad_prompts_are_refused(setup):
    model, _, clt, prompt = setup
    with pytest.raises(ValueError, match="longer than the model's context"):
        attribute(model, clt, torch.ones(model.cfg.n_ctx + 1, dtype=torch.long))
    words = model.tokenizer.convert_ids_to_tokens(prompt[1:].tolist())  # without <bos>
    too_long = " ".join(words * 4)  # TransformerLens's to_tokens would cut it to n_ctx tokens
    with pytest.raises(ValueError, match=rf"prompt of {4 * len(words) + 1} tokens .* context of {model.cfg.n_ctx} tokens"):
        attribute(model, clt, too_long)
    with pytest.raises(ValueError, match="one prompt"):
        attribute(model, clt, torch.ones(2, 5, dtype=torch.long))
    wrong = load_clt("facts_clt")
    wrong.config = type(wrong.config)(n_layers=3, d_model=128)
    with pytest.raises(ValueError, match="does not fit"):
        attribute(model, wrong, torch.ones(4, dtype=torch.long))


def test_edges_are_exact_through_a_middle_layer(facts_organism):
    """With three layers, reading vectors pass attention 1 densely (not one-hot): that path is exact too."""
    from workbench.transcoders.model import CLTConfig, CrossLayerTranscoder
    from workbench.organisms.model import OrganismConfig, build_model

    _, world = facts_organism
    model = build_model(OrganismConfig(n_layers=3, d_model=32, n_heads=4, d_mlp=64), world.tokenizer)
    torch.manual_seed(0)
    clt = CrossLayerTranscoder(CLTConfig(n_layers=3, d_model=32, d_features=16)).requires_grad_(False)
    clt.b_enc.normal_(0.3, 0.1)
    state = prompt_state(model, clt, world.two_hop_prompt("Dallas"))
    graph = graph_from_state(model, clt, state)
    assert (graph.active_features[:, 0] == 2).any() and (graph.active_features[:, 0] == 0).any()
    predicted = graph.adjacency[graph.target_nodes()][:, : graph.logit_start]
    measured = ablation_effects(model, clt, state, graph)
    assert (measured - predicted).abs().max() <= 1e-4 * predicted.abs().max()
