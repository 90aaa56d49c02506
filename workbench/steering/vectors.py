"""Steering methods as forward hooks: a direction added to the residual stream, or dictionary latents clamped.

- difference of means (contrastive activation addition, Rimsky, Panickssery et al. 2024; AxBench's
  DiffMean): mean residual where the concept is due minus mean residual where it is not;
- linear probe: the weight vector of a logistic regression for the same labels (AxBench's probe);
- SAE latent: its decoder direction *added* (the SAELens steering tutorial), or the latent *clamped*
  to a value with the SAE's error left in place ("Golden Gate" clamping, Templeton et al. 2024); the
  latent is chosen by its label (F1 with the concept on the examples) or by its effect on outputs
  (the probability its direction gives the concept's tokens; Arad et al. 2025);
- transcoder features clamped across layers: the chosen features of every layer set to a value, the
  difference written through their decoders into every MLP output they reconstruct (the circuit
  tracing paper's interventions, here at every position).

A ``Method`` maps a factor to (model, hooks); ``bench.sweep`` scores it at each factor. Vector
methods add ``factor × unit`` along the unit direction, ``unit`` being the mean residual norm at
the hook; clamp methods clamp to ``factor ×`` the latent's largest activation on the examples.
Every hook acts on every position it sees. The hooks are the intervention engine's
(``circuits.edit_hooks`` of a ``ResidualEdit`` or of ``FeatureEdits``): a method here only says which edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from workbench import hooks
from workbench.circuits.interventions import FeatureEdits, ResidualEdit, edit_hooks, run_edited
from workbench.feature_matching import f1_scores
from workbench.organisms.generation import batches_by_length


@dataclass
class Method:
    """A named steering method: ``setup(factor)`` returns the model to run and the hooks to run it with."""

    name: str
    factors: list[float]
    setup: Callable[[float], tuple[object, list]]


# ---- reading the examples ---------------------------------------------------------------------


@torch.no_grad()
def last_position_activations(model, prompts: list[str], hook_names: list[str]) -> dict[str, torch.Tensor]:
    """Activation at each of ``hook_names`` at the last position of every prompt: {hook: (n, d)}."""
    out = {name: None for name in hook_names}
    for rows in batches_by_length(prompts, model):
        _, cache = model.run_with_cache(model.to_tokens([prompts[i] for i in rows]), names_filter=hook_names)
        for name in hook_names:
            acts = cache[name][:, -1].cpu()
            if out[name] is None:
                out[name] = torch.zeros(len(prompts), acts.shape[-1])
            out[name][rows] = acts
    return out


def example_activations(model, task, hook_name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The residual at ``hook_name`` where each of the task's examples must continue: (n, d), labels (n,)."""
    prompts, labels = zip(*task.examples)
    acts = last_position_activations(model, list(prompts), [hook_name])[hook_name]
    return acts, torch.tensor(labels)


def residual_norm(acts: torch.Tensor) -> float:
    """Mean ‖x‖ of the residual: the unit in which vector methods' factors are given."""
    return float(acts.norm(dim=-1).mean())


# ---- directions -------------------------------------------------------------------------------


