"""Every public call that takes a name refuses one it does not know, naming the closest valid names.

Before, some of these ran on and answered nothing (a steering task toward "Narnia" scored 0 for every
method; ``seed_trials("fact")`` was empty; ``rate("injected")`` was 0), others failed with a bare
``KeyError`` or TransformerLens's list of a few hundred hub names. Each is tried as a new user would.
"""

from __future__ import annotations

import re

import pytest
import torch

from workbench import artifacts, case_studies, circuits, models, organisms, saes, steering, transcoders
from workbench.case_studies.multihop import Supernodes
from workbench.case_studies.planning import EditOutcome, NewlineLabels
from workbench.config_checks import UnknownNameError, closest_names, known_name, unknown_name


@pytest.fixture(scope="module")
def facts():
    return organisms.get_world("facts")


@pytest.fixture(scope="module")
def couplets():
    return organisms.get_world("couplets")


def refused(error, call, *pieces):
    """``call()`` raises ``error`` whose message holds every one of ``pieces``, in order."""
    with pytest.raises(error) as raised:
        call()
    assert re.search(".*".join(map(re.escape, pieces)), str(raised.value)), str(raised.value)
    return str(raised.value)


def test_the_message_names_the_closest_and_the_valid_names():
    assert closest_names("fact", ["facts", "couplets"]) == ["facts"]
    assert unknown_name("fact", ["facts", "couplets"], "an organism") == \
        "'fact' is not an organism; closest: facts; known: facts, couplets"
    assert unknown_name("x", [f"n{i}" for i in range(30)], "a name") == "'x' is not a name; 30 known, e.g. n0, n1, n2, n3, n4, …"
    assert known_name("facts", {"facts": 1}, "an organism") == "facts"
    error = refused(UnknownNameError, lambda: known_name("fact", ["facts"], "an organism"), "closest: facts")
    assert not error.startswith('"')  # reads as written, not quoted as a bare KeyError's message is
    assert issubclass(UnknownNameError, KeyError) and issubclass(UnknownNameError, ValueError)  # both as before


# ---- steering -----------------------------------------------------------------------------------


def test_a_facts_task_toward_a_state_the_world_lacks_is_refused(facts):
    refused(ValueError, lambda: steering.facts_task(facts, "Narnia"),
            "'Narnia' is not a state of the facts world", "closest: California, Virginia, North_Carolina")
    refused(ValueError, lambda: steering.facts_task(facts, "Dallas"), "(a city of Texas)")
    assert steering.facts_task(facts, "Texas").concept == "Texas"


def test_a_couplets_task_toward_a_topic_the_world_lacks_is_refused(couplets):
    refused(ValueError, lambda: steering.couplets_task(couplets, "animal"),
            "'animal' is not a topic of the couplets world", "closest: animals", "known: animals, food, objects, nature")
    refused(ValueError, lambda: steering.couplets_task(couplets, "fruit"), "known: animals, food, objects, nature")


def test_side_effect_groups_need_a_city(facts):
    refused(KeyError, lambda: steering.facts_prompt_groups(facts, "Texas"),
            "'Texas' is not a city of the facts world (a state: its capital is Austin)")


# ---- models -------------------------------------------------------------------------------------


def test_a_typo_of_an_offline_model_says_no_such_model_is_shipped():
    message = refused(ValueError, lambda: models.load_model("smollm-135m", device="cpu"),
                      "no model 'smollm-135m' is shipped", ", ".join(models.offline_names()),
                      "(closest: smollm2-135m)", "nor is it a TransformerLens hub name")
    assert len(message) < 400  # not TransformerLens's list of every hub name
    refused(ValueError, lambda: models.load_model("fact", device="cpu"), "(closest: facts)")
    refused(ValueError, lambda: models.load_model("gpt-2", device="cpu"), "hub name (closest: gpt2")


def test_a_real_hub_name_offline_is_still_unavailable_not_unknown(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.ModelUnavailable, match="HF_HUB_OFFLINE=1"):
        models.load_model("gpt2", device="cpu")


def test_circuit_tracer_transcoders_for_a_typo_name_the_closest():
    refused(ValueError, lambda: circuits.replacement_model("smollm-135m", device="cpu"),
            "no transcoders for 'smollm-135m'", "(closest: smollm2-135m)", "offline, with our transcoders: facts")


# ---- organisms, artifacts, seeds ----------------------------------------------------------------


@pytest.mark.parametrize("call", [organisms.get_world, organisms.load, organisms.checkpoint_metadata,
                                  organisms.checkpoint_path, artifacts.seed_table, artifacts.seed_trials])
def test_an_organism_typo_names_the_closest(call):
    refused(KeyError, lambda: call("fact"), "'fact' is not an organism", "closest: facts", "known: facts")


