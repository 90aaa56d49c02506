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
    assert report.ce_recovered >= 0.9  # the bar
    # Notebook 02: CE 0.84 → 0.90 nats against 5.4 zeroed, 98.7% recovered, 99% explained variance.
    assert (round(report.ce_clean, 2), round(report.ce_sae, 2), round(report.ce_zero, 1)) == (0.84, 0.90, 5.4)
    assert round(report.ce_recovered, 3) == 0.987 and round(report.explained_variance, 2) == 0.99
    assert report.l0 == pytest.approx(shipped_sae.cfg.k)
    assert report.ce_clean < report.ce_sae < report.ce_zero


def test_short_retrain_reaches_the_bar_and_is_deterministic(facts_organism, held_out_tokens):
    """Notebook 02's short run (an eighth of the tokens) recovers 95.6% of the loss, the same on every run."""
    first = artifacts.train("facts_resid1", training_tokens=50_000, progress=False)
    second = artifacts.train("facts_resid1", training_tokens=50_000, progress=False)
    assert torch.equal(first.W_dec, second.W_dec)
    assert round(saes.splice_report(facts_organism[0], first, held_out_tokens).ce_recovered, 3) == 0.956


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
    with pytest.raises(FileNotFoundError, match="not a shipped SAE.*facts_resid1"):
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
    assert round(matches["asks for a state"].precision, 2) == 0.93
    assert round(matches["asks for a capital"].precision, 2) == 0.79
    for question in ("asks for a state", "asks for a capital"):  # "about a third of those positions"
        assert 0.3 <= matches[question].recall <= 0.36
    assert round(families["state in play"]["recall"], 2) == 0.86
    # ...but the best feature for a state also fires for other states: most precision is lost.
    assert round(families["state in play"]["precision"], 2) == 0.36


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
    """Notebook 02: the "city in Texas" latent promotes Austin and Texas most (precision 0.13) and fires for the cities
    of five other states; the "Texas in play" latent promotes Texas first, has Texas contexts and fires where two
    states are in play, Kentucky taking almost half its firings (precision 0.54)."""
    model, world = facts_organism
    tokens = world.tokenize(world.all_sentences)
    city = saes.feature_dashboard(model, shipped_sae, tokens, matches["city in state: Texas"].feature)
    assert [word for word, _ in city.promoted[:2]] == ["Austin", "Texas"]
    assert {"Springfield", "Helena"} <= {word for word, _ in city.promoted[:5]}
    assert round(matches["city in state: Texas"].precision, 2) == 0.13
    content = activations.content_mask(tokens, model.tokenizer)
    variables = world.token_variables(tokens)
    city_fires = saes.feature_activations(model, shipped_sae, tokens)[content][:, matches["city in state: Texas"].feature] > 0
    city_states = [s for s in world.states if (variables[f"city in state: {s}"][content] & city_fires).any()]
    assert len(city_states) == 6 and "Texas" in city_states  # "the cities of five other states"
    in_play = matches["state in play: Texas"]
    dashboard = saes.feature_dashboard(model, shipped_sae, tokens, in_play.feature)
    assert dashboard.promoted[0][0] == "Texas" and round(in_play.precision, 2) == 0.54
    texas_words = {"Texas", *(c for c in world.cities if world.state_of[c] == "Texas")}
    assert all(texas_words & set(context) for context in dashboard.contexts)
    fires = saes.feature_activations(model, shipped_sae, tokens)[content][:, in_play.feature] > 0
    states = [s for s in world.states if (variables[f"state in play: {s}"][content] & fires).any()]
    assert sorted(states) == ["Kentucky", "Texas"]  # the notebook names them
    kentucky = (variables["state in play: Kentucky"][content] & fires).sum() / fires.sum()
    assert 0.4 <= float(kentucky) < 0.5  # "almost half of its firings"


def test_question_latent_reads_the_capital_prompt(facts_organism, shipped_sae, matches):
    """Notebook 02: every top context of the "asks for a capital" latent is "The capital of the …"."""
    model, world = facts_organism
    tokens = world.tokenize(world.all_sentences)
    dashboard = saes.feature_dashboard(model, shipped_sae, tokens, matches["asks for a capital"].feature)
    assert all(context[:3] == ["The", "capital", "of"] for context in dashboard.contexts)


def test_city_variables_match_worst_and_many_latents_are_dead(facts_organism, shipped_sae, matches, held_out_tokens):
    """Notebook 02: cities match worst of all families (F1 0.22), and 56% of latents never fire on held-out text."""
    _, world = facts_organism
    families = feature_matching.family_summary(matches, world.variable_family)
    assert round(families["city in state"]["f1"], 2) == 0.22
    assert families["city in state"]["f1"] == min(row["f1"] for row in families.values())
    assert round(saes.splice_report(facts_organism[0], shipped_sae, held_out_tokens).dead_fraction, 2) == 0.56
