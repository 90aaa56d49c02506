"""Interactive views of an attribution graph for notebooks: a plotly figure and an ipywidgets explorer.

The layout is that of circuit-tracer's frontend: x is the token position, y the layer, with the
prompt's tokens on the bottom row and the logits on top, so information flows upwards. Supernodes
(Circuit Tracing, "grouping features into supernodes") merge nodes that play one role, say every
"Texas" feature, so that a graph of a hundred edges reads as a handful of arrows; the merged
edges are sums of the kept edges. The merged graph itself is plain data (``supernode_graph``).
"""

from __future__ import annotations

import html
import operator
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import plotly.graph_objects as go
import torch

from workbench.circuits.graph import AttributionGraph, Pruned, prune

KIND_STYLE = {  # marker colour, symbol and size per node kind
    "token": ("#9d9d9d", "square", 11),
    "error": ("#79706e", "diamond", 10),
    "feature": ("#f58518", "circle", 10),
    "logit": ("#54a24b", "hexagon", 14),
    "supernode": ("#b279a2", "circle", 20),
}
POSITIVE, NEGATIVE = (76, 120, 168), (228, 87, 86)  # blue excites, red inhibits
WIDTH_BUCKETS = 4  # edges drawn in this many widths per sign: one plotly trace each
FADED = 0.12  # opacity of what lies outside a pinned neighbourhood


def _escape(text: str) -> str:
    """Plotly reads its strings as HTML: ``<bos>`` would vanish as an unknown tag."""
    return html.escape(text, quote=False)


# ---- supernodes: plain data ---------------------------------------------------------------------
@dataclass
class SupernodeGraph:
    """The pruned graph with each supernode merged into one node.

    Entries are the supernodes, in the order given, then every other kept node in node order.
    ``adjacency[target, source]`` sums the kept edges between members; the diagonal holds the
    edges inside a group, which a figure does not draw.
    """

    names: list[str]  # a supernode's name, or a lone node's label
    members: list[list[int]]  # graph node ids behind each entry
    adjacency: torch.Tensor  # (n_entries, n_entries)

    def edges(self, top: int | None = None) -> list[tuple[str, str, float]]:
        """(source, target, summed weight) between different entries, strongest first."""
        weights = self.adjacency.clone().fill_diagonal_(0)
        targets, sources = weights.nonzero(as_tuple=True)
        order = weights[targets, sources].abs().argsort(descending=True)[:top]
        return [(self.names[int(sources[k])], self.names[int(targets[k])], float(weights[targets[k], sources[k]]))
                for k in order]


def _kept(pruned: Pruned) -> list[int]:
    return pruned.node_mask.nonzero().flatten().tolist()


def _check_nodes(graph: AttributionGraph, pruned: Pruned, nodes: Iterable, what: str) -> list[int]:
    """Node ids as ints, each a node that survived pruning (else a ValueError naming ``what``)."""
    checked = []
    for node in nodes:
        try:
            node = operator.index(node)
        except TypeError:
            raise ValueError(f"{what}: {node!r} is not a node id (an int)") from None
        if not 0 <= node < graph.n_nodes:
            raise ValueError(f"{what}: node {node} does not exist; this graph has nodes 0..{graph.n_nodes - 1}")
        if not pruned.node_mask[node]:
            raise ValueError(f"{what}: node {node} ({graph.node_label(node)}) was pruned away; "
                             "only nodes of the pruned graph are drawn")
        checked.append(node)
    return checked


def group_features(graph: AttributionGraph, pruned: Pruned, labels_by_node: dict[int, str]) -> dict[str, list[int]]:
    """Supernodes from human labels: kept nodes that share a label form one group.

    Labels of pruned-away nodes are ignored, so a labelling of every active feature can be passed.
    """
    groups = defaultdict(list)
    for node, label in labels_by_node.items():
        if not 0 <= node < graph.n_nodes:
            raise ValueError(f"labels_by_node: node {node} does not exist; this graph has nodes 0..{graph.n_nodes - 1}")
        if pruned.node_mask[node]:
            groups[label].append(node)
    return {label: sorted(nodes) for label, nodes in groups.items()}


