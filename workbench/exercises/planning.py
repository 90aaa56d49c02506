"""Checks for the exercises of notebook 06 (planning in rhyming couplets).

1. ``label_f1``: how well one feature's firing matches each ground-truth variable (its label);
2. ``clamp_delta``: what a feature clamp adds to an MLP's output on the original model;
3. ``mean_difference``: the residual direction of notebook 00b's rewrite, mean[new B] − mean[B].
"""

from __future__ import annotations

import torch

from workbench.exercises.checking import Mistake, check

N_ROWS, N_VARIABLES, N_FEATURES, D_MODEL, N_CLASSES = 40, 5, 6, 4, 3


# --- Exercise 1: a feature's F1 for every ground-truth variable ------------------------------------


def _label_inputs(generator):
    fires = (torch.rand(N_ROWS, generator=generator) < 0.4).float()
    labels = (torch.rand(N_ROWS, N_VARIABLES, generator=generator) < 0.3).float()
    labels[:, 0] = torch.maximum(labels[:, 0], fires)  # one variable the feature tracks well
    return fires, labels


def _precision_recall(fires, labels):
    true_positive = fires @ labels
    return true_positive / fires.sum().clamp(min=1), true_positive / labels.sum(0).clamp(min=1)


def label_f1(fires: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """F1 of a feature's firing ``fires`` (n,) against each variable of ``labels`` (n, V), as 0/1 floats: (V,)."""
    precision, recall = _precision_recall(fires, labels)
    return 2 * precision * recall / (precision + recall).clamp(min=1e-12)


LABEL_MISTAKES = [
    Mistake("that is the precision alone: a feature firing on a small part of a variable would score 1. "
            "Combine precision and recall: 2PR / (P + R).", lambda f, l: _precision_recall(f, l)[0]),
    Mistake("that is the recall alone: a feature firing everywhere would score 1. Combine precision and recall.",
            lambda f, l: _precision_recall(f, l)[1]),
    Mistake("F1 is the harmonic mean 2PR / (P + R), not the arithmetic mean (P + R) / 2.",
            lambda f, l: sum(_precision_recall(f, l)) / 2),
]


def check_label_f1(fn) -> bool:
    """Exercise: ``fn(fires, labels)``: fires (n,), labels (n, V), 0/1 floats → F1 per variable (V,)."""
    return check(fn, label_f1, _label_inputs, name="label_f1", mistakes=LABEL_MISTAKES)


# --- Exercise 2: what a clamp writes -----------------------------------------------------------------


def _clamp_inputs(generator):
    current = torch.relu(torch.randn(N_ROWS, N_FEATURES, generator=generator))
    mask = torch.rand(N_ROWS, N_FEATURES, generator=generator) < 0.3
    values = torch.rand(N_ROWS, N_FEATURES, generator=generator) * 2 * mask
    decoder = torch.randn(N_FEATURES, D_MODEL, generator=generator)
    return current, mask, values, decoder


def clamp_delta(current: torch.Tensor, mask: torch.Tensor, values: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
    """Clamp features to ``values`` where ``mask``: the change (a′ − a) × W_dec added to the MLP output."""
    return (torch.where(mask, values, current) - current) @ decoder


CLAMP_MISTAKES = [
    Mistake("the MLP still runs and already writes a × W_dec: add only the change (a′ − a) × W_dec.",
            lambda a, m, v, W: torch.where(m, v, a) @ W),
    Mistake("that adds the new values on top of the old ones: a clamp *replaces* a by a′, so subtract a.",
            lambda a, m, v, W: (v * m) @ W),
    Mistake("only the masked features are clamped: the others keep their activation (use the mask).",
            lambda a, m, v, W: (v - a) @ W),
]


def check_clamp_delta(fn) -> bool:
    """Exercise: ``fn(current, mask, values, decoder)``: (n, F), bool (n, F), (n, F), (F, d) → (n, d)."""
    return check(fn, clamp_delta, _clamp_inputs, name="clamp_delta", mistakes=CLAMP_MISTAKES)


# --- Exercise 3: the mean-difference direction ------------------------------------------------------


def _direction_inputs(generator):
    resid = torch.randn(N_ROWS, D_MODEL, generator=generator)
    classes = torch.arange(N_ROWS) % N_CLASSES
    weights = torch.rand(N_CLASSES, generator=generator)
    classes[: N_CLASSES * 4] = torch.multinomial(weights, N_CLASSES * 4, replacement=True, generator=generator)
    old = torch.randint(N_CLASSES, (5,), generator=generator)
    return resid, classes, old, (old + 1) % N_CLASSES


def _class_means(resid, classes):
    return torch.stack([resid[classes == c].mean(0) for c in range(N_CLASSES)])


def mean_difference(resid: torch.Tensor, classes: torch.Tensor, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """mean[new] − mean[old] for each pair: ``resid`` (n, d), ``classes`` (n,) planned word per row → (m, d)."""
    means = _class_means(resid, classes)
    return means[new] - means[old]


DIRECTION_MISTAKES = [
    Mistake("the sign is reversed: move *towards* the new word, mean[new] − mean[old].",
            lambda r, c, old, new: _class_means(r, c)[old] - _class_means(r, c)[new]),
    Mistake("subtract the old word's mean, not the mean over every row: mean[new] − mean[old].",
            lambda r, c, old, new: _class_means(r, c)[new] - r.mean(0)),
]


def check_mean_difference(fn) -> bool:
    """Exercise: ``fn(resid, classes, old, new)``: (n, d), (n,), (m,), (m,) → (m, d)."""
    return check(fn, mean_difference, _direction_inputs, name="mean_difference", mistakes=DIRECTION_MISTAKES)
