"""Checks for the exercises of notebook 05 (the two-hop case study).

The references are the functions ``workbench.case_studies.multihop`` uses.
"""

from __future__ import annotations

import torch

from workbench.exercises.checking import Mistake, check
from workbench.exercises.graphs import N_NODES, _random_graph

N_FEATURES = 12


# --- Exercise 1: a supernode's predicted effect ----------------------------------------------------


def _prediction_inputs(generator):
    A, _ = _random_graph(generator)
    order = torch.randperm(6, generator=generator).tolist()
    return A, order[:3], order[3:], float(torch.randint(-2, 3, (), generator=generator)) + 0.5


def predicted_group_change(adjacency, sources, targets, factor):
    """Scaling sources by ``factor`` moves each by (factor − 1)·a: the targets' summed input moves by Σ edges · (factor − 1)."""
    return adjacency[targets][:, sources].sum() * (factor - 1)


GROUP_PREDICTION_MISTAKES = [
    Mistake("scaling by a factor changes an activation by (factor − 1)·a, not factor·a.",
            lambda A, s, t, f: A[t][:, s].sum() * f),
    Mistake("rows are targets and columns sources: take adjacency[targets][:, sources], not the transpose.",
            lambda A, s, t, f: A[s][:, t].sum() * (f - 1)),
    Mistake("sum the edges (they have signs): absolute values would count inhibition as excitation.",
            lambda A, s, t, f: A[t][:, s].abs().sum() * (f - 1)),
]


def check_group_prediction(fn) -> bool:
    """Exercise: ``fn(adjacency, sources, targets, factor)`` → the predicted change of the targets' summed input (scalar)."""
    return check(fn, predicted_group_change, _prediction_inputs, name="predicted_group_change",
                 mistakes=GROUP_PREDICTION_MISTAKES)


# --- Exercise 2: the cross-prompt swap -------------------------------------------------------------


def _swap_inputs(generator):
    source = torch.rand(N_FEATURES, generator=generator) * (torch.rand(N_FEATURES, generator=generator) > 0.4)
    target = torch.rand(N_FEATURES, generator=generator) * (torch.rand(N_FEATURES, generator=generator) > 0.4)
    return source, target, torch.rand(N_FEATURES, generator=generator) > 0.6, torch.rand(N_FEATURES, generator=generator) > 0.6


def swap_edit(source_features, target_features, source_group, target_group):
    """Every feature of either group takes the target prompt's value; the rest keep the source's."""
    return torch.where(source_group | target_group, target_features, source_features)


SWAP_MISTAKES = [
    Mistake("the source's own group must be replaced too (else the source state stays switched on): use both groups.",
            lambda s, t, sg, tg: torch.where(tg, t, s)),
    Mistake("the target's group must be written in as well: features only the target uses carry its state.",
            lambda s, t, sg, tg: torch.where(sg, t, s)),
    Mistake("replace the values, do not add the target's on top of the source's.",
            lambda s, t, sg, tg: torch.where(sg | tg, s + t, s)),
]


def check_swap_edit(fn) -> bool:
    """Exercise: ``fn(source_features, target_features, source_group, target_group)``, all (F,) → activations (F,)."""
    return check(fn, swap_edit, _swap_inputs, name="swap_edit", mistakes=SWAP_MISTAKES)


# --- Exercise 3: the share of influence through a group -------------------------------------------


def _share_inputs(generator):
    A, _ = _random_graph(generator)
    A = A.clone()
    A[-2:, 6:13] = torch.randn(2, 7, generator=generator)  # tokens and errors reach the logits directly too
    A[:6, 10:13] = torch.randn(6, 3, generator=generator)  # tokens feed the features
    group = torch.randperm(6, generator=generator)[:2].tolist()
    return A, 11, N_NODES - 2, group


def _paths(A_hat, source, target):
    identity = torch.eye(len(A_hat))
    return torch.linalg.solve(identity - A_hat, identity[:, source])[target]


def _normalised(A):
    return A.abs() / A.abs().sum(1, keepdim=True).clamp(min=1e-10)


def through_share(adjacency, source, target, group):
    """Paths from source to target through Â, summed over lengths; the share lost when ``group`` is cut out."""
    A_hat = _normalised(adjacency)
    around = A_hat.clone()
    around[group] = 0
    around[:, group] = 0
    total = _paths(A_hat, source, target)
    return float((total - _paths(around, source, target)) / total)


def _around(A, s, t, g):
    return 1 - through_share(A, s, t, g)


def _unnormalised(A, s, t, g):
    A_abs = A.abs() / A.abs().sum().clamp(min=1e-10)
    around = A_abs.clone()
    around[g] = 0
    around[:, g] = 0
    total = _paths(A_abs, s, t)
    return float((total - _paths(around, s, t)) / total)


THROUGH_MISTAKES = [
    Mistake("that is the share going *around* the group: return the share through it (1 minus yours).", _around),
    Mistake("normalise each row of |adjacency| to sum to 1 (a target's inputs as shares), as influence does.", _unnormalised),
]


def check_through_share(fn) -> bool:
    """Exercise: ``fn(adjacency, source, target, group)`` → share (float) of source→target paths visiting ``group``."""
    return check(fn, through_share, _share_inputs, name="through_share", mistakes=THROUGH_MISTAKES)
