"""SmolLM2's SAE (notebook 08, the twin of notebook 02): the shipped recipe, its held-out record, its dashboards.

Every number the notebook's SAE section states is recomputed here the notebook's way, rounded as quoted.
"""

from __future__ import annotations

import pytest
import torch

from workbench import activations, artifacts, saes

NAME = "smollm2_resid24"
DALLAS = "Dallas is in the state of"


@pytest.fixture(scope="module")
def sae():
    return saes.load_sae(NAME)


@pytest.fixture(scope="module")
def heldout_rows():
    _, heldout = activations.split_rows(artifacts.load("smollm2_text"), heldout=40)
    return heldout


@pytest.fixture(scope="module")
def heldout_acts(smollm2, sae, heldout_rows):
    return saes.feature_activations(smollm2, sae, heldout_rows, batch_rows=8)


@pytest.fixture(scope="module")
def dallas_latents(smollm2, sae):
    return saes.feature_activations(smollm2, sae, smollm2.to_tokens(DALLAS))[0, -1].topk(5)


def test_shipped_sae_matches_its_recipe(sae):
    recipe = artifacts.get(NAME).recipe
    config = recipe.lm_sae_config()
    assert (sae.cfg.metadata.hook_name, sae.cfg.d_sae, sae.cfg.k) == (config.hook_name, config.d_sae, config.k)
    assert recipe.corpus == "smollm2_text" and recipe.heldout_rows == 40
    record = saes.sae_record(NAME)
    assert record["recipe"]["config"] == recipe.config and record["command"] == artifacts.get(NAME).command


def test_evaluate_gives_the_shipped_record(smollm2, sae):
    """``evaluate`` on the 40 held-out rows reproduces the record the notebook prints."""
    measured = artifacts.get(NAME).evaluate(sae, model=smollm2)
    record = saes.sae_record(NAME)
    for key in ("explained_variance", "l0", "dead_fraction", "ce_clean", "ce_sae", "ce_zero", "ce_recovered"):
        assert measured[key] == pytest.approx(record[key], abs=1e-4), key


def test_heldout_measures_agree_with_the_record(smollm2, sae, heldout_rows, heldout_acts):
    """L0 and dead latents from the notebook's own feature activations are the record's."""
    content = activations.content_mask(heldout_rows, smollm2.tokenizer)
    fires = heldout_acts[content] > 0
    record = saes.sae_record(NAME)
    assert fires.float().sum(-1).mean().item() == pytest.approx(record["l0"], abs=1e-4)
    assert ((fires.sum(0) == 0).float().mean().item()) == pytest.approx(record["dead_fraction"], abs=1e-6)


def test_record_numbers_the_notebook_quotes():
    record = saes.sae_record(NAME)
    assert round(record["ce_recovered"], 2) == 0.86
    assert [round(record[k], 2) for k in ("ce_clean", "ce_sae", "ce_zero")] == [3.73, 4.70, 10.80]
    assert round(record["explained_variance"], 2) == 0.63 and record["l0"] == 32.0
    assert round(record["dead_fraction"], 2) == 0.53
    assert round(record["train_cpu_seconds"] / 60, 1) == 5.5


def test_the_corpus_facts_the_notebook_quotes(smollm2):
    train, heldout = activations.split_rows(artifacts.load("smollm2_text"), heldout=40)
    assert (len(train), len(heldout), train.shape[1]) == (360, 40, 128)
    assert int((train == smollm2.to_single_token(" Texas")).sum()) == 1  # " Texas" once in the training rows
    content = int(activations.content_mask(train, smollm2.tokenizer).sum())
    assert round(content / 1000, 1) == 45.6
    assert round(artifacts.get(NAME).recipe.config["training_tokens"] / content, 1) == 2.2  # passes over the rows


def test_dallas_latents_and_their_firing_rates(smollm2, heldout_rows, heldout_acts, dallas_latents):
    """The notebook's rule: the five latents most active at the Dallas prompt's last position; dashboards for
    those firing on fewer than 10% of held-out tokens."""
    rates = (heldout_acts[activations.content_mask(heldout_rows, smollm2.tokenizer)] > 0).float().mean(0)
    assert dallas_latents.indices.tolist() == [323, 786, 176, 223, 1995]
    assert [round(rates[i].item(), 2) for i in (176, 786)] == [0.99, 0.43]
    assert [i for i in dallas_latents.indices.tolist() if rates[i] < 0.1] == [323, 1995]


def test_what_the_dashboards_show(smollm2, sae, heldout_rows, heldout_acts):
    """Latent 323 peaks on " of" in every top context and promotes " course", " sorts", " interest"; latent 1995
    peaks where a place is due and promotes " location", " locations", " place" and " cells"; no latent promotes " Texas" in its top ten."""
    of_latent = saes.feature_dashboard(smollm2, sae, heldout_rows, 323, feature_acts=heldout_acts, window=(12, 3))
    peaks = [context[max(range(len(v)), key=v.__getitem__)] for context, v in zip(of_latent.contexts, of_latent.context_values)]
    assert len(peaks) == 8 and set(peaks) == {" of"}
    assert [word for word, _ in of_latent.promoted[:3]] == [" course", " sorts", "course"]
    assert {" interest"} <= {word for word, _ in of_latent.promoted[:6]}
    place = saes.feature_dashboard(smollm2, sae, heldout_rows, 1995, feature_acts=heldout_acts, window=(12, 3))
    assert {" location", " locations", " place", " cells"} <= {word for word, _ in place.promoted[:6]}
    place_peaks = [c[max(range(len(v)), key=v.__getitem__)] for c, v in zip(place.contexts, place.context_values)]
    assert place_peaks[:3] == [" the", " in", " the"]
    texas = smollm2.to_single_token(" Texas")
    weights = saes.logit_weights(smollm2, sae)
    assert not ((weights > weights[:, texas:texas + 1]).sum(-1) < 10).any()


def test_a_short_retrain_runs_past_the_end_of_its_rows_deterministically(smollm2):
    """The recipe's runner on 16 corpus rows (2,032 content tokens) for 4,096 tokens: SAELens starts the rows
    again when they run out, and two runs give the same SAE. At block 1's input, where a pass is cheap."""
    from workbench import hooks
    from workbench.saes.training import train_lm_sae

    rows = artifacts.load("smollm2_text")[:16]
    config = artifacts.get(NAME).recipe.lm_sae_config(hook_name=hooks.resid_pre(1), training_tokens=4096)
    first = train_lm_sae(smollm2, activations.corpus_dataset(rows), config, progress=False)
    second = train_lm_sae(smollm2, activations.corpus_dataset(rows), config, progress=False)
    assert torch.equal(first.W_dec, second.W_dec)
    assert first.cfg.metadata.hook_name == hooks.resid_pre(1) and first.cfg.d_sae == 2048


def test_the_registry_retrains_the_recipe_on_the_corpus(smollm2):
    """``artifacts.train`` takes the real model and the corpus's training rows (a 1,024-token run at block 1)."""
    from workbench import hooks

    sae = artifacts.train(NAME, progress=False, model=smollm2, hook_name=hooks.resid_pre(1), training_tokens=1024)
    assert (sae.cfg.d_sae, sae.cfg.k, sae.cfg.metadata.hook_name) == (2048, 32, hooks.resid_pre(1))
