"""Validation shared by the package: an error that names the field, the value, and what would do.

Each config calls these from ``__post_init__``, so a bad value fails where the config is built,
with a message such as ``CLTConfig.d_features must be a positive integer, got 0``. Every public call
that takes a name (an organism, an artifact, a state, a topic, a city) checks it with ``known_name``,
so a typo fails at once naming the closest names, rather than running on and answering nothing.
"""

from __future__ import annotations

import difflib
from typing import Iterable, Sequence

LISTED = 20  # name every valid name when there are at most this many


class UnknownNameError(KeyError, ValueError):
    """A name that is not one of the valid names. A ``KeyError`` (a failed lookup) and a ``ValueError`` (a bad
    argument), whose message reads as written (a bare ``KeyError`` shows its message quoted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def closest_names(name, known: Iterable, n: int = 3, cutoff: float = 0.5) -> list[str]:
    """Up to ``n`` of ``known`` that look most like ``name`` (difflib's ratio ≥ ``cutoff``), the closest first."""
    return difflib.get_close_matches(str(name), [str(k) for k in known], n=n, cutoff=cutoff)


def unknown_name(name, known: Iterable, what: str) -> str:
    """``"'fact' is not an organism; closest: facts; known: facts, couplets, …"``: the message for a bad ``name``."""
    known = [str(k) for k in known]
    close = closest_names(name, known)
    message = f"{name!r} is not {what}" + (f"; closest: {', '.join(close)}" if close else "")
    if len(known) <= LISTED:
        return f"{message}; known: {', '.join(known) or 'none'}"
    return f"{message}; {len(known)} known, e.g. {', '.join(known[:5])}, …"


def known_name(name, known: Iterable, what: str):
    """``name`` itself when it is one of ``known``; otherwise ``UnknownNameError`` naming the closest names."""
    known = known if isinstance(known, (dict, set, frozenset)) else list(known)
    if name in known:
        return name
    raise UnknownNameError(unknown_name(name, known, what))


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
