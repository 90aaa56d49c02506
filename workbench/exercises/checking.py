"""Exercise checks: run a learner's function against the reference and say what is probably wrong.

The pattern in every notebook (after ARENA): a markdown cell states the task and the shapes, the
learner writes one function in a code cell that ends with a ``check_...`` call, and a solution
cell (source collapsed, one click away) defines the reference answer and checks it too.

A check compares outputs on a few random inputs. When they differ, it also runs a list of known
mistakes (e.g. the same computation without the ReLU); if the learner's output matches one, the
error names that mistake. A function that still raises ``NotImplementedError`` is reported as
"not attempted" without failing, so a fresh notebook runs top to bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence


class ExerciseFailed(AssertionError):
    """The learner's answer disagrees with the reference; the message says how."""


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: a function with the exercise's signature, and the hint it earns."""

    hint: str
    fn: Callable[..., Any]


def _shape(value) -> tuple | None:
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else None


def _describe(inputs: Sequence) -> str:
    parts = []
    for value in inputs:
        shape = _shape(value)
        parts.append(f"tensor{list(shape)}" if shape is not None else repr(value))
    return "(" + ", ".join(parts) + ")"


def _close(got, expected, atol: float, rtol: float) -> bool:
    import torch

    if isinstance(expected, (tuple, list)):
        return (
            isinstance(got, (tuple, list))
            and len(got) == len(expected)
            and all(_close(g, e, atol, rtol) for g, e in zip(got, expected))
        )
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            return False
        # equal_nan: a known mistake that produces nan must still be recognised (never true for the reference,
        # whose outputs are finite).
        return torch.allclose(got.detach().double(), expected.detach().double(), atol=atol, rtol=rtol, equal_nan=True)
    try:
        return abs(float(got) - float(expected)) <= atol + rtol * abs(float(expected))
    except (TypeError, ValueError):
        return got == expected


def _max_difference(got, expected) -> str:
    import torch

    if isinstance(expected, torch.Tensor) and isinstance(got, torch.Tensor) and got.shape == expected.shape:
        return f"largest difference {(got.detach().double() - expected.detach().double()).abs().max().item():.3g}"
    return f"got {got!r}, expected {expected!r}"


def check(
    learner_fn: Callable[..., Any],
    reference_fn: Callable[..., Any],
    make_inputs: Callable[[Any], Sequence],
    *,
    name: str | None = None,
    mistakes: Sequence[Mistake] = (),
    n_trials: int = 3,
    seed: int = 0,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """Compare ``learner_fn`` with ``reference_fn`` on ``n_trials`` random inputs.

    ``make_inputs(generator)`` returns the positional arguments for one trial. Returns True when
    every trial agrees, False when the learner has not attempted the exercise yet; raises
    ``ExerciseFailed`` with a hint otherwise.
    """
    import torch

    name = name or getattr(learner_fn, "__name__", "your function")
    generator = torch.Generator().manual_seed(seed)
    for trial in range(n_trials):
        inputs = tuple(make_inputs(generator))
        expected = reference_fn(*inputs)
        try:
            got = learner_fn(*inputs)
        except NotImplementedError:
            print(f"{name}: not attempted yet. Write your answer, or open the solution cell below.")
            return False
        except Exception as error:  # the learner's bug: report it with the inputs that caused it
            raise ExerciseFailed(
                f"{name} raised {type(error).__name__}: {error}\n  on inputs {_describe(inputs)}"
            ) from error
        if _close(got, expected, atol, rtol):
            continue
        if _shape(got) != _shape(expected):
            raise ExerciseFailed(
                f"{name} returned shape {_shape(got)}, expected {_shape(expected)} "
                f"(inputs {_describe(inputs)})"
            )
        for mistake in mistakes:
            if _close(got, mistake.fn(*inputs), atol, rtol):
                raise ExerciseFailed(f"{name} is not right yet. Probably: {mistake.hint}")
        raise ExerciseFailed(
            f"{name} disagrees with the reference on trial {trial + 1} "
            f"(inputs {_describe(inputs)}): {_max_difference(got, expected)}"
        )
    print(f"{name}: correct on {n_trials} random inputs.")
    return True
