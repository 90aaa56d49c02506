"""The toy SAE code on inputs notebook 02 does not train: a 20-step and a 30-step run (determinism, the progress bar),
sampled toy data (firing counts, correlated groups), worked examples of the metrics, the one-feature optimum and the
reference loss against SAELens, bad configs, and an exercise not yet attempted.

Notebook 02's own toy SAEs (recovery, shrinkage, the correlated case, the sweeps) are read from its run in
``tests/notebooks/test_02_sparse_autoencoders.py``.
"""

from __future__ import annotations

import pytest
import torch

from workbench.exercises import saes as sae_exercises
from workbench.saes import toy as sae_toy


@pytest.fixture(scope="module")
def data():
    return sae_toy.make_toy_data()


def test_training_is_deterministic(data):
    config = sae_toy.ToySAEConfig(architecture="topk", n_steps=20, batch_size=64)
    first = sae_toy.train_sae(data, config, progress=False)
    second = sae_toy.train_sae(data, config, progress=False)
    assert torch.equal(first.W_dec, second.W_dec)


# --- Data and metrics -------------------------------------------------------------------------


def test_the_progress_bar_ends_full_on_a_short_run(data):
    """SAELens moves its bar every 100 steps: a 30-step run used to end at 0 %."""
    from unittest import mock

    import sae_lens.training.sae_trainer as trainer_module

    bars, real_tqdm = [], trainer_module.tqdm

    def recording_tqdm(*args, **kwargs):
        bars.append(real_tqdm(*args, **kwargs))
        return bars[-1]

    with mock.patch.object(trainer_module, "tqdm", recording_tqdm):
        sae_toy.train_sae(data, sae_toy.ToySAEConfig(architecture="topk", n_steps=30, batch_size=64))
    (bar,) = bars
    assert bar.total == 30 * 64 and bar.n == bar.total


def test_toy_data_fires_the_configured_number_of_features():
    for correlation in (0.0, 0.5):
        data = sae_toy.make_toy_data(sae_toy.ToyDataConfig(correlation=correlation))
        magnitudes, activations = data.sample(20_000, torch.Generator().manual_seed(0))
        assert (magnitudes > 0).float().sum(-1).mean().item() == pytest.approx(3.0, rel=0.05)
        assert torch.allclose(activations, magnitudes @ data.directions)


def test_correlated_features_fire_together():
    data = sae_toy.make_toy_data(sae_toy.ToyDataConfig(correlation=0.8))
    on = (data.sample(20_000, torch.Generator().manual_seed(0))[0] > 0).float()
    same_group = (on[:, 0] * on[:, 1]).mean() / (on[:, 0].mean() * on[:, 1].mean())
    other_group = (on[:, 0] * on[:, 4]).mean() / (on[:, 0].mean() * on[:, 4].mean())
    assert same_group > 3 and other_group == pytest.approx(1, abs=0.5)


def test_true_dictionary_is_recovered_perfectly_by_itself(data):
    assert sae_toy.recovery_fraction(data.directions, data.directions) == 1.0
    assert sae_toy.mean_max_cosine_similarity(data.directions, 3 * data.directions).item() == pytest.approx(1.0)


def test_one_feature_optimum():
    magnitude = torch.tensor([0.1, 0.5, 1.0, 2.0])
    assert sae_toy.one_feature_optimum(magnitude, 0.4, "l1").tolist() == pytest.approx([0.0, 0.3, 0.8, 1.8])
    assert sae_toy.one_feature_optimum(magnitude, 0.4, "l0").tolist() == pytest.approx([0.0, 0.0, 1.0, 2.0])


def test_shrinkage_of_a_halved_readout_is_one_half():
    true = torch.tensor([[1.0, 0.0], [2.0, 4.0]])
    assert sae_toy.shrinkage(true, true / 2) == pytest.approx(0.5)


def test_reference_loss_matches_sae_lens_standard_sae():
    from sae_lens.saes.sae import TrainStepInput
    from sae_lens.saes.standard_sae import StandardTrainingSAE, StandardTrainingSAEConfig

    torch.manual_seed(0)
    sae = StandardTrainingSAE(StandardTrainingSAEConfig(d_in=5, d_sae=12, l1_coefficient=0.3))
    with torch.no_grad():
        sae.b_enc.normal_(), sae.b_dec.normal_()
    x = torch.randn(6, 5)
    output = sae.training_forward_pass(TrainStepInput(sae_in=x, coefficients={"l1": 0.3}, dead_neuron_mask=None, n_training_steps=0, is_logging_step=False))
    x_hat, loss = sae_toy.sae_forward_and_loss(x, sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec, 0.3)
    assert torch.allclose(x_hat, output.sae_out, atol=1e-5)
    assert loss.item() == pytest.approx(output.loss.item(), rel=1e-5)


# --- Config validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [({"architecture": "relu"}, "architecture"), ({"k": 0}, "k"), ({"l1_coefficient": -1.0}, "l1_coefficient"),
     ({"k": 200, "d_sae": 128}, "k")],
)
def test_sae_config_names_the_wrong_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        sae_toy.ToySAEConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, field",
    [({"d_model": 0}, "d_model"), ({"mean_active": 500.0}, "mean_active"), ({"correlation": 1.0}, "correlation")],
)
def test_data_config_names_the_wrong_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        sae_toy.ToyDataConfig(**kwargs)


# --- Exercises --------------------------------------------------------------------------------

def test_unattempted_exercise_does_not_fail():
    def stub(*args):
        raise NotImplementedError

    assert sae_exercises.check_topk_activation(stub) is False
