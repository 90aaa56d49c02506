"""Stages 4 and 5: the replacement model, attribution graphs and interventions.

``replacement`` (every MLP replaced; fidelity), ``local_replacement`` (one prompt frozen, error
nodes), ``attribution`` (the graph's edges), ``graph`` (the graph as plain data: save, prune,
scores, export), ``interventions`` (the one intervention engine: features set, scaled or added and
residual vectors written, on a batch of prompts, frozen or free, in one pass or while generating).
"""

from workbench.lazy import namespace

EXPORTS = {
    "replacement": [
        "replacement_hooks", "check_fits", "replaced", "DECIDED_GAP", "Fidelity", "fidelity", "fidelity_batch", "combine_fidelity",
        "predicting_positions", "rows_fidelity",
        "firing_rates"
    ],
    "local_replacement": [
        "ZERO_POSITIONS", "PromptState", "as_token_row", "reconstruction", "prompt_state", "frozen_names",
        "hold_hooks", "freeze_hooks", "state_activations",
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
        "MODES", "FREEZES", "FeatureEdits", "FeatureEdit", "ablate", "ResidualEdit", "Cursor", "edit_hooks",
        "freeze_names", "clean_activations", "EditedRun", "run_edited", "generate_edited", "InterventionResult",
        "intervene", "predicted_effects", "measured_effects"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
