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


# ---- the engine on a batch: freezing, batched edits, generation --------------------------------

from workbench import hooks
from workbench.circuits.interventions import (FREEZES, FeatureEdits, ResidualEdit, clean_activations, edit_hooks,
                                              freeze_names, generate_edited, run_edited)


@pytest.fixture(scope="module")
def facts_batch():
    """The facts organism, its transcoder and the two-hop prompts of three cities (one length)."""
    model, world = organisms.load("facts")
    return model, world, load_clt("facts_clt"), model.to_tokens([world.two_hop_prompt(c) for c in ("Dallas", "Chicago", "Miami")])


def test_freezing_holds_the_clean_pass_and_nothing_frozen_moves(facts_batch):
    """Frozen: every held pattern and LayerNorm scale is the clean pass's, though the edit moves the residual."""
    model, world, clt, tokens = facts_batch
    L = model.cfg.n_layers
    mask = torch.ones(1, L, clt.config.d_features, dtype=torch.bool)
    edit = FeatureEdits(mask, torch.full(mask.shape, -2.0), "scale", world.city_position)
    patterns = hooks.every_layer(hooks.attn_pattern, L)
    scales = [hooks.ln_scale(l, norm) for norm in ("ln1", "ln2") for l in range(L)] + [hooks.FINAL_SCALE]
    clean = clean_activations(model, tokens, patterns + scales)
    moved = {}
    for freeze in FREEZES:
        run = run_edited(model, tokens, [edit], dictionary=clt, freeze=freeze, keep=patterns + scales)
        held = set(freeze_names(L, freeze))
        for name in patterns + scales:
            if name in held:
                assert torch.equal(run.kept[name], clean[name]), f"{freeze}: {name} is not the clean pass's"
        moved[freeze] = {name for name in patterns + scales if not torch.allclose(run.kept[name], clean[name], atol=1e-4)}
    assert set(patterns) <= set(freeze_names(L, "attention")) and set(scales) <= set(freeze_names(L, "direct"))
    assert moved["direct"] == set()
    assert moved["attention"] and moved["attention"] <= set(scales)  # scales still follow the edit
    assert moved["none"] & set(patterns)  # nothing frozen: attention responds to the edit


def _reference_intervene(model, clt, tokens, layer, position, feature, mode, value, vector_at=None):
    """One prompt, one feature edit (and optionally one vector added at resid_pre(1)), written out by hand:
    the per-prompt hooks the case studies and steering each had before the engine."""
    deltas = {}

    def read(resid, hook):
        current = clt.encode_layer(resid[0], hook.layer())
        edited = current.clone()
        if hook.layer() == layer:
            a = current[position, feature]
            edited[position, feature] = {"set": torch.full_like(a, value), "scale": a * value, "add": a + value}[mode]
        deltas[hook.layer()] = edited - current
        return resid

    def write(mlp_out, hook):
        out = mlp_out.clone()
        out[0] += clt.decode_layer(deltas, hook.layer(), bias=False)
        return out

    def add_vector(resid, hook):
        resid = resid.clone()
        resid[0, vector_at[0]] += vector_at[1]
        return resid

    L = model.cfg.n_layers
    fwd_hooks = [(n, read) for n in hooks.transcoder_inputs(L)] + [(n, write) for n in hooks.transcoder_outputs(L)]
    if vector_at is not None:
        fwd_hooks.append((hooks.resid_pre(1), add_vector))
    with torch.no_grad():
        return model.run_with_hooks(tokens[None], fwd_hooks=fwd_hooks)[0]


