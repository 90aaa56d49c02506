"""Plotly figures (and one ipywidgets explorer) for the toy models of ``workbench.toys.superposition``.

Every function takes plain tensors (weights ``W: (k, m, n)``, sweeps, measures) and returns a
figure or widget; none trains anything, and the only maths here is what a figure needs.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import plotly.graph_objects as go
import torch
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from workbench.toys import superposition

FEATURE_COLORSCALE = "Viridis"  # features coloured by importance, yellow = most important
SUPERPOSITION_COLORSCALE = [[0.0, "black"], [1.0, "gold"]]  # black: a dimension to itself
PHASE_COLORS = ("#d9d9d9", "#1f77b4", "#ff7f0e")  # not represented, dedicated, superposed
MAX_WIDTH = 820  # px: a notebook's output area in JupyterLab at 1280 px, file browser open, is ~850 px wide


def _feature_colors(importance: torch.Tensor) -> list[str]:
    """One colour per feature, from purple (least important) to yellow (most important)."""
    importance = torch.as_tensor(importance, dtype=torch.float32)
    span = (importance.max() - importance.min()).clamp(min=1e-8)
    return sample_colorscale(FEATURE_COLORSCALE, ((importance - importance.min()) / span).tolist())


def _x_axis(panel: int) -> str:
    """Plotly's name for the x axis of subplot ``panel`` (0-based): "x", "x2", "x3", ..."""
    return f"x{panel + 1}" if panel else "x"


def feature_directions(
    W: torch.Tensor, titles: Sequence[str], importance: torch.Tensor | None = None, limit: float = 1.5
) -> go.Figure:
    """Each feature's direction W_i in the 2-D hidden space, one panel per model (the paper's Figure 1).

    W: (k, 2, n); titles: k strings; importance: (n,), colours the features.
    """
    k, m, n = W.shape
    if m != 2:
        raise ValueError(f"feature_directions draws 2-D hidden spaces, got W of shape {tuple(W.shape)}")
    colors = _feature_colors(importance if importance is not None else torch.zeros(n))
    figure = make_subplots(rows=1, cols=k, subplot_titles=list(titles))
    for panel in range(k):
        for i in range(n):
            x, y = W[panel, :, i].tolist()
            arrow = go.Scatter(
                x=[0, x],
                y=[0, y],
                mode="lines+markers",
                line=dict(color=colors[i], width=3),
                marker=dict(size=[0, 9]),
                name=f"feature {i}",
                legendgroup=f"feature {i}",
                showlegend=panel == 0,
                hovertemplate=f"feature {i}<br>W_i = (%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
            )
            figure.add_trace(arrow, row=1, col=panel + 1)
        figure.update_yaxes(scaleanchor=_x_axis(panel), row=1, col=panel + 1)
    figure.update_xaxes(range=[-limit, limit], showticklabels=False)
    figure.update_yaxes(range=[-limit, limit], showticklabels=False)
    figure.update_layout(height=300, width=min(MAX_WIDTH, max(420, 240 * k)), margin=dict(t=40, b=10, l=10, r=10))
    return figure


def wtw_heatmaps(W: torch.Tensor, titles: Sequence[str]) -> go.Figure:
    """WᵀW for each model: the diagonal is ‖W_i‖², off-diagonal entries are the interference W_i·W_j.

    W: (k, m, n) → one n×n heatmap per model, blue positive and red negative.
    """
    k = W.shape[0]
    gram = W.transpose(-1, -2) @ W
    figure = make_subplots(rows=1, cols=k, subplot_titles=list(titles), horizontal_spacing=0.04)
    for panel in range(k):
        heatmap = go.Heatmap(
            z=gram[panel].tolist(),
            zmin=-1.3,
            zmax=1.3,
            colorscale="RdBu",
            showscale=panel == k - 1,
            hovertemplate="W_%{y}·W_%{x} = %{z:.2f}<extra></extra>",
        )
        figure.add_trace(heatmap, row=1, col=panel + 1)
        figure.update_yaxes(scaleanchor=_x_axis(panel), row=1, col=panel + 1)
    figure.update_xaxes(showticklabels=False)
    figure.update_yaxes(autorange="reversed", showticklabels=False)
    figure.update_layout(height=260, width=min(MAX_WIDTH, max(400, 220 * k)), margin=dict(t=40, b=10, l=10, r=10))
    return figure


def norm_and_superposition_bars(W: torch.Tensor, titles: Sequence[str]) -> go.Figure:
    """The paper's bar charts: length ‖W_i‖, colour Σ_{j≠i} (Ŵ_i·W_j)² (black = no superposition).

    W: (k, m, n) → one panel per model, feature 0 on top.
    """
    k, _, n = W.shape
    norms = superposition.feature_norms(W)
    shared = superposition.superposition(W)
    figure = make_subplots(rows=1, cols=k, subplot_titles=list(titles), shared_yaxes=True)
    for panel in range(k):
        bars = go.Bar(
            x=norms[panel].tolist(),
            y=[f"feature {i}" for i in range(n)],
            orientation="h",
            marker=dict(
                color=shared[panel].tolist(),
                colorscale=SUPERPOSITION_COLORSCALE,
                cmin=0,
                cmax=1,
                showscale=panel == k - 1,
                colorbar=dict(title=dict(text="superposition", side="right"), len=0.9),  # beside its ticks
            ),
            hovertemplate="‖W_i‖ = %{x:.2f}<br>superposition %{marker.color:.2f}<extra></extra>",
            showlegend=False,
        )
        figure.add_trace(bars, row=1, col=panel + 1)
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(range=[0, 1.3], title_text="‖W_i‖")
    figure.update_layout(height=260, width=min(MAX_WIDTH, max(420, 230 * k)), margin=dict(t=40, b=10, l=10, r=10))
    return figure


