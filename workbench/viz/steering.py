"""Views for notebook 07 (steering): where each method breaks as its factor grows, the AxBench-form table, the scores of
every concept per method, side effects, and a slider with live generations. Everything here draws what ``workbench.steering`` returns.
"""

from __future__ import annotations

# AxBench (Wu et al. 2025), Gemma-2, overall score (harmonic mean of the judge's three scores):
# the published ranking the issue asks us to compare with (intermediate methods omitted).
AXBENCH_OVERALL = {
    "prompting": 0.894, "LoReFT": 0.741, "SFT": 0.676, "LoRA": 0.615, "DiffMean": 0.239, "SAE": 0.165, "probe": 0.098,
}

METHOD_COLORS = {
    "difference of means": "#1f77b4", "probe": "#ff7f0e", "SAE latent added": "#2ca02c",
    "SAE latent clamped": "#98df8a", "SAE latent (by effect) added": "#17becf",
    "SAE latent (by effect) clamped": "#9edae5", "transcoder features clamped": "#d62728", "fine-tuning": "#9467bd",
}


SCORE_COLORS = {"concept": "#1f77b4", "instruction": "#ff7f0e", "fluency": "#2ca02c"}
SCORE_DASHES = {"concept": "solid", "instruction": "solid", "fluency": "dot"}  # fluency over instruction: both show
TRADEOFF_COLUMNS = 3


def tradeoff_figure(sweeps, title: str):
    """One panel per method: concept, instruction and fluency (``choose`` split) at each factor of its sweep.

    Side by side, the panels show where each method breaks as its factor grows: which score falls
    first, and at which factor (each method's factors are its own: a vector's length, a clamp, steps).
    """
    import math

    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = math.ceil(len(sweeps) / TRADEOFF_COLUMNS)
    fig = make_subplots(rows=rows, cols=TRADEOFF_COLUMNS, shared_yaxes=True, horizontal_spacing=0.04,
                        vertical_spacing=0.3 / rows, subplot_titles=[s.method for s in sweeps])
    for k, s in enumerate(sweeps):
        row, col = divmod(k, TRADEOFF_COLUMNS)
        factors = [f"{f:g}" for f in s.factors]  # as the sweep tried them, evenly spaced
        for score, color in SCORE_COLORS.items():
            fig.add_trace(go.Scatter(
                x=factors, y=[getattr(c, score) for c in s.choose], mode="lines+markers", name=score,
                legendgroup=score, showlegend=k == 0, line=dict(color=color, dash=SCORE_DASHES[score]),
                hovertemplate=f"{s.method}<br>factor %{{x}}<br>{score} %{{y:.2f}}<extra></extra>"), row + 1, col + 1)
    fig.update_xaxes(type="category")
    fig.update_xaxes(title_text="factor", title_standoff=4, row=rows)
    fig.update_yaxes(range=[-0.05, 1.05])
    fig.update_yaxes(title_text="share of generations", col=1)
    fig.update_annotations(font_size=12)
    height = 100 + 230 * rows
    return fig.update_layout(title=title, height=height, width=820, margin=dict(t=80, b=90),
                             legend=dict(orientation="h", x=0.5, xanchor="center", y=-70 / (height - 170), yanchor="top"))


def steering_table(rows: list[dict], title: str = "") -> str:
    """The AxBench-form table as text: method, factor chosen on ``choose``, ``report`` scores, overall."""
    header = f"{'method':32} {'factor':>7} {'concept':>8} {'instr.':>8} {'fluency':>8} {'overall':>8}"
    lines = [title, header, "-" * len(header)] if title else [header, "-" * len(header)]
    for row in rows:
        lines.append(f"{row['method']:32} {row['factor']:>7g} {row['concept']:>8.3f} {row['instruction']:>8.3f} "
                     f"{row['fluency']:>8.3f} {row['overall']:>8.3f}")
    return "\n".join(lines)


def method_summary_table(summaries: dict[str, list[dict]], n_concepts: dict[str, int]) -> str:
    """Per task, per method: mean ± std of the overall score over concepts, min and max, and first places
    (``steering.method_summary``'s rows; "first" counts ties, "alone" does not)."""
    lines = []
    for task, rows in summaries.items():
        header = (f"{task} ({n_concepts[task]} concepts)".ljust(32) + f"{'mean ± std':>14} {'min':>6} {'max':>6}"
                  f" {'first':>6} {'alone':>6}")
        lines += [header, "-" * len(header)]
        for row in rows:
            lines.append(f"{row['method']:32}{row['mean']:8.3f} ± {row['std']:.3f} {row['min']:6.3f} {row['max']:6.3f}"
                         f" {row['first']:6d} {row['alone']:6d}")
        lines.append("")
    return "\n".join(lines).rstrip()


