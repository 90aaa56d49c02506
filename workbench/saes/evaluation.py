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
from workbench.reconstruction import variance_parts


@dataclass(frozen=True)
class SpliceReport:
    """How an SAE does on held-out text: reconstruction, sparsity and the loss when spliced in."""

    explained_variance: float
    l0: float
    dead_fraction: float
    ce_clean: float
    ce_sae: float
    ce_zero: float

    @classmethod
    def from_dict(cls, record: dict) -> "SpliceReport":
        """The report in ``record`` (e.g. what ``artifacts.evaluate`` returned and shipped); other keys are ignored."""
        return cls(**{name: record[name] for name in cls.__dataclass_fields__})

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


def _next_token_losses(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of predicting ``tokens[:, 1:]``: (n_rows · (n_ctx − 1),)."""
    return torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten(), reduction="none")


def _resid_pre_layer(hook_name: str, n_layers: int) -> int:
    """The block whose input ``hook_name`` is (``hooks.resid_pre(layer)``), or ValueError."""
    from workbench import hooks

    for layer in range(n_layers):
        if hooks.resid_pre(layer) == hook_name:
            return layer
    raise ValueError(f"from_hook needs a resid_pre hook (the input of a block), not {hook_name!r}")


@torch.no_grad()
def splice_report(model, sae, tokens: torch.Tensor, batch_rows: int | None = None,
                  from_hook: bool = False) -> SpliceReport:
    """Explained variance, L0, dead latents and CE with the SAE spliced in at its hook, on ``tokens``.

    Only non-special positions count: their activations for the reconstruction measures, and the
    predictions of non-special next tokens for the losses. The SAE replaces the activation at every
    position (special positions included), so the spliced loss is the honest one. ``batch_rows``:
    run that many rows at a time (a real model's logits over 49k tokens do not fit at once); the
    result is the same as in one batch (the explained variance to float rounding). ``from_hook`` (a
    ``resid_pre`` hook only): run the spliced and zeroed passes from the hook's block on, starting from
    the clean run's residual (the blocks below are the same in all three runs; a real model's SAE deep
    in the stack costs a third as much).
    """
    hook_name = sae.cfg.metadata.hook_name
    mask = content_mask(tokens, model.tokenizer)

    def replace(value, hook):
        return sae.decode(sae.encode(value))

    def zero(value, hook):
        return torch.zeros_like(value)

    variance, fs, losses = [], [], {"clean": [], "sae": [], "zero": []}
    step = tokens.shape[0] if batch_rows is None else batch_rows
    for start in range(0, tokens.shape[0], step):
        rows, keep = tokens[start:start + step], mask[start:start + step]
        clean_logits, cache = model.run_with_cache(rows, names_filter=hook_name)
        losses["clean"].append(_next_token_losses(clean_logits, rows))
        del clean_logits
        acts = cache[hook_name]
        feature_acts = sae.encode(acts)
        variance.append(variance_parts(acts[keep], sae.decode(feature_acts)[keep]))
        fs.append(feature_acts[keep] > 0)
        if from_hook:
            layer = _resid_pre_layer(hook_name, model.cfg.n_layers)
            sae_logits = model(sae.decode(feature_acts), start_at_layer=layer)
            zero_logits = model(torch.zeros_like(acts), start_at_layer=layer)
        else:
            sae_logits = model.run_with_hooks(rows, fwd_hooks=[(hook_name, replace)])
            zero_logits = model.run_with_hooks(rows, fwd_hooks=[(hook_name, zero)])
        losses["sae"].append(_next_token_losses(sae_logits, rows))
        losses["zero"].append(_next_token_losses(zero_logits, rows))
        del sae_logits, zero_logits
    fires = torch.cat(fs)
    explained = sum(variance[1:], variance[0]).explained
    weights = mask[:, 1:].flatten().float()

    def mean_loss(parts):
        return float((torch.cat(parts) * weights).sum() / weights.sum())

    return SpliceReport(
        explained_variance=float(explained),
        l0=float(fires.float().sum(-1).mean()),
        dead_fraction=float((fires.sum(0) == 0).float().mean()),
        ce_clean=mean_loss(losses["clean"]),
        ce_sae=mean_loss(losses["sae"]),
        ce_zero=mean_loss(losses["zero"]),
    )
