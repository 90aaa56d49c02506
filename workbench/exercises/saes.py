"""Checks for the exercises of notebook 02 (sparse autoencoders on toy data and on the facts organism).

Each ``check_*`` runs the learner's function against the reference in ``workbench.saes.toy`` (or
``workbench.feature_matching``) on
random inputs and, when they disagree, names the likely mistake.
"""

from __future__ import annotations

import torch

from workbench.exercises.checking import Mistake, check
from workbench.saes import toy as sae_toy
from workbench.feature_matching import precision_recall

BATCH, D_IN, D_SAE, K = 6, 5, 12, 3


# --- Exercise 1: the standard SAE's forward pass and loss -------------------------------------


def _sae_inputs(generator):
    x = torch.randn(BATCH, D_IN, generator=generator)
    W_enc = torch.randn(D_IN, D_SAE, generator=generator) * 0.5
    b_enc = torch.randn(D_SAE, generator=generator) * 0.3
    W_dec = torch.randn(D_SAE, D_IN, generator=generator) * (0.5 + torch.rand(D_SAE, 1, generator=generator))
    b_dec = torch.randn(D_IN, generator=generator) * 0.5
    return x, W_enc, b_enc, W_dec, b_dec, 0.3


def _sae(x, W_enc, b_enc, W_dec, b_dec, l1, *, relu=True, centre=True, weight=True, mse_mean=False, dec_bias=True):
    pre = ((x - b_dec) if centre else x) @ W_enc + b_enc
    acts = torch.relu(pre) if relu else pre
    x_hat = acts @ W_dec + (b_dec if dec_bias else 0)
    error = (x - x_hat) ** 2
    reconstruction = error.mean() if mse_mean else error.sum(-1).mean()
    penalty = (acts.abs() * (W_dec.norm(dim=-1) if weight else 1)).sum(-1).mean()
    return x_hat, reconstruction + l1 * penalty


FORWARD_MISTAKES = [
    Mistake("did you forget the ReLU? a = ReLU((x − b_dec) W_enc + b_enc).",
            lambda *args: _sae(*args, relu=False)),
    Mistake("subtract the decoder bias from the input before encoding: (x − b_dec) W_enc + b_enc.",
            lambda *args: _sae(*args, centre=False)),
    Mistake("add b_dec back after decoding: x̂ = a W_dec + b_dec.",
            lambda *args: _sae(*args, dec_bias=False)),
    Mistake("weight each latent's L1 penalty by its decoder norm ‖W_dec,j‖ (else the SAE shrinks a and grows W_dec).",
            lambda *args: _sae(*args, weight=False)),
    Mistake("the reconstruction error is summed over d_in and averaged over the batch; you averaged over d_in too.",
            lambda *args: _sae(*args, mse_mean=True)),
]


def check_sae_forward_and_loss(fn) -> bool:
    """Exercise: ``fn(x, W_enc, b_enc, W_dec, b_dec, l1_coefficient)`` returns (x_hat, loss).

    x: (batch, d_in); W_enc: (d_in, d_sae); b_enc: (d_sae,); W_dec: (d_sae, d_in); b_dec: (d_in,)
    → x_hat: (batch, d_in), loss: a scalar tensor.
    """
    return check(fn, sae_toy.sae_forward_and_loss, _sae_inputs, name="sae_forward_and_loss", mistakes=FORWARD_MISTAKES)


# --- Exercise 2: the TopK activation ----------------------------------------------------------


def _topk_inputs(generator):
    # Rows shifted from mostly negative (negatives in the top k: the ReLU must matter) to mostly
    # positive (more than k positives per row and per column), so that each mistake below gives its
    # own wrong answer and earns its own hint.
    rows = 10
    return torch.randn(rows, D_SAE, generator=generator) + torch.linspace(-2.5, 2.0, rows)[:, None], K


def _topk_without_relu(hidden_pre, k):
    values, indices = hidden_pre.topk(k, dim=-1)
    return torch.zeros_like(hidden_pre).scatter(-1, indices, values)


