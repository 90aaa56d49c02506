from __future__ import annotations

import pytest
import torch

from workbench import runtime


def test_seeding_is_reproducible():
    runtime.seed_everything(7)
    first = torch.randn(5)
    generator = runtime.seed_everything(7)
    assert torch.equal(first, torch.randn(5))
    assert torch.equal(torch.randn(3, generator=generator), torch.randn(3, generator=torch.Generator().manual_seed(7)))


def test_threads(monkeypatch):
    assert runtime.set_threads(1) == 1 and torch.get_num_threads() == 1
    monkeypatch.setenv("WORKBENCH_THREADS", "2")
    assert runtime.set_threads() == 2
    runtime.set_threads(1)
    with pytest.raises(ValueError, match="at least 1"):
        runtime.set_threads(0)


def test_pick_device(monkeypatch):
    assert runtime.pick_device("cpu").type == "cpu"
    monkeypatch.delenv("WORKBENCH_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert runtime.pick_device().type == expected
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            runtime.pick_device("cuda")
