"""Figures and widgets for notebooks. Computation lives elsewhere; these only draw.

circuitsvis writes token strings into the page as HTML (``dangerouslySetInnerHTML``), so ``<bos>``
would vanish as an unknown tag: views that show tokens only that way get them escaped. The
attention view also draws them as chart labels, which show an escaped ``&lt;bos&gt;`` as it is, so
there angle brackets become look-alikes (``‹bos›``) that read the same either way.
"""

from __future__ import annotations

import html

ATTENTION_VIEW_WIDTH = 520  # px: circuitsvis draws the zoomed head as a square as wide as the output


def _words(tokens: list[str]) -> list[str]:
    """Escaped tokens of a word-level tokenizer, a space before each but the first (circuitsvis joins them)."""
    return [html.escape(t if k == 0 else " " + t) for k, t in enumerate(tokens)]


def _bracket_free(token: str) -> str:
    """A token that reads the same as HTML and as plain text: ``<bos>`` → ``‹bos›``, ``&`` → ``＆``."""
    return token.replace("&", "＆").replace("<", "‹").replace(">", "›")


def attention_patterns(str_tokens: list[str], pattern, head_names: list[str] | None = None):
    """circuitsvis view of one layer's attention: ``pattern`` has shape (n_heads, query, key)."""
    import circuitsvis
    from circuitsvis.utils.render import RenderedHTML

    view = circuitsvis.attention.attention_heads(
        attention=pattern.detach().cpu(),
        tokens=[_bracket_free(t) for t in str_tokens],
        # The selector's tiles are 1/12 of the view wide (about 43 px): "Head 0" would spill out of them.
        attention_head_names=head_names or [f"H{head}" for head in range(pattern.shape[0])],
    )
    frame = f'<div style="max-width:{ATTENTION_VIEW_WIDTH}px">{{}}</div>'
    return RenderedHTML(frame.format(view.local_src), frame.format(view.cdn_src))


def colored_tokens(str_tokens: list[str], values):
    """circuitsvis tokens coloured by ``values`` (one float per token)."""
    import circuitsvis

    return circuitsvis.tokens.colored_tokens(tokens=_words(str_tokens), values=list(map(float, values)))


def top_samples(contexts: list[list[list[str]]], values: list[list[list[float]]], labels: list[str], item_name: str,
                group_name: str = ""):
    """circuitsvis list of top-activating samples, one list per item (feature, neuron) with a selector.

    ``contexts[i][j]`` is sample j of item i as tokens, ``values[i][j]`` one activation per token;
    ``group_name`` labels the one group they all belong to (say, which SAE).
    """
    import circuitsvis

    return circuitsvis.topk_samples.topk_samples(
        tokens=[[[_words(context) for context in item] for item in contexts]],
        activations=[values],
        zeroth_dimension_name=group_name,
        first_dimension_name=item_name,
        zeroth_dimension_labels=[group_name],
        first_dimension_labels=labels,
    )


def logit_lens_figure(lens_log_probs, str_tokens: list[str], tokenizer, depth_labels: list[str] | None = None):
    """Heatmap of the lens: colour is the top token's probability, text is the top token.

    ``lens_log_probs`` has shape (depth, position, d_vocab), as ``workbench.activations.logit_lens`` returns.
    """
    import plotly.graph_objects as go

    probs = lens_log_probs.exp()
    top_prob, top_id = probs.max(-1)
    words = [[tokenizer.decode([i]) for i in row] for row in top_id.tolist()]
    depth = depth_labels or ["embed", *[f"after block {l}" for l in range(probs.shape[0] - 1)]]
    columns = [f"{i}: {t}" for i, t in enumerate(str_tokens)]
    figure = go.Figure(
        go.Heatmap(
            z=top_prob.numpy(), x=columns, y=depth, text=words, texttemplate="%{text}",
            colorscale="Blues", zmin=0, zmax=1, colorbar={"title": {"text": "p(top token)", "side": "right"}},
            hovertemplate="input %{x}<br>%{y}<br>top: %{text} (p=%{z:.2f})<extra></extra>",
        )
    )
    figure.update_layout(title="Logit lens: the model's best guess at each depth", xaxis_title="input position",
                         yaxis_title="depth", height=300 + 20 * len(depth), width=820)  # the course's width
    return figure


def training_curve_figure(history: list[dict], title: str = "Training curve"):
    """Loss and the behaviour metric against tokens seen, from a checkpoint's recorded history.

    Tokens on a log scale: an organism learns most in its first hundred steps (``EARLY_EVALS``).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    metric = next(key for key in history[0] if key not in ("step", "tokens", "loss"))
    tokens = [row["tokens"] for row in history]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=tokens, y=[row["loss"] for row in history], name="training loss"))
    figure.add_trace(go.Scatter(x=tokens, y=[row[metric] for row in history], name=metric), secondary_y=True)
    figure.update_layout(title=title, xaxis_title="tokens seen (log scale)", xaxis_type="log", height=350)
    figure.update_yaxes(title_text="loss", secondary_y=False)
    figure.update_yaxes(title_text=metric, range=[0, 1.05], secondary_y=True)
    return figure


def metrics_table(metrics_by_name: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one column per organism, one row per metric."""
    names = list(metrics_by_name)
    rows = sorted({key for metrics in metrics_by_name.values() for key in metrics}, key=lambda k: (
        min(list(m).index(k) for m in metrics_by_name.values() if k in m), k))
    width = max(len(r) for r in rows)
    columns = {n: max(len(n) + 2, 10) for n in names}  # each column as wide as its name, so tables stay narrow
    lines = [" " * width + "".join(f"{n:>{columns[n]}s}" for n in names)]
    for row in rows:
        cells = [f"{metrics_by_name[n][row]:{columns[n]}.3f}" if row in metrics_by_name[n] else f"{'–':>{columns[n]}s}"
                 for n in names]
        lines.append(f"{row:<{width}s}" + "".join(cells))
    return "\n".join(lines)
