"""Checks for the exercises of notebook 01 (toy models of superposition).

Each ``check_*`` runs the learner's function against the reference in ``workbench.toys.superposition``
on random inputs and, when they disagree, names the likely mistake.
"""

from __future__ import annotations

import torch

from workbench.exercises.checking import Mistake, check
from workbench.toys import superposition

N_INSTANCES, N_HIDDEN, N_FEATURES, BATCH = 3, 2, 5, 4


def _random_model(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """W: (3, 2, 5) and b: (3, 5), with biases of both signs so the ReLU matters."""
    W = torch.randn(N_INSTANCES, N_HIDDEN, N_FEATURES, generator=generator)
    b = torch.randn(N_INSTANCES, N_FEATURES, generator=generator) * 0.5
    return W, b


def _random_features(generator: torch.Generator) -> torch.Tensor:
    """x: (3, 4, 5), sparse non-negative features like the model's training data."""
    config = superposition.ToyModelConfig(
        n_features=N_FEATURES, n_hidden=N_HIDDEN, n_instances=N_INSTANCES, sparsity=0.5
    )
    return superposition.sample_features(config, BATCH, generator)


# --- Exercise 1: the forward pass -------------------------------------------------------------


def _forward_inputs(generator):
    W, b = _random_model(generator)
    return W, b, _random_features(generator)


def _hidden(W, x):
    return x @ W.transpose(-1, -2)


FORWARD_MISTAKES = [
    Mistake("did you forget the ReLU? The output is ReLU(Wᵀ W x + b).",
            lambda W, b, x: _hidden(W, x) @ W + b[:, None, :]),
    Mistake("did you forget the bias b?",
            lambda W, b, x: torch.relu(_hidden(W, x) @ W)),
    Mistake("the bias goes inside the ReLU: ReLU(Wᵀ W x + b), not ReLU(Wᵀ W x) + b.",
            lambda W, b, x: torch.relu(_hidden(W, x) @ W) + b[:, None, :]),
    Mistake("the hidden layer h = W x is linear; only the output goes through a ReLU.",
            lambda W, b, x: torch.relu(torch.relu(_hidden(W, x)) @ W + b[:, None, :])),
]


def check_forward(fn) -> bool:
    """Exercise: ``fn(W, b, x)`` returns x' = ReLU(Wᵀ W x + b).

    W: (n_instances, m, n); b: (n_instances, n); x: (n_instances, batch, n) → (n_instances, batch, n).
    """
    return check(fn, superposition.reconstruct, _forward_inputs, name="forward", mistakes=FORWARD_MISTAKES)


# --- Exercise 2: the importance-weighted loss -------------------------------------------------


def _loss_inputs(generator):
    x = _random_features(generator)
    x_hat = x + 0.3 * torch.randn(x.shape, generator=generator)
    importance = torch.rand(N_INSTANCES, N_FEATURES, generator=generator) + 0.2
    return x, x_hat, importance


def _squared_error(x, x_hat):
    return (x - x_hat) ** 2


LOSS_MISTAKES = [
    Mistake("did you forget to weight each feature's error by its importance I_i?",
            lambda x, x_hat, importance: _squared_error(x, x_hat).sum(-1).mean(-1)),
    Mistake("sum over features, then take the mean over the batch; you averaged over features too.",
            lambda x, x_hat, importance: (importance[:, None, :] * _squared_error(x, x_hat)).mean((-2, -1))),
    Mistake("take the mean over the batch (dim 1), not the sum.",
            lambda x, x_hat, importance: (importance[:, None, :] * _squared_error(x, x_hat)).sum((-2, -1))),
    Mistake("the importance multiplies the squared error, I_i (x_i − x'_i)², and is not itself squared.",
            lambda x, x_hat, importance: (importance[:, None, :] * (x - x_hat)).pow(2).sum(-1).mean(-1)),
    Mistake("square the error: (x_i − x'_i)², not |x_i − x'_i|.",
            lambda x, x_hat, importance: (importance[:, None, :] * (x - x_hat).abs()).sum(-1).mean(-1)),
]


def check_loss(fn) -> bool:
    """Exercise: ``fn(x, x_hat, importance)`` returns one loss per instance, E_x Σ_i I_i (x_i − x'_i)².

    x, x_hat: (n_instances, batch, n); importance: (n_instances, n) → (n_instances,).
    """
    reference = superposition.importance_weighted_loss
    return check(fn, reference, _loss_inputs, name="loss", mistakes=LOSS_MISTAKES)


# --- Exercise 3: feature dimensionality -------------------------------------------------------


def _dimensionality_inputs(generator):
    return (torch.randn(N_INSTANCES, N_HIDDEN + 1, N_FEATURES, generator=generator),)


def _unit(W):
    return W / W.norm(dim=-2, keepdim=True)


def _dots(A, B):
    """A_i · B_j for every pair of columns: (n_instances, n, n)."""
    return A.transpose(-1, -2) @ B


def _norm_squared(W):
    return W.norm(dim=-2) ** 2


DIMENSIONALITY_MISTAKES = [
    Mistake("normalise W_i in the denominator: Σ_j (Ŵ_i · W_j)² with Ŵ_i = W_i / ‖W_i‖.",
            lambda W: _norm_squared(W) / (_dots(W, W) ** 2).sum(-1)),
    Mistake("it is Ŵ_i (the feature whose dimensionality you measure) that is normalised, not W_j.",
            lambda W: _norm_squared(W) / (_dots(W, _unit(W)) ** 2).sum(-1)),
    Mistake("the denominator sums over all j, including j = i; leaving i out gives superposition instead.",
            lambda W: _norm_squared(W) / ((_dots(_unit(W), W) ** 2).sum(-1) - _norm_squared(W))),
    Mistake("square the dot products in the denominator: (Ŵ_i · W_j)².",
            lambda W: _norm_squared(W) / _dots(_unit(W), W).abs().sum(-1)),
    Mistake("the numerator is ‖W_i‖², not ‖W_i‖.",
            lambda W: W.norm(dim=-2) / (_dots(_unit(W), W) ** 2).sum(-1)),
]


def check_feature_dimensionality(fn) -> bool:
    """Exercise: ``fn(W)`` returns D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)² for every feature.

    W: (n_instances, m, n) → (n_instances, n).
    """
    reference = superposition.feature_dimensionality
    return check(
        fn, reference, _dimensionality_inputs, name="feature_dimensionality", mistakes=DIMENSIONALITY_MISTAKES
    )
