"""The prose checker of ``tests.claims``, on small made-up notebooks (no kernel: values come from a dict)."""

from __future__ import annotations

import nbformat

from tests import claims
from tests.claims import Cited, Claim, Rule, Wording


class FakeRun:
    """A notebook and the values its kernel would hold."""

    def __init__(self, markdown: str, values: dict):
        self.nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)])
        self.values = values

    def value(self, expression):
        return eval(expression, {}, dict(self.values))


TEXT = """## 2 · The swap over 2,450 pairs

The swap moves the answer in 0.88 of pairs (the paper: 70 %), most of them to the capital of the new state; a
random group of the same size moves none. See `rate = 0.88` and $x_1$.

1. a numbered step, not a number
"""
CLAIMS = [Claim("in 0.88 of pairs", "rate"), Cited("the paper: 70 %", "Biology, §4"),
          Rule("most of them to the capital", "share > 0.5"), Rule("moves none", "control == 0")]
VALUES = {"rate": 0.8812, "share": 0.9, "control": 0}


def test_a_notebook_whose_claims_all_hold_has_no_problem():
    assert claims.problems(FakeRun(TEXT, VALUES), CLAIMS) == []


def test_a_number_edited_away_from_the_run_fails():
    problems = claims.problems(FakeRun(TEXT.replace("0.88", "0.90"), VALUES), [Claim("in 0.90 of pairs", "rate")] + CLAIMS[1:])
    assert problems == ["'in 0.90 of pairs' does not match the run: 0.90 (the run: 0.8812)"]


def test_prose_edited_under_a_claim_is_reported_and_its_number_is_uncovered():
    problems = claims.problems(FakeRun(TEXT.replace("in 0.88 of", "in 0.88 of all"), VALUES), CLAIMS)
    assert "claimed text not in the notebook: 'in 0.88 of pairs'" in problems
    assert any(p.startswith("no claim covers '0.88'") for p in problems)


def test_numbers_and_quantity_words_without_a_claim_are_reported_and_code_latex_lists_headings_are_not():
    problems = claims.problems(FakeRun(TEXT, VALUES), [])
    covered = [p.split("'")[1] for p in problems]
    assert covered == ["0.88", "70", "most", "none"]


def test_a_rule_that_does_not_hold_fails_and_precision_follows_the_text():
    problems = claims.problems(FakeRun(TEXT, dict(VALUES, share=0.4)), CLAIMS)
    assert problems == ["rule does not hold (share > 0.5 is False): 'most of them to the capital'"]
    assert claims.number_matches("0.88", 0.8849) and not claims.number_matches("0.88", 0.8851)
    assert claims.number_matches("2,450", 2450) and claims.number_matches("1e-5", 1.02e-5)
    assert claims.numbers("−3.7 and 12% and 2,450 in layer 1.") == ["−3.7", "12", "2,450", "1"]


def test_wording_covers_a_quantity_word_that_states_no_measurement():
    text = "The logits of the most likely tokens."
    assert claims.problems(FakeRun(text, {}), []) != []
    assert claims.problems(FakeRun(text, {}), [Wording("the most likely tokens", "a definition")]) == []
