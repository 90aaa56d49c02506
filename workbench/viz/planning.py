"""Figures of notebook 06 (planning in rhyming couplets)."""

from __future__ import annotations

ORGANISM_COLORS = {"couplets": "#1f77b4", "couplets_lookback": "#ff7f0e", "couplets_control": "#7f7f7f"}


def position_profile_figure(profiles: dict[str, dict[int, float]], token_strings: list[str], title: str = ""):
    """Share of lines ending with the injected word, by the position injected, one line per organism.

    ``profiles``: organism → {position: rate}; ``token_strings``: the couplet's tokens, for the x axis.
    """
    import plotly.graph_objects as go

    figure = go.Figure()
    for name, profile in profiles.items():
        positions = list(profile)
        figure.add_trace(go.Scatter(
            x=positions, y=[100 * profile[p] for p in positions], mode="lines+markers", name=name,
            line=dict(color=ORGANISM_COLORS.get(name)),
        ))
    positions = sorted({p for profile in profiles.values() for p in profile})
    figure.update_layout(
        title=title, width=820, height=420, yaxis=dict(title="lines ending with the injected word (%)", range=[-3, 103]),
        xaxis=dict(title="position of the injection", tickvals=positions,
                   ticktext=[f"{p}<br>{token_strings[p]}" for p in positions]),
        legend=dict(orientation="h", y=1.12),
    )
    return figure
