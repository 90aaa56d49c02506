"""Stage 5: case studies, the papers' investigations redone on the organisms with their ground truth.

``multihop`` ("the capital of the state containing Dallas is" → Austin, after Lindsey et al. 2025,
"On the Biology of a Large Language Model", §4): supernodes found by code and checked against the
world, predicted-then-measured interventions over every city, cross-prompt swaps over every pair,
and the share of influence that passes through the state.

Every function takes the organism, its world and its transcoder: no city, state or feature index
is written into them.
"""

from workbench.lazy import namespace

EXPORTS = {
    "multihop": [
        "GROUPS", "QUESTION_FIRE_RATE", "answer_features", "Supernodes", "find_supernodes", "group_truth",
        "scale_edits", "edited_forward", "intervention_table", "intervention_rates", "swap_rates",
        "through_share", "shortcut_shares", "link_strengths", "answer_graph", "Edited", "trained_cities",
        "table_text", "rates_text",
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
