"""Figures of the case studies (notebook 05): success over every (source, target) pair, and shares by group."""

from __future__ import annotations

import plotly.graph_objects as go
import torch


def swap_heatmap(success: torch.Tensor, states: list[str], title: str) -> go.Figure:
    """Success (1) or failure (0) of a swap, source state down, target state across (NaN: no pair)."""
    figure = go.Figure(go.Heatmap(
        z=success.tolist(), x=states, y=states, zmin=0, zmax=1, colorscale=[[0, "#e45756"], [1, "#4c78a8"]],
        colorbar=dict(title=dict(text="target capital<br>on top", side="right"), tickvals=[0, 1], ticktext=["no", "yes"]),
        hovertemplate="source %{y} → target %{x}: %{z}<extra></extra>",
    ))
    # 50 names a side: upright on x and small on both, so that neighbours never touch at 820 px.
    figure.update_layout(title=title, width=820, height=900, margin=dict(t=50, l=10, r=10, b=10))
    figure.update_xaxes(title="target state", tickangle=-90, tickfont=dict(size=8))
    figure.update_yaxes(title="source state (held-out city)", autorange="reversed", tickfont=dict(size=8))
    return figure


def share_histogram(shares_by_group: dict[str, list[float]], title: str, x_title: str) -> go.Figure:
    """Overlaid histograms of one share (0 to 1) for a few groups of prompts."""
    figure = go.Figure([go.Histogram(x=values, name=name, opacity=0.6, xbins=dict(start=0, end=1, size=0.05))
                        for name, values in shares_by_group.items()])
    figure.update_layout(barmode="overlay", title=title, width=820, height=420, legend=dict(orientation="h", y=-0.25),
                         margin=dict(t=50, l=10, r=10, b=10))
    figure.update_xaxes(title=x_title, range=[-0.02, 1])  # the two axes' "0" apart
    figure.update_yaxes(title="prompts")
    return figure
