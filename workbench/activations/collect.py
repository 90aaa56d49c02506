"""What a model computes on a world's text: token sets and the activations dictionaries train on.

Every dictionary in the course trains on the organism's own training distribution (``<bos>
sentence`` rows padded to the context) and is judged on sentences the organism never trained on
(``heldout_tokens``: the world's ``heldout_sentences``). Rows drawn from the training distribution
with another seed would not do: a world has a few hundred to a few ten thousand distinct training
sentences, and such rows repeat the ones the dictionary trained on (999 of 1,000 for the facts world).
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
    """Rows of sentences the organism never trained on, and the positions that predict a real next token.

    The world's ``heldout_sentences`` (the facts world's 50 held-out two-hop sentences), all of them
    if there are at most ``n_sentences``, else ``n_sentences`` of them drawn without replacement with
    ``seed``. Returns ``(tokens, mask)``: (n, n_ctx) token ids and a bool mask, True where the next
    token is not padding. Every position before a held-out sentence's first new word (its city, its
    pair's noun A) has a context that training sentences share.
    """
    sentences = world.heldout_sentences()
    if len(sentences) > n_sentences:
        order = torch.randperm(len(sentences), generator=torch.Generator().manual_seed(seed))[:n_sentences]
        sentences = [sentences[i] for i in order.tolist()]
    return _with_predicting_mask(world, world.tokenize(sentences))


def world_tokens(world, n_sentences: int = 1000, seed: int = 12345):
    """``n_sentences`` rows of ``world``'s training distribution drawn with ``seed``, and the predicting positions.

    The text the dictionaries trained on, for what is not a claim about unseen text: which features
    fire at all (a feature silent on it is dead). Fidelity is measured on ``heldout_tokens``.
    """
    return _with_predicting_mask(world, world.sample_tokens(n_sentences, seed))


def _with_predicting_mask(world, tokens: torch.Tensor):
    """``(tokens, mask)``: True where the next token is not padding."""
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, :-1] = tokens[:, 1:] != world.tokenizer.pad_token_id
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


@torch.no_grad()
def corpus_activations(model, rows: torch.Tensor, skip: int = 1, batch_rows: int = 8, dtype=torch.float32):
    """MLP inputs and outputs of ``model`` on corpus ``rows`` (n_rows, n_pos), leaving out each row's first ``skip`` positions.

    Returns two (n_rows · (n_pos − skip), n_layers, d_model) tensors, on the CPU in ``dtype``, written
    into place batch by batch so that a real model's activations are held once (50k tokens of a
    30-layer, d_model 576 model are 3.5 GB each in float32). ``skip=1`` leaves out ``<bos>``, where a
    real model's MLPs write outliers that a transcoder does not model (circuit-tracer keeps no nodes there).
    """
    L, d = model.cfg.n_layers, model.cfg.d_model
    inputs, outputs = hooks.transcoder_inputs(L), hooks.transcoder_outputs(L)
    per_row = rows.shape[1] - skip
    xs = torch.empty(rows.shape[0] * per_row, L, d, dtype=dtype)
    ys = torch.empty_like(xs)
    for start in range(0, rows.shape[0], batch_rows):
        batch = rows[start:start + batch_rows].to(model.cfg.device)
        _, cache = model.run_with_cache(batch, names_filter=lambda name: name in inputs or name in outputs)
        kept = slice(start * per_row, (start + len(batch)) * per_row)
        xs[kept] = torch.stack([cache[n][:, skip:] for n in inputs], dim=2).flatten(0, 1).to("cpu", dtype)
        ys[kept] = torch.stack([cache[n][:, skip:] for n in outputs], dim=2).flatten(0, 1).to("cpu", dtype)
        del cache
    return xs, ys


def organism_activations(model, world, n_sentences: int, seed: int = 0):
    """MLP inputs and outputs of ``model`` on ``n_sentences`` sampled training sentences (padding dropped)."""
    tokens = world.sample_tokens(n_sentences, seed)
    return mlp_activations(model, tokens, tokens != world.tokenizer.pad_token_id)
