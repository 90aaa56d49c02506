from __future__ import annotations

import pytest
import torch

from workbench.exercises import ExerciseFailed, Mistake, check


def reference(x):
    return torch.relu(x) * 2


def make_inputs(generator):
    return (torch.randn(4, 3, generator=generator),)


MISTAKES = [Mistake("did you forget the ReLU?", lambda x: x * 2)]


def test_correct_answer_passes(capsys):
    assert check(lambda x: 2 * x.clamp(min=0), reference, make_inputs, name="double_relu", mistakes=MISTAKES)
    assert "correct" in capsys.readouterr().out


def test_known_mistake_is_named():
    with pytest.raises(ExerciseFailed, match="forget the ReLU"):
        check(lambda x: x * 2, reference, make_inputs, mistakes=MISTAKES)


def test_wrong_shape_is_reported():
    with pytest.raises(ExerciseFailed, match=r"shape \(4,\)"):
        check(lambda x: x.sum(-1), reference, make_inputs)


def test_unknown_error_reports_difference():
    with pytest.raises(ExerciseFailed, match="largest difference"):
        check(lambda x: torch.relu(x) * 3, reference, make_inputs, mistakes=MISTAKES)


def test_exception_in_learner_code_is_reported():
    with pytest.raises(ExerciseFailed, match="ZeroDivisionError"):
        check(lambda x: 1 / 0, reference, make_inputs)


def test_not_attempted_does_not_fail(capsys):
    def stub(x):
        raise NotImplementedError

    assert check(stub, reference, make_inputs) is False
    assert "not attempted" in capsys.readouterr().out
