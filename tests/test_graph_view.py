"""The graph viewer and the Neuronpedia export, on one real graph of the facts organism."""

import html
import json
import re

import pytest
import torch

from workbench.circuits.attribution import attribute
from workbench.circuits.graph import AttributionGraph, Pruned, export_neuronpedia, prune
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
    assert graph.text == " ".join(graph.token_strings)  # an organism's words, spaced
    assert html.escape(f"facts_clt: {graph.text} → Austin") in figure.layout.title.text


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
    nearest = lambda ticks, value: min(range(len(ticks)), key=lambda k: abs(ticks[k] - value))
    position = round(sum(graph.node_location(n)[1] for n in first) / len(first))
    assert nearest(figure.layout.xaxis.tickvals, drawn.x[0]) == position  # in its members' column
    assert figure.layout.yaxis.ticktext[nearest(figure.layout.yaxis.tickvals, drawn.y[0])] == "layer 0"
    assert all(graph.node_label(n) in drawn.hovertext[0] for n in first[:12])


def crowded_graph(n_pos: int = 16, n_layers: int = 3) -> tuple[AttributionGraph, Pruned]:
    """A made-up graph harder to draw than any organism's: a full context, 60 features in one cell, 10 logits."""
    generator = torch.Generator().manual_seed(0)
    cells = [(0, n_pos - 1, 60), (1, n_pos - 1, 30), (2, n_pos - 1, 12), (0, n_pos - 2, 9)]
    cells += [(layer, position, 2) for layer in range(n_layers) for position in range(1, n_pos - 2)]
    features = torch.tensor([(layer, position, index) for layer, position, n in cells for index in range(n)])
    tokens = [f"word_{p}" if p % 3 else "containing" for p in range(n_pos)]
    logits = ["Indianapolis", "Jefferson_City", "Sacramento", "Montgomery", "Harrisburg", "Tallahassee",
              "Springfield", "Providence", "Montpelier", "Baton_Rouge"]
    n_nodes = len(features) + n_layers * n_pos + n_pos + len(logits)
    adjacency = torch.randn(n_nodes, n_nodes, generator=generator) * (torch.rand(n_nodes, n_nodes, generator=generator) < 0.05)
    graph = AttributionGraph(
        tokens=torch.arange(n_pos), active_features=features, activations=torch.rand(len(features), generator=generator),
        logit_tokens=torch.arange(len(logits)), logit_probabilities=torch.full((len(logits),), 0.1), adjacency=adjacency,
        n_layers=n_layers, token_strings=["<bos>", *tokens[1:]], logit_strings=logits, name="crowded",
    )
    return graph, Pruned(torch.ones(n_nodes, dtype=torch.bool), adjacency != 0, torch.linspace(0, 1, n_nodes))


def drawn_boxes(figure) -> tuple[list, list, list, tuple[float, float]]:
    """(marker boxes, label boxes, token-name boxes, plot size) in px, from the figure alone.

    Text boxes are estimated as characters × font size × ``graph_view.CHAR_WIDTH`` wide and
    lines × font size × ``graph_view.LINE_HEIGHT`` tall, at the size the figure is drawn.
    """
    layout = figure.layout
    width = layout.width - layout.margin.l - layout.margin.r
    height = layout.height - layout.margin.t - layout.margin.b
    (x0, x1), (y0, y1) = layout.xaxis.range, layout.yaxis.range
    px = lambda x, y: ((x - x0) / (x1 - x0) * width, (y - y0) / (y1 - y0) * height)

    def text_size(text, size):
        lines = html.unescape(text).split("<br>")
        return max(map(len, lines)) * size * graph_view.CHAR_WIDTH, len(lines) * size * graph_view.LINE_HEIGHT

    def box(x, y, w, h):
        return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)

    markers = [box(*px(x, y), trace.marker.size, trace.marker.size)
               for trace in figure.data if trace.name in NODE_TRACES for x, y in zip(trace.x, trace.y)]
    labels = [box(*px(a.x, a.y), *text_size(a.text, a.font.size)) for a in layout.annotations]
    upright = layout.xaxis.tickangle == -90  # token names written upwards: one line wide
    ticks = []
    for x, text in zip(layout.xaxis.tickvals, layout.xaxis.ticktext):
        w, h = text_size(text, layout.xaxis.tickfont.size)
        ticks.append(box(px(x, y0)[0], -10, *((h, w) if upright else (w, h))))
    return markers, labels, ticks, (width, height)


def overlapping(boxes, others=None) -> list:
    """Pairs of boxes (x0, y0, x1, y1) that overlap, within ``boxes`` or between ``boxes`` and ``others``."""
    pairs = [(a, b) for i, a in enumerate(boxes) for b in (boxes[i + 1:] if others is None else others)]
    return [(a, b) for a, b in pairs if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]


@pytest.mark.parametrize("which", ["dallas", "dallas supernodes", "dallas pinned", "crowded", "crowded supernodes"])
def test_nothing_drawn_hides_anything_else(setup, which):
    """Markers never overlap, nor do names (of logits, supernodes, tokens), and it all fits 1280 px."""
    if which.startswith("dallas"):
        _, graph, pruned = setup
    else:
        graph, pruned = crowded_graph()
    supernodes = None
    if which.endswith("supernodes"):  # one supernode per layer and position, long names like the notebook's
        features = [n for n in kept_nodes(pruned) if graph.node_kind(n) == "feature"]
        labels = {n: "fires on {} / {}".format(*(graph.token_strings[graph.node_location(n)[1]] for _ in "ab"))
                  + f" in layer {graph.node_location(n)[0]}" for n in features}
        supernodes = graph_view.group_features(graph, pruned, labels)
    pinned = [graph.logit_start] if which.endswith("pinned") else None
    figure = graph_view.graph_figure(graph, pruned, supernodes=supernodes, pinned=pinned)
    markers, labels, ticks, (width, height) = drawn_boxes(figure)

    assert len(markers) == len(graph_view.supernode_graph(graph, pruned, supernodes).names)
    assert len(labels) >= graph.n_logits
    assert not overlapping(markers)
    assert not overlapping(labels)
    assert not overlapping(labels, markers)
    assert not overlapping(ticks)
    assert all(0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height for x0, y0, x1, y1 in markers + labels)
    if which != "crowded supernodes":  # a named supernode at each of 16 positions cannot fit: it scrolls
        assert figure.layout.width <= 840  # a notebook in JupyterLab at 1280 px, file browser open (test_browser.py)


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
    errors = [node for node in data["nodes"] if node["feature_type"] == "mlp reconstruction error"]
    assert errors and all(node["node_id"] == f"{node['layer']}_-1_{node['ctx_idx']}" for node in errors)
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
