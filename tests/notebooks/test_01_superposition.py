"""Notebook 01's own run: five features in two dimensions, the phase diagram, the feature-dimensionality sweep,
and the learner's solution cells.

Reads the models and measures notebook 01's kernel trained and computed (``linear_models``, ``relu_models``,
``panels``, ``phases``, ``sweep_models``, ``dims_per_feature``, ``dimensionalities``, ``plateau``); the toy model's
measures on hand-built geometry, its configs, sampling, determinism, exercise hints and figures on other inputs
are tested in ``tests/test_superposition.py`` and ``tests/test_exercises.py``.
"""

from __future__ import annotations

import pytest

from tests.claims import Claim, Rule, Wording
from tests.notebooks.common import test_runs_top_to_bottom_and_prints_readably, test_the_prose_says_what_the_run_measured  # noqa: F401

NOTEBOOK = "01_superposition.ipynb"
ANGLES = "[a for a in panel_angles[list(panels).index({!r})].tolist()]"
WTW = "(panels[{0!r}].T @ panels[{0!r}])"
OFF_DIAGONAL = f"float(({WTW} - torch.diag(torch.diag({WTW}))).abs().max())"
REPRESENTED = "(norms > superposition.REPRESENTED_NORM)"
NEAR_TWO_FIFTHS = f"(((dimensionalities - 0.4).abs() < 0.02) & {REPRESENTED})"
ONSET = "[int((row == superposition.SUPERPOSED).int().argmax()) for row in phases]"  # first superposed column, per row
CLAIMS = [
    Claim("watch 5 features fit into 2 dimensions", "[relu_models.config.n_features, relu_models.config.n_hidden]"),
    Rule("twelve sparsities from dense to very sparse",
         "len(sparsity_sweep) == 12 and sparsity_sweep[0] == 0.0 and sparsity_sweep[-1] >= 0.99"),
    Rule("the ReLU models keep the better of two random starts", "relu_models.config.n_replicas == 2"),
    Rule("The linear model keeps exactly two features at every sparsity, the two most important",
         "linear_counts == [2] * len(sparsity_sweep) and bool(importance[:2].min() > importance[2:].max())"
         " and bool((superposition.feature_norms(linear_models.W)[:, :2] > superposition.REPRESENTED_NORM).all())"),
    Rule("The ReLU model keeps more as the features get sparser: two, then four, then all five",
         "relu_counts == sorted(relu_counts) and sorted(set(relu_counts)) == [2, 4, 5]"),
    Rule("Dense features get two orthogonal directions",
         f"(lambda a: len(a) == 2 and abs(min(a) - 90) < 5)({ANGLES.format('ReLU, S = 0')})"),
    Rule("four features form two *antipodal pairs*, each pair sharing one dimension in opposite directions",
         f"(lambda a: len(a) == 4 and all(abs(x - 90) < 5 for x in a))({ANGLES.format('ReLU, S = 0.7')})"
         f" and float({WTW.format('ReLU, S = 0.7')}.min()) < -0.9"),
    Rule("all five sit on a pentagon, 72° apart",
         f"(lambda a: len(a) == 5 and all(abs(x - 72) < 5 for x in a))({ANGLES.format('ReLU, S = 0.9')})"),
    Rule("The linear model and the dense ReLU model have none",
         f"max({OFF_DIAGONAL.format('linear, S = 0.9')}, {OFF_DIAGONAL.format('ReLU, S = 0')}) < 0.1"),
    Rule("an antipodal pair reads", f"float({WTW.format('ReLU, S = 0.7')}.min()) < -0.9"),
    Rule("which the ReLU and a negative bias filter out", "bool((relu_models.b[sparsity_sweep.index(0.9)] < 0).all())"),
    Claim("The first feature has importance 1", "float(phase_config.importance[:, 0].unique().item())"),
    Claim("importance relative to it runs from 0.1 to 10",
          "[float(relative_importance.min()), float(relative_importance.max())]"),
    Rule("each keeping the best of six random starts", "phase_models.config.n_replicas == 6"),
    Rule("With dense features the more important feature takes the only dimension (the boundary sits near relative "
         "importance 1); once features are sparse enough both share it",
         "float(feature_density[0]) == 1.0"
         " and bool((phases[relative_importance < 1, 0] == superposition.NOT_REPRESENTED).all())"
         " and bool((phases[relative_importance >= 1, 0] == superposition.DEDICATED).all())"
         " and bool((phases[:, -1] == superposition.SUPERPOSED).all())"),
    Rule("The further the importances are from equal, the sparser the features must be before superposition wins",
         "(lambda onset, distance: all(onset[i] <= onset[j] for i in range(len(onset)) for j in range(len(onset))"
         f" if distance[i] < distance[j] - 1e-6))({ONSET}, relative_importance.log().abs().tolist())"),
    Wording("which is 1 for a feature with a dimension to itself, 1/2 for each feature of an antipodal pair, 2/5 on a "
            "pentagon, and near 0 for a feature that is not learned",
            "the definition's value on the shapes it names (tests/test_superposition.py checks them on hand-built W)"),
    Claim("40 features in 8 dimensions", "[sweep_models.config.n_features, sweep_models.config.n_hidden]"),
    Rule("many features of equal importance", "sweep_models.config.importance.unique().numel() == 1"),
    Rule("Dimensions per feature starts at its dense value",
         "float(sweep_density[0]) == 1.0 and abs(float(dims_per_feature[0]) - 1) < 0.05"),
    Rule("It then sticks at 1/2 over a range of sparsities", "plateau.stop - plateau.start >= 3"),
    Rule("where the model stores $2m$ features as $m$ antipodal pairs and every dot sits on that line",
         f"all(int({REPRESENTED}[k].sum()) == 2 * sweep_models.config.n_hidden"
         f" and bool(((dimensionalities[k][{REPRESENTED}[k]] - 0.5).abs() < 0.05).all())"
         " for k in range(plateau.start, plateau.stop))"),
    Rule("Sparser, a cluster appears at 2/5",
         f"int({NEAR_TWO_FIFTHS}.sum(-1).max()) >= 10 and int({NEAR_TWO_FIFTHS}.sum(-1).argmax()) >= plateau.stop"),
    Rule("beyond that the dots slide down as features pack into larger shapes",
         "(lambda cluster, top: all(t < 0.4 for t in top[cluster + 1:]) and top[-1] < top[cluster + 1])("
         f"int({NEAR_TWO_FIFTHS}.sum(-1).argmax()), "
         f"[float(d[r].max()) for d, r in zip(dimensionalities, {REPRESENTED})])"),
    Wording("The slider redraws the five-features-in-two-dimensions models of section 2", "a section's name"),
]


