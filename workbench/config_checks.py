"""Validation shared by the package's config dataclasses: an error that names the field and the value.

Each config calls these from ``__post_init__``, so a bad value fails where the config is built,
with a message such as ``CLTConfig.d_features must be a positive integer, got 0``.
"""

from __future__ import annotations

from typing import Sequence


def positive_ints(config, names: Sequence[str]) -> None:
    """Every field in ``names`` is an int (not a bool) ≥ 1."""
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{type(config).__name__}.{name} must be a positive integer, got {value!r}")


def positive_numbers(config, names: Sequence[str]) -> None:
    """Every field in ``names`` is > 0."""
    for name in names:
        value = getattr(config, name)
        if not value > 0:
            raise ValueError(f"{type(config).__name__}.{name} must be positive, got {value!r}")


def non_negative_numbers(config, names: Sequence[str]) -> None:
    """Every field in ``names`` is ≥ 0."""
    for name in names:
        value = getattr(config, name)
        if not value >= 0:
            raise ValueError(f"{type(config).__name__}.{name} must be ≥ 0, got {value!r}")
