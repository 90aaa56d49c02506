"""Stages 4 and 5: the replacement model, attribution graphs and interventions.

``replacement`` (every MLP replaced; fidelity), ``local_replacement`` (one prompt frozen, error
nodes), ``attribution`` (the graph's edges), ``graph`` (the graph as plain data: save, prune,
scores, export), ``interventions`` (clamp, ablate or add features on the original model; ``feature_edit_hooks``
for any edit rule).
"""

from workbench.lazy import namespace

EXPORTS = {
    "replacement": [
        "replacement_hooks", "check_fits", "replaced", "DECIDED_GAP", "Fidelity", "fidelity", "fidelity_batch", "combine_fidelity",
        "predicting_positions", "rows_fidelity",
        "firing_rates"
    ],
    "local_replacement": [
        "ZERO_POSITIONS", "PromptState", "as_token_row", "reconstruction", "prompt_state", "freeze_hooks",
        "run_local", "reconstruction_batch", "target_readings", "ablation_effects"
    ],
    "attribution": [
        "attention_adjoint", "attention_adjoint_one_hot", "logit_targets", "attribute", "graph_from_state",
        "circuit_tracer_model", "PRETRAINED_TRANSCODERS", "replacement_model", "attribution_graph",
        "attribute_with_circuit_tracer", "path_length_profile"
    ],
    "graph": [
        "MODEL_FIELDS", "model_summary", "AttributionGraph", "TENSOR_FIELDS", "save_graph", "load_graph",
        "to_circuit_tracer", "from_circuit_tracer", "graph_difference", "Pruned", "prune", "Scores", "scores", "node_influence", "graph_slug",
        "export_neuronpedia", "influence_by_path_length", "token_names"
    ],
    "patching": [
        "PatchingProblem", "patching_problem", "run_logit_diff", "SITES", "baselines", "activation_patching",
        "attribution_patching", "correlation"
    ],
    "interventions": [
        "MODES", "FREEZES", "FeatureEdit", "ablate", "InterventionResult", "feature_edit_hooks", "intervene",
        "predicted_effects", "measured_effects"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