TOPK_MISTAKES = [
    Mistake("apply a ReLU to the k kept values: a negative pre-activation in the top k must give 0.",
            _topk_without_relu),
    Mistake("keep the k largest values of each row (dim=-1), not of each column.",
            lambda h, k: sae_toy.topk_activation(h.T, min(k, h.shape[0])).T),
    Mistake("keep the k largest values, not the k largest in absolute value.",
            lambda h, k: torch.zeros_like(h).scatter(-1, h.abs().topk(k, dim=-1).indices,
                                                     h.gather(-1, h.abs().topk(k, dim=-1).indices).relu())),
    Mistake("zero everything outside the top k; a ReLU alone keeps every positive pre-activation.",
            lambda h, k: torch.relu(h)),
]


def check_topk_activation(fn) -> bool:
    """Exercise: ``fn(hidden_pre, k)`` keeps each row's k largest pre-activations (ReLU'd), zeros the rest.

    hidden_pre: (batch, d_sae) → (batch, d_sae).
    """
    return check(fn, sae_toy.topk_activation, _topk_inputs, name="topk_activation", mistakes=TOPK_MISTAKES)


# --- Exercise 3: mean max cosine similarity ---------------------------------------------------


def _mmcs_inputs(generator):
    true_directions = torch.randn(7, D_IN, generator=generator)
    true_directions = true_directions / true_directions.norm(dim=-1, keepdim=True)
    decoder = torch.randn(D_SAE, D_IN, generator=generator) * (0.2 + 2 * torch.rand(D_SAE, 1, generator=generator))
    return true_directions, decoder


def _dots(true_directions, decoder):
    return true_directions @ decoder.T


def _unit(vectors):
    return vectors / vectors.norm(dim=-1, keepdim=True)


MMCS_MISTAKES = [
    Mistake("normalise the decoder rows: a cosine is a dot product of unit vectors.",
            lambda t, d: _dots(t, d).max(-1).values.mean()),
    Mistake("take the max over decoder rows for each true feature (dim=-1 of a (n_features, d_sae) matrix), "
            "not over true features for each latent.",
            lambda t, d: _dots(_unit(t), _unit(d)).max(0).values.mean()),
    Mistake("take the max cosine, not the max absolute cosine: a latent pointing the opposite way does not recover the feature.",
            lambda t, d: _dots(_unit(t), _unit(d)).abs().max(-1).values.mean()),
]


def check_mmcs(fn) -> bool:
    """Exercise: ``fn(true_directions, decoder)`` returns the mean over true features of their max cosine.

    true_directions: (n_features, d); decoder: (d_sae, d) → a scalar tensor.
    """
    return check(fn, sae_toy.mean_max_cosine_similarity, _mmcs_inputs, name="mmcs", mistakes=MMCS_MISTAKES)


# --- Exercise 4: checking a feature against a ground-truth variable ---------------------------


def _precision_recall_inputs(generator):
    fires = torch.rand(40, D_SAE, generator=generator) < 0.3
    fires[:, 0] = False  # a dead feature: its precision must be 0, not nan
    label = torch.rand(40, generator=generator) < 0.4
    label[0] = True
    return fires, label


def _swapped(fires, label):
    precision, recall = precision_recall(fires, label)
    return recall, precision


def _unclamped(fires, label):
    true_positives = (fires & label[:, None]).sum(0).float()
    return true_positives / fires.sum(0), true_positives / label.sum()


PRECISION_RECALL_MISTAKES = [
    Mistake("precision divides by how often the feature fires, recall by how often the variable is true: "
            "you swapped them.", _swapped),
    Mistake("a feature that never fires has no true positives: give it precision 0, not 0/0 = nan "
            "(clamp the denominator at 1).", _unclamped),
    Mistake("count true positives where the feature fires AND the variable is true (fires & label[:, None]).",
            lambda f, y: (f.sum(0).float() / f.sum(0).clamp(min=1), f.sum(0).float() / y.sum())),
]


def check_precision_recall(fn) -> bool:
    """Exercise: ``fn(fires, label)`` returns (precision, recall) of every feature for one variable.

    fires: (n_tokens, d_sae) bool; label: (n_tokens,) bool → two (d_sae,) float tensors.
    """
    return check(fn, precision_recall, _precision_recall_inputs, name="precision_recall",
                 mistakes=PRECISION_RECALL_MISTAKES)
