"""Stage 2 of the pipeline: what a model computes on a world's text.

Token sets (training rows, and sentences the organism never trained on; content masks), the MLP inputs and outputs that
transcoders train on (whole, or one process's shard of them, computed or streamed from files), SAELens datasets, the text a real model writes for its own dictionaries, and the logit lens.
"""

from workbench.lazy import namespace

EXPORTS = {
    "collect": [
        "organism_dataset", "heldout_tokens", "world_tokens", "content_mask", "mlp_activations", "corpus_activations",
        "organism_activations"
    ],
    "corpus": [
        "CORPUS_DIR", "OPENINGS", "generate_rows", "save_rows", "corpus_path", "corpus_header", "model_text", "load_rows",
        "corpus_dataset", "split_rows"
    ],
    "shards": [
        "ActivationShard", "organism_activation_shard", "write_activation_shards", "read_activation_shard"
    ],
    "lens": [
        "logit_lens"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