def test_an_artifact_typo_names_the_closest():
    refused(KeyError, lambda: artifacts.get("facts_cl"), "'facts_cl' is not a shipped artifact", "closest: facts_clt")
    refused(KeyError, lambda: artifacts.train("facts_cl", steps=1), "closest: facts_clt")
    refused(ValueError, lambda: artifacts.names("transcoders"), "closest: transcoder", "known: organism, corpus, sae, transcoder")


def test_a_seed_without_a_transcoder_record_names_the_recorded_seeds():
    refused(FileNotFoundError, lambda: artifacts.seed_transcoder_record("facts_clt", 7),
            "no record of facts_clt on the seed-7 organism", "recorded seeds: 1", "seed-transcoder facts_clt --seed 7")
    refused(FileNotFoundError, lambda: artifacts.seed_transcoder_record("facts_cl", 1), "closest: facts_clt")


# ---- dictionaries -------------------------------------------------------------------------------


@pytest.mark.parametrize("call", [transcoders.load_clt, transcoders.shipped_metadata])
def test_a_transcoder_typo_names_the_closest(call):
    refused(FileNotFoundError, lambda: call("smollm2_pl"), "'smollm2_pl' is not a shipped transcoder", "closest: smollm2_plt")


@pytest.mark.parametrize("call", [saes.load_sae, saes.sae_record])
def test_an_sae_typo_names_the_closest(call):
    refused(FileNotFoundError, lambda: call("facts_resid"), "'facts_resid' is not a shipped SAE", "closest: facts_resid1")


def test_an_sae_for_a_model_typo_names_the_closest():
    refused(ValueError, lambda: saes.model_sae("smollm2", device="cpu"), "no SAE shipped or known for 'smollm2'",
            "(closest: smollm2-135m)", "Known: smollm2-135m, gpt2, gemma-2-2b")
    refused(ValueError, lambda: saes.check_pretrained("gpt2-small-res-j", "blocks.8.hook_resid_pre"),
            "no pretrained release 'gpt2-small-res-j'", "closest: gpt2-small-res-jb")
    refused(ValueError, lambda: saes.check_pretrained("gpt2-small-res-jb", "blocks.8.hook_resid_pr"),
            "has no SAE 'blocks.8.hook_resid_pr'", "closest: blocks.8.hook_resid_pre")


# ---- the worlds' prompts and the case studies' words ---------------------------------------------


def test_facts_prompts_take_cities_and_states_only(facts):
    refused(KeyError, lambda: facts.two_hop_prompt("Dalas"), "'Dalas' is not a city of the facts world", "closest: Dallas")
    refused(KeyError, lambda: facts.two_hop_prompt("Texas"), "(a state: its capital is Austin)")
    refused(KeyError, lambda: facts.capital_prompt("Dallas"), "'Dallas' is not a state of the facts world (a city of Texas)")
    refused(KeyError, lambda: facts.city_state_prompt("Dallas", "in"), "known: city_in, containing")
    assert facts.two_hop_prompt("Dallas") == "The capital of the state containing Dallas is"


def test_couplets_lines_take_subjects_and_rhyming_nouns_only(couplets):
    refused(KeyError, lambda: couplets.first_line_prompt("cake", "hunter"), "'cake' is not a subject of the couplets world")
    refused(KeyError, lambda: couplets.target("hunter", "caek"), "'caek' is not a rhyming noun", "closest:", "cake")
    assert couplets.first_line_prompt("hunter", "cake").startswith("the hunter looked at the cake")


def test_multihop_words_name_the_closest(facts):
    refused(KeyError, lambda: case_studies.find_supernodes(None, facts, None, "Dalas"), "closest: Dallas")
    refused(KeyError, lambda: case_studies.answer_graph(None, facts, None, "Texas"), "(a state: its capital is Austin)")
    refused(KeyError, lambda: Supernodes("Dallas", None, None, {}, 0, None).features("state"),
            "'state' is not a group of supernodes", "closest: state in play")
    assert Supernodes("Dallas", None, None, {}, 0, None).features("say the capital") == []  # a group that is empty


def test_planning_words_name_the_closest(couplets):
    labels = NewlineLabels([], [], torch.zeros(0, 0))
    refused(KeyError, lambda: labels.features_of("planned", "cake"), "'planned' is not a label kind", "closest: planned word")
    refused(KeyError, lambda: case_studies.plan_features(couplets, labels, "rabit"), "'rabit' is not a rhyming noun")
    refused(KeyError, lambda: case_studies.line_two_prompt(None, couplets, "hunter", "cake", word="middle"), "known: last, first")
    refused(KeyError, lambda: EditOutcome([], [], [], [], ["other"]).rate("injected"), "closest: injected word")
    assert EditOutcome([], [], [], [], ["other", "injected word"]).rate("injected word") == 0.5
