"""The SAE on the facts organism (notebook 02, part 2): fidelity, ground-truth matching, dashboards, format."""

from __future__ import annotations

import signal

import pytest
import torch

from workbench import activations, artifacts, feature_matching, saes


@pytest.fixture(scope="module")
def shipped_sae():
    return saes.load_sae("facts_resid1")


@pytest.fixture(scope="module")
def held_out_tokens(facts_organism):
    model, world = facts_organism
    return world.sample_tokens(1000, seed=1)


@pytest.fixture(scope="module")
def matches(facts_organism, shipped_sae):
    model, world = facts_organism
    tokens = world.tokenize(world.all_sentences)
    content = activations.content_mask(tokens, model.tokenizer)
    acts = saes.feature_activations(model, shipped_sae, tokens)
    variables = {name: label[content] for name, label in world.token_variables(tokens).items()}
    return feature_matching.match_variables(acts[content], variables)


# --- the shipped SAE ------------------------------------------------------------------------------


def test_shipped_sae_matches_its_recipe(shipped_sae):
    recipe = artifacts.get("facts_resid1").recipe.lm_sae_config()
    assert shipped_sae.cfg.metadata.hook_name == recipe.hook_name
    assert (shipped_sae.cfg.d_sae, shipped_sae.cfg.k) == (recipe.d_sae, recipe.k)


def test_shipped_sae_recovers_the_loss(facts_organism, shipped_sae, held_out_tokens):
    report = saes.splice_report(facts_organism[0], shipped_sae, held_out_tokens)
    assert report.ce_recovered >= 0.9  # the bar; measured 0.998
    assert report.explained_variance >= 0.95
    assert report.l0 == pytest.approx(shipped_sae.cfg.k)
    assert report.ce_clean < report.ce_sae < report.ce_zero


def test_short_retrain_reaches_the_bar_and_is_deterministic(facts_organism, held_out_tokens):
    first = artifacts.train("facts_resid1", training_tokens=30_000, progress=False)
    second = artifacts.train("facts_resid1", training_tokens=30_000, progress=False)
    assert torch.equal(first.W_dec, second.W_dec)
    assert saes.splice_report(facts_organism[0], first, held_out_tokens).ce_recovered >= 0.9


def test_training_restores_signal_handlers():
    before = signal.getsignal(signal.SIGINT)
    artifacts.train("facts_resid1", training_tokens=2048, progress=False)
    assert signal.getsignal(signal.SIGINT) is before


def test_save_and_load_round_trip(shipped_sae, tmp_path):
    from sae_lens import SAE

    shipped_sae.save_model(str(tmp_path))
    reloaded = SAE.load_from_disk(str(tmp_path))
    x = torch.randn(5, shipped_sae.cfg.d_in)
    assert torch.equal(reloaded.encode(x), shipped_sae.encode(x))


def test_unknown_sae_names_are_refused():
    with pytest.raises(FileNotFoundError, match="shipped: .*facts_resid1"):
        saes.load_sae("gpt2_resid")
    with pytest.raises(KeyError, match="facts_resid1"):
        artifacts.train("gpt2_resid")


