"""Sparse autoencoders on toy data with a known answer (Bricken et al. 2023, "Towards Monosemanticity";
Sharkey et al. 2022, "Taking features out of superposition with sparse autoencoders").

The world is a known overcomplete dictionary: ``n_features`` unit directions ``f_i`` in a
``d_model``-dimensional space (more features than dimensions, so they are in superposition). Each
sample switches on a few features, each with a positive magnitude ``m_i``, and the activation is

    x = Σ_i m_i f_i                       m: (batch, n_features), f: (n_features, d_model)

An SAE with encoder ``W_enc``, decoder ``W_dec`` learns latents ``a`` and a reconstruction

    a = σ((x − b_dec) W_enc + b_enc),     x̂ = a W_dec + b_dec

where σ is the architecture's activation: ReLU with an L1 penalty ("standard"), keep the k largest
("topk", "batchtopk" over the whole batch), a learned threshold with an L0 penalty ("jumprelu"), or a
separate gate ("gated"). Because the true ``f`` and ``m`` are known we can ask how many features an
SAE found (max cosine with any decoder row above 0.9), how well (MMCS), and whether the magnitudes
come out too small (shrinkage: an L1 penalty pays for sparsity with magnitude).

Training uses SAELens's ``SAETrainer`` on an iterator of activation batches; the trained SAE is
returned as SAELens's inference SAE (BatchTopK comes back as JumpReLU, as SAELens saves it).
SAELens is imported inside functions: importing it takes ~10 s.

``sae_lens.synthetic`` has a generator for data like this (``ActivationGenerator``); ours is thirty
lines with a seeded ``torch.Generator``, so the same seed gives the same batches without touching the
global random state.
"""

from __future__ import annotations

import math
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from typing import Iterator, Sequence

import torch

from workbench.config_checks import positive_ints, positive_numbers
from workbench.reconstruction import explained_variance

ARCHITECTURES = ("standard", "topk", "batchtopk", "jumprelu", "gated")
"""The SAE architectures compared: SAELens's names for them."""

RECOVERED_COSINE = 0.9
"""A true feature counts as recovered when some decoder row has cosine above this with it."""

_EPS = 1e-8


# --- The world: features in superposition -----------------------------------------------------


@dataclass(frozen=True)
class ToyDataConfig:
    """Ground-truth features: how many, in how many dimensions, how often and how strongly they fire.

    Each feature fires with probability ``mean_active / n_features`` and then has magnitude
    ``N(magnitude_mean, magnitude_std)`` clipped below at ``magnitude_min``. With ``correlation`` > 0,
    features come in consecutive groups of ``group_size`` whose firing is correlated (a Gaussian
    copula: each feature thresholds √ρ·g_group + √(1−ρ)·ε), the harder case for an SAE.
    """

    d_model: int = 48
    n_features: int = 128
    mean_active: float = 3.0  # expected number of features on in one sample
    magnitude_mean: float = 1.0
    magnitude_std: float = 0.3
    magnitude_min: float = 0.1
    correlation: float = 0.0  # ρ within a group, in [0, 1)
    group_size: int = 4
    seed: int = 0  # seeds the feature directions

    def __post_init__(self):
        positive_ints(self, ("d_model", "n_features", "group_size"))
        if not 0 < self.mean_active < self.n_features:
            raise ValueError(
                f"ToyDataConfig.mean_active must be in (0, n_features = {self.n_features}), got {self.mean_active}"
            )
        if not 0 <= self.correlation < 1:
            raise ValueError(f"ToyDataConfig.correlation must be in [0, 1), got {self.correlation}")
        if self.magnitude_mean <= 0 or self.magnitude_std < 0 or self.magnitude_min <= 0:
            raise ValueError("ToyDataConfig magnitudes must have magnitude_mean > 0, magnitude_std >= 0, magnitude_min > 0")

    @property
    def firing_probability(self) -> float:
        return self.mean_active / self.n_features