def diff_of_means(acts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """mean(acts where label is 1) − mean(acts where label is 0). acts (n, d), labels (n,) → (d,)."""
    labels = labels.bool()
    return acts[labels].mean(0) - acts[~labels].mean(0)


def probe_direction(acts: torch.Tensor, labels: torch.Tensor, steps: int = 300, lr: float = 0.05,
                    l2: float = 1e-3) -> torch.Tensor:
    """The weight vector of a logistic-regression probe for ``labels``, in the residual's own coordinates.

    Fitted on standardised features (full-batch Adam from zero: deterministic); the weight w on
    (x − μ)/σ is w/σ on x. Returns a unit vector (d,).
    """
    import torch.nn.functional as F

    acts = acts.float()
    mean, std = acts.mean(0), acts.std(0) + 1e-6
    x, y = (acts - mean) / std, labels.float()
    weight = torch.zeros(acts.shape[1], requires_grad=True)
    bias = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.binary_cross_entropy_with_logits(x @ weight + bias, y) + l2 * weight.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    direction = weight.detach() / std
    return direction / direction.norm()


def vector_method(name: str, model, hook_name: str, direction: torch.Tensor, unit: float,
                  factors: list[float]) -> Method:
    """Add ``factor × unit`` along ``direction`` (normalised) at ``hook_name``, every position."""
    direction = direction / direction.norm()
    return Method(name, list(factors), lambda factor: (model, edit_hooks(ResidualEdit(hook_name, factor * unit * direction))))


# ---- SAE latents ------------------------------------------------------------------------------


@torch.no_grad()
def sae_latent_by_label(sae, acts: torch.Tensor, labels: torch.Tensor) -> tuple[int, float]:
    """The SAE latent whose firing best matches the concept labels (F1), and that F1."""
    scores = f1_scores(sae.encode(acts) > 0, labels)
    best = int(scores.argmax())
    return best, float(scores[best])


def alive_latents(sae, acts: torch.Tensor) -> list[int]:
    with torch.no_grad():
        return (sae.encode(acts) > 0).any(0).nonzero().squeeze(1).tolist()


@torch.no_grad()
def concept_probability(model, task, hook_name: str, vectors: torch.Tensor, n_prompts: int = 8) -> torch.Tensor:
    """For each row of ``vectors`` (k, d) added at every position: the mean next-token probability of
    the task's concept words after the first ``n_prompts`` prompts of the ``choose`` split: (k,)."""
    cases = task.split("choose")
    prompts = [cases[i].prompt for i in batches_by_length([c.prompt for c in cases], model)[0]][:n_prompts]
    tokens = model.to_tokens(prompts)
    k, n = vectors.shape[0], tokens.shape[0]
    each = ResidualEdit(hook_name, vectors.repeat_interleave(n, 0))  # row i·n + j: vector i after prompt j
    logits = run_edited(model, tokens.repeat(k, 1), [each]).logits[:, -1]
    concept_ids = torch.tensor(model.tokenizer.convert_tokens_to_ids(task.concept_words))
    return logits.softmax(-1)[:, concept_ids].sum(-1).reshape(k, n).mean(-1)


def sae_latent_by_effect(model, sae, task, hook_name: str, acts: torch.Tensor, scale: float,
                         candidates: int | None = None, labels: torch.Tensor | None = None) -> tuple[int, float]:
    """The live latent whose decoder direction, added with norm ``scale``, most raises the concept's
    probability (``concept_probability``), and that probability. ``candidates`` (with ``labels``): try only
    the live latents with the best F1 for the labels, that many."""
    latents = alive_latents(sae, acts)
    if candidates is not None:
        with torch.no_grad():
            scores = f1_scores(sae.encode(acts)[:, latents] > 0, labels)
        latents = [latents[i] for i in scores.argsort(descending=True)[:candidates].tolist()]
    directions = sae.W_dec[latents].detach()
    directions = directions / directions.norm(dim=-1, keepdim=True)
    probability = concept_probability(model, task, hook_name, scale * directions)
    best = int(probability.argmax())
    return latents[best], float(probability[best])


def sae_clamp(sae, latent: int, value: float) -> Callable:
    """A hook that clamps SAE ``latent`` to ``value`` at every position and keeps the SAE's error:
    resid + (value − a) × W_dec[latent], a the latent's activation on the live residual."""
    mask = torch.zeros(1, 1, sae.cfg.d_sae, dtype=torch.bool)
    mask[..., latent] = True
    [(_, hook)] = edit_hooks(FeatureEdits(mask, torch.full(mask.shape, float(value))), dictionary=sae)
    return hook


@torch.no_grad()
def max_activation(sae, acts: torch.Tensor, latent: int) -> float:
    return float(sae.encode(acts)[:, latent].max())


def sae_clamp_method(name: str, model, sae, hook_name: str, latent: int, peak: float, factors: list[float]) -> Method:
    """Clamp ``latent`` to ``factor × peak`` at every position."""
    return Method(name, list(factors), lambda factor: (model, [(hook_name, sae_clamp(sae, latent, factor * peak))]))


# ---- transcoder features clamped across layers ------------------------------------------------


def example_features(model, clt, task) -> tuple[torch.Tensor, torch.Tensor]:
    """Transcoder features where each example must continue: (n, n_layers, d_features), labels (n,)."""
    names = hooks.transcoder_inputs(model.cfg.n_layers)
    prompts, labels = zip(*task.examples)
    acts = last_position_activations(model, list(prompts), names)
    with torch.no_grad():
        features = torch.stack([clt.encode_layer(acts[name], layer) for layer, name in enumerate(names)], 1)
    return features, torch.tensor(labels)


def clt_features_by_label(features: torch.Tensor, labels: torch.Tensor, per_layer: int = 1) -> list[tuple[int, int, float]]:
    """The ``per_layer`` features of each layer whose firing best matches the labels: (layer, index, F1)."""
    chosen = []
    for layer in range(features.shape[1]):
        scores = f1_scores(features[:, layer] > 0, labels)
        for index in scores.argsort(descending=True)[:per_layer].tolist():
            chosen.append((layer, index, float(scores[index])))
    return chosen


def clt_clamp_hooks(clt, n_layers: int, features: list[tuple[int, int]], values: list[float]) -> list:
    """Hooks that clamp each transcoder feature (layer, index) to its value at every position.

    At each MLP input the transcoder encodes the live residual; the change (value − a) of the
    clamped features is written through their decoders into this and every later MLP output
    (``circuits.FeatureEdits``). ``n_layers``: the model's, which the transcoder must read all of.
    """
    if n_layers != clt.config.n_layers:
        raise ValueError(f"the model has {n_layers} layers but the transcoder reads {clt.config.n_layers}")
    mask = torch.zeros(1, n_layers, clt.config.d_features, dtype=torch.bool)
    clamped = torch.zeros(mask.shape)
    for (layer, index), value in zip(features, values):
        mask[0, layer, index], clamped[0, layer, index] = True, value
    return edit_hooks(FeatureEdits(mask, clamped), dictionary=clt)


def clt_clamp_method(name: str, model, clt, features: list[tuple[int, int]], peaks: list[float],
                     factors: list[float]) -> Method:
    """Clamp every feature to ``factor ×`` its peak activation on the examples, at every position."""
    n_layers = model.cfg.n_layers
    return Method(name, list(factors),
                  lambda factor: (model, clt_clamp_hooks(clt, n_layers, features, [factor * p for p in peaks])))
