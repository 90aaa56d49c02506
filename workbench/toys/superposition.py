"""Toy models of superposition (Elhage et al. 2022, "Toy Models of Superposition").

The paper's toy model squeezes ``n`` sparse features through ``m < n`` hidden dimensions and
reads them back out with the same matrix:

    h  = W x                      W: (m, n), the column W_i is feature i's direction
    x' = ReLU(Wᵀ W x + b)         the "ReLU output model" (the linear model drops the ReLU)
    L  = Σ_x Σ_i I_i (x_i − x'_i)²  importance-weighted mean squared error

Each feature is present with probability ``1 − S`` (S is the sparsity) and, when present, has a
magnitude uniform in [0, 1].

As in the paper, many models ("instances") are trained at once: ``W`` has shape
``(n_instances, m, n)`` and ``b`` has shape ``(n_instances, n)``, and each instance has its own
sparsity and importance. Their losses are summed, so their gradients never mix, and a whole sweep
over sparsity trains in the time of one model. Batches are laid out instance-first,
``x: (n_instances, batch, n)``, so the forward pass is two batched matrix products.

The measures of the paper's geometry section are functions of ``W`` alone: feature norms ‖W_i‖,
superposition Σ_{j≠i} (Ŵ_i·W_j)², feature dimensionality D_i and dimensions per feature
m / ‖W‖²_F.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Sequence

import torch
from torch import nn

from workbench.config_checks import positive_ints, positive_numbers

REPRESENTED_NORM = 0.5
"""A feature counts as represented when ‖W_i‖ exceeds this (a learned feature has norm near 1)."""

STICKY_FRACTIONS = (1.0, 3 / 4, 2 / 3, 1 / 2, 2 / 5, 1 / 3)
"""Feature dimensionalities where the paper finds features cluster (digons 1/2, pentagons 2/5, ...)."""

_EPS = 1e-8


def _as_grid(name: str, value, n_instances: int, n_features: int, vector_axis: str) -> torch.Tensor:
    """``value``, a number, a 1-D sequence along ``vector_axis`` or a 2-D grid, as (n_instances, n_features)."""
    tensor = torch.as_tensor(value, dtype=torch.float32)
    if tensor.dim() == 1 and vector_axis == "instances":
        tensor = tensor[:, None]
    try:
        return torch.broadcast_to(tensor, (n_instances, n_features)).clone()
    except RuntimeError:
        one_each = "one per instance" if vector_axis == "instances" else "one per feature"
        raise ValueError(
            f"{name} has shape {tuple(tensor.shape)}; give a number, {one_each}, or a grid of shape "
            f"(n_instances, n_features) = ({n_instances}, {n_features})"
        ) from None


@dataclass(frozen=True)
class ToyModelConfig:
    """One batch of toy models trained together: sizes, data distribution, and optimiser settings.

    ``sparsity`` S is a number, one value per instance (a sweep), or an (n_instances, n_features)
    grid. ``importance`` I is a number, one value per feature (a profile such as 0.9**i), or an
    (n_instances, n_features) grid. Both are stored as (n_instances, n_features) float tensors.
    """

    n_features: int = 5  # n, features in the input
    n_hidden: int = 2  # m, hidden dimensions
    n_instances: int = 1  # models trained side by side, each with its own sparsity and importance
    relu: bool = True  # the ReLU output model; False gives the linear model
    sparsity: torch.Tensor | Sequence[float] | float = 0.0  # S: a feature is absent with probability S
    importance: torch.Tensor | Sequence[float] | float = 1.0  # I: weight of each feature in the loss
    n_replicas: int = 1  # random starts per instance; train keeps the one with the lowest loss
    n_steps: int = 1_000
    batch_size: int = 256
    lr: float = 3e-2  # Adam's initial learning rate, decayed to zero along a cosine

    def __post_init__(self):
        positive_ints(self, ("n_features", "n_hidden", "n_instances", "n_replicas", "n_steps", "batch_size"))
        positive_numbers(self, ("lr",))
        sparsity = _as_grid("sparsity", self.sparsity, self.n_instances, self.n_features, "instances")
        importance = _as_grid("importance", self.importance, self.n_instances, self.n_features, "features")
        if not ((sparsity >= 0) & (sparsity < 1)).all():
            raise ValueError("sparsity must lie in [0, 1): a feature of sparsity 1 is never present")
        if not (importance >= 0).all():
            raise ValueError("importance must be non-negative")
        object.__setattr__(self, "sparsity", sparsity)
        object.__setattr__(self, "importance", importance)

    @property
    def feature_probability(self) -> torch.Tensor:
        """Probability that each feature is present, 1 − S: shape (n_instances, n_features)."""
        return 1 - self.sparsity


def decaying_importance(n_features: int, decay: float = 0.9) -> torch.Tensor:
    """Importance ``decay ** i`` of feature i, as in the paper's first demo: (n_features,)."""
    return decay ** torch.arange(n_features, dtype=torch.float32)


