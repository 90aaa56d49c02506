"""Stage 2 of the pipeline: what a model computes on a world's text.

Token sets (training and held-out rows, content masks), the MLP inputs and outputs that
transcoders train on, SAELens datasets, and the logit lens.
"""

from workbench.lazy import namespace

EXPORTS = {
    "collect": [
        "organism_dataset", "heldout_tokens", "content_mask", "mlp_activations", "organism_activations"
    ],
    "lens": [
        "logit_lens"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
