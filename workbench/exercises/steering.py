"""Checks for the exercises of notebook 07 (steering).

The references are the bench's own functions (``workbench.steering``): the difference of means,
the steering hook of the vector methods, and AxBench's overall score.
"""

from __future__ import annotations

import torch

from workbench.exercises.checking import Mistake, check
from workbench.steering.bench import harmonic_mean
from workbench.steering.vectors import diff_of_means as _diff_of_means

N, D = 12, 5


# --- Exercise 1: the difference-of-means vector ------------------------------------------------


def _labelled_acts(generator):
    acts = torch.randn(N, D, generator=generator) + 1.0
    labels = torch.zeros(N, dtype=torch.long)
    labels[torch.randperm(N, generator=generator)[: N // 3]] = 1
    return acts, labels


def diff_of_means(acts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """mean of the rows labelled 1 minus mean of the rows labelled 0: (n, d), (n,) → (d,)."""
    return _diff_of_means(acts, labels)


DIFF_MISTAKES = [
    Mistake("the sign is reversed: concept minus no-concept, so that adding the vector adds the concept.",
            lambda a, y: a[y == 0].mean(0) - a[y == 1].mean(0)),
    Mistake("subtract the mean of the rows *without* the concept, not the mean of all rows.",
            lambda a, y: a[y == 1].mean(0) - a.mean(0)),
    Mistake("no normalisation here: the bench scales the direction itself (factor × residual norm).",
            lambda a, y: _diff_of_means(a, y) / _diff_of_means(a, y).norm()),
    Mistake("average over rows (dim 0), not over the model dimension.",
            lambda a, y: torch.full((a.shape[1],), float(a[y == 1].mean() - a[y == 0].mean()))),
]


def check_diff_of_means(fn) -> bool:
    """Exercise: ``fn(acts, labels)``: acts (n, d), labels (n,) of 0/1 → the steering vector (d,)."""
    return check(fn, diff_of_means, _labelled_acts, name="diff_of_means", mistakes=DIFF_MISTAKES)


# --- Exercise 2: the steering hook -------------------------------------------------------------


def _hook_inputs(generator):
    resid = torch.randn(3, 4, D, generator=generator)
    direction = torch.randn(D, generator=generator) * 3
    factor = float(torch.rand(1, generator=generator)) * 2 + 0.5
    unit = float(torch.rand(1, generator=generator)) * 5 + 2
    return resid, direction, factor, unit


def steer(resid: torch.Tensor, direction: torch.Tensor, factor: float, unit: float) -> torch.Tensor:
    """resid (batch, pos, d) plus factor × unit × direction/‖direction‖ at every position."""
    return resid + factor * unit * direction / direction.norm()


STEER_MISTAKES = [
    Mistake("normalise the direction first: the factor is in units of the residual norm, whatever the vector's length.",
            lambda r, v, f, u: r + f * u * v),
    Mistake("add at every position (the prompt's and every generated one), not only the last.",
            lambda r, v, f, u: torch.cat([r[:, :-1], r[:, -1:] + f * u * v / v.norm()], 1)),
    Mistake("multiply by the unit too: factor 1 means a vector as long as a typical residual.",
            lambda r, v, f, u: r + f * v / v.norm()),
    Mistake("add to the residual, do not replace it.",
            lambda r, v, f, u: (f * u * v / v.norm()).expand_as(r)),
]


def check_steer(fn) -> bool:
    """Exercise: ``fn(resid, direction, factor, unit)`` → the steered residual, same shape as ``resid``."""
    return check(fn, steer, _hook_inputs, name="steer", mistakes=STEER_MISTAKES)


# --- Exercise 3: the overall score -------------------------------------------------------------


def _grades(generator):
    # AxBench's judge gives 0, 1 or 2; divided by 2 here. Each row: concept, instruction, fluency.
    return (torch.randint(0, 3, (16, 3), generator=generator).double() / 2,)


def overall_score(grades: torch.Tensor) -> float:
    """Mean over generations of the harmonic mean of (concept, instruction, fluency); 0 if any is 0."""
    return float(harmonic_mean(grades).mean())


def _arith(g):
    return float(g.mean(-1).mean())


def _hm_of_means(g):
    return float(harmonic_mean(g.mean(0)[None])[0])


def _hm_ignoring_zeros(g):
    safe = torch.where(g > 0, g, torch.full_like(g, float("inf")))
    n = (g > 0).sum(-1).clamp(min=1)
    return float(torch.where((g > 0).any(-1), n / (1 / safe).sum(-1), torch.zeros(g.shape[0], dtype=g.dtype)).mean())


OVERALL_MISTAKES = [
    Mistake("that is the arithmetic mean: AxBench takes the harmonic mean, so one failed score sinks the generation.",
            _arith),
    Mistake("take the harmonic mean per generation, then average over generations (not the other way round).",
            _hm_of_means),
    Mistake("a zero score must give 0, not be left out of the harmonic mean.", _hm_ignoring_zeros),
    Mistake("the harmonic mean is k / Σ 1/x, not the product of the scores.", lambda g: float(g.prod(-1).mean())),
]


def check_overall_score(fn) -> bool:
    """Exercise: ``fn(grades)``: grades (n, 3) in [0, 1] → the overall score (a float)."""
    return check(fn, overall_score, _grades, name="overall_score", mistakes=OVERALL_MISTAKES)
