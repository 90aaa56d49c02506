"""The replacement model (every MLP replaced by a transcoder) on the shipped transcoders notebook 03 does not load.

Notebook 03's four (``facts_clt``, ``facts_plt``, ``couplets_clt``, ``couplets_plt``) are checked on its own run in
``tests/notebooks/test_03_clt_replacement.py``. Here: the other organisms' transcoders (held-out states, lookback
and control couplets), the hooks removed afterwards (twenty held-out facts sentences), transcoders of the wrong
shape or organism, a corrupt file, and the records notebook 08 quotes.
"""

import pytest
import torch

from workbench import artifacts, organisms
from workbench.activations import heldout_tokens
from workbench.circuits import fidelity, replaced
from workbench.transcoders import load_clt, shipped_metadata

NOTEBOOK_03 = ("facts_clt", "facts_plt", "couplets_clt", "couplets_plt")
SHIPPED = {name: artifacts.get(name).recipe for name in artifacts.names("transcoder")
           if isinstance(artifacts.get(name).recipe, artifacts.TranscoderRecipe)
           and name not in NOTEBOOK_03}  # the other organisms' (notebook 08 tests its own)


# Agreement over every token of the held-out sentences, free choices included (recorded: held-out states 0.992;
# lookback 0.912, control 0.900, bottleneck 0.906): the couplets worlds' free choices are where near-ties flip.
PLAIN_AGREEMENT_FLOOR = {"facts": 0.95, "facts_heldout_states": 0.95, "couplets": 0.9, "couplets_lookback": 0.9,
                         "couplets_control": 0.89, "couplets_bottleneck": 0.9}


@pytest.fixture(scope="module", params=list(SHIPPED))
def shipped(request):
    name = request.param
    model, world = organisms.load(SHIPPED[name].organism)
    return name, model, world, load_clt(name)


def test_shipped_transcoders_load_with_their_recipe(shipped):
    name, model, _, clt = shipped
    recipe = SHIPPED[name]
    assert clt.config.cross_layer == recipe.cross_layer and clt.config.d_features == recipe.d_features
    assert (clt.config.n_layers, clt.config.d_model) == (model.cfg.n_layers, model.cfg.d_model)
    per_layer_writes = [W.shape[1] for W in clt.W_dec]
    assert per_layer_writes == ([2, 1] if recipe.cross_layer else [1, 1])


def test_replacement_follows_the_original_on_heldout_text(shipped):
    """Verification 3, fidelity: top-1 agreement ≥ 0.95 where the original has decided its next token.

    Some positions are free choices of the world (which subject, which verb): the original spreads
    its probability evenly there, and which near-equal token comes out on top is noise that any
    approximation flips. Agreement over all tokens is asserted separately, at what it is.
    """
    name, model, world, clt = shipped
    tokens, mask = heldout_tokens(world)
    result = fidelity(model, clt, tokens, mask)
    assert result.top1_agreement_decided >= 0.95
    assert result.kl <= 0.01
    assert result.top1_agreement >= PLAIN_AGREEMENT_FLOOR[world.name]
    shipped_fidelity = shipped_metadata(name)["fidelity"]
    assert result.top1_agreement == pytest.approx(shipped_fidelity["top1_agreement"], abs=1e-6)
    assert result.kl == pytest.approx(shipped_fidelity["kl"], rel=1e-3)


def test_behaviours_survive_replacement(shipped):
    """Verification 3, behaviour: facts held-out two-hop ≥ 0.9; couplets rhyme accuracy ≥ 0.95 (the CLTs),
    and what was measured when they were shipped."""
    name, model, world, clt = shipped
    with replaced(model, clt):
        metrics = world.core_metrics(model)
    assert metrics == pytest.approx(shipped_metadata(name)["behaviour"], abs=1e-6)
    if not SHIPPED[name].cross_layer:
        assert metrics.get("two_hop_heldout_city", 1.0) >= 0.8 and metrics.get("rhyme_accuracy", 1.0) >= 0.9
        return
    if "two_hop_heldout_city" in metrics:  # the facts worlds
        assert metrics["two_hop_heldout_city"] >= 0.9
        assert metrics["one_hop_city_state"] >= 0.95
    else:
        assert metrics["rhyme_accuracy"] >= 0.95


def test_replacement_hooks_are_removed_afterwards(facts_organism):
    model, world = facts_organism
    tokens, _ = heldout_tokens(world, 20)
    before = model(tokens)
    with replaced(model, load_clt("facts_clt")):
        during = model(tokens)
    assert not torch.allclose(before, during)
    torch.testing.assert_close(model(tokens), before)


def test_a_transcoder_of_the_wrong_shape_is_refused(facts_organism):
    model, _ = facts_organism
    couplets_sized = load_clt("couplets_clt")
    couplets_sized.config = type(couplets_sized.config)(n_layers=1, d_model=128)
    with pytest.raises(ValueError, match="does not fit"):
        with replaced(model, couplets_sized):
            pass
    with pytest.raises(FileNotFoundError, match="shipped"):
        load_clt("no_such_transcoder")


def test_a_transcoder_of_another_organism_is_refused(facts_organism, tmp_path):
    """The couplets transcoder has the facts organism's shapes: only its record tells them apart."""
    from workbench.circuits import attribute
    from workbench.transcoders import save_clt

    model, world = facts_organism
    couplets_clt = load_clt("couplets_clt")
    assert couplets_clt.organism == "couplets" and load_clt("facts_clt").organism == "facts"
    with pytest.raises(ValueError, match="trained on the 'couplets' organism's MLPs, not on 'facts'"):
        with replaced(model, couplets_clt):
            pass
    with pytest.raises(ValueError, match="'couplets' organism"):
        attribute(model, couplets_clt, world.two_hop_prompt("Dallas"))
    reloaded = load_clt(save_clt(couplets_clt, tmp_path / "mine"))
    assert reloaded.organism == "couplets"  # the record survives saving


def test_a_file_that_is_not_a_transcoder_is_refused(tmp_path):
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not a transcoder" * 10)
    with pytest.raises(ValueError, match="not a valid transcoder"):
        load_clt(corrupt)
