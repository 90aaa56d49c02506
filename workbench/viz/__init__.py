"""Views: plotly figures, circuitsvis displays and widgets. Computing lives in the stages; a view
only draws what they return.
"""

from workbench.lazy import namespace

EXPORTS = {
    "display": [
        "attention_patterns", "colored_tokens", "top_samples", "logit_lens_figure", "training_curve_figure",
        "metrics_table"
    ],
    "superposition": [
        "FEATURE_COLORSCALE", "SUPERPOSITION_COLORSCALE", "PHASE_COLORS", "feature_directions",
        "wtw_heatmaps", "norm_and_superposition_bars", "phase_diagram", "dimensionality_sweep",
        "sparsity_explorer"
    ],
    "saes": [
        "METRIC_TITLES", "metric_bars", "one_feature_shrinkage", "magnitude_scatter", "pareto",
        "max_cosine_histogram", "top_contexts_view", "dashboard_figure", "match_figure"
    ],
    "transcoders": [
        "training_curves_figure", "agreement_by_position", "agreement_figure", "firing_rate_figure",
        "error_share_figure", "path_length_figure", "effects_figure"
    ],
    "graph": [
        "KIND_STYLE", "WIDTH_BUCKETS", "FADED", "SupernodeGraph", "group_features", "supernode_graph",
        "GraphLayout", "graph_layout", "graph_figure", "strongest_edges", "graph_explorer"
    ],
    "patching": [
        "patching_heatmap", "atp_scatter"
    ],
    "multihop": [
        "swap_heatmap", "share_histogram"
    ],
    "seeds": [
        "SEED_COLORS", "seed_spread_figure", "seed_spread_table"
    ],
    "planning": [
        "ORGANISM_COLORS", "position_profile_figure", "attention_paths_text"
    ],
    "steering": [
        "AXBENCH_OVERALL", "METHOD_COLORS", "tradeoff_figure", "steering_table", "side_effects_figure",
        "steering_slider", "method_summary_table", "concept_scores_figure"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
