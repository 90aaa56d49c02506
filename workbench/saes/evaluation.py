"""How an SAE does on held-out text: reconstruction, sparsity, and the loss when it is spliced in.

The headline number is the fraction of cross-entropy loss recovered when the SAE's reconstruction
replaces the activation (Bricken et al. 2023):

    CE recovered = (CE_zero − CE_sae) / (CE_zero − CE_clean)

where CE_zero zero-ablates the hook. 1 means splicing the SAE in costs nothing; 0 means it is as bad
as deleting the activation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workbench.activations.collect import content_mask


def _masked_next_token_ce(logits: torch.Tensor, tokens: torch.Tensor, target_mask: torch.Tensor) -> float:
    """Mean cross-entropy of predicting ``tokens[:, 1:]`` where ``target_mask[:, 1:]`` is True."""
    losses = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten(), reduction="none")
    weights = target_mask[:, 1:].flatten().float()
    return float((losses * weights).sum() / weights.sum())


@dataclass(frozen=True)
class SpliceReport:
    """How an SAE does on held-out text: reconstruction, sparsity and the loss when spliced in."""

    explained_variance: float
    l0: float
    dead_fraction: float
    ce_clean: float
    ce_sae: float
    ce_zero: float

    @property
    def ce_recovered(self) -> float:
        return (self.ce_zero - self.ce_sae) / (self.ce_zero - self.ce_clean)


def splice_table(reports: dict[str, SpliceReport]) -> str:
    """A row per named ``SpliceReport``: the loss recovered, its three losses (nats), and the SAE's own measures."""
    width = max(map(len, reports)) + 2
    header = f"{'':{width}}CE recovered  CE clean  CE SAE  CE zero  expl. var.    L0  dead"
    return "\n".join([header] + [
        f"{name:<{width}}{r.ce_recovered:12.3f}{r.ce_clean:10.3f}{r.ce_sae:8.3f}{r.ce_zero:9.3f}"
        f"{r.explained_variance:12.3f}{r.l0:6.1f}{r.dead_fraction:6.0%}"
        for name, r in reports.items()
    ])


@torch.no_grad()
def splice_report(model, sae, tokens: torch.Tensor) -> SpliceReport:
    """Explained variance, L0, dead latents and CE with the SAE spliced in at its hook, on ``tokens``.

    Only non-special positions count: their activations for the reconstruction measures, and the
    predictions of non-special next tokens for the losses. The SAE replaces the activation at every
    position (special positions included), so the spliced loss is the honest one.
    """
    hook_name = sae.cfg.metadata.hook_name
    mask = content_mask(tokens, model.tokenizer)
    clean_logits, cache = model.run_with_cache(tokens, names_filter=hook_name)
    acts = cache[hook_name]
    feature_acts = sae.encode(acts)
    recon = sae.decode(feature_acts)
    x, x_hat, f = acts[mask], recon[mask], feature_acts[mask]
    explained = 1 - (x - x_hat).pow(2).sum() / (x - x.mean(0)).pow(2).sum()

    def replace(value, hook):
        return sae.decode(sae.encode(value))

    def zero(value, hook):
        return torch.zeros_like(value)

    sae_logits = model.run_with_hooks(tokens, fwd_hooks=[(hook_name, replace)])
    zero_logits = model.run_with_hooks(tokens, fwd_hooks=[(hook_name, zero)])
    return SpliceReport(
        explained_variance=float(explained),
        l0=float((f > 0).float().sum(-1).mean()),
        dead_fraction=float(((f > 0).sum(0) == 0).float().mean()),
        ce_clean=_masked_next_token_ce(clean_logits, tokens, mask),
        ce_sae=_masked_next_token_ce(sae_logits, tokens, mask),
        ce_zero=_masked_next_token_ce(zero_logits, tokens, mask),
    )
