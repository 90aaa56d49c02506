"""The graph viewer and the Neuronpedia export, on one real graph of the facts organism."""

import html
import json
import re

import pytest
import torch

from workbench.circuits.attribution import attribute
from workbench.circuits.graph import export_neuronpedia, prune
from workbench.transcoders import load_clt
from workbench.viz import graph as graph_view

NODE_TRACES = set(graph_view.KIND_STYLE)


@pytest.fixture(scope="module")
def setup(facts_organism):
    """(model, graph, pruned) for the two-hop Dallas prompt."""
    model, world = facts_organism
    graph = attribute(model, load_clt("facts_clt"), world.two_hop_prompt("Dallas"), name="facts_clt")
    return model, graph, prune(graph)


def kept_nodes(pruned):
    return pruned.node_mask.nonzero().flatten().tolist()


def kept_edges(graph, pruned):
    return graph.adjacency * pruned.edge_mask


def node_points(figure) -> dict[str, float]:
    """Opacity of each drawn node, keyed by the name in bold at the head of its hover text."""
    opacities = {}
    for trace in figure.data:
        if trace.name in NODE_TRACES:
            for text, opacity in zip(trace.hovertext, trace.marker.opacity):
                opacities[html.unescape(re.match(r"<b>(.*?)</b>", text).group(1))] = opacity
    return opacities


def segments(figure, name_part: str = "edges", opacity: str | None = None) -> int:
    """How many edges the line traces draw (one None separator each), optionally only faded or bright ones."""
    return sum(trace.x.count(None) for trace in figure.data if trace.mode == "lines" and name_part in trace.name
               and (opacity is None or trace.line.color.endswith(f",{opacity})")))


def test_the_figure_draws_every_kept_node_and_edge(setup):
    _, graph, pruned = setup
    layer, _, index = graph.active_features[kept_nodes(pruned)[0]].tolist()
    figure = graph_view.graph_figure(graph, pruned, feature_labels={(layer, index): "says <Texas>"})
    labels = node_points(figure)
    assert sorted(labels) == sorted(graph.node_label(n) for n in kept_nodes(pruned))
    hover = " ".join(text for trace in figure.data if trace.name in NODE_TRACES for text in trace.hovertext)
    assert "says &lt;Texas&gt;" in hover and "activation" in hover and "influence" in hover

    weights = kept_edges(graph, pruned)
    assert segments(figure) == int(weights.ne(0).sum())
    assert segments(figure, "excitatory") == int(weights.gt(0).sum())
    assert segments(figure, "inhibitory") == int(weights.lt(0).sum())
    assert segments(graph_view.graph_figure(graph, pruned, max_edges=10)) == 10
    assert list(figure.layout.xaxis.ticktext) == [html.escape(t) for t in graph.token_strings]  # "&lt;bos&gt;"


def test_pinning_a_node_fades_all_but_its_neighbourhood(setup):
    _, graph, pruned = setup
    node = min(kept_nodes(pruned), key=lambda n: float(pruned.cumulative_scores[n]))
    weights = kept_edges(graph, pruned)
    neighbours = set((weights[node].ne(0) | weights[:, node].ne(0)).nonzero().flatten().tolist())
    assert 0 < len(neighbours) < len(kept_nodes(pruned)) - 1

    figure = graph_view.graph_figure(graph, pruned, pinned=[node])
    opacities = node_points(figure)
    for other in kept_nodes(pruned):
        expected = 1.0 if other == node or other in neighbours else graph_view.FADED
        assert opacities[graph.node_label(other)] == expected, graph.node_label(other)
    touching = int((weights[node].ne(0) | weights[:, node].ne(0)).sum())
    assert segments(figure) - segments(figure, opacity=str(graph_view.FADED)) == touching


