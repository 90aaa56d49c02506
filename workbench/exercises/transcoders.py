"""Checks for the exercises of notebook 03 (transcoders and the replacement model).

Each ``check_*`` runs the learner's function against a reference on random inputs and, when they
disagree, names the likely mistake (``workbench.exercises.checking``).
"""

from __future__ import annotations

import torch

from workbench.exercises.checking import Mistake, check

BATCH, N_LAYERS, D_FEATURES, D_MODEL = 5, 3, 7, 4


# --- Exercise 1: JumpReLU ----------------------------------------------------------------------


def _jumprelu_inputs(generator):
    return torch.randn(BATCH, D_FEATURES, generator=generator), torch.rand(D_FEATURES, generator=generator)


def jumprelu(pre: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Pass the pre-activation through unchanged where it exceeds the feature's threshold, else 0."""
    return pre * (pre > threshold)


JUMPRELU_MISTAKES = [
    Mistake("that is a ReLU: a JumpReLU also zeroes positive pre-activations below the threshold θ.",
            lambda pre, threshold: pre.clamp(min=0)),
    Mistake("you subtracted the threshold: JumpReLU keeps the pre-activation's own value above θ, h · 1[h > θ].",
            lambda pre, threshold: (pre - threshold).clamp(min=0)),
    Mistake("that is the step function 1[h > θ] alone: multiply it by the pre-activation h.",
            lambda pre, threshold: (pre > threshold).float()),
]


def check_jumprelu(fn) -> bool:
    """Exercise: ``fn(pre, threshold)``: pre (batch, F), threshold (F,) → activations (batch, F)."""
    return check(fn, jumprelu, _jumprelu_inputs, name="jumprelu", mistakes=JUMPRELU_MISTAKES)


# --- Exercise 2: decoding a cross-layer transcoder ---------------------------------------------


def _decode_inputs(generator):
    features = torch.randn(BATCH, N_LAYERS, D_FEATURES, generator=generator).clamp(min=0)
    W_dec = [torch.randn(D_FEATURES, N_LAYERS - layer, D_MODEL, generator=generator) for layer in range(N_LAYERS)]
    return features, W_dec, torch.randn(N_LAYERS, D_MODEL, generator=generator)


def clt_decode(features: torch.Tensor, W_dec: list[torch.Tensor], b_dec: torch.Tensor) -> torch.Tensor:
    """MLP ℓ′'s reconstruction sums the writes of every layer ℓ ≤ ℓ′: ŷ^ℓ′ = Σ_ℓ a^ℓ W_dec^{ℓ→ℓ′} + b_dec^ℓ′."""
    out = b_dec.expand(features.shape[0], -1, -1).clone()
    for source, W in enumerate(W_dec):
        for offset in range(W.shape[1]):
            out[:, source + offset] += features[:, source] @ W[:, offset]
    return out


def _own_layer_only(features, W_dec, b_dec):
    return b_dec + torch.stack([features[:, l] @ W[:, 0] for l, W in enumerate(W_dec)], dim=1)


def _no_bias(features, W_dec, b_dec):
    return clt_decode(features, W_dec, torch.zeros_like(b_dec))


def _backwards(features, W_dec, b_dec):
    """Writes sent to earlier layers: W_dec[ℓ][:, k] taken as the decoder to layer ℓ − k."""
    out = b_dec.expand(features.shape[0], -1, -1).clone()
    for source, W in enumerate(W_dec):
        for offset in range(min(W.shape[1], source + 1)):
            out[:, source - offset] += features[:, source] @ W[:, offset]
    return out


DECODE_MISTAKES = [
    Mistake("each feature wrote only to its own layer (that is a per-layer transcoder): W_dec[ℓ][:, k] is the "
            "decoder from layer ℓ to layer ℓ + k, for every k.", _own_layer_only),
    Mistake("add the decoder bias b_dec (one per layer) to the reconstruction.", _no_bias),
    Mistake("W_dec[ℓ][:, k] writes to layer ℓ + k, later in the model, not ℓ − k.", _backwards),
]


def check_clt_decode(fn) -> bool:
    """Exercise: ``fn(features, W_dec, b_dec)``: features (batch, L, F), W_dec[ℓ] (F, L − ℓ, d), b_dec (L, d) → (batch, L, d)."""
    return check(fn, clt_decode, _decode_inputs, name="clt_decode", mistakes=DECODE_MISTAKES)


# --- Exercise 3: the sparsity penalty ----------------------------------------------------------


def _penalty_inputs(generator):
    features, W_dec, _ = _decode_inputs(generator)
    return features, W_dec, 4.0


def sparsity_penalty(features: torch.Tensor, W_dec: list[torch.Tensor], c: float) -> torch.Tensor:
    """Σ_ℓ Σ_i tanh(c · a_i^ℓ · ‖W_dec,i^ℓ‖), the decoder norm taken over every layer i writes to; mean over the batch."""
    norms = torch.stack([W.pow(2).sum((1, 2)).sqrt() for W in W_dec])  # (L, F)
    return torch.tanh(c * features * norms).sum((1, 2)).mean()


def _own_layer_norm(features, W_dec, c):
    norms = torch.stack([W[:, 0].norm(dim=-1) for W in W_dec])
    return torch.tanh(c * features * norms).sum((1, 2)).mean()


def _no_tanh(features, W_dec, c):
    norms = torch.stack([W.pow(2).sum((1, 2)).sqrt() for W in W_dec])
    return (c * features * norms).sum((1, 2)).mean()


def _unweighted(features, W_dec, c):
    return torch.tanh(c * features).sum((1, 2)).mean()


PENALTY_MISTAKES = [
    Mistake("take the norm of feature i's decoders to *all* the layers it writes to, concatenated "
            "(W.pow(2).sum((1, 2)).sqrt()), not only to its own layer.", _own_layer_norm),
    Mistake("the paper's penalty is tanh(c · a · ‖W_dec‖), which saturates: large activations cost about 1, "
            "like an L0; without the tanh it is an L1 penalty.", _no_tanh),
    Mistake("weight each activation by its decoder norm, else the transcoder shrinks a and grows W_dec.", _unweighted),
]


def check_sparsity_penalty(fn) -> bool:
    """Exercise: ``fn(features, W_dec, c)``: features (batch, L, F), W_dec[ℓ] (F, L − ℓ, d), c a float → scalar."""
    return check(fn, sparsity_penalty, _penalty_inputs, name="sparsity_penalty", mistakes=PENALTY_MISTAKES)
