"""Greedy generation from an organism (or any ``HookedTransformer``), with a key-value cache and hooks that may edit one position.

``World.complete`` (couplets) writes the same words without a cache, re-running the whole text at
every step: the reference the tests hold this to.
"""

from __future__ import annotations

import torch

from workbench.hooks import Cursor


def batches_by_length(prompts: list[str], model=None) -> list[list[int]]:
    """Indices of ``prompts`` grouped by their number of words (an organism's words are one token each) or,
    given ``model``, by their number of tokens (a real model's), in order of first appearance."""
    lengths: dict[str, int] = {}  # case studies repeat each prompt under many edits: tokenize it once
    by_length: dict[int, list[int]] = {}
    for i, prompt in enumerate(prompts):
        if prompt not in lengths:
            lengths[prompt] = len(prompt.split()) if model is None else model.to_tokens(prompt).shape[1]
        by_length.setdefault(lengths[prompt], []).append(i)
    return list(by_length.values())


@torch.no_grad()
def generate(model, prompts: list[str], n_words: int, fwd_hooks=(), cursor: Cursor | None = None) -> list[list[str]]:
    """Greedy continuation of ``n_words`` tokens after each prompt, with ``fwd_hooks`` active throughout.

    Prompts of one length are batched and decoded with a key-value cache, so a hook sees the prompt
    once and then each new position once. Before each pass ``cursor`` (``workbench.hooks.Cursor``) is
    moved to the pass's first absolute position and the rows of ``prompts`` it carries, so that a hook
    editing one position of each row finds it (``circuits.generate_edited`` builds such hooks).
    """
    from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

    cursor = Cursor() if cursor is None else cursor
    out: list[list[str] | None] = [None] * len(prompts)
    with model.hooks(fwd_hooks=list(fwd_hooks)):
        for rows in batches_by_length(prompts, model):
            tokens = model.to_tokens([prompts[i] for i in rows])
            cache = TransformerLensKeyValueCache.init_cache(model.cfg, model.cfg.device, len(rows))
            new, written = tokens, []
            cursor.rows = torch.tensor(rows)
            for step in range(n_words):
                cursor.start = 0 if step == 0 else tokens.shape[1] + step - 1
                new = model(new, past_kv_cache=cache)[:, -1].argmax(-1, keepdim=True)
                written.append(new)
            for i, words in zip(rows, torch.cat(written, 1).tolist()):
                out[i] = model.tokenizer.convert_ids_to_tokens(words)
    return out
