"""Figures of notebook 06 (planning in rhyming couplets)."""

from __future__ import annotations

ORGANISM_COLORS = {"couplets": "#1f77b4", "couplets_lookback": "#ff7f0e", "couplets_bottleneck": "#2ca02c",
                   "couplets_control": "#7f7f7f"}


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


def _spans(positions: list[int]) -> str:
    """[2, 3, 4, 6, 8, 9] → '2–4, 6, 8–9'; [] → 'none'."""
    spans, start = [], None
    for i, p in enumerate(positions):
        start = p if start is None else start
        if i + 1 == len(positions) or positions[i + 1] != p + 1:
            spans.append(f"{start}" if start == p else f"{start}–{p}")
            start = None
    return ", ".join(spans) or "none"


def attention_paths_text(name: str, paths: dict[str, list[list[int]]], predicts_b: int) -> str:
    """An organism's ``world.attention_paths()`` as text: one row per source, one column per layer (the positions
    that can carry it after that layer), and whether it reaches the position that predicts B after the last."""
    n_layers = len(next(iter(paths.values())))
    width = max(len(source) for source in paths) + 2
    header = "".join(f"{f'after layer {layer}':16s}" for layer in range(n_layers)) + f"reaches {predicts_b}"
    lines = [f"{name:{width + 3}s}{header}"]
    for source, by_layer in paths.items():
        cells = "".join(f"{_spans(layer):16s}" for layer in by_layer)
        lines.append(f"   {source:{width}s}{cells}{'yes' if predicts_b in by_layer[-1] else 'no'}")
    return "\n".join(lines)
