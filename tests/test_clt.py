"""The cross-layer transcoder (issue 6, first step): shapes, the per-layer special case, circuit-tracer layout.

On small random and planted transcoders (three layers, d_model 8), not on the shipped ones: notebook 03's are
checked on its own run (``tests/notebooks/test_03_clt_replacement.py``).
"""

from __future__ import annotations

import pytest
import torch

from workbench.exercises import transcoders as clt_exercises
from workbench.transcoders.model import CLTConfig, CrossLayerTranscoder
from workbench.transcoders.training import CLTTrainConfig, train_clt


def _random_clt(cross_layer: bool) -> CrossLayerTranscoder:
    torch.manual_seed(0)
    clt = CrossLayerTranscoder(CLTConfig(n_layers=3, d_model=8, d_features=16, cross_layer=cross_layer))
    with torch.no_grad():
        clt.b_enc.normal_(0.1, 0.1)
        clt.b_dec.normal_()
    return clt


def test_cross_layer_features_write_to_their_layer_and_later_ones_only():
    clt = _random_clt(cross_layer=True)
    features = torch.zeros(1, 3, 16)
    features[0, 1, 4] = 2.0  # one feature of layer 1
    written = clt.decode(features) - clt.b_dec
    assert torch.allclose(written[0, 0], torch.zeros(8))
    assert torch.allclose(written[0, 1], 2.0 * clt.W_dec[1][4, 0])
    assert torch.allclose(written[0, 2], 2.0 * clt.W_dec[1][4, 1])


def test_per_layer_transcoder_writes_to_its_own_layer_only():
    clt = _random_clt(cross_layer=False)
    assert [W.shape[1] for W in clt.W_dec] == [1, 1, 1]
    features = torch.zeros(1, 3, 16)
    features[0, 0, 2] = 1.0
    written = clt.decode(features) - clt.b_dec
    assert written[0, 1:].abs().max() == 0


@pytest.mark.parametrize("cross_layer", [True, False])
def test_circuit_tracer_copy_encodes_and_decodes_the_same(cross_layer):
    clt = _random_clt(cross_layer)
    theirs = clt.to_circuit_tracer()
    x = torch.randn(5, 3, 8)
    with torch.no_grad():
        ours = clt.encode(x)
        their_features = torch.stack([theirs.encode_layer(x[:, l], l) for l in range(3)], dim=1)
        assert torch.allclose(ours, their_features, atol=1e-6)
        their_out = torch.stack(
            [theirs.b_dec[t] + sum(their_features[:, s] @ theirs.W_dec[s][:, t - s] for s in range(t + 1)) for t in range(3)],
            dim=1,
        )
        assert torch.allclose(clt.decode(ours), their_out, atol=1e-5)


@pytest.mark.parametrize("cross_layer", [True, False])
def test_folded_scales_read_and_write_the_unscaled_activations(cross_layer):
    """Trained on x / s_in and y / s_out, ``fold_scales`` gives the transcoder of x → y (a real model's layers)."""
    clt = _random_clt(cross_layer)
    input_scale, output_scale = torch.tensor([0.5, 3.0, 40.0]), torch.tensor([2.0, 0.1, 600.0])
    x = torch.randn(5, 3, 8) * input_scale[:, None]
    expected = clt(x / input_scale[:, None]) * output_scale[:, None]
    assert clt.fold_scales(input_scale, output_scale) is clt
    assert torch.allclose(clt(x), expected, rtol=1e-5, atol=1e-4)


def test_training_fits_a_planted_transcoder_and_is_deterministic():
    """Outputs made by a known sparse transcoder: training must explain most of their variance."""
    teacher = _random_clt(cross_layer=True)
    x = torch.randn(4096, 3, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = teacher(x)
    config = CLTTrainConfig(steps=300, batch_size=256, lr=5e-3, sparsity_coefficient=1e-4)
    student = train_clt((x, y), teacher.config, config, progress=False)
    again = train_clt((x, y), teacher.config, config, progress=False)
    assert torch.equal(student.W_enc, again.W_enc)
    with torch.no_grad():
        unexplained = (student(x) - y).pow(2).sum() / (y - y.mean(0)).pow(2).sum()
    assert unexplained < 0.1


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="d_features"):
        CLTConfig(n_layers=2, d_model=8, d_features=0)
    with pytest.raises(ValueError, match="do not fit"):
        train_clt((torch.zeros(4, 2, 8), torch.zeros(4, 2, 8)), CLTConfig(n_layers=3, d_model=8), progress=False)


# --- Exercises of notebooks 03 and 04 -----------------------------------------------------------


def test_exercise_references_agree_with_the_package():
    """The notebook's small references compute what the transcoder itself computes."""
    clt = _random_clt(cross_layer=True)
    x = torch.randn(6, 3, 8)
    pre = clt.pre_activations(x)
    features = clt.encode(x)
    torch.testing.assert_close(clt_exercises.jumprelu(pre, clt.threshold), features)
    torch.testing.assert_close(clt_exercises.clt_decode(features, list(clt.W_dec), clt.b_dec), clt.decode(features))
    expected = torch.tanh(4.0 * features * clt.decoder_norms()).sum((1, 2)).mean()
    torch.testing.assert_close(clt_exercises.sparsity_penalty(features, list(clt.W_dec), 4.0), expected)
