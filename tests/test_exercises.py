from __future__ import annotations

import pytest
import torch

from workbench.exercises import graphs as graph_exercises
from workbench.exercises import multihop as multihop_exercises
from workbench.exercises import planning as planning_exercises
from workbench.exercises import saes as sae_exercises
from workbench.exercises import steering as steering_exercises
from workbench.exercises import superposition as superposition_exercises
from workbench.exercises import transcoders as clt_exercises
from workbench.exercises.checking import ExerciseFailed, Mistake, check
from workbench.saes import toy as sae_toy
from workbench.toys import superposition


def reference(x):
    return torch.relu(x) * 2


def make_inputs(generator):
    return (torch.randn(4, 3, generator=generator),)


MISTAKES = [Mistake("did you forget the ReLU?", lambda x: x * 2)]


def test_correct_answer_passes(capsys):
    assert check(lambda x: 2 * x.clamp(min=0), reference, make_inputs, name="double_relu", mistakes=MISTAKES)
    assert "correct" in capsys.readouterr().out


def test_known_mistake_is_named():
    with pytest.raises(ExerciseFailed, match="forget the ReLU"):
        check(lambda x: x * 2, reference, make_inputs, mistakes=MISTAKES)


def test_wrong_shape_is_reported():
    with pytest.raises(ExerciseFailed, match=r"shape \(4,\)"):
        check(lambda x: x.sum(-1), reference, make_inputs)


def test_unknown_error_reports_difference():
    with pytest.raises(ExerciseFailed, match="largest difference"):
        check(lambda x: torch.relu(x) * 3, reference, make_inputs, mistakes=MISTAKES)


def test_exception_in_learner_code_is_reported():
    with pytest.raises(ExerciseFailed, match="ZeroDivisionError"):
        check(lambda x: 1 / 0, reference, make_inputs)


def test_not_attempted_does_not_fail(capsys):
    def stub(x):
        raise NotImplementedError

    assert check(stub, reference, make_inputs) is False
    assert "not attempted" in capsys.readouterr().out


# --- Every notebook exercise: its reference passes, and each known mistake earns its own hint ----

NOTEBOOK_EXERCISES = {
    "superposition forward": (superposition_exercises.check_forward, superposition.reconstruct,
                              superposition_exercises.FORWARD_MISTAKES),
    "superposition loss": (superposition_exercises.check_loss, superposition.importance_weighted_loss,
                           superposition_exercises.LOSS_MISTAKES),
    "feature dimensionality": (superposition_exercises.check_feature_dimensionality, superposition.feature_dimensionality,
                               superposition_exercises.DIMENSIONALITY_MISTAKES),
    "sae forward and loss": (sae_exercises.check_sae_forward_and_loss, sae_toy.sae_forward_and_loss,
                             sae_exercises.FORWARD_MISTAKES),
    "topk": (sae_exercises.check_topk_activation, sae_toy.topk_activation, sae_exercises.TOPK_MISTAKES),
    "mmcs": (sae_exercises.check_mmcs, sae_toy.mean_max_cosine_similarity, sae_exercises.MMCS_MISTAKES),
    "jumprelu": (clt_exercises.check_jumprelu, clt_exercises.jumprelu, clt_exercises.JUMPRELU_MISTAKES),
    "clt decode": (clt_exercises.check_clt_decode, clt_exercises.clt_decode, clt_exercises.DECODE_MISTAKES),
    "sparsity penalty": (clt_exercises.check_sparsity_penalty, clt_exercises.sparsity_penalty,
                         clt_exercises.PENALTY_MISTAKES),
    "node influence": (graph_exercises.check_node_influence, graph_exercises.node_influence,
                       graph_exercises.INFLUENCE_MISTAKES),
    "completeness": (graph_exercises.check_completeness, graph_exercises.completeness,
                     graph_exercises.COMPLETENESS_MISTAKES),
    "predicted change": (graph_exercises.check_predicted_change, graph_exercises.predicted_change,
                         graph_exercises.PREDICTION_MISTAKES),
    "group prediction": (multihop_exercises.check_group_prediction, multihop_exercises.predicted_group_change,
                         multihop_exercises.GROUP_PREDICTION_MISTAKES),
    "swap edit": (multihop_exercises.check_swap_edit, multihop_exercises.swap_edit, multihop_exercises.SWAP_MISTAKES),
    "through share": (multihop_exercises.check_through_share, multihop_exercises.through_share,
                      multihop_exercises.THROUGH_MISTAKES),
    "label f1": (planning_exercises.check_label_f1, planning_exercises.label_f1, planning_exercises.LABEL_MISTAKES),
    "clamp delta": (planning_exercises.check_clamp_delta, planning_exercises.clamp_delta,
                    planning_exercises.CLAMP_MISTAKES),
    "mean difference": (planning_exercises.check_mean_difference, planning_exercises.mean_difference,
                        planning_exercises.DIRECTION_MISTAKES),
    "diff of means": (steering_exercises.check_diff_of_means, steering_exercises.diff_of_means,
                      steering_exercises.DIFF_MISTAKES),
    "steer": (steering_exercises.check_steer, steering_exercises.steer, steering_exercises.STEER_MISTAKES),
    "overall score": (steering_exercises.check_overall_score, steering_exercises.overall_score,
                      steering_exercises.OVERALL_MISTAKES),
}


@pytest.mark.parametrize("check_fn, reference_fn, mistakes", NOTEBOOK_EXERCISES.values(), ids=NOTEBOOK_EXERCISES)
def test_reference_passes_and_each_mistake_earns_its_hint(check_fn, reference_fn, mistakes, capsys):
    assert check_fn(reference_fn) is True
    assert "correct" in capsys.readouterr().out
    for mistake in mistakes:
        with pytest.raises(ExerciseFailed, match="Probably") as failure:
            check_fn(mistake.fn)
        assert mistake.hint in str(failure.value)
