"""Plots for notebooks 03 and 04: training curves, fidelity by position, dead features, error nodes, paths."""

from __future__ import annotations

import torch


def training_curves_figure(histories: dict[str, list[dict]]):
    """Normalised reconstruction error and L0 per token over training, one line per transcoder."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from plotly.colors import qualitative

    fig = make_subplots(rows=1, cols=2, subplot_titles=("reconstruction error<br>(normalised MSE, summed over layers)",
                                                        "active features per token<br>(L0, all layers)"))
    for k, (name, history) in enumerate(histories.items()):
        steps = [h["step"] for h in history]
        line = dict(color=qualitative.Plotly[k % len(qualitative.Plotly)])  # one colour per transcoder, both panels
        fig.add_trace(go.Scatter(x=steps, y=[h["reconstruction"] for h in history], name=name, legendgroup=name,
                                 line=line), 1, 1)
        fig.add_trace(go.Scatter(x=steps, y=[sum(h["l0"]) for h in history], name=name, legendgroup=name,
                                 showlegend=False, line=line), 1, 2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="step")
    return fig.update_layout(height=360, width=820, margin=dict(t=80))


@torch.no_grad()
def agreement_by_position(model, clt, tokens: torch.Tensor, mask: torch.Tensor):
    """Per position: top-1 agreement of the replacement with the original, and the original's top probability."""
    from workbench.circuits.replacement import replaced

    clean = model(tokens).softmax(-1)
    with replaced(model, clt):
        replacement = model(tokens).softmax(-1)
    agree = clean.argmax(-1).eq(replacement.argmax(-1)).float()
    top = clean.max(-1).values
    mask = mask.bool()
    counts = mask.sum(0).clamp(min=1)
    keep = mask.any(0)
    return ((agree * mask).sum(0) / counts)[keep], ((top * mask).sum(0) / counts)[keep]


def agreement_figure(rows: dict[str, tuple[torch.Tensor, torch.Tensor]]):
    """Bars: agreement per position; markers: how sure the original was there."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(rows), subplot_titles=list(rows))
    for col, (name, (agree, top)) in enumerate(rows.items(), start=1):
        positions = list(range(len(agree)))
        fig.add_trace(go.Bar(x=positions, y=agree.tolist(), name="top-1 agreement", marker_color="#4c78a8",
                             showlegend=col == 1), 1, col)
        fig.add_trace(go.Scatter(x=positions, y=top.tolist(), mode="markers", name="original's top probability",
                                 marker=dict(color="#e45756", size=9), showlegend=col == 1), 1, col)
        fig.update_xaxes(title_text="position (predicting the next token)", row=1, col=col)
    return fig.update_layout(height=330, width=820, yaxis_range=[0, 1.05])


def firing_rate_figure(rates: dict[str, torch.Tensor]):
    """Histogram of log10 firing rates per transcoder; dead features (rate 0) counted in the legend."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, rate in rates.items():
        flat = rate.flatten()
        dead = int((flat == 0).sum())
        fig.add_trace(go.Histogram(x=flat[flat > 0].log10().tolist(), name=f"{name} ({dead} dead of {len(flat)})",
                                   opacity=0.6, nbinsx=40))
    fig.update_layout(barmode="overlay", height=320, width=800, xaxis_title="log10 firing rate on held-out tokens",
                      yaxis_title="features")
    return fig


def error_share_figure(state, str_tokens: list[str]):
    """Heatmap of ‖error‖ / ‖MLP output‖ per layer and position: where the transcoder falls short."""
    import plotly.graph_objects as go

    share = state.errors.norm(dim=-1) / state.mlp_out.norm(dim=-1).clamp(min=1e-8)
    labels = [f"{i} {t}" for i, t in enumerate(str_tokens)]
    fig = go.Figure(go.Heatmap(z=share.tolist(), x=labels, y=[f"MLP {l}" for l in range(share.shape[0])],
                               colorscale="Reds", zmin=0, colorbar=dict(title="‖error‖/‖out‖", nticks=4)))
    return fig.update_layout(height=320, width=820, title="error nodes: the part of each MLP output the transcoder misses")


def path_length_figure(profiles: dict[str, torch.Tensor]):
    """Share of influence on the logits carried by paths of each length, per transcoder."""
    import plotly.graph_objects as go

    fig = go.Figure([go.Bar(x=list(range(1, len(p) + 1)), y=p.tolist(), name=name) for name, p in profiles.items()])
    return fig.update_layout(barmode="group", height=320, width=700, xaxis_title="path length (edges)",
                             yaxis_title="share of influence")


def effects_figure(predicted: torch.Tensor, measured: dict[str, torch.Tensor], title: str):
    """Scatter of predicted (from edges) against measured changes, one colour per freezing regime."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, values in measured.items():
        fig.add_trace(go.Scatter(x=predicted.tolist(), y=values.tolist(), mode="markers", name=name,
                                 marker=dict(size=5, opacity=0.6)))
    low, high = float(predicted.min()), float(predicted.max())
    fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="y = x", line=dict(dash="dot", color="grey")))
    return fig.update_layout(height=380, width=600, title=title, xaxis_title="predicted by the graph's edges",
                             yaxis_title="measured on the model")
