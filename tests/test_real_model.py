"""The one loader (``workbench.models``): the real model matches transformers, and the hub path fails clearly offline.

Notebook 08's own values (SmolLM2's shape, facts, lens, patching and AtP) are read from its run in
``tests/notebooks/test_08_real_model.py``; here the loader is checked against transformers on the notebook's fact
prompts, on the organisms and on hub names, and patching refuses prompts of unequal length (Sacramento).
"""

from __future__ import annotations

import pytest
import torch

from workbench import models

FACT_PROMPTS = {
    "Dallas is in the state of": " Texas",
    "The capital of Texas is the city of": " Austin",
    "The Eiffel Tower is in the city of": " Paris",
}


@torch.no_grad()
def test_smollm2_matches_transformers(smollm2):
    """The HookedTransformer gives transformers' own GGUF model's next-token distribution (README: < 1e-5)."""
    llama, _ = models.dequantized_llama()
    worst = 0.0
    for prompt in FACT_PROMPTS:
        tokens = smollm2.to_tokens(prompt)
        ours = smollm2(tokens)[0].softmax(-1)
        theirs = llama(tokens).logits[0].softmax(-1)
        worst = max(worst, (ours - theirs).abs().max().item())
    assert worst < 1e-5, worst


def test_organisms_load_through_the_same_loader():
    from workbench import organisms

    model = models.load_model("facts", device="cpu")
    reference, _ = organisms.load("facts")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))


def test_hub_names_fail_clearly_offline(monkeypatch):
    """The real ``from_pretrained`` path, stopped where it would download, with a message naming the way out."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.ModelUnavailable, match="HF_HUB_OFFLINE=1") as raised:
        models.load_model("gpt2", device="cpu")
    assert models.SMOLLM2 in str(raised.value) and "facts" in str(raised.value)


def test_hub_download_errors_become_clear_errors(monkeypatch):
    """With the hub allowed but unreachable, the OSError huggingface_hub raises becomes the same clear error."""
    from transformer_lens import HookedTransformer

    def unreachable(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(HookedTransformer, "from_pretrained", unreachable)
    with pytest.raises(models.ModelUnavailable, match="couldn't connect"):
        models.load_model("gemma-2-2b", device="cpu")


def test_unknown_names_are_reported_as_unknown():
    with pytest.raises(ValueError, match="not-a-model"):
        models.load_model("not-a-model", device="cpu")


def test_auto_device_is_cuda_then_mps_then_cpu():
    from workbench.runtime import pick_device

    assert models.resolve_device("auto") == pick_device()
    assert models.resolve_device("cpu") == torch.device("cpu")


# --- patching on inputs notebook 08 does not use -------------------------------------------------------


def test_patching_problem_needs_equal_lengths(smollm2):
    from workbench import circuits

    with pytest.raises(ValueError, match="same number of tokens"):
        circuits.patching_problem(smollm2, "Dallas is in the state of", "Sacramento is in the state of", " Texas",
                                  " California")