@dataclass(frozen=True)
class ToyData:
    """The ground truth: unit feature directions (n_features, d_model) and the config that samples them."""

    config: ToyDataConfig
    directions: torch.Tensor

    def sample(self, n_samples: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (magnitudes (n_samples, n_features), activations (n_samples, d_model))."""
        magnitudes = sample_magnitudes(self.config, n_samples, generator)
        return magnitudes, magnitudes @ self.directions

    def batches(self, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
        """An endless iterator of activation batches (batch_size, d_model), the SAETrainer's data provider."""
        generator = torch.Generator().manual_seed(seed)
        while True:
            with torch.no_grad():  # sample outside the yield: SAETrainer runs a backward pass between batches
                batch = self.sample(batch_size, generator)[1]
            yield batch


def make_toy_data(config: ToyDataConfig = ToyDataConfig()) -> ToyData:
    """Random unit directions, seeded by ``config.seed``: (n_features, d_model)."""
    generator = torch.Generator().manual_seed(config.seed)
    directions = torch.randn(config.n_features, config.d_model, generator=generator)
    return ToyData(config, directions / directions.norm(dim=-1, keepdim=True))


def sample_magnitudes(config: ToyDataConfig, n_samples: int, generator: torch.Generator) -> torch.Tensor:
    """Sparse non-negative feature magnitudes m: (n_samples, n_features)."""
    n = config.n_features
    if config.correlation > 0:
        n_groups = math.ceil(n / config.group_size)
        shared = torch.randn(n_samples, n_groups, generator=generator).repeat_interleave(config.group_size, dim=1)[:, :n]
        noise = torch.randn(n_samples, n, generator=generator)
        latent = math.sqrt(config.correlation) * shared + math.sqrt(1 - config.correlation) * noise
        threshold = math.sqrt(2) * torch.erfinv(torch.tensor(1 - 2 * config.firing_probability))
        on = latent > threshold  # a standard normal exceeds this with probability p
    else:
        on = torch.rand(n_samples, n, generator=generator) < config.firing_probability
    size = config.magnitude_mean + config.magnitude_std * torch.randn(n_samples, n, generator=generator)
    return on * size.clamp(min=config.magnitude_min)


# --- Training SAEs with SAELens ---------------------------------------------------------------


@dataclass(frozen=True)
class ToySAEConfig:
    """One SAE training run on toy data: the architecture, its sparsity knob, and the optimiser.

    ``k`` is used by topk and batchtopk, ``l1_coefficient`` by standard and gated, ``l0_coefficient``
    by jumprelu. The learning rate decays from ``lr`` to ``lr / 10`` along a cosine.
    """

    architecture: str = "topk"
    d_sae: int = 128
    k: int = 4
    l1_coefficient: float = 0.4
    l0_coefficient: float = 0.1
    jumprelu_init_threshold: float = 0.01
    n_steps: int = 800
    batch_size: int = 512
    lr: float = 1e-2
    seed: int = 0  # seeds the SAE's initial weights and the training batches

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"ToySAEConfig.architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        positive_ints(self, ("d_sae", "k", "n_steps", "batch_size"))
        positive_numbers(self, ("l1_coefficient", "l0_coefficient", "lr", "jumprelu_init_threshold"))
        if self.k > self.d_sae:
            raise ValueError(f"ToySAEConfig.k = {self.k} must not exceed d_sae = {self.d_sae}")


def sae_lens_config(config: ToySAEConfig, d_in: int):
    """The SAELens training-SAE config for ``config`` (imports sae_lens)."""
    from sae_lens.saes.batchtopk_sae import BatchTopKTrainingSAEConfig
    from sae_lens.saes.gated_sae import GatedTrainingSAEConfig
    from sae_lens.saes.jumprelu_sae import JumpReLUTrainingSAEConfig
    from sae_lens.saes.standard_sae import StandardTrainingSAEConfig
    from sae_lens.saes.topk_sae import TopKTrainingSAEConfig

    sizes = dict(d_in=d_in, d_sae=config.d_sae)
    return {
        "standard": lambda: StandardTrainingSAEConfig(**sizes, l1_coefficient=config.l1_coefficient),
        "topk": lambda: TopKTrainingSAEConfig(**sizes, k=config.k),
        "batchtopk": lambda: BatchTopKTrainingSAEConfig(**sizes, k=config.k),
        "jumprelu": lambda: JumpReLUTrainingSAEConfig(
            **sizes, l0_coefficient=config.l0_coefficient, jumprelu_init_threshold=config.jumprelu_init_threshold
        ),
        "gated": lambda: GatedTrainingSAEConfig(**sizes, l1_coefficient=config.l1_coefficient),
    }[config.architecture]()


def train_sae(data: ToyData, config: ToySAEConfig = ToySAEConfig(), *, progress: bool = True, save_to=None):
    """Train one SAE on ``data`` with SAELens's ``SAETrainer``; return SAELens's inference ``SAE``.

    Deterministic: the initial weights come from ``torch.manual_seed(config.seed)`` inside a forked
    random state, the batches from ``data.batches(seed=config.seed)``. ``save_to`` (a folder) keeps the
    SAE in SAELens's on-disk format (``cfg.json`` + ``sae_weights.safetensors``).
    """
    from sae_lens import SAE
    from sae_lens.config import LoggingConfig, SAETrainerConfig
    from sae_lens.registry import get_sae_training_class
    from sae_lens.training.sae_trainer import SAETrainer

    sae_config = sae_lens_config(config, data.config.d_model)
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        training_sae = get_sae_training_class(config.architecture)[0](sae_config)
    trainer_config = SAETrainerConfig(
        total_training_samples=config.n_steps * config.batch_size,
        train_batch_size_samples=config.batch_size,
        lr=config.lr,
        lr_end=config.lr / 10,
        lr_scheduler_name="cosineannealing",
        dead_feature_window=config.n_steps,
        feature_sampling_window=config.n_steps,
        logger=LoggingConfig(log_to_wandb=False),
    )
    trainer = SAETrainer(cfg=trainer_config, sae=training_sae, data_provider=data.batches(config.batch_size, config.seed))
    with sae_lens_progress(progress):
        trainer.fit()
    with tempfile.TemporaryDirectory() as scratch:
        folder = save_to if save_to is not None else scratch
        training_sae.save_inference_model(folder)
        sae = SAE.load_from_disk(folder)
    sae.eval()
    return sae


@contextmanager
def sae_lens_progress(progress: bool):
    """SAELens's training progress bar while inside: moved on every step, or off if ``progress`` is False.

    SAELens moves its bar every 100 steps, so a run of fewer steps ended at "0%" under a learner's eyes.
    """
    from functools import partial, partialmethod
    from unittest import mock

    import sae_lens.training.sae_trainer as trainer_module

    if progress:
        every_step = partialmethod(trainer_module.SAETrainer._update_pbar, update_interval=1)
        patch = mock.patch.object(trainer_module.SAETrainer, "_update_pbar", every_step)
    else:
        patch = mock.patch.object(trainer_module, "tqdm", partial(trainer_module.tqdm, disable=True))
    with patch:
        yield


def train_all(data: ToyData, configs: Sequence[ToySAEConfig], *, progress: bool = True) -> dict:
    """Train one SAE per config; return {architecture (or architecture + knob if repeated): SAE}."""
    saes = {}
    for config in configs:
        saes[run_name(config) if config.architecture in saes else config.architecture] = train_sae(
            data, config, progress=progress
        )
    return saes


def run_name(config: ToySAEConfig) -> str:
    """A short label: the architecture and the value of its sparsity knob."""
    knob = sparsity_knob(config.architecture)
    return f"{config.architecture} {knob}={getattr(config, knob):g}"


def sparsity_knob(architecture: str) -> str:
    """The config field that sets an architecture's sparsity."""
    return {"standard": "l1_coefficient", "gated": "l1_coefficient", "jumprelu": "l0_coefficient"}.get(architecture, "k")


def default_configs(**overrides) -> list[ToySAEConfig]:
    """One config per architecture with settings that train in a few seconds on the default toy data."""
    return [ToySAEConfig(architecture=architecture, **overrides) for architecture in ARCHITECTURES]


# --- Exercise references: the SAE's maths -----------------------------------------------------


def sae_forward_and_loss(x, W_enc, b_enc, W_dec, b_dec, l1_coefficient: float):
    """The standard (ReLU + L1) SAE, as SAELens's ``StandardTrainingSAE`` computes it.

    x: (batch, d_in); W_enc: (d_in, d_sae); b_enc: (d_sae,); W_dec: (d_sae, d_in); b_dec: (d_in,).
    a = ReLU((x − b_dec) W_enc + b_enc), x̂ = a W_dec + b_dec, and the loss is
    mean_batch ‖x − x̂‖² + λ mean_batch Σ_j a_j ‖W_dec,j‖ (the L1 penalty weighted by decoder norms,
    so shrinking the decoder cannot buy a smaller penalty). Returns (x_hat (batch, d_in), loss ()).
    """
    feature_acts = torch.relu((x - b_dec) @ W_enc + b_enc)
    x_hat = feature_acts @ W_dec + b_dec
    reconstruction = ((x - x_hat) ** 2).sum(-1).mean()
    sparsity = (feature_acts * W_dec.norm(dim=-1)).sum(-1).mean()
    return x_hat, reconstruction + l1_coefficient * sparsity


def topk_activation(hidden_pre: torch.Tensor, k: int) -> torch.Tensor:
    """Keep each row's k largest pre-activations, ReLU them, zero the rest (Gao et al. 2024).

    hidden_pre: (batch, d_sae) → (batch, d_sae), at most k non-zeros per row.
    """
    values, indices = hidden_pre.topk(k, dim=-1)
    return torch.zeros_like(hidden_pre).scatter(-1, indices, values.relu())


def max_cosine(true_directions: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
    """For each true feature, the largest cosine with any decoder row.

    true_directions: (n_features, d); decoder: (d_sae, d) → (n_features,).
    """
    true_unit = true_directions / true_directions.norm(dim=-1, keepdim=True).clamp(min=_EPS)
    decoder_unit = decoder / decoder.norm(dim=-1, keepdim=True).clamp(min=_EPS)
    return (true_unit @ decoder_unit.T).max(dim=-1).values


def mean_max_cosine_similarity(true_directions: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
    """MMCS (Sharkey et al. 2022): the mean over true features of their max cosine with a decoder row. → ()."""
    return max_cosine(true_directions, decoder).mean()


# --- Metrics: plain functions of tensors ------------------------------------------------------


def recovery_fraction(true_directions, decoder, threshold: float = RECOVERED_COSINE) -> float:
    """Fraction of true features with max cosine above ``threshold``."""
    return (max_cosine(true_directions, decoder) > threshold).float().mean().item()


def mean_l0(feature_acts: torch.Tensor) -> float:
    """Mean number of non-zero latents per sample. feature_acts: (batch, d_sae)."""
    return (feature_acts > 0).float().sum(-1).mean().item()


def n_dead_latents(feature_acts: torch.Tensor) -> int:
    """Latents that never fire on the batch. feature_acts: (batch, d_sae)."""
    return int((feature_acts > 0).sum(0).eq(0).sum().item())


def best_latents(true_directions: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
    """For each true feature, the index of the decoder row with the largest cosine: (n_features,)."""
    true_unit = true_directions / true_directions.norm(dim=-1, keepdim=True).clamp(min=_EPS)
    decoder_unit = decoder / decoder.norm(dim=-1, keepdim=True).clamp(min=_EPS)
    return (true_unit @ decoder_unit.T).argmax(dim=-1)


def recovered_magnitudes(feature_acts: torch.Tensor, decoder: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
    """How much of each true feature the SAE writes back: a_j ‖W_dec,j‖ for its best latent j.

    feature_acts: (batch, d_sae); decoder: (d_sae, d); latents: (n_features,) → (batch, n_features).
    """
    return feature_acts[:, latents] * decoder.norm(dim=-1)[latents]


def magnitude_ratio(true_magnitudes: torch.Tensor, recovered: torch.Tensor) -> torch.Tensor:
    """Per feature, Σ recovered / Σ true over the samples where the feature is on and its latent fires.

    Counting only samples where the latent fires separates shrinkage (a smaller magnitude) from a
    missed detection. true_magnitudes, recovered: (batch, n_features) → (n_features,), NaN where the
    feature never fired with its latent.
    """
    both = (true_magnitudes > 0) & (recovered > 0)
    true_sum = (true_magnitudes * both).sum(0)
    ratio = (recovered * both).sum(0) / true_sum
    return torch.where(true_sum > 0, ratio, torch.full_like(ratio, float("nan")))


def shrinkage(true_magnitudes, recovered, recovered_mask: torch.Tensor | None = None) -> float:
    """1 − the mean magnitude ratio over features (those in ``recovered_mask`` if given)."""
    ratio = magnitude_ratio(true_magnitudes, recovered)
    if recovered_mask is not None:
        ratio = ratio[recovered_mask]
    return (1 - ratio.nanmean()).item()


def one_feature_optimum(magnitude: torch.Tensor, coefficient: float, penalty: str = "l1") -> torch.Tensor:
    """The activation a ≥ 0 that minimises (m − a)² + penalty, for one feature of magnitude m.

    With an L1 penalty λa the optimum is a* = max(m − λ/2, 0): every magnitude shrinks by λ/2 and the
    small ones vanish. With an L0 penalty λ·[a > 0] (JumpReLU's) it is a* = m when m² > λ, else 0:
    small magnitudes vanish but the rest come back whole.
    """
    if penalty == "l1":
        return (magnitude - coefficient / 2).clamp(min=0)
    if penalty == "l0":
        return torch.where(magnitude**2 > coefficient, magnitude, torch.zeros_like(magnitude))
    raise ValueError(f"penalty must be 'l1' or 'l0', got {penalty!r}")


# --- Evaluation against the ground truth ------------------------------------------------------


@dataclass(frozen=True)
class SAEReport:
    """How one SAE did on held-out toy data."""

    recovered: float  # fraction of true features with max cosine > 0.9
    mmcs: float
    l0: float
    explained_variance: float
    mse: float
    dead_latents: int
    shrinkage: float  # 1 − recovered/true magnitude, over recovered features

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EvalBatch:
    """Held-out samples: true magnitudes (n, n_features) and activations (n, d_model)."""

    magnitudes: torch.Tensor
    activations: torch.Tensor


def eval_batch(data: ToyData, n_samples: int = 8192, seed: int = 12345) -> EvalBatch:
    """A held-out batch from a generator seeded apart from training's."""
    magnitudes, activations = data.sample(n_samples, torch.Generator().manual_seed(seed))
    return EvalBatch(magnitudes, activations)


@torch.no_grad()
def encode(sae, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The SAE's latents (batch, d_sae) and reconstruction (batch, d_in)."""
    feature_acts = sae.encode(x)
    return feature_acts, sae.decode(feature_acts)


@torch.no_grad()
def readout_magnitudes(sae, data: ToyData, x: torch.Tensor) -> torch.Tensor:
    """What the SAE writes back for each true feature through its best latent: (batch, n_features)."""
    feature_acts, _ = encode(sae, x)
    decoder = sae.W_dec.detach()
    return recovered_magnitudes(feature_acts, decoder, best_latents(data.directions, decoder))


@torch.no_grad()
def evaluate(sae, data: ToyData, batch: EvalBatch) -> SAEReport:
    """Every metric for one SAE against the ground truth of ``data`` on ``batch``."""
    feature_acts, x_hat = encode(sae, batch.activations)
    decoder = sae.W_dec.detach()
    cosines = max_cosine(data.directions, decoder)
    recovered = readout_magnitudes(sae, data, batch.activations)
    return SAEReport(
        recovered=(cosines > RECOVERED_COSINE).float().mean().item(),
        mmcs=cosines.mean().item(),
        l0=mean_l0(feature_acts),
        explained_variance=explained_variance(batch.activations, x_hat).item(),
        mse=((batch.activations - x_hat) ** 2).sum(-1).mean().item(),
        dead_latents=n_dead_latents(feature_acts),
        shrinkage=shrinkage(batch.magnitudes, recovered, cosines > RECOVERED_COSINE),
    )


def evaluate_all(saes: dict, data: ToyData, batch: EvalBatch) -> dict[str, SAEReport]:
    return {name: evaluate(sae, data, batch) for name, sae in saes.items()}


def report_table(reports: dict[str, SAEReport]) -> str:
    """The reports as a fixed-width text table, one row per SAE."""
    names = [field.name for field in fields(SAEReport)]
    width = max(len(name) for name in reports) + 2
    columns = [max(len(name), 5) + 2 for name in names]  # as narrow as the headers: fits a notebook
    lines = [" " * width + "".join(f"{name:>{w}}" for name, w in zip(names, columns))]
    for run, report in reports.items():
        values = report.as_dict()
        lines.append(f"{run:<{width}}" + "".join(f"{values[name]:>{w}.3g}" for name, w in zip(names, columns)))
    return "\n".join(lines)


def sweep(data: ToyData, base: ToySAEConfig, values: Sequence[float], batch: EvalBatch, *, progress: bool = True):
    """Train ``base`` at each value of its architecture's sparsity knob; return {value: SAEReport}."""
    knob = sparsity_knob(base.architecture)
    reports = {}
    for value in values:
        sae = train_sae(data, replace(base, **{knob: value}), progress=progress)
        reports[value] = evaluate(sae, data, batch)
    return reports
