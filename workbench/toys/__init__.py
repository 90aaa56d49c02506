"""Toy models with a known answer: superposition in a ReLU output model (Elhage et al. 2022).

Notebook 01. ``from workbench import toys``; ``toys.train(toys.five_in_two_config())``.
"""

from workbench.lazy import namespace

EXPORTS = {
    "superposition": [
        "REPRESENTED_NORM", "STICKY_FRACTIONS", "ToyModelConfig", "decaying_importance", "sample_features",
        "reconstruct", "importance_weighted_loss", "ToyModel", "TrainedToyModels", "evaluate_loss", "train",
        "feature_norms", "n_represented", "feature_dimensionality",
        "dimensions_per_feature", "adjacent_angles", "PHASE_NAMES", "classify_phase", "SPARSITY_SWEEP",
        "five_in_two_config", "PHASE_RELATIVE_IMPORTANCE", "PHASE_DENSITY", "phase_diagram_config",
        "DIMENSIONALITY_DENSITY", "dimensionality_sweep_config", "longest_run_near"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