def concept_scores_figure(scores: dict[str, dict[str, dict[str, float]]], title: str,
                          highlight: dict[str, str] | None = None):
    """One row per (task, method), best mean first, one dot per concept at its overall score, the mean a black bar.

    ``scores``: task → ``steering.method_scores(entries)`` ({method: {concept: overall}}); ``highlight``: task →
    one concept to ring in black (the one a notebook ran live). Dots are spread vertically within their row (a
    fixed pattern, no randomness) so that equal scores stay visible.
    """
    import plotly.graph_objects as go

    def mean(values: dict) -> float:
        return sum(values.values()) / len(values)

    rows = [(task, method) for task in scores  # best mean first within each task
            for method in sorted(scores[task], key=lambda m: -mean(scores[task][m]))]
    figure = go.Figure()
    for index, (task, method) in enumerate(rows):
        by_concept = scores[task][method]
        offsets = [((k * 7) % 11 - 5) * 0.05 for k in range(len(by_concept))]
        figure.add_trace(go.Scatter(
            x=list(by_concept.values()), y=[index + o for o in offsets], mode="markers", name=method,
            legendgroup=method, showlegend=False, opacity=0.7,
            marker=dict(size=7, color=METHOD_COLORS.get(method, "#7f7f7f")),
            customdata=list(by_concept), hovertemplate="%{customdata}: %{x:.3f}<extra>" + method + "</extra>"))
        ringed = (highlight or {}).get(task)
        if ringed in by_concept:
            figure.add_trace(go.Scatter(
                x=[by_concept[ringed]], y=[index + offsets[list(by_concept).index(ringed)]], mode="markers",
                name=" / ".join((highlight or {}).values()), legendgroup="highlight", showlegend=index == 0,
                marker=dict(size=12, symbol="circle-open", color="black", line=dict(width=2)),
                hovertemplate=f"{ringed}: %{{x:.3f}}<extra>{method}</extra>"))
        figure.add_trace(go.Scatter(
            x=[mean(by_concept)], y=[index], mode="markers", name="mean over concepts", legendgroup="mean",
            showlegend=index == 0, marker=dict(symbol="line-ns", size=22, line=dict(width=3, color="black")),
            hovertemplate=f"mean {mean(by_concept):.3f}<extra>{method}</extra>"))
    figure.update_layout(
        title=title, width=820, height=120 + 34 * len(rows), margin=dict(l=270),
        xaxis=dict(title="overall score on the report split (one dot per concept)", range=[-0.03, 1.03]),
        yaxis=dict(tickvals=list(range(len(rows))), ticktext=[f"{task} · {method}" for task, method in rows],
                   autorange="reversed"),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0))
    return figure


def side_effects_figure(effects, title: str):
    """Per group of prompts: share whose answer changed, and share now naming the steered concept."""
    import plotly.graph_objects as go

    groups = [f"{e.group} ({e.n})" for e in effects]
    fig = go.Figure([
        go.Bar(name="answer changed", y=groups, x=[e.changed for e in effects], marker_color="#7f7f7f", orientation="h"),
        go.Bar(name="answer is now the steered concept", y=groups, x=[e.to_concept for e in effects],
               marker_color="#d62728", orientation="h"),
    ])  # horizontal: the group names read as rows instead of running into each other
    fig.update_xaxes(range=[0, 1.05], title_text="share of prompts")
    fig.update_yaxes(autorange="reversed")
    return fig.update_layout(barmode="group", title=title, height=420, width=820, legend=dict(orientation="h", y=-0.2))


def steering_slider(methods, prompts: list[str], continue_fn):
    """A method menu, a prompt menu and a factor slider; the generation updates as they move.

    ``methods``: the ``steering.vectors.Method``s; ``continue_fn(method, factor, prompt)`` returns the text.
    """
    import ipywidgets as widgets

    by_name = {m.name: m for m in methods}
    method_menu = widgets.Dropdown(options=list(by_name), description="method", layout=widgets.Layout(width="420px"))
    prompt_menu = widgets.Dropdown(options=prompts, description="prompt", layout=widgets.Layout(width="600px"))
    factor = widgets.SelectionSlider(options=[0.0, *by_name[method_menu.value].factors], description="factor",
                                     continuous_update=False)
    output = widgets.HTML()

    def refresh(*_):
        method = by_name[method_menu.value]
        text = continue_fn(method, factor.value, prompt_menu.value)
        output.value = f"<pre>{prompt_menu.value} <b>{text}</b></pre>"

    def new_method(change):
        factor.options = [0.0, *by_name[change["new"]].factors]
        refresh()

    method_menu.observe(new_method, names="value")
    prompt_menu.observe(refresh, names="value")
    factor.observe(refresh, names="value")
    refresh()
    return widgets.VBox([method_menu, prompt_menu, factor, output])  # shown once, as the cell's value