@pytest.mark.parametrize("mode", ["set", "scale", "add"])
def test_batched_edits_equal_each_prompt_edited_alone(facts_batch, mode):
    """Each row its own feature, position, value and residual vector: the batch equals the rows one by one."""
    model, world, clt, tokens = facts_batch
    n, L, F = len(tokens), model.cfg.n_layers, clt.config.d_features
    generator = torch.Generator().manual_seed(0)
    layers, positions = torch.tensor([0, 1, 0]), torch.tensor([world.city_position, -1, 3])
    clean = run_edited(model, tokens, dictionary=clt)
    features = clean.features[torch.arange(n), layers, positions].argmax(-1)  # each row's most active feature there
    values = torch.tensor([3.0, -2.0, 0.5])
    vectors = torch.randn(n, model.cfg.d_model, generator=generator)
    vector_positions = torch.tensor([world.city_position, 2, -1])
    mask = torch.zeros(n, L, F, dtype=torch.bool)
    mask[torch.arange(n), layers, features] = True
    edits = [FeatureEdits(mask, values[:, None, None].expand(n, L, F), mode, positions),
             ResidualEdit(hooks.resid_pre(1), vectors, "add", vector_positions)]
    batched = run_edited(model, tokens, edits, dictionary=clt).logits
    vector_only = run_edited(model, tokens, edits[1:], dictionary=clt).logits
    assert (batched - vector_only).abs().amax((1, 2)).min() > 1e-3 and (vector_only - clean.logits).abs().amax((1, 2)).min() > 1e-3
    for row in range(n):
        alone = _reference_intervene(model, clt, tokens[row], int(layers[row]), int(positions[row]), int(features[row]),
                                     mode, float(values[row]), (int(vector_positions[row]), vectors[row]))
        torch.testing.assert_close(batched[row], alone, atol=1e-5, rtol=0)


def test_generation_with_the_cache_equals_generation_without():
    """Edits at <nl> (in the prompt), at a word of line 2 (generated) and at every position: the key-value
    cache writes the words the whole text re-run at every step writes."""
    model, world = organisms.load("couplets")
    clt = load_clt("couplets_clt")
    cases = world.first_lines(world.heldout_pairs)[:24]
    prompts = [world.first_line_prompt(*case) for case in cases]
    n, L, F = len(cases), model.cfg.n_layers, clt.config.d_features
    generator = torch.Generator().manual_seed(1)
    mask = torch.rand(n, L, F, generator=generator) < 0.05
    newline = organisms.couplets.NEWLINE_POSITION
    edits = [FeatureEdits(mask, torch.rand(n, L, F, generator=generator) * 3, "set", newline),
             FeatureEdits(mask.roll(1, 0), torch.full((1, L, F), 0.0), "scale", torch.arange(n) % 3 + newline + 1),
             ResidualEdit(hooks.resid_pre(1), torch.randn(model.cfg.d_model, generator=generator) * 0.5)]
    cached = generate_edited(model, prompts, 7, edits, dictionary=clt)
    rerun = world.complete(model, prompts, fwd_hooks=edit_hooks(edits, dictionary=clt))
    assert cached == rerun
    assert cached != world.complete(model, prompts)  # the edits do change lines


def test_generation_keeps_each_row_its_edit_across_prompt_lengths(facts_batch):
    """Prompts of two lengths are generated apart; each keeps its own row of a per-row edit."""
    model, world, clt, _ = facts_batch
    prompts = [world.two_hop_prompt("Dallas"), world.capital_prompt("Texas"), world.two_hop_prompt("Miami"),
               world.capital_prompt("Ohio")]
    vectors = torch.randn(len(prompts), model.cfg.d_model, generator=torch.Generator().manual_seed(2)) * 4
    together = generate_edited(model, prompts, 2, [ResidualEdit(hooks.resid_pre(1), vectors, "add", -1)])
    alone = [generate_edited(model, [p], 2, [ResidualEdit(hooks.resid_pre(1), vectors[k:k + 1], "add", -1)])[0]
             for k, p in enumerate(prompts)]
    assert together == alone


def test_feature_edits_need_their_dictionary(facts_batch):
    model, _, clt, tokens = facts_batch
    mask = torch.zeros(1, 2, clt.config.d_features, dtype=torch.bool)
    with pytest.raises(ValueError, match="dictionary"):
        run_edited(model, tokens, [FeatureEdits(mask, torch.zeros(mask.shape))])
    with pytest.raises(ValueError, match="mode"):
        FeatureEdits(mask, torch.zeros(mask.shape), "clamp")
    with pytest.raises(ValueError, match="mode"):
        ResidualEdit(hooks.resid_pre(1), torch.zeros(4), "multiply")
