"""Every hook name is built by ``workbench.hooks`` and is TransformerLens's own."""

from __future__ import annotations

import pytest
from transformer_lens.utils import get_act_name

from workbench import hooks


@pytest.mark.parametrize("layer", [0, 3])
def test_names_are_transformer_lens_names(layer, facts_organism):
    assert hooks.resid_pre(layer) == get_act_name("resid_pre", layer)
    assert hooks.resid_mid(layer) == get_act_name("resid_mid", layer)
    assert hooks.resid_post(layer) == get_act_name("resid_post", layer)
    assert hooks.mlp_out(layer) == get_act_name("mlp_out", layer)
    assert hooks.attn_pattern(layer) == get_act_name("pattern", layer)
    assert hooks.attn_scores(layer) == get_act_name("attn_scores", layer)
    assert hooks.attn_z(layer) == get_act_name("z", layer)
    assert hooks.ln_scale(layer, "ln1") == get_act_name("scale", layer, "ln1")
    model, _ = facts_organism
    if layer < model.cfg.n_layers:
        named = [hooks.resid_pre(layer), hooks.resid_mid(layer), hooks.mlp_out(layer), hooks.attn_pattern(layer),
                 hooks.ln_scale(layer, "ln2"), *hooks.transcoder_inputs(model.cfg.n_layers)]
        assert set(named) <= set(model.hook_dict)


def test_transcoders_read_the_mlp_input_and_write_its_output():
    assert hooks.transcoder_inputs(2) == [hooks.resid_mid(0), hooks.resid_mid(1)]
    assert hooks.transcoder_outputs(2) == [hooks.mlp_out(0), hooks.mlp_out(1)]


def test_the_lens_reads_the_embedding_then_every_block():
    assert hooks.lens_points(2) == ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]


def test_names_without_a_layer_are_transformer_lens_names(facts_organism):
    assert hooks.EMBED == get_act_name("embed")
    assert hooks.FINAL_SCALE == get_act_name("scale")
    assert hooks.FINAL_NORMALIZED == get_act_name("normalized")
    model, _ = facts_organism
    assert {hooks.EMBED, hooks.FINAL_SCALE, hooks.FINAL_NORMALIZED} <= set(model.hook_dict)
