"""The logit lens at the last depth is exactly the model's own output distribution."""

from __future__ import annotations

import torch

from workbench import organisms
from workbench.activations import lens


def test_last_depth_of_the_lens_is_the_model_output():
    model, world = organisms.load("facts")
    tokens = model.to_tokens(world.two_hop_prompt("Dallas"))
    logits, cache = model.run_with_cache(tokens)
    lens_log_probs = lens.logit_lens(model, cache)
    assert lens_log_probs.shape == (model.cfg.n_layers + 1, tokens.shape[1], model.cfg.d_vocab)
    torch.testing.assert_close(lens_log_probs[-1], logits[0].log_softmax(-1), atol=1e-5, rtol=1e-5)


def test_the_two_hop_answer_appears_after_block_0_and_the_bridge_barely():
    """Notebook 00: at the last position the lens finds Austin on top after block 0 (0.285) and sure after
    block 1 (0.907); Texas reaches 0.04 after block 0 (below four capitals), though the state swap shows
    the state is there."""
    model, world = organisms.load("facts")
    _, cache = model.run_with_cache(model.to_tokens(world.two_hop_prompt("Dallas")))
    probs = lens.logit_lens(model, cache)[:, -1].exp()  # (depth, d_vocab)
    austin, texas = model.to_single_token("Austin"), model.to_single_token("Texas")
    assert probs.argmax(-1)[1:].tolist() == [austin, austin] and probs[0].argmax() != austin
    assert [round(float(p), 3) for p in probs[:, austin]] == [0.011, 0.285, 0.907]
    assert [round(float(p), 3) for p in probs[:, texas]] == [0.002, 0.042, 0.002]
    assert int((probs[1] > probs[1, texas]).sum()) == 4
