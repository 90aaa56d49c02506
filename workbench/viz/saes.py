"""Plotly figures for ``workbench.saes.toy``: SAEs compared against a known ground truth.

Every function takes plain data (reports, tensors) and returns a figure; none trains anything.
"""

from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from workbench.saes import toy as sae_toy

METRIC_TITLES = {
    "recovered": "features recovered (cos > 0.9)",
    "mmcs": "MMCS",
    "l0": "L0 (latents per sample)",
    "explained_variance": "explained variance",
    "dead_latents": "dead latents",
    "shrinkage": "shrinkage (1 − recovered/true)",
}


def metric_bars(reports: dict[str, sae_toy.SAEReport]) -> go.Figure:
    """One small bar chart per metric, one bar per SAE."""
    names = list(reports)
    # Two panels a row: at three, five architectures' names run into each other under 820 px.
    fig = make_subplots(rows=3, cols=2, subplot_titles=list(METRIC_TITLES.values()), vertical_spacing=0.1)
    for panel, metric in enumerate(METRIC_TITLES):
        values = [getattr(reports[name], metric) for name in names]
        fig.add_trace(
            go.Bar(x=names, y=values, text=[f"{v:.3g}" for v in values], showlegend=False, marker_color="#4c78a8"),
            row=panel // 2 + 1,
            col=panel % 2 + 1,
        )
    fig.update_layout(height=720, width=820, margin=dict(t=40))
    return fig


def one_feature_shrinkage(coefficient: float, max_magnitude: float = 2.0) -> go.Figure:
    """The optimal activation against the true magnitude for one feature: L1 vs L0 penalty vs no penalty."""
    magnitude = torch.linspace(0, max_magnitude, 201)
    fig = go.Figure()
    fig.add_scatter(x=magnitude, y=magnitude, name="no penalty: a = m", line=dict(dash="dot", color="gray"))
    for penalty, label in (("l1", f"L1 penalty λ={coefficient:g}: a = m − λ/2"), ("l0", f"L0 penalty λ={coefficient:g}")):
        optimum = sae_toy.one_feature_optimum(magnitude, coefficient, penalty)
        fig.add_scatter(x=magnitude, y=optimum, name=label, mode="lines")
    fig.update_layout(
        xaxis_title="true magnitude m", yaxis_title="optimal activation a*", height=380, width=620,
        title="One feature: argmin over a ≥ 0 of (m − a)² + penalty",
    )
    return fig


def magnitude_scatter(true_magnitudes: torch.Tensor, recovered: dict[str, torch.Tensor], max_points: int = 400) -> go.Figure:
    """Recovered activation against true magnitude for one feature, one colour per SAE.

    ``true_magnitudes``: (batch,); ``recovered``: {name: (batch,)}; points where the feature is off are dropped.
    """
    on = torch.nonzero(true_magnitudes > 0).flatten()[:max_points]
    top = float(true_magnitudes[on].max()) if len(on) else 1.0
    fig = go.Figure()
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", name="recovered = true", line=dict(dash="dot", color="gray"))
    for name, values in recovered.items():
        fig.add_scatter(x=true_magnitudes[on], y=values[on], mode="markers", name=name, marker=dict(size=4, opacity=0.6))
    fig.update_layout(xaxis_title="true magnitude", yaxis_title="a_j ‖W_dec,j‖ of its best latent", height=420, width=650)
    return fig


def pareto(sweeps: dict[str, dict[float, sae_toy.SAEReport]], y: str = "explained_variance") -> go.Figure:
    """Sparsity–fidelity frontier: L0 against ``y`` for each architecture's sweep of its sparsity knob."""
    fig = go.Figure()
    for name, reports in sweeps.items():
        knobs = sorted(reports, key=lambda value: reports[value].l0)
        fig.add_scatter(
            x=[reports[v].l0 for v in knobs], y=[getattr(reports[v], y) for v in knobs],
            text=[f"{v:g}" for v in knobs], mode="lines+markers+text", textposition="top center", name=name,
        )
    fig.update_layout(xaxis_title="L0 (latents per sample)", yaxis_title=y.replace("_", " "), height=420, width=650)
    return fig


