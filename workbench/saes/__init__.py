"""Stage 3a: sparse autoencoders, trained with SAELens.

``training`` (on a language model's activations), ``loading`` (the shipped SAEs and their records,
SAELens's pretrained ones for hub models, and the one notebook 08 studies on a model), ``evaluation``
(loss recovered when spliced in), ``dashboard`` (a feature as plain data). SAEs on toy data with known features, notebook 02's first half, are in ``saes.toy``.
"""

from workbench.lazy import namespace

EXPORTS = {
    "training": [
        "LMSAEConfig", "runner_config", "RUNNER_CONFIG", "MACHINE_PATH_KEYS", "forget_machine_paths",
        "train_lm_sae"
    ],
    "loading": [
        "CHECKPOINT_DIR", "SAE_RECORD", "shipped_names", "shipped_folder", "sae_record", "load_sae", "PRETRAINED_SAES",
        "check_pretrained", "pretrained_sae", "model_sae"
    ],
    "evaluation": [
        "SpliceReport", "splice_table", "splice_report"
    ],
    "dashboard": [
        "feature_activations", "logit_weights", "FeatureDashboard", "feature_dashboard"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
