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


# --- every number notebook 08 states -----------------------------------------------------------------

DALLAS = "Dallas is in the state of"


@pytest.fixture(scope="module")
def patching(smollm2):
    from workbench import circuits

    problem = circuits.patching_problem(smollm2, DALLAS, "Los Angeles is in the state of", " Texas", " California")
    return {
        "problem": problem,
        "baselines": circuits.baselines(smollm2, problem),
        "resid": circuits.activation_patching(smollm2, problem, "resid_pre"),
        "heads": circuits.activation_patching(smollm2, problem, "attn_z"),
        "resid_atp": circuits.attribution_patching(smollm2, problem, "resid_pre"),
        "heads_atp": circuits.attribution_patching(smollm2, problem, "attn_z"),
    }


def test_notebook_logit_lens(smollm2):
    from workbench import activations, hooks

    _, cache = smollm2.run_with_cache(DALLAS, names_filter=lambda name: name in hooks.lens_points(30))
    texas = activations.logit_lens(smollm2, cache)[:, -1, smollm2.to_single_token(" Texas")].exp()
    assert [round(texas[1 + layer].item(), 2) for layer in (27, 28, 29)] == [0.0, 0.0, 0.19]


def test_patching_problem_needs_equal_lengths(smollm2):
    from workbench import circuits

    with pytest.raises(ValueError, match="same number of tokens"):
        circuits.patching_problem(smollm2, DALLAS, "Sacramento is in the state of", " Texas", " California")


def test_notebook_patching_baselines_and_handoff(patching):
    clean, corrupt = patching["baselines"]
    assert (round(clean, 2), round(corrupt, 2)) == (2.46, -2.99)
    resid = patching["resid"]
    assert resid.shape == (30, 8)
    assert resid[:24, 2].min() < 0.5 <= resid[2:24, 2].min()  # the city token carries it to layer 23 ...
    assert round(resid[2:24, 2].min().item(), 2) == 0.76
    assert resid[24:, 2].max() < 0.1  # ... and no longer from layer 24
    assert resid[:24, -1].max() < 0.1 and round(resid[24, -1].item(), 2) == 0.87  # the last position from layer 24


def test_patching_at_the_clean_run_restores_everything(smollm2):
    """Patching every position of a residual layer restores exactly the clean metric (a check of the machinery)."""
    from workbench import circuits, hooks

    problem = circuits.patching_problem(smollm2, DALLAS, "Los Angeles is in the state of", " Texas", " California")
    _, cache = smollm2.run_with_cache(problem.clean, names_filter=hooks.resid_pre(5))
    clean, _ = circuits.baselines(smollm2, problem)
    patched = circuits.run_logit_diff(smollm2, problem, problem.corrupt,
                                      [(hooks.resid_pre(5), lambda value, hook: cache[hook.name])])
    assert abs(patched.item() - clean) < 1e-4


def test_notebook_atp_correlations_and_its_worst_site(patching):
    from workbench import circuits

    assert round(circuits.correlation(patching["resid"], patching["resid_atp"]), 2) == 0.93
    assert round(circuits.correlation(patching["heads"], patching["heads_atp"]), 2) == 0.93
    gap = patching["resid_atp"] - patching["resid"]
    assert (gap[2:24, 2] < -0.25).all() and (gap[2:24, 2] > -0.65).all()  # AtP undershoots on the city token
    worst = gap.abs().flatten().argmax().item()
    assert divmod(worst, 8) == (11, 2)
    assert (round(patching["resid"][11, 2].item(), 2), round(patching["resid_atp"][11, 2].item(), 2)) == (0.97, 0.35)


def test_notebook_top_heads(patching):
    top = patching["heads"].flatten().topk(3)
    assert [divmod(i, 9) for i in top.indices.tolist()] == [(23, 4), (23, 1), (29, 1)]
    assert [round(v, 2) for v in top.values.tolist()] == [0.7, 0.23, 0.21]
