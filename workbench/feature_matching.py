"""Checking an interpretation against ground truth: which feature best tracks a known variable?

A ground-truth variable is a yes/no label on every token position ("this token is a city in Texas",
"the next word the model must say is a capital"). A feature "fires" where its activation is above
zero. For each variable we pick the feature with the best F1 and report

    precision = P(variable | feature fires)      recall = P(feature fires | variable)

Precision near 1 with low recall means the feature is a narrower concept (or one of several
features that split the variable); recall near 1 with low precision means a broader one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class FeatureMatch:
    """The feature that best tracks one ground-truth variable, and how well."""

    variable: str
    feature: int
    precision: float
    recall: float
    f1: float
    n_positive: int  # token positions where the variable is true


def precision_recall(fires: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Precision and recall of every feature for one variable.

    ``fires``: (n_tokens, d_sae) bool; ``label``: (n_tokens,) bool. Returns two (d_sae,) tensors.
    """
    if fires.shape[0] != label.shape[0]:
        raise ValueError(f"fires has {fires.shape[0]} tokens but the label has {label.shape[0]}")
    if not label.any():
        raise ValueError("the variable is never true on these tokens: nothing to match")
    true_positives = (fires & label[:, None]).sum(0).float()
    precision = true_positives / fires.sum(0).clamp(min=1)
    recall = true_positives / label.sum()
    return precision, recall


def f1(precision: torch.Tensor, recall: torch.Tensor) -> torch.Tensor:
    """Their harmonic mean 2PR / (P + R), elementwise (0 where both are 0)."""
    return 2 * precision * recall / (precision + recall).clamp(min=1e-12)


def f1_scores(fires: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """F1 of each column of ``fires`` (n, k) as a detector of ``labels``: (n,) → (k,), or of each column of (n, V) → (k, V).

    Both 0/1 (bool or float). A label never true on these rows scores 0 (``precision_recall`` refuses it).
    """
    one_label = labels.dim() == 1
    fires, labels = fires.float(), (labels[:, None] if one_label else labels).float()
    true_positives = fires.T @ labels  # (k, V)
    precision = true_positives / fires.sum(0)[:, None].clamp(min=1)
    recall = true_positives / labels.sum(0).clamp(min=1)
    scores = f1(precision, recall)
    return scores[:, 0] if one_label else scores


def best_match(fires: torch.Tensor, label: torch.Tensor, variable: str = "") -> FeatureMatch:
    """The feature with the highest F1 for ``label`` (ties go to the lower index)."""
    precision, recall = precision_recall(fires, label)
    f1_score = f1(precision, recall)
    feature = int(f1_score.argmax())
    return FeatureMatch(
        variable=variable, feature=feature, precision=float(precision[feature]), recall=float(recall[feature]),
        f1=float(f1_score[feature]), n_positive=int(label.sum()),
    )


def match_variables(feature_acts: torch.Tensor, labels: dict[str, torch.Tensor]) -> dict[str, FeatureMatch]:
    """Best-matching feature for every variable. ``feature_acts``: (n_tokens, d_sae); labels (n_tokens,)."""
    fires = feature_acts > 0
    return {name: best_match(fires, label, name) for name, label in labels.items() if label.any()}


def family_summary(matches: dict[str, FeatureMatch], family_of) -> dict[str, dict[str, float]]:
    """Mean precision, recall and F1 over the variables of each family (``family_of(name)`` → family)."""
    families: dict[str, list[FeatureMatch]] = {}
    for name, match in matches.items():
        families.setdefault(family_of(name), []).append(match)
    return {
        family: {
            "variables": len(group),
            "precision": sum(m.precision for m in group) / len(group),
            "recall": sum(m.recall for m in group) / len(group),
            "f1": sum(m.f1 for m in group) / len(group),
            "distinct features": len({m.feature for m in group}),
        }
        for family, group in families.items()
    }


def family_table(families: dict[str, dict[str, float]]) -> str:
    """``family_summary``'s result as a plain-text table."""
    lines = [f"{'family':>18} {'variables':>9} {'precision':>9} {'recall':>7} {'F1':>5} {'distinct features':>17}"]
    for family, row in families.items():
        lines.append(f"{family:>18} {row['variables']:9d} {row['precision']:9.2f} {row['recall']:7.2f} {row['f1']:5.2f} "
                     f"{row['distinct features']:17d}")
    return "\n".join(lines)
