"""The one loader (``workbench.models``): the real model matches transformers, and the hub path fails clearly offline."""

from __future__ import annotations

import pytest
import torch

from workbench import models

FACT_PROMPTS = {
    "Dallas is in the state of": " Texas",
    "The capital of Texas is the city of": " Austin",
    "The Eiffel Tower is in the city of": " Paris",
}


@pytest.fixture(scope="module")
def smollm2():
    return models.load_model(models.SMOLLM2, device="cpu")


def test_smollm2_architecture(smollm2):
    cfg = smollm2.cfg
    assert (cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.n_key_value_heads, cfg.d_mlp, cfg.d_vocab) == (
        30, 576, 9, 3, 1536, 49152)
    assert cfg.normalization_type == "RMS" and cfg.gated_mlp and cfg.positional_embedding_type == "rotary"


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


@torch.no_grad()
def test_smollm2_knows_one_hop_facts(smollm2):
    """The facts the README and notebook 08 quote (rounded to two decimals)."""
    quoted = {" Texas": 0.19, " Austin": 0.46, " Paris": 0.43}
    for prompt, answer in FACT_PROMPTS.items():
        probs = smollm2(smollm2.to_tokens(prompt))[0, -1].softmax(-1)
        assert round(probs[smollm2.to_single_token(answer)].item(), 2) == quoted[answer]
        assert probs.argmax().item() == smollm2.to_single_token(answer)


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