@pytest.mark.parametrize("field, value", [("architecture", "gated"), ("k", 0), ("lr", 0.0), ("training_tokens", 10)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        saes.LMSAEConfig(**{field: value})


# --- ground truth ----------------------------------------------------------------------------------


def test_token_variables_label_the_right_positions(facts_organism):
    _, world = facts_organism
    tokens = world.tokenize(["Dallas is a city in Texas .", "The capital of the state containing Dallas is Austin ."])
    variables = world.token_variables(tokens)
    # row 0: <bos> Dallas is a city in Texas .   row 1: ... containing(6) Dallas(7) is(8) Austin(9)
    assert variables["city in state: Texas"].nonzero().tolist() == [[0, 1], [1, 7], [1, 9]]
    assert variables["answer is state: Texas"].nonzero().tolist() == [[0, 5]]
    assert variables["answer is capital: Texas"].nonzero().tolist() == [[1, 8]]
    assert variables["state in play: Texas"].sum() == 2
    assert not variables["state in play: California"].any()


def test_precision_and_recall_on_a_worked_example():
    fires = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=torch.bool)
    label = torch.tensor([1, 1, 0, 0], dtype=torch.bool)
    precision, recall = feature_matching.precision_recall(fires, label)
    assert precision.tolist() == [1.0, 0.5, 0.0]
    assert recall.tolist() == [1.0, 0.5, 0.0]
    assert feature_matching.best_match(fires, label, "x").feature == 0
    with pytest.raises(ValueError, match="never true"):
        feature_matching.precision_recall(fires, torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="tokens"):
        feature_matching.precision_recall(fires, label[:3])


def test_matching_finds_question_features_but_not_one_feature_per_state(facts_organism, matches):
    """The numbers notebook 02 teaches: sharp features for the question, shared ones for states."""
    _, world = facts_organism
    families = feature_matching.family_summary(matches, world.variable_family)
    assert matches["asks for a state"].precision >= 0.9
    assert matches["asks for a capital"].precision >= 0.9
    assert families["state in play"]["recall"] >= 0.8
    # ...but the best feature for a state also fires for other states: most precision is lost.
    assert families["state in play"]["precision"] <= 0.6


# --- dashboards --------------------------------------------------------------------------------------


def test_dashboard_ranks_contexts_and_logits(facts_organism, shipped_sae, matches):
    model, world = facts_organism
    tokens = world.tokenize(world.all_sentences)
    feature = matches["state in play: Texas"].feature
    dashboard = saes.feature_dashboard(model, shipped_sae, tokens, feature, n_contexts=5)
    peaks = [max(values) for values in dashboard.context_values]
    assert peaks == sorted(peaks, reverse=True) and len(peaks) == 5
    assert max(dashboard.nonzero_activations) == pytest.approx(peaks[0])
    promoted = [value for _, value in dashboard.promoted]
    assert promoted == sorted(promoted, reverse=True)
    assert all("<" not in word for word, _ in dashboard.promoted + dashboard.suppressed)
    assert all(len(c) == len(v) for c, v in zip(dashboard.contexts, dashboard.context_values))
    with pytest.raises(IndexError, match="512 features"):
        saes.feature_dashboard(model, shipped_sae, tokens, 512)


def test_texas_dashboard_looks_cleaner_than_its_precision(facts_organism, shipped_sae, matches):
    """Notebook 02's lesson: the top contexts of the best "city in Texas" latent are all Texas, its precision is low."""
    model, world = facts_organism
    tokens = world.tokenize(world.all_sentences)
    match = matches["city in state: Texas"]
    dashboard = saes.feature_dashboard(model, shipped_sae, tokens, match.feature, n_contexts=8)
    texas_words = {"Texas", *(c for c in world.cities if world.state_of[c] == "Texas")}
    assert all(texas_words & set(context) for context in dashboard.contexts)
    assert match.precision < 0.3


def test_texas_latents_promote_what_the_notebook_says(facts_organism, shipped_sae, matches):
    """Notebook 02: the "city in Texas" latent promotes Texas and Austin most (precision 0.13); the "Texas in play"
    latent is a Texas latent by its dashboard (Austin first, Texas contexts) yet fires at the answer position of seven
    states (precision 0.37)."""
    model, world = facts_organism
    tokens = world.tokenize(world.all_sentences)
    city = saes.feature_dashboard(model, shipped_sae, tokens, matches["city in state: Texas"].feature)
    assert {word for word, _ in city.promoted[:2]} == {"Texas", "Austin"}
    assert {"Frankfort", "Springfield"} <= {word for word, _ in city.promoted[:5]}
    assert round(matches["city in state: Texas"].precision, 2) == 0.13
    in_play = matches["state in play: Texas"]
    dashboard = saes.feature_dashboard(model, shipped_sae, tokens, in_play.feature)
    assert dashboard.promoted[0][0] == "Austin" and round(in_play.precision, 2) == 0.37
    texas_words = {"Texas", *(c for c in world.cities if world.state_of[c] == "Texas")}
    assert all(texas_words & set(context) for context in dashboard.contexts)
    content = activations.content_mask(tokens, model.tokenizer)
    fires = saes.feature_activations(model, shipped_sae, tokens)[content][:, in_play.feature] > 0
    states = [s for s in world.states if (world.token_variables(tokens)[f"state in play: {s}"][content] & fires).any()]
    assert len(states) == 7 and "Texas" in states  # the notebook says seven


def test_question_latent_reads_the_capital_prompt(facts_organism, shipped_sae, matches):
    """Notebook 02: every top context of the "asks for a capital" latent is "The capital of the …"."""
    model, world = facts_organism
    tokens = world.tokenize(world.all_sentences)
    dashboard = saes.feature_dashboard(model, shipped_sae, tokens, matches["asks for a capital"].feature)
    assert all(context[:3] == ["The", "capital", "of"] for context in dashboard.contexts)


def test_city_variables_match_worst_and_many_latents_are_dead(facts_organism, shipped_sae, matches, held_out_tokens):
    """Notebook 02: cities match worst of all families (F1 0.24), and ~42% of latents never fire on held-out text."""
    _, world = facts_organism
    families = feature_matching.family_summary(matches, world.variable_family)
    assert families["city in state"]["f1"] < 0.3
    assert families["city in state"]["f1"] == min(row["f1"] for row in families.values())
    assert 0.3 <= saes.splice_report(facts_organism[0], shipped_sae, held_out_tokens).dead_fraction <= 0.5