def phase_diagram(
    relative_importance: torch.Tensor, density: torch.Tensor, phases: torch.Tensor
) -> go.Figure:
    """Which phase the extra feature ends up in, over its relative importance (rows) and density (columns).

    relative_importance: (r,); density: (d,); phases: (r, d) ints from ``superposition.classify_phase``.
    """
    bands = []  # a stepped colour scale: one flat band per phase
    for phase, color in enumerate(PHASE_COLORS):
        bands += [[phase / 3, color], [(phase + 1) / 3, color]]
    heatmap = go.Heatmap(
        x=density.tolist(),
        y=relative_importance.tolist(),
        z=phases.tolist(),
        zmin=-0.5,
        zmax=2.5,
        colorscale=bands,
        colorbar=dict(tickvals=[0, 1, 2], ticktext=list(superposition.PHASE_NAMES)),
        hovertemplate="density %{x:.3f}<br>relative importance %{y:.2f}<extra></extra>",
    )
    figure = go.Figure(heatmap)
    # dtick=1: a label per power of ten only (plotly's default labels 2…9 too, on top of each other here)
    figure.update_xaxes(type="log", dtick=1, autorange="reversed", title_text="feature density 1 − S (sparser →)")
    figure.update_yaxes(type="log", dtick=1, title_text="relative importance of the extra feature")
    figure.update_layout(
        height=380,
        width=600,
        margin=dict(t=40, b=10, l=10, r=10),
        title="2 features in 1 dimension: where does the extra feature go?",
    )
    return figure


def dimensionality_sweep(
    density: torch.Tensor,
    dims_per_feature: torch.Tensor,
    feature_dimensionality: torch.Tensor,
    norms: torch.Tensor,
) -> go.Figure:
    """Dimensions per feature (line) and each represented feature's D_i (dots) against 1/(1 − S),
    with the paper's sticky fractions as dotted reference lines.

    density: (k,); dims_per_feature: (k,); feature_dimensionality and norms: (k, n).
    """
    x = (1 / density).tolist()
    represented = norms > superposition.REPRESENTED_NORM
    figure = go.Figure()
    for fraction in superposition.STICKY_FRACTIONS:
        label = str(Fraction(fraction).limit_denominator(10))
        figure.add_hline(
            y=fraction, line=dict(color="grey", width=1, dash="dot"), annotation_text=label,
            annotation_position="right",
        )
    dots = go.Scatter(
        x=[x[k] for k in range(len(x)) for _ in range(int(represented[k].sum()))],
        y=feature_dimensionality[represented].tolist(),
        mode="markers",
        marker=dict(size=5, opacity=0.35, color="#1f77b4"),
        name="D_i of each represented feature",
    )
    curve = go.Scatter(
        x=x, y=dims_per_feature.tolist(), mode="lines+markers", line=dict(color="black", width=2),
        name="m / ‖W‖²_F",
    )
    figure.add_traces([dots, curve])
    figure.update_xaxes(type="log", title_text="1 / (1 − S)")
    figure.update_yaxes(range=[0, 1.1], title_text="dimensions per feature")
    figure.update_layout(height=400, width=720, margin=dict(t=30, b=10, l=10, r=60), legend=dict(x=0.5, y=0.98))
    return figure


def sparsity_explorer(W: torch.Tensor, sparsity: Sequence[float], importance: torch.Tensor | None = None):
    """A slider over pretrained instances: moving it redraws feature directions and norm bars.

    W: (k, 2, n), one instance per entry of ``sparsity``. Nothing trains on a slider move, so the
    redraw is instant. Figures are re-shown inside an ``ipywidgets.Output`` rather than updated in
    a ``go.FigureWidget``, which would need the anywidget package.
    """
    import ipywidgets as widgets
    from IPython.display import display

    slider = widgets.SelectionSlider(
        options=[(f"{s:g}", k) for k, s in enumerate(sparsity)],
        value=0,
        description="sparsity S",
        layout=widgets.Layout(width="500px"),
    )
    output = widgets.Output()

    def redraw(change=None):
        k = slider.value
        W_shown = W[k : k + 1]
        title = f"S = {sparsity[k]:g}: {int(superposition.n_represented(W_shown))} features represented"
        with output:
            output.clear_output(wait=True)
            display(feature_directions(W_shown, [title], importance))
            display(norm_and_superposition_bars(W_shown, [""]))

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, output])
