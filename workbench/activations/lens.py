"""The logit lens (nostalgebraist 2020): read the residual stream as if it were the last layer.

Each residual checkpoint (the embedding, then the output of every block) is passed through the
final LayerNorm and the unembedding, giving the model's "current guess" at that depth.
"""

from __future__ import annotations

from workbench import hooks


def logit_lens(model, cache, batch_index: int = 0):
    """Log-probabilities of the lens at every depth and position.

    Takes a TransformerLens ``ActivationCache`` holding the residual hooks of
    ``hooks.lens_points``; returns a tensor of shape (n_layers + 1, n_positions, d_vocab).
    """
    import torch

    names = hooks.lens_points(model.cfg.n_layers)
    resid = torch.stack([cache[name][batch_index] for name in names])  # (depth, pos, d_model)
    with torch.no_grad():
        logits = model.unembed(model.ln_final(resid))
    return logits.log_softmax(-1)