def supernode_graph(graph: AttributionGraph, pruned: Pruned,
                    supernodes: dict[str, list[int]] | None = None) -> SupernodeGraph:
    """Merge each supernode into one entry and sum the kept edges into and out of it."""
    supernodes = supernodes or {}
    owner = {}
    for name, nodes in supernodes.items():
        nodes = _check_nodes(graph, pruned, nodes, f"supernode {name!r}")
        if not nodes:
            raise ValueError(f"supernode {name!r} has no nodes")
        for node in nodes:
            if node in owner and owner[node] != name:
                raise ValueError(f"node {node} ({graph.node_label(node)}) is in two supernodes: "
                                 f"{owner[node]!r} and {name!r}")
            owner[node] = name
    members = [sorted(set(nodes)) for nodes in supernodes.values()]
    members += [[node] for node in _kept(pruned) if node not in owner]
    names = list(supernodes) + [graph.node_label(group[0]) for group in members[len(supernodes):]]
    assignment = torch.zeros(len(members), graph.n_nodes)  # assignment[entry, node] = 1 for its members
    for entry, group in enumerate(members):
        assignment[entry, group] = 1.0
    kept_edges = graph.adjacency * pruned.edge_mask
    return SupernodeGraph(names, members, assignment @ kept_edges @ assignment.T)


# ---- the figure ---------------------------------------------------------------------------------
def node_positions(graph: AttributionGraph, pruned: Pruned) -> dict[int, tuple[float, float]]:
    """(x, y) of each kept node: x the position, y the layer + 1 (tokens 0, logits n_layers + 1).

    Nodes sharing a (layer, position) cell, such as several features or the logits, are spread
    sideways within the cell so that none hides another.
    """
    cells = defaultdict(list)
    for node in _kept(pruned):
        layer, position = graph.node_location(node)
        cells[layer + 1, position].append(node)
    xy = {}
    for (row, position), nodes in cells.items():
        step = min(0.15, 0.7 / max(len(nodes) - 1, 1))
        for k, node in enumerate(nodes):
            xy[node] = (position + (k - (len(nodes) - 1) / 2) * step, float(row))
    return xy


def _neighbourhood(adjacency: torch.Tensor, pinned: set[int]) -> set[int]:
    """The pinned entries and every entry one kept edge away from them, in either direction."""
    touching = adjacency[:, sorted(pinned)].ne(0).any(1) | adjacency[sorted(pinned)].ne(0).any(0)
    return pinned | set(touching.nonzero().flatten().tolist())


def _hover(graph: AttributionGraph, pruned: Pruned, name: str, nodes: list[int], feature_labels: dict | None,
           grouped: bool) -> str:
    influence = float(pruned.cumulative_scores[nodes].min())
    if grouped:
        listed = [_escape(graph.node_label(n)) for n in nodes[:12]]
        listed += [f"… and {len(nodes) - 12} more"] * (len(nodes) > 12)
        return f"<b>{_escape(name)}</b> ({len(nodes)} nodes)<br>influence {influence:.3f}<br>" + "<br>".join(listed)
    lines = [f"<b>{_escape(name)}</b>", f"influence {influence:.3f}"]
    if graph.node_kind(nodes[0]) == "feature":
        layer, _, index = graph.active_features[nodes[0]].tolist()
        lines.append(f"activation {float(graph.activations[nodes[0]]):.3f}")
        if feature_labels and (layer, index) in feature_labels:
            lines.append(_escape(feature_labels[layer, index]))
    return "<br>".join(lines)


