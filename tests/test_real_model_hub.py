"""Notebook 08's switch to a hub model for its SAE section: SAELens's pretrained SAE and text the model
writes there and then, exercised offline up to the download (the graph's switch: test_real_model_graph.py).
"""

from __future__ import annotations

import pytest
import torch

from workbench import activations, artifacts, models, saes


def test_every_known_pretrained_sae_is_in_saelens_directory_for_its_model():
    """The table's releases and SAE ids exist (SAELens ships its directory: no network), for the model named."""
    from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory
    from transformer_lens.loading_from_pretrained import get_official_model_name

    directory = get_pretrained_saes_directory()
    for model_name, (release, sae_id) in saes.PRETRAINED_SAES.items():
        saes.check_pretrained(release, sae_id)
        assert get_official_model_name(directory[release].model) == get_official_model_name(model_name)


def test_a_typo_is_reported_as_a_typo():
    with pytest.raises(ValueError, match="no pretrained release 'gpt2-smal-res-jb'"):
        saes.pretrained_sae("gpt2-smal-res-jb", "blocks.8.hook_resid_pre")
    with pytest.raises(ValueError, match="has no SAE 'blocks.99.hook_resid_pre'.*blocks.0.hook_resid_pre"):
        saes.pretrained_sae("gpt2-small-res-jb", "blocks.99.hook_resid_pre")


def test_a_hub_model_takes_saelens_pretrained_sae_which_offline_fails_clearly(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.ModelUnavailable, match="HF_HUB_OFFLINE=1") as raised:
        artifacts.model_sae("gemma-2-2b", device="cpu")
    assert "gemma-scope-2b-pt-res-canonical/layer_20/width_16k/canonical" in str(raised.value)
    assert models.SMOLLM2 in str(raised.value)
    with pytest.raises(ValueError, match="no SAE shipped or known for 'pythia-70m'"):
        artifacts.model_sae("pythia-70m", device="cpu")


def test_the_switch_calls_saelens_with_the_known_release(monkeypatch):
    from sae_lens import SAE

    class Downloaded:
        def eval(self):
            self.evaluated = True

    calls = []
    monkeypatch.setattr(SAE, "from_pretrained", lambda *args, **kwargs: calls.append((args, kwargs)) or Downloaded())
    name, sae = artifacts.model_sae("gpt2", device="cpu")
    assert name == "gpt2-small-res-jb/blocks.8.hook_resid_pre" and sae.evaluated
    assert calls == [(("gpt2-small-res-jb", "blocks.8.hook_resid_pre"), {"device": "cpu"})]


def test_smollm2_takes_the_sae_and_corpus_shipped_for_it(smollm2):
    name, sae = artifacts.model_sae(models.SMOLLM2, device="cpu")
    assert name == "smollm2_resid24" and sae.cfg.d_sae == 2048
    assert torch.equal(artifacts.model_text(models.SMOLLM2, smollm2), artifacts.load("smollm2_text"))


def test_a_hub_model_writes_its_own_text(smollm2):
    """Without a shipped corpus the model writes the rows (SmolLM2 standing in for a hub model here)."""
    rows = artifacts.model_text("gpt2", smollm2, n_rows=2, row_tokens=8)
    assert rows.shape == (2, 8) and (rows[:, 0] == smollm2.tokenizer.bos_token_id).all()
    assert torch.equal(rows, activations.generate_rows(smollm2, 2, 8, progress=False))


def test_a_hub_sae_is_measured_where_a_shipped_one_is_read_from_its_record(smollm2):
    sae = saes.load_sae("smollm2_resid24")
    rows = artifacts.load("smollm2_text")[-1:, :32]
    shipped = artifacts.splice_report("smollm2_resid24", smollm2, sae, rows)
    assert shipped == saes.SpliceReport.from_dict(saes.sae_record("smollm2_resid24"))
    measured = artifacts.splice_report("a-hub-release/an-sae", smollm2, sae, rows)
    assert measured == saes.splice_report(smollm2, sae, rows, batch_rows=8)
