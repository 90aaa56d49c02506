"""Runtime concerns in one place: which device, how many CPU threads, which seed.

Every notebook, test and training recipe goes through these three functions, so that a run is
reproducible and a thread-count decision is made once.

Thread count: 1, set here for the whole suite and every notebook. Measured with
``benchmarks/threads.py`` on the 2-core CI machine: on a quiet machine 2 threads made a training
step of an organism 1.5× faster (119 vs 180 ms), but under load from other processes 1 thread
was several times faster, and with 2 threads training is not bit-for-bit reproducible (the
embedding's backward pass sums in a varying order; two identical 3-step runs differed). We choose
reproducibility. Override with the ``WORKBENCH_THREADS`` environment variable.
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEFAULT_SEED = 0
DEFAULT_THREADS = 1


def pick_device(preferred: str | None = None) -> "torch.device":
    """The device to compute on: ``preferred`` if given, else $WORKBENCH_DEVICE, else CUDA, MPS, CPU.

    Everything the tests assert is measured on the CPU; CUDA and MPS are for learners who have them.
    """
    import torch

    choice = preferred or os.environ.get("WORKBENCH_DEVICE")
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {choice!r} was requested but CUDA is not available here")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(f"device {choice!r} was requested but MPS is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count: ``n``, else $WORKBENCH_THREADS, else ``DEFAULT_THREADS``."""
    import torch

    if n is None:
        n = int(os.environ.get("WORKBENCH_THREADS", DEFAULT_THREADS))
    if n < 1:
        raise ValueError(f"thread count must be at least 1, got {n}")
    torch.set_num_threads(n)
    return n


def seed_everything(seed: int = DEFAULT_SEED) -> "torch.Generator":  # noqa: F821
    """Seed Python, NumPy and torch; return a fresh torch generator seeded the same way.

    Code that samples should take a generator argument rather than rely on global state; the
    global seeding here is for library code we do not control.
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def configure(seed: int = DEFAULT_SEED, threads: int | None = None) -> dict:
    """Apply thread count and seeds; return what was set (handy to print at the top of a notebook)."""
    n_threads = set_threads(threads)
    seed_everything(seed)
    return {"seed": seed, "threads": n_threads, "device": str(pick_device())}
