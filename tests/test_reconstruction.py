"""Explained variance, defined once (``workbench.reconstruction``): the formula, per group, and streamed."""

from __future__ import annotations

import pytest
import torch

from workbench.reconstruction import explained_variance, variance_parts


def formula(x, x_hat):
    """1 − Σ‖x − x̂‖² / Σ‖x − x̄‖², written out in float64."""
    x, x_hat = x.double(), x_hat.double()
    return float(1 - (x - x_hat).pow(2).sum() / (x - x.mean(0)).pow(2).sum())


@pytest.fixture
def rows():
    generator = torch.Generator().manual_seed(0)
    x = 5 + 3 * torch.randn(1000, 3, 16, generator=generator)  # a mean far from zero, as a real residual has
    return x, x + 0.5 * torch.randn(x.shape, generator=generator)


def test_one_batch_is_the_formula(rows):
    x, x_hat = rows
    assert float(explained_variance(x[:, 0], x_hat[:, 0])) == pytest.approx(formula(x[:, 0], x_hat[:, 0]), abs=1e-6)
    assert float(explained_variance(x[:, 0], x[:, 0])) == 1.0
    assert float(explained_variance(x[:, 0], x[:, 0].mean(0).expand_as(x[:, 0]))) == pytest.approx(0.0, abs=1e-6)


def test_groups_between_rows_and_width_are_kept_apart(rows):
    """(n, layers, d) gives one value per layer, each the formula on that layer alone."""
    x, x_hat = rows
    per_layer = explained_variance(x, x_hat)
    assert per_layer.shape == (3,)
    assert per_layer.tolist() == pytest.approx([formula(x[:, l], x_hat[:, l]) for l in range(3)], abs=1e-6)


def test_batches_add_up_to_the_whole(rows):
    """Streamed over uneven batches (Chan et al.'s update), the parts give the one-batch value."""
    x, x_hat = rows
    parts = [variance_parts(x[i:j], x_hat[i:j]) for i, j in [(0, 7), (7, 400), (400, 401), (401, 1000)]]
    streamed = sum(parts[1:], parts[0])
    assert streamed.n == 1000
    assert streamed.explained.tolist() == pytest.approx(explained_variance(x, x_hat).tolist(), abs=1e-6)
