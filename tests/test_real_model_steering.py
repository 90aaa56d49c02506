"""The judge-free steering grader on SmolLM2, on inputs notebook 08 does not score: concept and form read from
hand-written texts, fluency of the model's own text and of noise, and generation batched by token count (a prompt
of another length than the notebook's).

Notebook 08's steering section (its task, the methods' choices, the shipped sweep measured again, the table,
examples and side effects) is read from its run in ``tests/notebooks/test_08_real_model.py``.
"""

from __future__ import annotations

from workbench import steering

# Notebook 08's task, cell for cell: prompts that tokenize to one length (one batch), a state asked for.
STATES = ["Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida",
          "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine",
          "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska",
          "Nevada", "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
          "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas",
          "Utah", "Vermont", "Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming"]
OTHER_CITIES = ["Seattle", "Miami", "Denver", "Detroit", "Philadelphia", "Portland", "Memphis", "Milwaukee",
                "Minneapolis", "Cleveland", "Orlando", "Tampa", "Indianapolis", "Columbus", "Cincinnati", "Charlotte",
                "Raleigh", "Richmond", "Omaha", "Boise", "Albuquerque", "Honolulu", "Louisville", "Birmingham",
                "Providence", "Newark", "Reno", "Charleston", "Jacksonville", "Syracuse", "Berkeley", "Burlington",
                "Dayton", "Akron", "Lexington", "Boulder", "Fargo", "Springfield", "Salem", "Helena", "Juneau",
                "Montgomery", "Concord", "Augusta", "Annapolis", "Frankfort", "Little Rock", "Saint Paul"]
TEXAS_CITIES = ["Dallas", "Austin", "Waco", "Galveston", "Plano", "Tyler", "Irving", "Midland", "Denton",
                "Brownsville", "Arlington", "El Paso", "San Antonio", "Fort Worth"]
TEMPLATE = "{} is a city in the state of"
CONCEPT_WORDS = ["Texas", "Dallas", "Houston", "Austin"]


def texas_task(model):
    return steering.prompted_task(model, "Texas", [(TEMPLATE.format(c), "state") for c in OTHER_CITIES],
                                  {"state": STATES}, CONCEPT_WORDS, [TEMPLATE.format(c) for c in TEXAS_CITIES],
                                  {"state": "Texas"}, n_tokens=4, n_choose=12, n_report=24)


# ---- the grader -------------------------------------------------------------------------------


def test_grader_reads_concept_and_form_from_the_text(smollm2):
    task = texas_task(smollm2)
    case = task.split("report")[0]

    def tokens(text):
        return smollm2.tokenizer.convert_ids_to_tokens(smollm2.to_tokens(text, prepend_bos=False)[0].tolist())

    assert task.grade(case, tokens(" Texas, and it"))[:2] == (1, 1)
    assert task.grade(case, tokens(" New York, near Dallas"))[:2] == (1, 1)  # a state first, the concept later
    assert task.grade(case, tokens(" the city of Texas"))[:2] == (1, 0)  # the concept, but not a state first
    assert task.grade(case, tokens(" Texasville is"))[:2] == (0, 0)  # whole words only
    assert task.grade(case, tokens(" California that is"))[:2] == (0, 1)


def test_fluency_is_one_for_the_models_own_text_and_low_for_noise(smollm2):
    prompts = [TEMPLATE.format(c) for c in OTHER_CITIES[:4]]
    own = steering.generate(smollm2, prompts, 4)
    assert steering.fluency_in_top_k(smollm2, prompts, own).tolist() == [1.0] * 4
    noise = [smollm2.tokenizer.convert_ids_to_tokens([1000, 2000, 3000, 4000])] * 4
    assert steering.fluency_in_top_k(smollm2, prompts, noise).max() < 0.5


def test_generation_batches_by_token_count(smollm2):
    """Prompts of different token counts are generated apart and land in their own places."""
    prompts = [TEMPLATE.format("Seattle"), TEMPLATE.format("Chicago"), TEMPLATE.format("Miami")]
    together = steering.generate(smollm2, prompts, 3)
    alone = [steering.generate(smollm2, [p], 3)[0] for p in prompts]
    assert together == alone
