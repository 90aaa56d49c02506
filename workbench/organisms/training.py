"""The training recipe shared by all organisms: next-token prediction on sampled sentences.

Each row is ``<bos> sentence`` padded on the right; the loss ignores padding. AdamW with a
linear warm-up and cosine decay. Deterministic on the CPU: the sentence sampler and the model
initialisation are seeded, and nothing else is random. Bit-for-bit reproduction also needs the
same torch thread count: with 2 threads the embedding's backward pass sums in a varying order
(measured: 2 runs × 3 steps differ at 2 threads, match at 1). The shipped checkpoints were trained
with 1 thread (``workbench.runtime.DEFAULT_THREADS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.config_checks import non_negative_numbers, positive_ints, positive_numbers


EARLY_EVALS = (1, 3, 10, 30, 100)  # steps also evaluated: most learning happens before the first eval_every


@dataclass(frozen=True)
class TrainConfig:
    """How to train an organism. ``steps`` × ``batch_size`` sentences are seen in total."""

    steps: int = 1500
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 50
    seed: int = 0
    eval_every: int = 250

    def __post_init__(self):
        positive_ints(self, ("steps", "batch_size", "eval_every"))
        positive_numbers(self, ("lr",))
        non_negative_numbers(self, ("warmup_steps",))


def tokenize_batch(tokenizer, sentences: list[str], n_ctx: int):
    """Token ids (batch, n_ctx) and a loss mask (batch, n_ctx - 1) for next-token prediction."""
    import torch

    encoded = tokenizer(sentences, padding="max_length", max_length=n_ctx, truncation=False, return_tensors="pt")
    tokens = encoded["input_ids"]
    if tokens.shape[1] > n_ctx:
        raise ValueError(f"a sentence is longer than n_ctx={n_ctx} tokens")
    mask = encoded["attention_mask"][:, 1:].to(torch.float32)
    return tokens, mask


def next_token_loss(model, tokens, mask):
    """Mean cross-entropy of predicting tokens[:, 1:] over unmasked positions."""
    import torch.nn.functional as F

    logits = model(tokens, return_type="logits")[:, :-1]
    losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), reduction="none")
    return (losses * mask.reshape(-1)).sum() / mask.sum()


def train_model(world, model_config=None, train_config=None, progress: bool = True, history: list | None = None):
    """Train a fresh organism for ``world``; return the model (in eval mode).

    ``history``, if given, receives one dict per evaluation: step, tokens seen, loss, metric.
    """
    import torch
    from tqdm.auto import tqdm

    from workbench.organisms.model import build_model

    model_config = model_config or world.model_config
    train_config = train_config or world.train_config
    model = build_model(model_config, world.tokenizer, name=world.name)
    generator = torch.Generator().manual_seed(train_config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay)

    def lr_factor(step: int) -> float:
        if step < train_config.warmup_steps:
            return (step + 1) / train_config.warmup_steps
        progress_ = (step - train_config.warmup_steps) / max(1, train_config.steps - train_config.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * progress_))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    bar = tqdm(range(train_config.steps), desc=f"training {world.name}", disable=not progress)
    tokens_seen = 0
    for step in bar:
        model.train()
        sentences = world.sample_sentences(train_config.batch_size, generator)
        tokens, mask = tokenize_batch(world.tokenizer, sentences, model_config.n_ctx)
        loss = next_token_loss(model, tokens, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        tokens_seen += int(mask.sum().item())
        last = step == train_config.steps - 1
        if (step + 1) % train_config.eval_every == 0 or step + 1 in EARLY_EVALS or last:
            model.eval()
            with torch.no_grad():
                metric_name, metric = world.progress_metric(model)
            bar.set_postfix(loss=f"{loss.item():.3f}", **{metric_name: f"{metric:.3f}"})
            if history is not None:
                history.append({"step": step + 1, "tokens": tokens_seen, "loss": loss.item(), metric_name: metric})
    model.eval()
    return model
