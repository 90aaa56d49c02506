"""SmolLM2's SAE (``smollm2_resid24``): the shipped recipe, its record remeasured, short retrains.

Notebook 08's SAE section (its corpus, the record it prints, the latents at the Dallas prompt and their dashboards)
is read from its run in ``tests/notebooks/test_08_real_model.py``. Here: ``evaluate`` on the first held-out rows gives
the record's spot check, and the recipe's runner retrains at block 1 on a few rows.
"""

from __future__ import annotations

import pytest
import torch

from workbench import activations, artifacts, saes
from workbench.artifacts.kinds import SPOT_CHECK_ROWS

NAME = "smollm2_resid24"


@pytest.fixture(scope="module")
def sae():
    return saes.load_sae(NAME)


def test_shipped_sae_matches_its_recipe(sae):
    recipe = artifacts.get(NAME).recipe
    config = recipe.lm_sae_config()
    assert (sae.cfg.metadata.hook_name, sae.cfg.d_sae, sae.cfg.k) == (config.hook_name, config.d_sae, config.k)
    assert recipe.corpus == "smollm2_text" and recipe.heldout_rows == 40
    record = saes.sae_record(NAME)
    assert record["recipe"]["config"] == recipe.config and record["command"] == artifacts.get(NAME).command


def test_evaluate_gives_the_shipped_records_spot_check(smollm2, sae):
    """``evaluate`` on the first held-out rows reproduces what the record measured on them when it shipped (the
    whole record, 40 rows, was measured by the same call; measuring it again costs a CPU-minute)."""
    record = saes.sae_record(NAME)
    spot = record["spot_check"]
    assert spot["heldout_rows"] == SPOT_CHECK_ROWS < record["heldout_rows"]
    measured = artifacts.get(NAME).evaluate(sae, model=smollm2, rows=SPOT_CHECK_ROWS)
    for key in ("explained_variance", "l0", "dead_fraction", "ce_clean", "ce_sae", "ce_zero", "ce_recovered"):
        assert measured[key] == pytest.approx(spot[key], abs=1e-4), key


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