def sample_features(config: ToyModelConfig, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """A batch of synthetic inputs: feature i is present with probability p = 1 − S_i, magnitude U[0, 1].

    Returns x of shape (n_instances, batch, n_features). One uniform draw u serves both purposes:
    the feature is present when u < p, and then u / p is itself uniform on [0, 1].
    """
    probability = config.feature_probability[:, None, :]
    u = torch.rand(config.n_instances, batch_size, config.n_features, generator=generator)
    return torch.where(u < probability, u / probability, 0.0)


def reconstruct(W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, relu: bool = True) -> torch.Tensor:
    """The toy model's output x' = ReLU(Wᵀ W x + b) (the linear model omits the ReLU).

    W: (n_instances, m, n), b: (n_instances, n), x: (n_instances, batch, n) → x': (n_instances, batch, n).
    """
    hidden = x @ W.transpose(-1, -2)  # h = W x: (n_instances, batch, m)
    out = hidden @ W + b[:, None, :]  # Wᵀ h + b: (n_instances, batch, n)
    return torch.relu(out) if relu else out


def importance_weighted_loss(x: torch.Tensor, x_hat: torch.Tensor, importance: torch.Tensor) -> torch.Tensor:
    """The paper's loss L = E_x Σ_i I_i (x_i − x'_i)², one value per instance.

    x, x_hat: (n_instances, batch, n); importance: (n_instances, n) → loss: (n_instances,).
    The mean is over the batch and the sum over features.
    """
    return (importance[:, None, :] * (x - x_hat) ** 2).sum(-1).mean(-1)


class ToyModel(nn.Module):
    """``n_instances`` independent toy models x → ReLU(Wᵀ W x + b) held in two tensors.

    W: (n_instances, m, n), initialised Xavier-normal per instance; b: (n_instances, n), zeros.
    """

    def __init__(self, config: ToyModelConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.config = config
        shape = (config.n_instances, config.n_hidden, config.n_features)
        std = math.sqrt(2 / (config.n_hidden + config.n_features))
        self.W = nn.Parameter(torch.randn(shape, generator=generator) * std)
        self.b = nn.Parameter(torch.zeros(config.n_instances, config.n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (n_instances, batch, n) → x': (n_instances, batch, n)."""
        return reconstruct(self.W, self.b, x, relu=self.config.relu)


@dataclass
class TrainedToyModels:
    """The result of ``train``: weights detached from autograd, with the config that produced them.

    W: (n_instances, m, n); b: (n_instances, n); loss: (n_instances,), each instance's loss on a
    fresh evaluation batch.
    """

    config: ToyModelConfig
    W: torch.Tensor
    b: torch.Tensor
    loss: torch.Tensor = field(repr=False)


def evaluate_loss(
    config: ToyModelConfig,
    W: torch.Tensor,
    b: torch.Tensor,
    generator: torch.Generator,
    batch_size: int = 8_192,
) -> torch.Tensor:
    """Importance-weighted loss of each instance on one fresh batch: (n_instances,)."""
    with torch.no_grad():
        x = sample_features(config, batch_size, generator)
        return importance_weighted_loss(x, reconstruct(W, b, x, config.relu), config.importance)


def _with_replicas(config: ToyModelConfig) -> ToyModelConfig:
    """The config with every instance repeated ``n_replicas`` times (replica-major), one replica each."""
    k = config.n_replicas
    return replace(
        config,
        n_instances=config.n_instances * k,
        sparsity=config.sparsity.repeat(k, 1),
        importance=config.importance.repeat(k, 1),
        n_replicas=1,
    )


def train(config: ToyModelConfig, seed: int = 0, progress: bool = True) -> TrainedToyModels:
    """Train every instance of ``config`` with Adam on fresh batches; deterministic given ``seed``.

    One torch.Generator seeded with ``seed`` draws the initial weights and every batch, so the same
    config and seed give the same weights on every CPU run. The learning rate decays along a
    cosine from ``config.lr`` to zero, which lets a short run settle into the paper's geometry.

    With ``config.n_replicas = k > 1`` each instance is trained k times from different initial
    weights and the replica with the lowest loss on a fresh evaluation batch is kept: gradient
    descent sometimes settles in a local minimum (say, four features where five fit), and the
    paper's figures show the best solution found.
    """
    from tqdm.auto import tqdm

    expanded = _with_replicas(config)
    generator = torch.Generator().manual_seed(seed)
    model = ToyModel(expanded, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.n_steps)
    for _ in tqdm(range(config.n_steps), disable=not progress, desc="training toy models"):
        x = sample_features(expanded, config.batch_size, generator)
        loss = importance_weighted_loss(x, model(x), expanded.importance).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()

    W, b = model.W.detach(), model.b.detach()
    loss = evaluate_loss(expanded, W, b, generator).view(config.n_replicas, config.n_instances)
    best = loss.argmin(0)  # (n_instances,): which replica to keep
    instance = torch.arange(config.n_instances)
    keep = best * config.n_instances + instance
    return TrainedToyModels(config, W[keep].clone(), b[keep].clone(), loss[best, instance])


# --- Measures of the learned geometry (paper section "The Geometry of Superposition") ---------


def feature_norms(W: torch.Tensor) -> torch.Tensor:
    """‖W_i‖, how strongly feature i is represented: W (n_instances, m, n) → (n_instances, n)."""
    return W.norm(dim=-2)


def n_represented(W: torch.Tensor, threshold: float = REPRESENTED_NORM) -> torch.Tensor:
    """Number of features with ‖W_i‖ > threshold: W (n_instances, m, n) → (n_instances,) ints."""
    return (feature_norms(W) > threshold).sum(-1)


def _overlaps(W: torch.Tensor) -> torch.Tensor:
    """(Ŵ_i · W_j)² for every pair: W (n_instances, m, n) → (n_instances, n, n), row i = feature i."""
    W_hat = W / (feature_norms(W)[:, None, :] + _EPS)
    return torch.einsum("imn,imk->ink", W_hat, W) ** 2


def superposition(W: torch.Tensor) -> torch.Tensor:
    """How much feature i shares its direction, Σ_{j≠i} (Ŵ_i · W_j)²: W (n_instances, m, n) → (n_instances, n).

    Zero when feature i has a dimension to itself; the paper colours its norm bars by this.
    """
    overlaps = _overlaps(W)
    return overlaps.sum(-1) - overlaps.diagonal(dim1=-2, dim2=-1)


def feature_dimensionality(W: torch.Tensor) -> torch.Tensor:
    """D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)², the fraction of a dimension feature i gets (paper, eq. in
    "Feature Dimensionality"): W (n_instances, m, n) → (n_instances, n).

    1 for a feature with a dedicated dimension, 1/2 for one of an antipodal pair, 2/5 in a
    pentagon, and near 0 for an unlearned feature.
    """
    return feature_norms(W) ** 2 / (_overlaps(W).sum(-1) + _EPS)


def dimensions_per_feature(W: torch.Tensor) -> torch.Tensor:
    """m / ‖W‖²_F, hidden dimensions per represented feature: W (n_instances, m, n) → (n_instances,).

    ‖W‖²_F counts learned features (each has norm near 1), so this is 1 when the model keeps m
    features orthogonal and 1/2 when it stores 2m features as antipodal pairs.
    """
    return W.shape[-2] / W.pow(2).sum((-2, -1))


def adjacent_angles(W: torch.Tensor, threshold: float = REPRESENTED_NORM) -> list[torch.Tensor]:
    """Angles in degrees between neighbouring represented feature directions, going round the circle.

    W: (n_instances, 2, n), two hidden dimensions only. Returns one tensor per instance holding an
    angle for each represented feature (a regular pentagon gives five angles of 72°). An instance
    with fewer than two represented features gets an empty tensor.
    """
    if W.shape[-2] != 2:
        raise ValueError(f"adjacent_angles needs m = 2 hidden dimensions, got W of shape {tuple(W.shape)}")
    angles = []
    for W_instance, keep in zip(W, feature_norms(W) > threshold):
        directions = W_instance[:, keep]
        if directions.shape[1] < 2:
            angles.append(torch.empty(0))
            continue
        theta = torch.atan2(directions[1], directions[0]).sort().values
        gaps = torch.diff(theta, append=theta[:1] + 2 * math.pi)
        angles.append(torch.rad2deg(gaps))
    return angles


# --- The phase diagram (paper section "Superposition as a Phase Change") ----------------------

NOT_REPRESENTED, DEDICATED, SUPERPOSED = 0, 1, 2
PHASE_NAMES = ("not represented", "dedicated dimension", "superposed")


def classify_phase(W: torch.Tensor, feature: int = -1, interference: float = 0.5) -> torch.Tensor:
    """Which phase ``feature`` is in, per instance: NOT_REPRESENTED (‖W_i‖ ≤ 0.5), SUPERPOSED
    (represented and Σ_{j≠i} (Ŵ_i·W_j)² > ``interference``), else DEDICATED.

    W: (n_instances, m, n) → (n_instances,) ints in {0, 1, 2}.
    """
    represented = feature_norms(W)[:, feature] > REPRESENTED_NORM
    superposed = superposition(W)[:, feature] > interference
    phase = torch.full(represented.shape, NOT_REPRESENTED)
    phase[represented] = DEDICATED
    phase[represented & superposed] = SUPERPOSED
    return phase


# --- The notebook's experiments: one config builder each, shared with tests/test_superposition.py


SPARSITY_SWEEP = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99)
"""Sparsities of the 5-features-in-2-dimensions demo (the paper's first figure uses 0 to 0.999)."""


def five_in_two_config(relu: bool = True, sparsity: Sequence[float] = SPARSITY_SWEEP) -> ToyModelConfig:
    """The paper's first demo: n = 5 features of importance 0.9**i in m = 2 dimensions, one instance
    per sparsity.

    The ReLU model can settle in a local minimum (four features where five fit), so it keeps the
    better of two replicas. The linear model has no such minima but learns slowly at high sparsity,
    where the gap it must resolve (importance 0.9 against 0.81, on rarely present features) is
    small; a larger step size gets it to the top-2 solution in 1000 steps.
    """
    return ToyModelConfig(
        n_features=5,
        n_hidden=2,
        n_instances=len(sparsity),
        relu=relu,
        sparsity=sparsity,
        importance=decaying_importance(5, 0.9),
        n_replicas=2 if relu else 1,
        lr=3e-2 if relu else 0.1,
    )


PHASE_RELATIVE_IMPORTANCE = torch.logspace(-1, 1, 8)
"""Importance of the extra feature relative to the first, 0.1 to 10 (the phase diagram's rows)."""
PHASE_DENSITY = torch.logspace(0, -1.3, 8)
"""Feature density 1 − S from 1 down to 0.05, shared by both features (the phase diagram's columns)."""


def phase_diagram_config(
    relative_importance: torch.Tensor = PHASE_RELATIVE_IMPORTANCE, density: torch.Tensor = PHASE_DENSITY
) -> ToyModelConfig:
    """n = 2 features in m = 1 dimension on a grid: feature 0 has importance 1, the "extra" feature 1
    has ``relative_importance``; both have the same ``density`` (paper, "Superposition as a Phase Change").

    Instance k is grid cell (k // len(density), k % len(density)), so
    ``classify_phase(W).view(len(relative_importance), len(density))`` is the diagram. A 1-D model
    has three competing minima (one feature, the other, or both antipodal), so each cell keeps the
    best of six replicas.
    """
    grid_importance, grid_density = torch.meshgrid(relative_importance, density, indexing="ij")
    n_instances = grid_importance.numel()
    importance = torch.stack([torch.ones(n_instances), grid_importance.flatten()], dim=1)
    return ToyModelConfig(
        n_features=2,
        n_hidden=1,
        n_instances=n_instances,
        sparsity=1 - grid_density.flatten(),
        importance=importance,
        n_replicas=6,
        n_steps=600,
        batch_size=64,
    )


DIMENSIONALITY_DENSITY = torch.logspace(0, -1.3, 14)
"""Feature densities 1 − S of the feature-dimensionality sweep: 1/(1 − S) from 1 to 20."""


def dimensionality_sweep_config(density: torch.Tensor = DIMENSIONALITY_DENSITY) -> ToyModelConfig:
    """n = 40 features of uniform importance in m = 8 dimensions, one instance per density
    (paper, "The Geometry of Superposition", which uses more features; 40 in 8 trains in seconds).
    """
    return ToyModelConfig(
        n_features=40,
        n_hidden=8,
        n_instances=len(density),
        sparsity=1 - density,
        importance=1.0,
        batch_size=128,
    )


def longest_run_near(values: torch.Tensor, target: float, tolerance: float) -> slice:
    """The longest run of consecutive entries within ``tolerance`` of ``target``, as a slice.

    values: (k,). Used to find the plateau of ``dimensions_per_feature`` at 1/2 across a sweep; an
    empty slice when no entry is close.
    """
    best, start = slice(0, 0), None
    close = ((values - target).abs() <= tolerance).tolist() + [False]
    for i, is_close in enumerate(close):
        if is_close and start is None:
            start = i
        elif not is_close and start is not None:
            if i - start > best.stop - best.start:
                best = slice(start, i)
            start = None
    return best
