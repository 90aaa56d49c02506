"""Figures of activation patching and attribution patching (``workbench.circuits.patching``)."""

from __future__ import annotations


def patching_heatmap(effects, column_labels: list[str], title: str, column_title: str):
    """Normalised patching effect per layer (rows) and position or head (columns); 1 = clean behaviour restored."""
    import plotly.graph_objects as go

    L = effects.shape[0]
    columns = [f"{i}: {label}" for i, label in enumerate(column_labels)]
    figure = go.Figure(go.Heatmap(
        z=effects.numpy(), x=columns, y=[f"layer {l}" for l in range(L)], colorscale="RdBu", zmid=0,
        colorbar={"title": "restored"},
        hovertemplate="%{y}, %{x}<br>restored %{z:.2f}<extra></extra>",
    ))
    figure.update_layout(title=title, xaxis_title=column_title, yaxis={"autorange": "reversed"},
                         height=200 + 16 * L, width=min(820, 300 + 70 * len(columns)))
    return figure


def atp_scatter(panels: dict[str, tuple], correlations: dict[str, float]):
    """Attribution patching (x) against activation patching (y), one panel per site kind, with y = x.

    ``panels`` maps a title to ``(activation_patching, attribution_patching, point_labels)``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.12,
                           subplot_titles=[f"{name} (r = {correlations[name]:.2f})" for name in panels])
    for col, (name, (exact, linear, labels)) in enumerate(panels.items(), start=1):
        low = min(exact.min().item(), linear.min().item())
        high = max(exact.max().item(), linear.max().item())
        figure.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", line={"dash": "dot", "color": "grey"},
                                    name="y = x", showlegend=col == 1), row=1, col=col)
        figure.add_trace(go.Scatter(x=linear.flatten().numpy(), y=exact.flatten().numpy(), mode="markers",
                                    marker={"size": 6, "opacity": 0.7, "color": "#1f77b4"}, text=labels,
                                    name="site", showlegend=col == 1,
                                    hovertemplate="%{text}<br>AtP %{x:.2f}<br>patching %{y:.2f}<extra></extra>"),
                         row=1, col=col)
        figure.update_xaxes(title_text="attribution patching (linear estimate)", row=1, col=col)
        figure.update_yaxes(title_text="activation patching (measured)", row=1, col=col)
    figure.update_layout(title="AtP against activation patching: fraction of the clean logit difference restored",
                         height=440, width=820)
    return figure
