"""Training a cross-layer (or per-layer) transcoder on an organism's MLP inputs and outputs.

Activations come from the organism's own training distribution: ``<bos> sentence`` rows, padding
dropped. The loss is the paper's (``workbench.transcoders.model``): reconstruction error of every MLP output, each
layer's divided by that layer's mean squared output norm so that layers count alike, plus the tanh
sparsity penalty (its coefficient ramps up linearly over training, as in the paper) and the
pre-activation loss against dead features.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workbench.config_checks import non_negative_numbers, positive_ints, positive_numbers
from workbench.transcoders.model import CLTConfig, CrossLayerTranscoder


@dataclass(frozen=True)
class CLTTrainConfig:
    """How to train a transcoder: data, optimiser and the loss coefficients."""

    n_sentences: int = 8000
    steps: int = 2000
    batch_size: int = 1024  # tokens
    lr: float = 2e-3
    sparsity_coefficient: float = 5e-4  # λ_S, reached at the end of training
    tanh_scale: float = 4.0  # c
    preact_coefficient: float = 3e-6  # λ_P
    seed: int = 0

    def __post_init__(self):
        positive_ints(self, ("n_sentences", "steps", "batch_size"))
        positive_numbers(self, ("lr", "tanh_scale"))
        non_negative_numbers(self, ("sparsity_coefficient", "preact_coefficient"))


def clt_loss(clt: CrossLayerTranscoder, x, y, output_scale, sparsity_coefficient: float, config: CLTTrainConfig):
    """(total loss, parts) for one batch; ``output_scale``: (n_layers,) mean squared norm of each layer's y."""
    pre = clt.pre_activations(x)
    features = clt.encode(x)
    y_hat = clt.decode(features)
    reconstruction = ((y_hat - y).pow(2).sum(-1).mean(0) / output_scale).sum()
    sparsity = torch.tanh(config.tanh_scale * features * clt.decoder_norms()).sum((1, 2)).mean()
    preact = torch.relu(clt.threshold - pre).sum((1, 2)).mean()
    total = reconstruction + sparsity_coefficient * sparsity + config.preact_coefficient * preact
    l0 = (features > 0).float().sum(-1).mean(0)
    return total, {"reconstruction": reconstruction.item(), "sparsity": sparsity.item(), "l0": l0.tolist()}


def train_clt(activations, clt_config: CLTConfig, config: CLTTrainConfig = CLTTrainConfig(), *,
              progress: bool = True, history: list | None = None) -> CrossLayerTranscoder:
    """Train a transcoder on ``activations`` = (inputs, outputs), each (n_tokens, n_layers, d_model).

    Deterministic: initial weights and batches draw from generators seeded with ``config.seed``.
    ``history``, if given, receives the loss parts every 100 steps.
    """
    from tqdm.auto import tqdm

    x_all, y_all = activations
    if x_all.shape != y_all.shape or x_all.shape[1:] != (clt_config.n_layers, clt_config.d_model):
        raise ValueError(f"activations of shape {tuple(x_all.shape)} and {tuple(y_all.shape)} do not fit {clt_config}")
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        clt = CrossLayerTranscoder(clt_config)
    with torch.no_grad():
        clt.b_dec.copy_(y_all.mean(0))
    output_scale = (y_all - y_all.mean(0)).pow(2).sum(-1).mean(0)
    optimizer = torch.optim.Adam(clt.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, 2 * (1 - step / config.steps)))
    generator = torch.Generator().manual_seed(config.seed)
    bar = tqdm(range(config.steps), desc="training transcoder", disable=not progress)
    for step in bar:
        batch = torch.randint(x_all.shape[0], (config.batch_size,), generator=generator)
        ramp = config.sparsity_coefficient * (step + 1) / config.steps
        loss, parts = clt_loss(clt, x_all[batch], y_all[batch], output_scale, ramp, config)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step % 100 == 0 or step == config.steps - 1:
            bar.set_postfix(nmse=f"{parts['reconstruction'] / clt_config.n_layers:.3f}", l0=f"{sum(parts['l0']):.1f}")
            if history is not None:
                history.append({"step": step + 1, **parts})
    clt.eval()
    return clt
