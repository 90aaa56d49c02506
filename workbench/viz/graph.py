"""Interactive views of an attribution graph for notebooks: a plotly figure and an ipywidgets explorer.

The layout is that of circuit-tracer's frontend: x is the token position, y the layer, with the
prompt's tokens on the bottom row and the logits on top, so information flows upwards. Supernodes
(Circuit Tracing, "grouping features into supernodes") merge nodes that play one role, say every
"Texas" feature, so that a graph of a hundred edges reads as a handful of arrows; the merged
edges are sums of the kept edges. The merged graph itself is plain data (``supernode_graph``).

Where each node goes is plain data too (``graph_layout``, in pixels): a column is as wide as the
nodes it holds, nodes sharing a cell sit side by side, and the names of logits and supernodes get
boxes of their own, so nothing is drawn on top of anything else at any graph size.
"""

from __future__ import annotations

import html
import math
import operator
import re
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


# ---- the layout: pixel geometry, plain data -----------------------------------------------------
LABEL_FONT_SIZE = 11  # px, the names drawn above logits and supernodes
TITLE_FONT_SIZE = 15
TICK_FONT_SIZE = 12  # px, plotly's default: token names under the columns, row names
CHAR_WIDTH = 0.65  # width of a sans-serif character, as a share of the font size (measured ≤ 0.64 in Chromium)
LINE_HEIGHT = 1.3  # of the font size
# Characters per line, lines, and the longest word kept whole, of a label: tried in turn until the
# figure fits. A city's name reads better on a longer line than cut, so words outgrow lines at first.
LABEL_SHAPES = ((16, 2, 16), (12, 3, 16), (10, 4, 10))
GAP = 6  # px between neighbouring boxes
MAX_PLOT_WIDTH = 740  # px: with margins the figure fits a notebook in JupyterLab at 1280 px, file browser open
MIN_ROW_HEIGHT = 90  # px per layer, so that edges between rows keep a readable slope
EMPTY_ROW_HEIGHT = 30  # px for a layer with no node kept (a deep model's graph has runs of them): its name fits
MIN_COLUMN_WIDTH = 56  # px per token position, so that the prompt reads as a sentence
MARGIN = dict(l=70, r=20, t=80, b=40)  # title and legend above the plot, token names below


def text_size(lines: list[str], font_size: float) -> tuple[float, float]:
    """Estimated (width, height) in px of ``lines`` of text: characters × font size × ``CHAR_WIDTH``."""
    if not lines:
        return 0.0, 0.0
    return max(len(line) for line in lines) * font_size * CHAR_WIDTH, len(lines) * font_size * LINE_HEIGHT


def wrap_label(text: str, chars: int = 16, max_lines: int = 2, longest_word: int = 16) -> list[str]:
    """At most ``max_lines`` lines of at most ``chars`` characters, broken at spaces.

    A word stays whole up to ``longest_word`` characters; whatever is cut off ends in "…".
    """
    lines = []
    for word in text.split():
        word = word if len(word) <= longest_word else word[: longest_word - 1] + "…"
        if lines and len(lines[-1]) + 1 + len(word) <= chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        lines = lines[: max_lines - 1] + [(last if len(last) < max(chars, longest_word) else last[:-1]) + "…"]
    return lines


@dataclass
class GraphLayout:
    """Where each entry of a (supernode) graph is drawn, in px from the plot area's bottom left.

    Each entry owns a box: its marker with its label (if any) on top. Boxes never overlap: entries
    sharing a (layer, position) cell sit side by side in lines, a column is as wide as its widest
    cell (or its token's name), and a row as tall as its tallest cell.
    """

    points: torch.Tensor  # (n_entries, 2) marker centres
    sizes: list[float]  # marker diameters
    labels: list[list[str]]  # lines of text above each marker; [] for entries named only on hover
    label_points: torch.Tensor  # (n_entries, 2) centres of the labels
    column_x: list[float]  # centre of each token position's column
    row_y: list[float]  # centre of each row: tokens, layer 0, …, logits
    width: float  # of the plot area
    height: float
    upright_names: bool  # token names written upwards under narrow columns (a long prompt)


