"""Stage 5: case studies of "On the Biology of a Large Language Model" (Lindsey et al. 2025) on the organisms.

``multihop`` (notebook 05, "the capital of the state containing Dallas is" → Austin): supernodes
found by code and checked against the world, predicted-then-measured interventions over every city,
cross-prompt swaps over every pair, and the share of influence that passes through the state.

``planning`` (notebook 06): the rhyme word of line 2 planned at the newline, found by its
features, suppressed and replaced.

``headlines`` (both): each notebook's headline numbers as one row, computed for any organism and transcoder
(``python -m workbench.artifacts case-seeds NAME`` ships them for five seeds), and its findings tested on a row.

Every function takes the organism, its world and its transcoder: no city, state, word or feature
index is written into them.
"""

from workbench.lazy import namespace

EXPORTS = {
    "multihop": [
        "GROUPS", "QUESTION_FIRE_RATE", "answer_features", "Supernodes", "find_supernodes", "group_truth",
        "scale_edits", "intervention_table", "intervention_rates", "swap_rates",
        "through_share", "shortcut_shares", "link_strengths", "answer_graph", "trained_cities",
        "table_text", "rates_text",
    ],
    "planning": [
        "LABEL_KINDS", "PLANNED", "MIN_F1", "PLAN_KINDS", "INJECTION_SCALE", "corpus_cases", "heldout_cases", "newline_features", "ground_truth",
        "NewlineLabels", "label_newline_features", "line_two_prompt", "newline_feature_influence", "newline_share",
        "rhyme_word_graph", "planned_word_share", "plan_features", "plan_edit", "write_line_two", "ENDING_KINDS",
        "ending_kind",
        "well_formed", "EditOutcome", "suppress", "injection_cases", "inject", "first_word_follows", "sweep_cases",
        "injection_by_position", "rewrite_comparison", "planning_table", "SPLIT", "rhyme_class_split", "swap_cases",
        "direction_split", "feature_patch",
    ],
    "headlines": [
        "multihop_row", "planning_row", "SUPPRESSION_KINDS", "Finding", "findings_over_seeds", "MULTIHOP_FINDINGS",
        "planning_findings", "spread_text", "findings_text", "case_study", "headline_row",
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
