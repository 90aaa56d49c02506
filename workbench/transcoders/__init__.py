"""Stage 3b: transcoders, per-layer and cross-layer (Ameisen, Lindsey et al. 2025).

``model`` (the JumpReLU transcoder in circuit-tracer's layout), ``training`` (the paper's loss; one process or
data-parallel under torchrun, with resumable checkpoints), ``distributed`` (torch.distributed set-up),
``loading`` (safetensors + JSON; the shipped ones), ``features`` (activations over a corpus or at one
position, top contexts, labels from ground truth).
"""

from workbench.lazy import namespace

EXPORTS = {
    "model": [
        "CLTConfig", "CrossLayerTranscoder"
    ],
    "training": [
        "CLTTrainConfig", "clt_loss", "train_clt", "train_rescaled_clt", "save_training_state", "load_training_state"
    ],
    "distributed": [
        "World", "world", "init", "close", "launch"
    ],
    "loading": [
        "CHECKPOINT_DIR", "save_clt", "shipped_path", "shipped_names", "check_shipped", "load_clt", "shipped_metadata"
    ],
    "features": [
        "FeatureCorpus", "feature_corpus", "rows_feature_corpus", "position_features", "top_contexts", "token_label", "ground_truth_labels",
        "precision_recall_for", "best_node_for", "graph_feature_labels", "node_labels"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