def _round_half_up(x: float, step: float = 1.0) -> float:
    return math.floor(x / step + 0.5) * step


def _split_lines(entries: list[int], widths: dict[int, float], max_width: float) -> list[list[int]]:
    """Entries in as few lines of at most ``max_width`` px as greedy filling gives, balanced in count."""
    n_lines, used = 1, 0.0
    for e in entries:
        if used and used + widths[e] > max_width:
            n_lines, used = n_lines + 1, 0.0
        used += widths[e]
    per_line = -(-len(entries) // n_lines)
    lines = [entries[k:k + per_line] for k in range(0, len(entries), per_line)]
    if len(lines) == n_lines and all(sum(widths[e] for e in line) <= max_width for line in lines if len(line) > 1):
        return lines
    lines, line, used = [], [], 0.0  # uneven widths: keep the greedy split
    for e in entries:
        if line and used + widths[e] > max_width:
            lines.append(line)
            line, used = [], 0.0
        line.append(e)
        used += widths[e]
    return lines + [line]


def graph_layout(graph: AttributionGraph, merged: SupernodeGraph, sizes: list[float], labels: list[str | None],
                 min_width: float = 0.0) -> GraphLayout:
    """Place every entry of ``merged``: x by token position, y by layer, as in circuit-tracer's frontend.

    An entry sits in the cell of its members' mean layer (halfway between rows if they span two)
    and mean position, with ``labels[e]`` above it (None: named on hover only). Columns and rows
    grow with what they hold; cells wrap onto more lines, then labels onto narrower ones
    (``LABEL_SHAPES``), then token names turn upright, until the plot fits ``MAX_PLOT_WIDTH``;
    ``min_width`` widens it evenly.
    """
    for upright_names in (False, True):
        for shape in LABEL_SHAPES:
            wrapped = [wrap_label(label, *shape) if label else [] for label in labels]
            layout = _place(graph, merged, sizes, wrapped, min_width, upright_names)
            if layout.width <= MAX_PLOT_WIDTH:
                return layout
    return layout


def _place(graph: AttributionGraph, merged: SupernodeGraph, sizes: list[float], wrapped: list[list[str]],
           min_width: float, upright_names: bool) -> GraphLayout:
    box = {}  # entry -> (width, height)
    cells = defaultdict(list)  # (row, position) -> entries
    for entry, members in enumerate(merged.members):
        rows, positions = zip(*[graph.node_location(n) for n in members])
        label_w, label_h = text_size(wrapped[entry], LABEL_FONT_SIZE)
        box[entry] = (max(sizes[entry], label_w) + GAP, sizes[entry] + (label_h + GAP / 2 if label_h else 0) + GAP)
        row = _round_half_up(sum(rows) / len(rows) + 1, 0.5)  # tokens are row 0, logits n_layers + 1
        cells[row, int(_round_half_up(sum(positions) / len(positions)))].append(entry)
    widths = {entry: w for entry, (w, _) in box.items()}
    if upright_names:  # a name takes one line's height across
        tick_widths = [TICK_FONT_SIZE * LINE_HEIGHT + 2 * GAP] * graph.n_pos
    else:
        tick_widths = [max(MIN_COLUMN_WIDTH, text_size([t], TICK_FONT_SIZE)[0] + 2 * GAP) for t in graph.token_strings]

    def column(position: int, max_line: float) -> tuple[dict, float]:
        """The lines of each cell of column ``position`` and the column's width, lines at most ``max_line`` wide."""
        split = {cell: _split_lines(entries, widths, max_line) for cell, entries in cells.items() if cell[1] == position}
        lines = [line for cell_lines in split.values() for line in cell_lines]
        return split, max([tick_widths[position], *(sum(widths[e] for e in line) for line in lines)])

    # The widest column gives way first (its cells wrap onto more lines), so crowded cells get the room.
    laid_out = [column(p, MAX_PLOT_WIDTH) for p in range(graph.n_pos)]
    shrinkable = set(range(graph.n_pos))
    while sum(width for _, width in laid_out) > MAX_PLOT_WIDTH and shrinkable:
        position = max(shrinkable, key=lambda p: laid_out[p][1])
        narrower = column(position, laid_out[position][1] * 0.9)
        if narrower[1] >= laid_out[position][1]:
            shrinkable.discard(position)  # its widest line is one box, or its token's name holds it
        else:
            laid_out[position] = narrower
    split = {cell: lines for cell_lines, _ in laid_out for cell, lines in cell_lines.items()}
    column_widths = [width for _, width in laid_out]
    spare = max(0.0, min_width - sum(column_widths))
    column_widths = [w + spare / len(column_widths) for w in column_widths]
    column_x = [sum(column_widths[:p]) + w / 2 for p, w in enumerate(column_widths)]

    line_heights = {cell: max(box[e][1] for e in cells[cell]) for cell in cells}
    row_keys = sorted({float(r) for r in range(graph.n_layers + 2)} | {row for row, _ in cells})
    row_y, top = {}, 0.0
    for row in row_keys:
        content = max([len(split[cell]) * line_heights[cell] for cell in cells if cell[0] == row], default=0.0)
        least = (MIN_ROW_HEIGHT if content else EMPTY_ROW_HEIGHT) if row == int(row) else 0.0
        height = max(content + 2 * GAP, least)
        row_y[row], top = top + height / 2, top + height

    points, label_points = torch.zeros(len(box), 2, dtype=torch.float64), torch.zeros(len(box), 2, dtype=torch.float64)
    for (row, position), lines in split.items():
        line_h = line_heights[row, position]
        for k, line in enumerate(lines):
            bottom = row_y[row] + (k - len(lines) / 2) * line_h + GAP / 2
            x = column_x[position] - sum(widths[e] for e in line) / 2
            for entry in line:
                x += widths[entry] / 2
                points[entry] = torch.tensor([x, bottom + sizes[entry] / 2])
                label_h = text_size(wrapped[entry], LABEL_FONT_SIZE)[1]
                label_points[entry] = torch.tensor([x, bottom + sizes[entry] + GAP / 2 + label_h / 2])
                x += widths[entry] / 2
    return GraphLayout(points, list(sizes), wrapped, label_points, column_x,
                       [row_y[float(r)] for r in range(graph.n_layers + 2)], sum(column_widths), top, upright_names)


# ---- the figure ---------------------------------------------------------------------------------
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
    kinds = ["supernode" if entry < n_supernodes else graph.node_kind(group[0])
             for entry, group in enumerate(merged.members)]
    names = [merged.names[e] if kind == "supernode" else graph.logit_strings[group[0] - graph.logit_start]
             if kind == "logit" else None for e, (kind, group) in enumerate(zip(kinds, merged.members))]
    prompt = re.sub(r"(<[^>]*>)(?=\S)", r"\1 ", graph.text)  # "<bos> Dallas", not one long word "<bos>Dallas"
    title = f"{graph.name or 'attribution graph'}: {prompt} → {graph.logit_strings[0].strip()}" \
        if title is None else title
    title_width = text_size([title], TITLE_FONT_SIZE)[0] - MARGIN["l"] - MARGIN["r"]
    layout = graph_layout(graph, merged, [KIND_STYLE[kind][2] for kind in kinds], names,
                          min_width=min(title_width, MAX_PLOT_WIDTH))
    figure_width = layout.width + MARGIN["l"] + MARGIN["r"]
    title_lines = wrap_label(title, int(figure_width / (TITLE_FONT_SIZE * CHAR_WIDTH)), max_lines=3)
    margin = {**MARGIN, "t": MARGIN["t"] + (len(title_lines) - 1) * TITLE_FONT_SIZE * LINE_HEIGHT}
    if layout.upright_names:
        margin["b"] += max(text_size([t], TICK_FONT_SIZE)[0] for t in graph.token_strings)
    entry_of = {node: entry for entry, group in enumerate(merged.members) for node in group}
    pinned = {entry_of[node] for node in _check_nodes(graph, pruned, [] if pinned is None else pinned, "pinned")}
    bright = _neighbourhood(merged.adjacency.clone().fill_diagonal_(0), pinned) if pinned else range(len(merged.names))

    figure = go.Figure(_edge_traces(merged, layout.points, pinned, max_edges))
    by_kind = defaultdict(list)
    for entry, kind in enumerate(kinds):
        by_kind[kind].append(entry)
    for kind, (colour, symbol, size) in KIND_STYLE.items():
        entries = by_kind.get(kind)
        if not entries:
            continue
        figure.add_trace(go.Scatter(
            x=layout.points[entries, 0].tolist(), y=layout.points[entries, 1].tolist(), name=kind, hoverinfo="text",
            mode="markers", hovertext=[_hover(graph, pruned, merged.names[e], merged.members[e], feature_labels,
                                              kind == "supernode") for e in entries],
            marker=dict(color=colour, symbol=symbol, size=size,
                        opacity=[1.0 if e in bright else FADED for e in entries],
                        line=dict(color="black", width=[2 if e in pinned else 0.5 for e in entries])),
        ))
    for sign, colour in (("excites", POSITIVE), ("inhibits", NEGATIVE)):  # legend entries for the edge colours
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=sign, line=dict(color="rgb{}".format(colour))))
    for entry, lines in enumerate(layout.labels):  # supernodes and logits are named; other nodes on hover
        if lines:
            x, y = layout.label_points[entry].tolist()
            figure.add_annotation(x=x, y=y, text="<br>".join(_escape(line) for line in lines), showarrow=False,
                                  font=dict(size=LABEL_FONT_SIZE), bgcolor="rgba(255,255,255,0.8)", borderpad=0,
                                  opacity=1.0 if entry in bright else FADED, xanchor="center", yanchor="middle")

    rows = ["tokens", *(f"layer {layer}" for layer in range(graph.n_layers)), "logits"]
    figure.update_layout(
        title=dict(text="<br>".join(map(_escape, title_lines)), font=dict(size=TITLE_FONT_SIZE), x=0, xanchor="left",
                   y=1, yanchor="top", pad=dict(t=10, l=10)),
        width=figure_width, height=layout.height + margin["t"] + margin["b"], autosize=False, margin=margin, plot_bgcolor="white", hovermode="closest",
        legend=dict(orientation="h", x=0, xanchor="left", y=1, yanchor="bottom"),
    )
    figure.update_xaxes(tickvals=layout.column_x, ticktext=[_escape(t) for t in graph.token_strings],
                        range=[0, layout.width], showgrid=False, zeroline=False, automargin=False,
                        tickfont=dict(size=TICK_FONT_SIZE), tickangle=-90 if layout.upright_names else 0)
    figure.update_yaxes(tickvals=layout.row_y, ticktext=rows, range=[0, layout.height], showgrid=True,
                        gridcolor="#eeeeee", zeroline=False, automargin=False, tickfont=dict(size=TICK_FONT_SIZE))
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
    return f'<table style="margin-right:2em;line-height:1.4">{header}{rows}</table>'


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
        table.value = ('<div style="display:flex;align-items:flex-start">'  # tables as tall as their rows
                       + _edge_table(graph, "strongest inputs", incoming)
                       + _edge_table(graph, "strongest outputs", outgoing) + "</div>")
        title = f"neighbourhood of {graph.node_label(node)}"
        figure = graph_figure(graph, pruned, pinned=[node], title=title, **figure_kwargs)
        with output:
            output.clear_output(wait=True)
            display(figure)

    chooser.observe(redraw, names="value")
    redraw()
    return widgets.VBox([chooser, output, table])
