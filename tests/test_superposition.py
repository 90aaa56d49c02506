"""The toy models of superposition on inputs notebook 01 does not use: measures on hand-built geometry (a regular
pentagon, an antipodal pair), determinism and sampling on small configs, config validation, an exercise hint,
and the figures and slider drawn from hand-built weights.

What notebook 01 trains and teaches (five features in two dimensions, the phase diagram, the dimensionality
sweep, its solution cells) is asserted on its own run, ``tests/notebooks/test_01_superposition.py``.
"""

from __future__ import annotations

import math

import pytest
import torch

from workbench.exercises import superposition as superposition_exercises
from workbench.exercises.checking import ExerciseFailed
from workbench.toys import superposition


# --- Measures on hand-built geometry ----------------------------------------------------------


def _pentagon() -> torch.Tensor:
    theta = torch.arange(5) * 2 * math.pi / 5
    return torch.stack([theta.cos(), theta.sin()])[None]  # (1, 2, 5)


def test_measures_of_a_regular_pentagon():
    W = _pentagon()
    assert superposition.feature_dimensionality(W) == pytest.approx(torch.full((1, 5), 2 / 5), abs=1e-5)
    assert superposition.dimensions_per_feature(W).item() == pytest.approx(2 / 5)
    assert superposition.adjacent_angles(W)[0].tolist() == pytest.approx([72] * 5, abs=1e-3)
    # Σ_{j≠i} cos²: 2 cos²72° + 2 cos²144° = 3/2
    assert superposition.superposition(W) == pytest.approx(torch.full((1, 5), 1.5), abs=1e-5)


def test_measures_of_an_antipodal_pair_and_a_dedicated_feature():
    W = torch.tensor([[[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]]])  # (1, 2, 3)
    assert superposition.feature_dimensionality(W) == pytest.approx(torch.tensor([[0.5, 0.5, 1.0]]), abs=1e-6)
    assert superposition.superposition(W) == pytest.approx(torch.tensor([[1.0, 1.0, 0.0]]), abs=1e-6)
    assert superposition.n_represented(W).item() == 3


def test_training_is_deterministic():
    config = superposition.ToyModelConfig(n_instances=2, sparsity=[0.0, 0.9], n_steps=20)
    first = superposition.train(config, seed=3, progress=False)
    second = superposition.train(config, seed=3, progress=False)
    assert torch.equal(first.W, second.W) and torch.equal(first.b, second.b)


def test_sampled_features_have_the_configured_density_and_range():
    config = superposition.ToyModelConfig(n_instances=2, sparsity=[0.0, 0.9])
    x = superposition.sample_features(config, 20_000, torch.Generator().manual_seed(0))
    assert x.shape == (2, 20_000, 5)
    assert 0 <= x.min() and x.max() <= 1
    density = (x > 0).float().mean((1, 2))
    assert density.tolist() == pytest.approx([1.0, 0.1], abs=0.01)
    assert x[0].mean().item() == pytest.approx(0.5, abs=0.01)  # present features are uniform on [0, 1]


# --- Config validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"n_features": 0}, "n_features"),
        ({"n_hidden": 2.5}, "n_hidden"),
        ({"n_replicas": -1}, "n_replicas"),
        ({"lr": 0.0}, "lr"),
        ({"sparsity": 1.0}, "sparsity"),
        ({"sparsity": -0.1}, "sparsity"),
        ({"importance": -1.0}, "importance"),
        ({"n_instances": 3, "sparsity": [0.1, 0.2]}, "sparsity"),
        ({"n_features": 5, "importance": [1.0, 0.5]}, "importance"),
    ],
)
def test_config_rejects_bad_fields_and_names_them(fields, message):
    with pytest.raises(ValueError, match=message):
        superposition.ToyModelConfig(**fields)


def test_config_broadcasts_sweeps_and_profiles():
    config = superposition.ToyModelConfig(
        n_features=3, n_instances=2, sparsity=[0.1, 0.9], importance=[1.0, 0.5, 0.25]
    )
    assert torch.allclose(config.sparsity, torch.tensor([[0.1] * 3, [0.9] * 3]))
    assert config.importance.tolist() == [[1.0, 0.5, 0.25]] * 2


def test_adjacent_angles_needs_two_dimensions():
    with pytest.raises(ValueError, match="m = 2"):
        superposition.adjacent_angles(torch.zeros(1, 3, 5))


# --- Exercise checks --------------------------------------------------------------------------

def test_forgetting_the_relu_earns_its_hint():
    def forward_without_relu(W, b, x):
        return (x @ W.transpose(-1, -2)) @ W + b[:, None, :]

    with pytest.raises(ExerciseFailed, match="forget the ReLU"):
        superposition_exercises.check_forward(forward_without_relu)


def test_stub_is_reported_as_not_attempted(capsys):
    def forward(W, b, x):
        raise NotImplementedError

    assert superposition_exercises.check_forward(forward) is False
    assert "not attempted" in capsys.readouterr().out


# --- Figures ----------------------------------------------------------------------------------


def test_figures_draw_what_they_are_given():
    from workbench.viz import superposition as superposition_plots

    generator = torch.Generator().manual_seed(0)
    W = torch.cat([_pentagon(), torch.randn(2, 2, 5, generator=generator)])
    assert len(superposition_plots.feature_directions(W, ["a", "b", "c"]).data) == 3 * 5
    assert len(superposition_plots.wtw_heatmaps(W, ["a", "b", "c"]).data) == 3
    bars = superposition_plots.norm_and_superposition_bars(W, ["a", "b", "c"])
    assert bars.data[0].x == pytest.approx(superposition.feature_norms(W)[0].tolist())

    shape = (len(superposition.PHASE_RELATIVE_IMPORTANCE), len(superposition.PHASE_DENSITY))
    phases = torch.randint(0, 3, shape, generator=generator)
    diagram = superposition_plots.phase_diagram(
        superposition.PHASE_RELATIVE_IMPORTANCE, superposition.PHASE_DENSITY, phases
    )
    assert [list(row) for row in diagram.data[0].z] == phases.tolist()

    W_sweep = torch.randn(len(superposition.DIMENSIONALITY_DENSITY), 8, 40, generator=generator)
    sweep = superposition_plots.dimensionality_sweep(
        superposition.DIMENSIONALITY_DENSITY,
        superposition.dimensions_per_feature(W_sweep),
        superposition.feature_dimensionality(W_sweep),
        superposition.feature_norms(W_sweep),
    )
    assert len(sweep.layout.shapes) == len(superposition.STICKY_FRACTIONS)


def test_sparsity_explorer_redraws_on_slider_move(capsys):
    """Hand-built weights: two features at every sparsity but the last, where all five sit on a pentagon."""
    from workbench.viz import superposition as superposition_plots

    sweep = superposition.SPARSITY_SWEEP
    two = torch.tensor([[[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0]]])
    W = torch.cat([two.expand(len(sweep) - 1, 2, 5), _pentagon()])
    explorer = superposition_plots.sparsity_explorer(W, sweep)
    slider = explorer.children[0]
    assert len(slider.options) == len(sweep)
    capsys.readouterr()
    slider.value = len(sweep) - 1
    assert "S = 0.99: 5 features represented" in capsys.readouterr().out
