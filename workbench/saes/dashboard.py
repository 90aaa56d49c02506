"""Feature dashboards as plain data: top contexts, promoted and suppressed tokens, activation spread.

``workbench.viz.saes.dashboard_figure`` draws one; the data can be read without plotly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workbench.activations.collect import content_mask


@torch.no_grad()
def feature_activations(model, sae, tokens: torch.Tensor, batch_rows: int | None = None) -> torch.Tensor:
    """The SAE's feature activations on ``tokens`` at its hook: (n_rows, n_ctx, d_sae).

    The model runs only up to the hook's block; ``batch_rows`` rows at a time if given."""
    from sae_lens.util import extract_stop_at_layer_from_tlens_hook_name

    hook_name = sae.cfg.metadata.hook_name
    stop = extract_stop_at_layer_from_tlens_hook_name(hook_name)
    step = tokens.shape[0] if batch_rows is None else batch_rows
    out = []
    for start in range(0, tokens.shape[0], step):
        _, cache = model.run_with_cache(tokens[start:start + step], names_filter=hook_name, stop_at_layer=stop)
        out.append(sae.encode(cache[hook_name]))
    return torch.cat(out)


@torch.no_grad()
def logit_weights(model, sae, features: list[int] | None = None) -> torch.Tensor:
    """Each feature's direct effect on the logits: (d_sae, d_vocab), or (len(features), d_vocab).

    The decoder direction read through the final LayerNorm's centring (RMSNorm has none) and weight, then the
    unembedding (the LayerNorm's scale depends on the whole residual and is left out), so only the
    ranking of tokens within a feature is meaningful. Ignores every layer after the hook.
    """
    directions = sae.W_dec if features is None else sae.W_dec[features]
    if model.cfg.normalization_type in ("LN", "LNPre"):  # LayerNorm centres the residual; RMSNorm does not
        directions = directions - directions.mean(-1, keepdim=True)
    ln_weight = getattr(model.ln_final, "w", None)
    if ln_weight is not None:
        directions = directions * ln_weight
    return directions @ model.W_U


@dataclass(frozen=True)
class FeatureDashboard:
    """Everything a dashboard shows about one feature, as plain data (``sae_plots`` draws it)."""

    feature: int
    contexts: list[list[str]]  # top-activating sentences (or windows), as tokens (special tokens dropped)
    context_values: list[list[float]]  # the feature's activation on each of those tokens
    promoted: list[tuple[str, float]]  # tokens the feature pushes up through the unembedding
    suppressed: list[tuple[str, float]]
    nonzero_activations: list[float]  # every non-zero activation on the corpus (for the histogram)
    firing_rate: float  # fraction of non-special tokens where it fires


def feature_dashboard(
    model, sae, tokens: torch.Tensor, feature: int, *, n_contexts: int = 8, n_logits: int = 8,
    feature_acts: torch.Tensor | None = None, window: tuple[int, int] | None = None,
) -> FeatureDashboard:
    """Top contexts, promoted/suppressed tokens and activation distribution of ``feature`` on ``tokens``.

    Contexts are whole rows, ranked by the feature's largest activation in them, or with ``window =
    (before, after)`` the tokens from ``before`` positions before that peak to ``after`` after it (a
    real model's rows are too long to read whole); pass ``feature_acts`` (from ``feature_activations``)
    to avoid recomputing them for every feature. Tokens are shown as the tokenizer decodes them.
    """
    if not 0 <= feature < sae.cfg.d_sae:
        raise IndexError(f"feature {feature} is out of range: this SAE has {sae.cfg.d_sae} features")
    acts = feature_activations(model, sae, tokens) if feature_acts is None else feature_acts
    values = acts[..., feature]
    mask = content_mask(tokens, model.tokenizer)
    values = values * mask
    row_max = values.max(-1).values
    rows = [r for r in row_max.argsort(descending=True).tolist() if row_max[r] > 0][:n_contexts]
    to_str = model.to_str_tokens
    contexts, context_values = [], []
    for row in rows:
        keep = mask[row].clone()
        if window is not None:
            peak = int(values[row].argmax())
            keep[:max(peak - window[0], 0)] = False
            keep[peak + window[1] + 1:] = False
        contexts.append([t for t, k in zip(to_str(tokens[row]), keep.tolist()) if k])
        context_values.append(values[row][keep].tolist())
    effects = logit_weights(model, sae, [feature])[0]
    special = set(model.tokenizer.all_special_ids)
    words = torch.tensor([i for i in range(effects.shape[0]) if i not in special])
    ranked = words[effects[words].argsort(descending=True)]
    top, bottom = ranked[:n_logits], ranked.flip(0)[:n_logits]

    def word(i: int) -> str:
        return model.tokenizer.decode([i])
    fired = values[mask]
    return FeatureDashboard(
        feature=feature,
        contexts=contexts,
        context_values=context_values,
        promoted=[(word(int(i)), float(effects[i])) for i in top],
        suppressed=[(word(int(i)), float(effects[i])) for i in bottom],
        nonzero_activations=fired[fired > 0].tolist(),
        firing_rate=float((fired > 0).float().mean()),
    )