def represented_at(sparsity: float) -> str:
    return f"superposition.n_represented(relu_models.W[sparsity_sweep.index({sparsity})][None]).item()"


def angles_at(sparsity: float) -> str:
    return f"superposition.adjacent_angles(relu_models.W[sparsity_sweep.index({sparsity})][None])[0]"


# --- Five features in two dimensions ----------------------------------------------------------


def test_the_linear_model_keeps_the_two_most_important_features_at_every_sparsity(run):
    assert run.value("linear_counts") == [2] * 12
    assert run.value("bool((superposition.feature_norms(linear_models.W)[:, :2] > superposition.REPRESENTED_NORM).all())")


def test_the_dense_relu_model_keeps_two_orthogonal_features(run):
    assert run.value(represented_at(0.0)) == 2
    assert run.value(f"{angles_at(0.0)}.min()") == pytest.approx(90, abs=5)


def test_the_relu_model_forms_antipodal_pairs_at_sparsity_0_7(run):
    assert run.value(represented_at(0.7)) == 4
    assert run.value(angles_at(0.7)) == pytest.approx([90] * 4, abs=5)


@pytest.mark.parametrize("sparsity", [0.9, 0.99])
def test_the_sparse_relu_model_puts_all_five_features_on_a_pentagon(run, sparsity):
    assert run.value(represented_at(sparsity)) == 5
    assert run.value(angles_at(sparsity)) == pytest.approx([72] * 5, abs=10)


def test_the_relu_model_represents_more_features_as_sparsity_rises(run):
    counts = run.value("relu_counts")
    assert counts == sorted(counts) and counts[0] == 2 and counts[-1] == 5


# --- Phase diagram and feature dimensionality -------------------------------------------------


def test_the_phase_diagram_has_the_three_regions_where_the_paper_puts_them(run):
    phases, relative = run.value("phases"), run.value("relative_importance")
    dense, sparsest = [row[0] for row in phases], [row[-1] for row in phases]
    codes = run.value("[superposition.NOT_REPRESENTED, superposition.DEDICATED, superposition.SUPERPOSED]")
    assert all(cell == (codes[0] if r < 1 else codes[1]) for cell, r in zip(dense, relative))
    assert set(sparsest) == {codes[2]}


def test_dimensions_per_feature_starts_at_one_and_plateaus_at_one_half(run):
    assert run.value("dims_per_feature[0].item()") == pytest.approx(1.0, abs=0.05)
    assert run.value("plateau.stop - plateau.start") >= 3, run.value("dims_per_feature")


def test_features_on_the_plateau_are_antipodal_pairs(run):
    middle = "(plateau.start + plateau.stop) // 2"
    represented = f"(norms[{middle}] > superposition.REPRESENTED_NORM)"
    assert run.value(f"int({represented}.sum())") == 2 * run.value("sweep_models.config.n_hidden")
    dimensionality = run.value(f"dimensionalities[{middle}][{represented}]")
    assert dimensionality == pytest.approx([0.5] * len(dimensionality), abs=0.03)


def test_sparser_features_cluster_at_two_fifths(run):
    assert run.value(f"int({NEAR_TWO_FIFTHS}.sum(-1).max())") >= 10


# --- The exercises ------------------------------------------------------------------------------


def test_the_solution_cells_pass_their_checks(run):
    """The notebook's own solution cells (the functions its kernel holds), as a learner would write them."""
    assert run.value("[check_forward(forward), check_loss(loss), check_feature_dimensionality(feature_dimensionality)]") \
        == [True, True, True]
