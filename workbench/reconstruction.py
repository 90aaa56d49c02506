"""How much of an activation a dictionary's reconstruction explains: explained variance, defined once.

    explained variance = 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖²

over every row of ``x``, with x̄ the mean row. Every dictionary of the course reports it: a toy SAE
on its held-out batch (``saes.toy``), an SAE spliced into a model (``saes.splice_report``) and a
transcoder per layer (``circuits.rows_fidelity``). Rows may come in batches too large to hold at
once (a real model's held-out text): ``variance_parts`` of each batch add up with ``+`` (Chan,
Golub and LeVeque's pairwise update of the centred sum of squares), and one batch gives exactly
the formula above.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class VarianceParts:
    """What explained variance needs of some rows x (n, …, d) and their reconstruction, per group ``…``.

    ``squared_error``: Σ‖x − x̂‖² (…); ``mean``: x̄ (…, d); ``centred``: Σ‖x − x̄‖² (…); ``n``: rows.
    """

    squared_error: torch.Tensor
    mean: torch.Tensor
    centred: torch.Tensor
    n: int

    def __add__(self, other: "VarianceParts") -> "VarianceParts":
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        centred = self.centred + other.centred + delta.pow(2).sum(-1) * (self.n * other.n / n)
        return VarianceParts(self.squared_error + other.squared_error, mean, centred, n)

    @property
    def explained(self) -> torch.Tensor:
        """1 − Σ‖x − x̂‖² / Σ‖x − x̄‖², per group: (…)."""
        return 1 - self.squared_error / self.centred


@torch.no_grad()
def variance_parts(x: torch.Tensor, x_hat: torch.Tensor) -> VarianceParts:
    """``VarianceParts`` of rows ``x`` (n, …, d) reconstructed as ``x_hat`` (same shape), kept on the CPU."""
    x, x_hat = x.detach(), x_hat.detach()
    mean = x.mean(0)
    squared_error = (x - x_hat).pow(2).sum(0).sum(-1)
    centred = (x - mean).pow(2).sum(0).sum(-1)
    return VarianceParts(squared_error.cpu(), mean.cpu(), centred.cpu(), len(x))


def explained_variance(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² over the rows of ``x`` (n, …, d): one value per group ``…`` (a 0-d
    tensor for rows of shape (n, d); per layer for a transcoder's (n_tokens, n_layers, d_model))."""
    return variance_parts(x, x_hat).explained
