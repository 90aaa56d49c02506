"""Activation patching and attribution patching (AtP) between a clean and a corrupted prompt.

Activation patching (Meng et al. 2022; Heimersheim & Nanda 2024) runs the corrupted prompt with one
activation replaced by its value on the clean prompt and measures how much of the clean behaviour
comes back. Attribution patching (Nanda 2023; Kramár et al. 2024, "AtP*") replaces each of those
runs by its first-order Taylor term, from one forward and one backward pass of the corrupted prompt:

    metric(corrupt with a ← a_clean) − metric(corrupt) ≈ (a_clean − a_corrupt) · ∂metric/∂a |corrupt

Both return the *normalised* effect: 0 = nothing restored, 1 = the clean metric. Sites are a hook
function of ``workbench.hooks`` (``resid_pre`` for every layer × position, ``attn_z`` for every
layer × head, its value summed over positions). Works on any ``HookedTransformer``, organism or real.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workbench import hooks


@dataclass
class PatchingProblem:
    """A clean and a corrupted prompt of the same length, and the answer tokens the metric compares."""

    clean: torch.Tensor  # (1, n_pos) token ids
    corrupt: torch.Tensor  # (1, n_pos)
    answer: int  # the clean prompt's answer token
    wrong: int  # the corrupted prompt's answer token

    def __post_init__(self):
        if self.clean.shape != self.corrupt.shape:
            raise ValueError(f"PatchingProblem: clean {tuple(self.clean.shape)} and corrupt "
                             f"{tuple(self.corrupt.shape)} prompts must have the same number of tokens")

    def logit_diff(self, logits: torch.Tensor) -> torch.Tensor:
        """logit(answer) − logit(wrong) at the last position: (batch,)."""
        return logits[:, -1, self.answer] - logits[:, -1, self.wrong]


def run_logit_diff(model, problem: PatchingProblem, tokens: torch.Tensor, fwd_hooks=(),
                   start_at_layer: int | None = None) -> torch.Tensor:
    """``problem.logit_diff`` of a run, unembedding only the last position and the two answer columns.

    On a real model the full unembedding (every position × a 49k vocabulary) costs more than the
    30 blocks; the metric needs two columns at one position. With ``start_at_layer``, ``tokens`` is
    the residual stream entering that layer (batch, n_pos, d_model) and the run starts there.
    """
    final = {}

    def keep_final(value, hook):
        final["x"] = value[:, -1]
        return value

    model.run_with_hooks(tokens, return_type=None, start_at_layer=start_at_layer,
                         fwd_hooks=[*fwd_hooks, (hooks.FINAL_NORMALIZED, keep_final)])
    direction = model.W_U[:, problem.answer] - model.W_U[:, problem.wrong]
    shift = model.b_U[problem.answer] - model.b_U[problem.wrong]
    norm = model.ln_final  # hook_normalized is before the norm's own weight (and bias, for LayerNorm)
    if hasattr(norm, "b"):
        shift = shift + norm.b @ direction
    if hasattr(norm, "w"):
        direction = norm.w * direction
    return final["x"] @ direction + shift


def patching_problem(model, clean: str, corrupt: str, answer: str, wrong: str) -> PatchingProblem:
    return PatchingProblem(model.to_tokens(clean), model.to_tokens(corrupt),
                           model.to_single_token(answer), model.to_single_token(wrong))


SITES = {"resid_pre": hooks.resid_pre, "attn_z": hooks.attn_z}


@torch.no_grad()
def baselines(model, problem: PatchingProblem) -> tuple[float, float]:
    """(clean, corrupted) logit differences."""
    return run_logit_diff(model, problem, problem.clean).item(), run_logit_diff(model, problem, problem.corrupt).item()


@torch.no_grad()
def activation_patching(model, problem: PatchingProblem, site: str = "resid_pre") -> torch.Tensor:
    """Normalised effect of patching each clean activation into the corrupted run.

    ``resid_pre``: (n_layers, n_pos), one position at a time. ``attn_z``: (n_layers, n_heads), one
    head's output at every position at once. The sites of one layer run as one batch, which starts
    at that layer from the corrupted run's residual: the layers below are the same in every run.
    """
    hook_of = SITES[site]
    L = model.cfg.n_layers
    names = [hook_of(layer) for layer in range(L)]
    entries = [hooks.resid_pre(layer) for layer in range(L)]
    _, clean = model.run_with_cache(problem.clean, names_filter=lambda n: n in names)
    _, corrupt = model.run_with_cache(problem.corrupt, names_filter=lambda n: n in entries)
    clean_diff, corrupt_diff = baselines(model, problem)
    n_pos = problem.clean.shape[1]
    width = n_pos if site == "resid_pre" else model.cfg.n_heads
    rows = torch.arange(width)
    effects = torch.empty(L, width)
    for layer in range(L):
        resid = corrupt[entries[layer]].expand(width, -1, -1).clone()
        fwd_hooks = []
        if site == "resid_pre":  # row i: position i of the residual entering the layer, clean
            resid[rows, rows] = clean[names[layer]][0]
        else:  # row i: head i's output at every position, clean

            def patch(value, hook, layer=layer):
                value[rows, :, rows] = clean[names[layer]][0].transpose(0, 1)
                return value

            fwd_hooks = [(names[layer], patch)]
        effects[layer] = run_logit_diff(model, problem, resid, fwd_hooks, start_at_layer=layer)
    return (effects - corrupt_diff) / (clean_diff - corrupt_diff)


def attribution_patching(model, problem: PatchingProblem, site: str = "resid_pre") -> torch.Tensor:
    """AtP: the linear estimate of ``activation_patching`` from one forward and backward pass; same shape."""
    hook_of = SITES[site]
    names = [hook_of(layer) for layer in range(model.cfg.n_layers)]
    with torch.no_grad():
        _, clean_cache = model.run_with_cache(problem.clean, names_filter=lambda n: n in names)
    corrupt_acts = {}

    def keep(value, hook):
        value.retain_grad()
        corrupt_acts[hook.name] = value
        return value

    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        run_logit_diff(model, problem, problem.corrupt, [(name, keep) for name in names]).sum().backward()
    clean_diff, corrupt_diff = baselines(model, problem)
    rows = []
    for name in names:
        delta = (clean_cache[name] - corrupt_acts[name].detach()) * corrupt_acts[name].grad
        # resid_pre: (1, pos, d) → per position; attn_z: (1, pos, head, d_head) → per head, over positions
        rows.append(delta[0].sum(-1) if site == "resid_pre" else delta[0].sum((0, 2)))
    model.zero_grad(set_to_none=True)
    return torch.stack(rows) / (clean_diff - corrupt_diff)


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two equally shaped tensors, flattened."""
    return torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1].item()
