"""Checks for the exercises of notebook 04 (attribution graphs).

The references are circuit-tracer's own definitions (``circuit_tracer.graph``), which
``workbench.circuits.graph`` uses for pruning and scores.
"""

from __future__ import annotations

import torch

from workbench.exercises.checking import Mistake, check

N_FEATURES, N_ERRORS, N_TOKENS, N_LOGITS = 6, 4, 3, 2
N_NODES = N_FEATURES + N_ERRORS + N_TOKENS + N_LOGITS


def _random_graph(generator):
    """A random DAG in circuit-tracer's node order: edges only from earlier-listed features, errors and tokens."""
    A = torch.randn(N_NODES, N_NODES, generator=generator)
    A[N_FEATURES:N_FEATURES + N_ERRORS + N_TOKENS] = 0  # errors and tokens have no inputs
    A[:, N_NODES - N_LOGITS:] = 0  # logits have no outputs
    A[:N_FEATURES, :N_FEATURES] = A[:N_FEATURES, :N_FEATURES].tril(-1)  # features: a DAG
    weights = torch.zeros(N_NODES)
    weights[-N_LOGITS:] = torch.softmax(torch.randn(N_LOGITS, generator=generator), 0)
    return A, weights


# --- Exercise 1: node influence ----------------------------------------------------------------


def node_influence(adjacency: torch.Tensor, logit_weights: torch.Tensor) -> torch.Tensor:
    """w · (Â + Â² + Â³ + …) with Â the row-normalised |adjacency|: every path to the logits counts."""
    from circuit_tracer.graph import compute_node_influence

    return compute_node_influence(adjacency, logit_weights)


def _normalised(A, dim=1):
    return A.abs() / A.abs().sum(dim, keepdim=True).clamp(min=1e-10)


def _series(A_hat, w, terms):
    total, current = torch.zeros_like(w), w
    for _ in range(terms):
        current = current @ A_hat
        total = total + current
    return total


INFLUENCE_MISTAKES = [
    Mistake("only direct effects counted: add the indirect ones too, w Â + w Â² + … (until it vanishes).",
            lambda A, w: w @ _normalised(A)),
    Mistake("normalise each *row* (a target's inputs) to sum to 1, not each column.",
            lambda A, w: _series(_normalised(A, dim=0), w, N_NODES)),
    Mistake("take absolute values before normalising: influence counts inhibition as well as excitation.",
            lambda A, w: _series(A / A.sum(1, keepdim=True).clamp(min=1e-10), w, N_NODES)),
    Mistake("influence starts one step from the logits: w Â + w Â² + …, without the logits' own weight w.",
            lambda A, w: w + _series(_normalised(A), w, N_NODES)),
]


def check_node_influence(fn) -> bool:
    """Exercise: ``fn(adjacency, logit_weights)``: adjacency (n, n) [target, source], weights (n,) → influence (n,)."""
    return check(fn, node_influence, _random_graph, name="node_influence", mistakes=INFLUENCE_MISTAKES)


# --- Exercise 2: completeness ------------------------------------------------------------------


def _completeness_inputs(generator):
    A, w = _random_graph(generator)
    return A, w, slice(N_FEATURES, N_FEATURES + N_ERRORS)


def completeness(adjacency: torch.Tensor, logit_weights: torch.Tensor, errors: slice) -> float:
    """Each node's share of (normalised) input that is not from error nodes, averaged with weight influence + w."""
    A_hat = _normalised(adjacency)
    influence = node_influence(adjacency, logit_weights)
    non_error = 1 - A_hat[:, errors].sum(-1)
    weight = influence + logit_weights
    return float((non_error * weight).sum() / weight.sum())


def _plain_mean(A, w, errors):
    return float((1 - _normalised(A)[:, errors].sum(-1)).mean())


def _without_logits(A, w, errors):
    influence = node_influence(A, w)
    return float(((1 - _normalised(A)[:, errors].sum(-1)) * influence).sum() / influence.sum())


COMPLETENESS_MISTAKES = [
    Mistake("weight each node by how much it matters (its influence plus its logit weight), not equally.", _plain_mean),
    Mistake("include the logit nodes' own weight w in the weighting: influence + w.", _without_logits),
]


def check_completeness(fn) -> bool:
    """Exercise: ``fn(adjacency, logit_weights, errors)`` with ``errors`` the slice of error nodes → a float."""
    return check(fn, completeness, _completeness_inputs, name="completeness", mistakes=COMPLETENESS_MISTAKES)


# --- Exercise 3: predicting an intervention from an edge ---------------------------------------


def _prediction_inputs(generator):
    edges = torch.randn(N_FEATURES, generator=generator)
    activation = 0.5 + torch.rand((), generator=generator)
    return edges, activation, 3 * torch.rand((), generator=generator)


def predicted_change(edges: torch.Tensor, activation: torch.Tensor, new_activation: torch.Tensor) -> torch.Tensor:
    """Edges are linear in their source's activation: moving a to a′ changes each target by edge · (a′ − a) / a."""
    return edges * (new_activation - activation) / activation


PREDICTION_MISTAKES = [
    Mistake("an edge already includes the source's activation a (it is a · W_dec · read): divide by a.",
            lambda e, a, new: e * (new - a)),
    Mistake("the change comes from the difference a′ − a, not from the new activation alone.",
            lambda e, a, new: e * new / a),
]


def check_predicted_change(fn) -> bool:
    """Exercise: ``fn(edges, activation, new_activation)``: edges (n_targets,) out of one feature, scalars → (n_targets,)."""
    return check(fn, predicted_change, _prediction_inputs, name="predicted_change", mistakes=PREDICTION_MISTAKES)