def test_supernodes_sum_the_edges_of_their_members(setup):
    _, graph, pruned = setup
    features = [n for n in kept_nodes(pruned) if graph.node_kind(n) == "feature"]
    layer_of = {n: graph.node_location(n)[0] for n in features}
    pruned_away = int((~pruned.node_mask[: graph.n_features]).nonzero()[0, 0])
    supernodes = graph_view.group_features(graph, pruned, {**{n: f"layer {layer_of[n]}" for n in features},
                                                            pruned_away: "ignored"})
    assert supernodes == {f"layer {l}": [n for n in features if layer_of[n] == l] for l in (0, 1)}

    merged = graph_view.supernode_graph(graph, pruned, supernodes)
    weights = kept_edges(graph, pruned)
    first, second = supernodes["layer 0"], supernodes["layer 1"]
    assert len(merged.names) == len(kept_nodes(pruned)) - len(features) + len(supernodes)
    one, two = merged.names.index("layer 0"), merged.names.index("layer 1")
    torch.testing.assert_close(merged.adjacency[two, one], weights[second][:, first].sum())
    token = max(range(graph.token_start, graph.logit_start), key=lambda n: float(weights[first, n].abs().sum()))
    entry = merged.names.index(graph.node_label(token))
    torch.testing.assert_close(merged.adjacency[one, entry], weights[first, token].sum())
    between = merged.adjacency - torch.diag(merged.adjacency.diag())
    source, target, weight = merged.edges(1)[0]  # the strongest edge between different entries
    assert abs(weight) == pytest.approx(float(between.abs().max()))
    assert float(merged.adjacency[merged.names.index(target), merged.names.index(source)]) == weight

    figure = graph_view.graph_figure(graph, pruned, supernodes=supernodes)
    assert sum(len(t.x) for t in figure.data if t.name in NODE_TRACES) == len(merged.names)
    drawn = next(t for t in figure.data if t.name == "supernode")
    xy = graph_view.node_positions(graph, pruned)
    assert drawn.x[0] == pytest.approx(sum(xy[n][0] for n in first) / len(first))
    assert all(graph.node_label(n) in drawn.hovertext[0] for n in first[:12])


def test_bad_nodes_are_refused_with_a_reason(setup):
    _, graph, pruned = setup
    pruned_away = int((~pruned.node_mask).nonzero()[0, 0])
    feature = kept_nodes(pruned)[0]
    with pytest.raises(ValueError, match="does not exist"):
        graph_view.graph_figure(graph, pruned, pinned=[graph.n_nodes])
    with pytest.raises(ValueError, match="pruned away"):
        graph_view.graph_figure(graph, pruned, pinned=[pruned_away])
    with pytest.raises(ValueError, match="not a node id"):
        graph_view.graph_figure(graph, pruned, pinned=["Dallas"])
    with pytest.raises(ValueError, match="in two supernodes"):
        graph_view.supernode_graph(graph, pruned, {"a": [feature], "b": [feature]})
    with pytest.raises(ValueError, match="no nodes"):
        graph_view.supernode_graph(graph, pruned, {"a": []})


def test_the_explorer_redraws_around_the_chosen_node(setup, capsys):
    _, graph, pruned = setup
    explorer = graph_view.graph_explorer(graph, pruned)
    chooser, _, table = explorer.children
    assert len(chooser.options) == len(kept_nodes(pruned))
    assert chooser.value == min(kept_nodes(pruned), key=lambda n: float(pruned.cumulative_scores[n]))

    logit = graph.logit_start  # logits have inputs and no outputs
    incoming, outgoing = graph_view.strongest_edges(graph, pruned, logit)
    assert incoming and not outgoing
    capsys.readouterr()
    chooser.value = logit
    assert f"neighbourhood of {graph.node_label(logit)}" in capsys.readouterr().out  # the figure redrawn
    assert html.escape(graph.node_label(incoming[0][0])) in table.value and "<i>none</i>" in table.value


def test_the_neuronpedia_export_is_the_pruned_graph(setup, tmp_path):
    model, graph, pruned = setup
    path = export_neuronpedia(graph, tmp_path, model.tokenizer)
    data = json.loads(path.read_text())
    assert path.name == f"{data['metadata']['slug']}.json"  # the name circuit-tracer's frontend fetches
    assert data["metadata"]["prompt_tokens"] == graph.token_strings
    ids = [node["node_id"] for node in data["nodes"]]
    assert len(set(ids)) == len(ids)
    assert all(link["source"] in ids and link["target"] in ids for link in data["links"])

    edges = pruned.edge_mask & pruned.node_mask[:, None] & pruned.node_mask[None, :]
    connected = (edges.any(0) | edges.any(1))[: graph.n_features]
    features = [node for node in data["nodes"] if node["feature_type"] == "cross layer transcoder"]
    assert len(features) == int(connected.sum())
    assert len(data["links"]) == int(edges.sum())
    listed = json.loads((tmp_path / "graph-metadata.json").read_text())["graphs"]
    assert [g["slug"] for g in listed] == [data["metadata"]["slug"]]

    assert export_neuronpedia(graph, tmp_path / "mine.json", model.tokenizer, slug="mine").name == "mine.json"
    assert len(json.loads((tmp_path / "graph-metadata.json").read_text())["graphs"]) == 2
    with pytest.raises(ValueError, match="slug"):
        export_neuronpedia(graph, tmp_path, model.tokenizer, slug="../escape")