def max_cosine_histogram(cosines: dict[str, torch.Tensor]) -> go.Figure:
    """Distribution over true features of their max cosine with a decoder row, one trace per SAE."""
    fig = go.Figure()
    for name, values in cosines.items():
        fig.add_histogram(x=values, name=name, opacity=0.6, xbins=dict(start=0, end=1.0001, size=0.02))
    fig.add_vline(x=sae_toy.RECOVERED_COSINE, line_dash="dot")
    fig.update_layout(barmode="overlay", xaxis_title="max cosine with a decoder row", yaxis_title="true features", height=380, width=650)
    return fig


# --- Language-model SAE dashboards (``workbench.saes``) ----------------------------------------


def top_contexts_view(dashboards):
    """circuitsvis view of each feature's top-activating contexts, tokens coloured by activation.

    ``dashboards`` is a list of ``sae_lm.FeatureDashboard``; a selector switches between features.
    """
    from workbench.viz.display import top_samples

    return top_samples([d.contexts for d in dashboards], [d.context_values for d in dashboards],
                       [str(d.feature) for d in dashboards], item_name="Feature", group_name="SAE")


def _short(word: str, width: int = 12) -> str:
    return word if len(word) <= width else word[: width - 1] + "…"


def dashboard_figure(dashboard) -> go.Figure:
    """Activation histogram and the tokens the feature promotes and suppresses (direct logit effect)."""
    fig = make_subplots(
        rows=1, cols=3, column_widths=[0.36, 0.32, 0.32], horizontal_spacing=0.16,  # room for the words' names
        subplot_titles=[f"activations (fires on {dashboard.firing_rate:.1%} of tokens)", "promotes", "suppresses"],
    )
    fig.add_trace(go.Histogram(x=dashboard.nonzero_activations, nbinsx=40, marker_color="#4c78a8"), row=1, col=1)
    for col, pairs, colour in ((2, dashboard.promoted, "#54a24b"), (3, dashboard.suppressed, "#e45756")):
        words, values = zip(*pairs) if pairs else ((), ())
        # Bars by rank, named on the axis: a real vocabulary has long tokens ("####…") and tokens that
        # print alike, which as category names would run across the next panel or share one bar.
        ranks = list(range(len(words)))
        fig.add_trace(go.Bar(x=list(values), y=ranks, orientation="h", marker_color=colour,
                             hovertext=[repr(w) for w in words], hoverinfo="text+x"), row=1, col=col)
        fig.update_yaxes(autorange="reversed", tickvals=ranks, ticktext=[_short(w) for w in words], row=1, col=col)
    fig.update_layout(title=f"Feature {dashboard.feature}", showlegend=False, height=330, width=820)
    fig.update_xaxes(title_text="activation (non-zero only)", row=1, col=1)
    fig.update_xaxes(title_text="logit weight", row=1, col=2)
    fig.update_xaxes(title_text="logit weight", row=1, col=3)
    return fig


def match_figure(matches, title: str = "Best-matching feature per ground-truth variable") -> go.Figure:
    """Precision against recall, one point per variable (``feature_matching.FeatureMatch``)."""
    items = list(matches.values())
    fig = go.Figure(
        go.Scatter(
            x=[m.recall for m in items], y=[m.precision for m in items], mode="markers",
            text=[f"{m.variable}<br>feature {m.feature}<br>F1 {m.f1:.2f}" for m in items],
            hovertemplate="%{text}<br>recall %{x:.2f}, precision %{y:.2f}<extra></extra>",
        )
    )
    fig.update_layout(title=title, xaxis_title="recall", yaxis_title="precision", height=400,
                      xaxis_range=[-0.05, 1.05], yaxis_range=[-0.05, 1.05])  # the two 0 labels apart
    return fig
