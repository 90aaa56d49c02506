"""The notebooks' exercises: each ``check_*`` runs the learner's function against the reference and
names the likely mistake. One module per notebook: ``superposition`` (01), ``saes`` (02),
``transcoders`` (03), ``graphs`` (04), ``multihop`` (05), ``planning`` (06), ``steering`` (07).
"""

from workbench.lazy import namespace

EXPORTS = {
    "checking": [
        "ExerciseFailed", "Mistake", "check"
    ],
    "superposition": [
        "check_forward", "check_loss", "check_feature_dimensionality"
    ],
    "saes": [
        "check_sae_forward_and_loss", "check_topk_activation", "check_mmcs", "check_precision_recall"
    ],
    "transcoders": [
        "check_jumprelu", "check_clt_decode", "check_sparsity_penalty"
    ],
    "graphs": [
        "check_node_influence", "check_completeness", "check_predicted_change"
    ],
    "multihop": [
        "check_group_prediction", "check_swap_edit", "check_through_share"
    ],
    "planning": [
        "check_label_f1", "check_clamp_delta", "check_mean_difference"
    ],
    "steering": [
        "check_diff_of_means", "check_steer", "check_overall_score"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
