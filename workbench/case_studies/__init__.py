"""Stage 5: case studies of "On the Biology of a Large Language Model" on the organisms.

``planning`` (notebook 06): the rhyme word of line 2 planned at the newline, found by its
features, suppressed and replaced. Functions take ``(model, world, clt)``.
"""

from workbench.lazy import namespace

EXPORTS = {
    "planning": [
        "LABEL_KINDS", "PLANNED", "MIN_F1", "PLAN_KINDS", "INJECTION_SCALE", "corpus_cases", "heldout_cases", "newline_features", "ground_truth",
        "NewlineLabels", "label_newline_features", "line_two_prompt", "newline_feature_influence", "newline_share",
        "rhyme_word_graph", "planned_word_share", "clamp_hooks", "plan_features", "plan_edit", "write_line_two",
        "generate_with_edit", "ending_kind",
        "well_formed", "EditOutcome", "suppress", "injection_cases", "inject", "first_word_follows", "sweep_cases",
        "injection_by_position", "rewrite_comparison", "planning_table"
    ],
}

__getattr__, __dir__ = namespace(__name__, EXPORTS)
