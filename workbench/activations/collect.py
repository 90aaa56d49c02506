"""What a model computes on a world's text: token sets and the activations dictionaries train on.

Every dictionary in the course trains on the organism's own training distribution (``<bos>
sentence`` rows padded to the context) and is judged on held-out rows drawn with another seed.
Special tokens (``<bos>``, ``<pad>``, ``<eos>``) carry no content: padding is dropped from
transcoder data and SAELens is told to exclude special tokens.
"""

from __future__ import annotations

import torch

from workbench import hooks


def organism_dataset(world, n_rows: int, seed: int = 0):
    """A tokenized ``datasets.Dataset`` of ``n_rows`` training sentences of ``world`` (SAELens's input)."""
    from datasets import Dataset

    return Dataset.from_dict({"tokens": world.sample_tokens(n_rows, seed).tolist()})


def heldout_tokens(world, n_sentences: int = 1000, seed: int = 12345):
    """Held-out rows of ``world`` and the positions that predict a real next token (not padding, not the last)."""
    tokens = world.sample_tokens(n_sentences, seed)
    pad = world.tokenizer.pad_token_id
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, :-1] = tokens[:, 1:] != pad
    return tokens, mask


def content_mask(tokens: torch.Tensor, tokenizer) -> torch.Tensor:
    """True where ``tokens`` is not one of ``tokenizer``'s special tokens (``<bos>``, ``<pad>``, ``<eos>``)."""
    return ~torch.isin(tokens, torch.as_tensor(tokenizer.all_special_ids, device=tokens.device))


@torch.no_grad()
def mlp_activations(model, tokens: torch.Tensor, keep: torch.Tensor, batch_rows: int = 512):
    """MLP inputs and outputs at the ``keep`` positions of ``tokens``: two (n_kept, n_layers, d_model) tensors."""
    inputs, outputs = hooks.transcoder_inputs(model.cfg.n_layers), hooks.transcoder_outputs(model.cfg.n_layers)
    xs, ys = [], []
    for start in range(0, tokens.shape[0], batch_rows):
        rows = slice(start, start + batch_rows)
        _, cache = model.run_with_cache(tokens[rows], names_filter=lambda name: name in inputs or name in outputs)
        xs.append(torch.stack([cache[n] for n in inputs], dim=2)[keep[rows]])
        ys.append(torch.stack([cache[n] for n in outputs], dim=2)[keep[rows]])
    return torch.cat(xs), torch.cat(ys)


def organism_activations(model, world, n_sentences: int, seed: int = 0):
    """MLP inputs and outputs of ``model`` on ``n_sentences`` sampled training sentences (padding dropped)."""
    tokens = world.sample_tokens(n_sentences, seed)
    return mlp_activations(model, tokens, tokens != world.tokenizer.pad_token_id)
