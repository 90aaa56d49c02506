"""Is 1 or 2 torch threads faster for this course's workloads on this machine? Prints figures.

Times the organisms' training step (2-layer HookedTransformer, d_model 128, batch 128) and a
batch of toy-model matrix products at each thread count. Run: ``python benchmarks/threads.py``.
The suite's default (``workbench.runtime.DEFAULT_THREADS``) is set from this measurement.
"""

from __future__ import annotations

import time
import warnings

import torch

from workbench.organisms.facts import FactsWorld
from workbench.organisms.model import build_model
from workbench.organisms.training import next_token_loss, tokenize_batch

STEPS = 30


def time_training_steps(n_threads: int) -> float:
    torch.set_num_threads(n_threads)
    world = FactsWorld()
    model = build_model(world.model_config, world.tokenizer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    batches = [tokenize_batch(world.tokenizer, world.sample_sentences(128, generator), 16) for _ in range(STEPS + 5)]
    for i, (tokens, mask) in enumerate(batches):
        if i == 5:
            start = time.perf_counter()
        loss = next_token_loss(model, tokens, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / STEPS


def time_matmuls(n_threads: int) -> float:
    torch.set_num_threads(n_threads)
    a, b = torch.randn(64, 256, 512), torch.randn(64, 512, 256)
    start = time.perf_counter()
    for _ in range(20):
        torch.bmm(a, b)
    return (time.perf_counter() - start) / 20


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    print(f"{'threads':>8} {'train step (ms)':>16} {'bmm (ms)':>10}")
    for n in (1, 2):
        print(f"{n:>8} {1000 * time_training_steps(n):>16.1f} {1000 * time_matmuls(n):>10.1f}")
