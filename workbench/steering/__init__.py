"""Stage 5: steering, i.e. changing what a model does by editing its activations, and its price.

``bench`` (two tasks with AxBench's concept / instruction / fluency scores, exact from a world's
ground truth; generation; factor chosen on one split, reported on another; side effects),
``vectors`` (difference of means, probe direction, SAE latents added or clamped, transcoder features
clamped across layers, all as forward hooks), ``finetune`` (the fine-tuning baseline), ``concepts``
(the bench over every concept of a world, summarised per method: mean, spread, first places).
"""

from workbench.lazy import namespace

EXPORTS = {
    "bench": [
        "SPLITS", "RECORD_DIR", "SCORES", "Case", "SteeringTask", "assign_splits", "facts_task", "couplets_task", "words_in",
        "fluency_in_top_k", "prompted_task", "steering_hook",
        "generate", "harmonic_mean", "Scores", "grade_all", "summarise", "evaluate", "Sweep", "sweep", "recorded_sweeps",
        "table",
        "facts_prompt_groups", "add_at_last_position", "SideEffect", "side_effects", "VECTOR_FACTORS", "CLAMP_FACTORS",
        "FINETUNE_STEPS", "Choices", "standard_methods", "steered_text"
    ],
    "vectors": [
        "Method", "last_position_activations", "example_activations", "residual_norm", "diff_of_means",
        "probe_direction", "vector_method", "f1_scores", "sae_latent_by_label", "alive_latents",
        "concept_probability", "sae_latent_by_effect", "sae_clamp", "max_activation", "sae_clamp_method",
        "example_features", "clt_features_by_label", "clt_clamp_hooks", "clt_clamp_method"
    ],
    "finetune": [
        "finetuned_copies", "finetune_method"
    ],
    "concepts": [
        "CONCEPT_RECORD", "concept_entry", "bench_concept", "bench_concepts", "read_concept_record",
        "overall_by_method", "same_latent", "method_scores", "first_places", "method_summary", "share_of_concepts"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
