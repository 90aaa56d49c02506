"""The fine-tuning baseline (AxBench's SFT): train a copy of the organism on the target behaviour.

The training data are the task's ``train`` prompts completed with ``target_completion`` (a few
hundred sentences); the "factor" is the number of optimizer steps, chosen on the ``choose`` split
like any other factor. Every parameter is trained, with the organism's own next-token loss.
"""

from __future__ import annotations

import copy

import torch

from workbench.organisms.training import next_token_loss, tokenize_batch
from workbench.steering.vectors import Method


def finetuned_copies(model, sentences: list[str], steps: list[int], lr: float = 1e-3, batch_size: int = 64,
                     seed: int = 0) -> dict[int, object]:
    """Copies of ``model`` after each number of AdamW steps in ``steps`` on ``sentences`` (0: the model itself)."""
    tokens, mask = tokenize_batch(model.tokenizer, sentences, model.cfg.n_ctx)
    tuned = copy.deepcopy(model)
    optimizer = torch.optim.AdamW(tuned.parameters(), lr=lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed)
    copies = {0: model} if 0 in steps else {}
    with torch.enable_grad():
        for step in range(1, max(steps) + 1):
            tuned.train()
            rows = torch.randperm(len(sentences), generator=generator)[:batch_size]
            loss = next_token_loss(tuned, tokens[rows], mask[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step in steps:
                tuned.eval()
                copies[step] = copy.deepcopy(tuned).requires_grad_(False)
    return copies


def finetune_method(model, task, steps: list[int], **kwargs) -> Method:
    """Fine-tuning as a ``Method``: factor = optimizer steps on the task's ``train`` split, written as wanted."""
    sentences = [task.target_completion(case) for case in task.split("train")]
    copies = finetuned_copies(model, sentences, list(steps), **kwargs)
    return Method("fine-tuning", list(steps), lambda factor: (copies[int(factor)], []))