def _edge_traces(merged: SupernodeGraph, points: torch.Tensor, pinned: set[int], max_edges: int) -> list[go.Scatter]:
    """Lines from source to target, one trace per (sign, width bucket, faded) with None separators.

    With entries ``pinned``, only the edges into and out of them stay bright. Invisible markers
    halfway along each edge show its weight on hover.
    """
    weights = merged.adjacency.clone().fill_diagonal_(0)
    targets, sources = weights.nonzero(as_tuple=True)
    values = weights[targets, sources]
    if len(values) == 0:
        return []
    largest = float(values.abs().max())
    lines, middles = defaultdict(lambda: ([], [])), []
    for k in values.abs().argsort(descending=True)[:max_edges].tolist():
        target, source, value = int(targets[k]), int(sources[k]), float(values[k])
        bucket = min(int(abs(value) / largest * WIDTH_BUCKETS), WIDTH_BUCKETS - 1)
        xs, ys = lines[value > 0, bucket, bool(pinned) and not ({source, target} & pinned)]
        (x0, y0), (x1, y1) = points[source].tolist(), points[target].tolist()
        xs += [x0, x1, None]
        ys += [y0, y1, None]
        name = f"{_escape(merged.names[source])} → {_escape(merged.names[target])}: {value:+.3f}"
        middles.append(((x0 + x1) / 2, (y0 + y1) / 2, name))
    x, y, names = zip(*middles)
    traces = [go.Scatter(x=x, y=y, hovertext=names, mode="markers", marker=dict(size=6, opacity=0), hoverinfo="text",
                         name="edge weights", showlegend=False)]
    for (positive, bucket, faded), (xs, ys) in sorted(lines.items()):
        opacity = FADED if faded else round(0.35 + 0.15 * bucket, 2)
        colour = "rgba({},{},{},{})".format(*(POSITIVE if positive else NEGATIVE), opacity)
        sign = "excitatory" if positive else "inhibitory"
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=0.75 + 1.75 * bucket),
                                 hoverinfo="skip", name=f"{sign} edges", showlegend=False))
    return traces


def graph_figure(graph: AttributionGraph, pruned: Pruned | None = None, *,
                 supernodes: dict[str, list[int]] | None = None,
                 feature_labels: dict[tuple[int, int], str] | None = None, pinned: Iterable[int] | None = None,
                 max_edges: int = 400, title: str | None = None) -> go.Figure:
    """The pruned attribution graph (``prune(graph)`` unless given), drawn like circuit-tracer's frontend.

    Markers by kind (features, error nodes, tokens, logits, supernodes); edges blue when they
    excite and red when they inhibit, wider when stronger, only the ``max_edges`` strongest drawn
    to keep the figure light. Hover a node for its label, influence (circuit-tracer's cumulative
    score: lower is more influential), activation and ``feature_labels[layer, index]``. With
    ``pinned`` node ids, only they, their direct neighbours and their edges stay bright.
    """
    pruned = prune(graph) if pruned is None else pruned
    merged = supernode_graph(graph, pruned, supernodes)
    n_supernodes = len(supernodes or {})
    xy = node_positions(graph, pruned)
    points = torch.stack([torch.tensor([xy[n] for n in group]).mean(0) for group in merged.members])  # (entries, 2)
    entry_of = {node: entry for entry, group in enumerate(merged.members) for node in group}
    pinned = {entry_of[node] for node in _check_nodes(graph, pruned, [] if pinned is None else pinned, "pinned")}
    bright = _neighbourhood(merged.adjacency.clone().fill_diagonal_(0), pinned) if pinned else range(len(merged.names))

    figure = go.Figure(_edge_traces(merged, points, pinned, max_edges))
    by_kind = defaultdict(list)
    for entry, group in enumerate(merged.members):
        by_kind["supernode" if entry < n_supernodes else graph.node_kind(group[0])].append(entry)
    for kind, (colour, symbol, size) in KIND_STYLE.items():
        entries = by_kind.get(kind)
        if not entries:
            continue
        text = None  # supernodes and logits are named on the figure, other nodes on hover
        if kind == "supernode":
            text = [_escape(merged.names[e]) for e in entries]
        elif kind == "logit":
            text = [_escape(graph.logit_strings[merged.members[e][0] - graph.logit_start]) for e in entries]
        figure.add_trace(go.Scatter(
            x=points[entries, 0].tolist(), y=points[entries, 1].tolist(), name=kind, hoverinfo="text",
            mode="markers+text" if text else "markers", text=text, textposition="top center",
            hovertext=[_hover(graph, pruned, merged.names[e], merged.members[e], feature_labels, kind == "supernode")
                       for e in entries],
            marker=dict(color=colour, symbol=symbol, size=size,
                        opacity=[1.0 if e in bright else FADED for e in entries],
                        line=dict(color="black", width=[2 if e in pinned else 0.5 for e in entries])),
        ))

    rows = ["tokens", *(f"layer {layer}" for layer in range(graph.n_layers)), "logits"]
    default_title = f"{graph.name or 'attribution graph'}: {' '.join(graph.token_strings)} → {graph.logit_strings[0]}"
    figure.update_layout(
        title=_escape(default_title if title is None else title),
        height=130 * len(rows) + 120, width=max(700, 90 * graph.n_pos), plot_bgcolor="white", hovermode="closest",
        legend=dict(orientation="h", y=-0.12), margin=dict(t=50, l=10, r=10, b=10),
    )
    figure.update_xaxes(tickvals=list(range(graph.n_pos)), ticktext=[_escape(t) for t in graph.token_strings],
                        range=[-0.6, graph.n_pos - 0.4], showgrid=False, zeroline=False)
    figure.update_yaxes(tickvals=list(range(len(rows))), ticktext=rows, range=[-0.5, len(rows) - 0.3],
                        showgrid=True, gridcolor="#eeeeee", zeroline=False)
    return figure


