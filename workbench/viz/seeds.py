"""The spread of an organism's behaviours over training seeds: one dot per seed, one row per metric."""

from __future__ import annotations

SEED_COLORS = ("#000000", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def seed_spread_figure(tables: dict[str, dict[int, dict]], metrics: dict[str, list[str]], title: str = ""):
    """Each (organism, metric) is a row; each seed a dot on it (seed 0, the shipped checkpoint, a black diamond).

    ``tables``: organism → {seed: {metric: value}} (``workbench.artifacts.seed_table``);
    ``metrics``: organism → the metrics to show, each a fraction in [0, 1].
    Dots of one row are offset vertically by seed so that equal values stay visible.
    """
    import plotly.graph_objects as go

    rows = [(f"{organism} · {metric}", organism, metric) for organism in tables for metric in metrics[organism]]
    seeds = sorted({seed for table in tables.values() for seed in table})
    figure = go.Figure()
    for index, seed in enumerate(seeds):
        offset = (index - (len(seeds) - 1) / 2) * 0.12
        points = [(tables[o][seed][m], i + offset, label) for i, (label, o, m) in enumerate(rows) if seed in tables[o]]
        figure.add_trace(go.Scatter(
            x=[p[0] for p in points], y=[p[1] for p in points], mode="markers",
            name=f"seed {seed}" + (" (shipped)" if seed == 0 else ""),
            marker=dict(size=9, color=SEED_COLORS[index % len(SEED_COLORS)], symbol="diamond" if seed == 0 else "circle"),
            customdata=[p[2] for p in points], hovertemplate="%{customdata}: %{x:.3f}<extra>seed " + str(seed) + "</extra>",
        ))
    figure.update_layout(
        title=title or "Behaviours over training seeds", width=820, height=140 + 26 * len(rows),
        xaxis=dict(title="metric value (fraction)", range=[-0.03, 1.03]),
        yaxis=dict(tickvals=list(range(len(rows))), ticktext=[r[0] for r in rows], autorange="reversed"),
        margin=dict(l=330), legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0),
    )
    return figure


def seed_spread_table(spreads: dict[str, dict[str, dict[str, float]]], seeds: dict[str, int] | None = None) -> str:
    """A plain-text table per organism: each metric's mean ± std over seeds, and its worst seed (min).

    ``spreads``: organism → ``workbench.artifacts.seed_spread(table)``; ``seeds``: organism → number of seeds.
    """
    width = max(len(metric) for spread in spreads.values() for metric in spread)
    lines = []
    for organism, spread in spreads.items():
        count = f" ({seeds[organism]} seeds)" if seeds else ""
        lines.append(f"{organism}{count}".ljust(width + 2) + f"{'mean ± std':>17s}{'min':>8s}{'max':>8s}")
        for metric, s in spread.items():
            lines.append(f"  {metric:<{width}s}{s['mean']:9.3f} ± {s['std']:.3f}{s['min']:8.3f}{s['max']:8.3f}")
        lines.append("")
    return "\n".join(lines).rstrip()
