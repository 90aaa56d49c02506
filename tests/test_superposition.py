"""The numbers notebook 01 teaches, from the same configs and seeds the notebook trains."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.exercises import superposition as superposition_exercises
from workbench.exercises.checking import ExerciseFailed
from workbench.toys import superposition


@pytest.fixture(scope="module")
def relu_models():
    return superposition.train(superposition.five_in_two_config(relu=True), seed=0, progress=False)


@pytest.fixture(scope="module")
def linear_models():
    return superposition.train(superposition.five_in_two_config(relu=False), seed=0, progress=False)


@pytest.fixture(scope="module")
def phase_models():
    return superposition.train(superposition.phase_diagram_config(), seed=0, progress=False)


@pytest.fixture(scope="module")
def sweep_models():
    config = superposition.dimensionality_sweep_config(superposition.DIMENSIONALITY_DENSITY)
    return superposition.train(config, seed=0, progress=False)


def _at(sparsity: float) -> int:
    return superposition.SPARSITY_SWEEP.index(sparsity)


# --- Five features in two dimensions ----------------------------------------------------------


def test_linear_model_keeps_the_two_most_important_features_at_every_sparsity(linear_models):
    represented = superposition.feature_norms(linear_models.W) > superposition.REPRESENTED_NORM
    assert superposition.n_represented(linear_models.W).tolist() == [2] * len(superposition.SPARSITY_SWEEP)
    assert represented[:, :2].all(), "the linear model should keep features 0 and 1 (importance 1 and 0.9)"


def test_dense_relu_model_keeps_two_orthogonal_features(relu_models):
    W_dense = relu_models.W[_at(0.0) : _at(0.0) + 1]
    assert superposition.n_represented(W_dense).item() == 2
    assert superposition.adjacent_angles(W_dense)[0].min().item() == pytest.approx(90, abs=5)


def test_relu_model_forms_antipodal_pairs_at_sparsity_0_7(relu_models):
    W_pairs = relu_models.W[_at(0.7) : _at(0.7) + 1]
    assert superposition.n_represented(W_pairs).item() == 4
    assert superposition.adjacent_angles(W_pairs)[0].tolist() == pytest.approx([90] * 4, abs=5)


@pytest.mark.parametrize("sparsity", [0.9, 0.99])
def test_sparse_relu_model_puts_all_five_features_on_a_pentagon(relu_models, sparsity):
    W_sparse = relu_models.W[_at(sparsity) : _at(sparsity) + 1]
    assert superposition.n_represented(W_sparse).item() == 5
    angles = superposition.adjacent_angles(W_sparse)[0]
    assert angles.tolist() == pytest.approx([72] * 5, abs=10)


def test_relu_model_represents_more_features_as_sparsity_rises(relu_models):
    counts = superposition.n_represented(relu_models.W).tolist()
    assert counts == sorted(counts) and counts[0] == 2 and counts[-1] == 5


# --- Phase diagram ----------------------------------------------------------------------------


def test_phase_diagram_has_the_three_regions_where_the_paper_puts_them(phase_models):
    shape = (len(superposition.PHASE_RELATIVE_IMPORTANCE), len(superposition.PHASE_DENSITY))
    phases = superposition.classify_phase(phase_models.W).view(shape)
    dense, sparsest = phases[:, 0], phases[:, -1]
    less_important = superposition.PHASE_RELATIVE_IMPORTANCE < 1
    assert (dense[less_important] == superposition.NOT_REPRESENTED).all()
    assert (dense[~less_important] == superposition.DEDICATED).all()
    assert (sparsest == superposition.SUPERPOSED).all()


# --- Feature dimensionality -------------------------------------------------------------------


def test_dimensions_per_feature_starts_at_one_and_plateaus_at_one_half(sweep_models):
    dims_per_feature = superposition.dimensions_per_feature(sweep_models.W)
    assert dims_per_feature[0].item() == pytest.approx(1.0, abs=0.05)
    plateau = superposition.longest_run_near(dims_per_feature, target=0.5, tolerance=0.05)
    assert plateau.stop - plateau.start >= 3, f"plateau too short: {dims_per_feature.tolist()}"


def test_features_on_the_plateau_are_antipodal_pairs(sweep_models):
    dims_per_feature = superposition.dimensions_per_feature(sweep_models.W)
    plateau = superposition.longest_run_near(dims_per_feature, target=0.5, tolerance=0.05)
    middle = (plateau.start + plateau.stop) // 2
    represented = superposition.feature_norms(sweep_models.W)[middle] > superposition.REPRESENTED_NORM
    dimensionality = superposition.feature_dimensionality(sweep_models.W)[middle][represented]
    assert represented.sum().item() == 2 * sweep_models.config.n_hidden
    assert dimensionality.tolist() == pytest.approx([0.5] * len(dimensionality), abs=0.03)


def test_sparser_features_cluster_at_two_fifths(sweep_models):
    """Past the plateau, the notebook points out a cluster of pentagon features at D_i = 2/5."""
    represented = superposition.feature_norms(sweep_models.W) > superposition.REPRESENTED_NORM
    near_two_fifths = (superposition.feature_dimensionality(sweep_models.W) - 2 / 5).abs() < 0.02
    assert (near_two_fifths & represented).sum(-1).max().item() >= 10


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


def test_notebook_solutions_pass():
    """The solution cells of notebook 01, written as a learner would."""

    def forward(W, b, x):
        hidden = x @ W.transpose(-1, -2)
        return torch.relu(hidden @ W + b[:, None, :])

    def loss(x, x_hat, importance):
        return (importance[:, None, :] * (x - x_hat) ** 2).sum(-1).mean(-1)

    def feature_dimensionality(W):
        norms = W.norm(dim=-2)
        W_hat = W / norms[:, None, :]
        return norms**2 / ((W_hat.transpose(-1, -2) @ W) ** 2).sum(-1)

    assert superposition_exercises.check_forward(forward)
    assert superposition_exercises.check_loss(loss)
    assert superposition_exercises.check_feature_dimensionality(feature_dimensionality)


def test_stub_is_reported_as_not_attempted(capsys):
    def forward(W, b, x):
        raise NotImplementedError

    assert superposition_exercises.check_forward(forward) is False
    assert "not attempted" in capsys.readouterr().out


# --- Figures ----------------------------------------------------------------------------------


def test_figures_draw_what_they_are_given(relu_models, phase_models, sweep_models):
    from workbench.viz import superposition as superposition_plots

    W = relu_models.W[:3]
    assert len(superposition_plots.feature_directions(W, ["a", "b", "c"]).data) == 3 * 5
    assert len(superposition_plots.wtw_heatmaps(W, ["a", "b", "c"]).data) == 3
    bars = superposition_plots.norm_and_superposition_bars(W, ["a", "b", "c"])
    assert bars.data[0].x == pytest.approx(superposition.feature_norms(W)[0].tolist())

    shape = (len(superposition.PHASE_RELATIVE_IMPORTANCE), len(superposition.PHASE_DENSITY))
    phases = superposition.classify_phase(phase_models.W).view(shape)
    diagram = superposition_plots.phase_diagram(
        superposition.PHASE_RELATIVE_IMPORTANCE, superposition.PHASE_DENSITY, phases
    )
    assert [list(row) for row in diagram.data[0].z] == phases.tolist()

    sweep = superposition_plots.dimensionality_sweep(
        superposition.DIMENSIONALITY_DENSITY,
        superposition.dimensions_per_feature(sweep_models.W),
        superposition.feature_dimensionality(sweep_models.W),
        superposition.feature_norms(sweep_models.W),
    )
    assert len(sweep.layout.shapes) == len(superposition.STICKY_FRACTIONS)


def test_sparsity_explorer_redraws_on_slider_move(relu_models, capsys):
    from workbench.viz import superposition as superposition_plots

    explorer = superposition_plots.sparsity_explorer(relu_models.W, superposition.SPARSITY_SWEEP)
    slider = explorer.children[0]
    assert len(slider.options) == len(superposition.SPARSITY_SWEEP)
    capsys.readouterr()
    slider.value = len(superposition.SPARSITY_SWEEP) - 1
    assert "S = 0.99: 5 features represented" in capsys.readouterr().out