# ---- the explorer -------------------------------------------------------------------------------
def strongest_edges(graph: AttributionGraph, pruned: Pruned, node: int, top: int = 8) -> tuple[list, list]:
    """(incoming, outgoing): ``top`` kept edges of ``node`` each way as (other node, weight), strongest first."""
    kept_edges = graph.adjacency * pruned.edge_mask

    def strongest(weights: torch.Tensor) -> list[tuple[int, float]]:
        others = weights.nonzero().flatten()
        others = others[weights[others].abs().argsort(descending=True)[:top]]
        return [(int(other), float(weights[other])) for other in others]

    return strongest(kept_edges[node]), strongest(kept_edges[:, node])


def _edge_table(graph: AttributionGraph, title: str, edges: list[tuple[int, float]]) -> str:
    rows = "".join(
        f'<tr><td>{html.escape(graph.node_label(other))}</td>'
        f'<td style="text-align:right;color:{"#4c78a8" if weight > 0 else "#e45756"}">{weight:+.3f}</td></tr>'
        for other, weight in edges
    ) or '<tr><td colspan="2"><i>none</i></td></tr>'
    header = f'<tr><th style="text-align:left">{title}</th><th>weight</th></tr>'
    return f'<table style="margin-right:2em">{header}{rows}</table>'


def graph_explorer(graph: AttributionGraph, pruned: Pruned | None = None, *, top_edges: int = 8, **figure_kwargs):
    """Pick a kept node (most influential first) to see its neighbourhood and its strongest edges.

    The figure is redrawn into an ``ipywidgets.Output`` on each choice rather than updated in a
    ``go.FigureWidget``, which would need the anywidget package. ``figure_kwargs`` go to ``graph_figure``.
    """
    import ipywidgets as widgets
    from IPython.display import display

    pruned = prune(graph) if pruned is None else pruned
    kept = sorted(_kept(pruned), key=lambda node: float(pruned.cumulative_scores[node]))
    chooser = widgets.Dropdown(options=[(graph.node_label(node), node) for node in kept], description="pin",
                               layout=widgets.Layout(width="450px"))
    output, table = widgets.Output(), widgets.HTML()

    def redraw(change=None):
        node = chooser.value
        incoming, outgoing = strongest_edges(graph, pruned, node, top_edges)
        table.value = ('<div style="display:flex">' + _edge_table(graph, "strongest inputs", incoming)
                       + _edge_table(graph, "strongest outputs", outgoing) + "</div>")
        title = f"neighbourhood of {graph.node_label(node)}"
        figure = graph_figure(graph, pruned, pinned=[node], title=title, **figure_kwargs)
        with output:
            output.clear_output(wait=True)
            display(figure)

    chooser.observe(redraw, names="value")
    redraw()
    return widgets.VBox([chooser, output, table])
