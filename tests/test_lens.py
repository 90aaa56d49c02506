"""The logit lens on an input notebook 00 does not use: its last depth is the model's own output distribution.

Notebook 00's lens on the facts organism's Dallas prompt is checked on its own run in
``tests/notebooks/test_00_start_here.py``; here the lens runs on the couplets organism.
"""

from __future__ import annotations

import torch

from workbench import organisms
from workbench.activations import lens


def test_last_depth_of_the_lens_is_the_model_output():
    model, world = organisms.load("couplets")
    tokens = model.to_tokens(world.first_line_prompt("hunter", "cake"))
    logits, cache = model.run_with_cache(tokens)
    lens_log_probs = lens.logit_lens(model, cache)
    assert lens_log_probs.shape == (model.cfg.n_layers + 1, tokens.shape[1], model.cfg.d_vocab)
    torch.testing.assert_close(lens_log_probs[-1], logits[0].log_softmax(-1), atol=1e-5, rtol=1e-5)
