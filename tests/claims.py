"""What a notebook's prose claims, and the check of each claim against the notebook's own run.

A number in a markdown cell is a promise the run must keep. Each notebook's test module lists its
claims; ``problems`` then fails the suite for a claim that does not hold in the run, for a claimed
sentence the prose no longer contains, and for any number or quantity word in the prose that no claim
covers. The kinds of claim:

- ``Claim(text, expression)``: every number in ``text`` equals, to the precision written, what
  ``expression`` evaluates to in the kernel (a number, or one per number in ``text``, in order);
- ``Rule(text, expression)``: a qualitative claim ("most pairs", "only at the newline", "below 0.01")
  holds: ``expression``, evaluated in the kernel, is true; the rule is the expression, so a word such as
  "most" is written down as what it means (``rate > 0.5``);
- ``Cited(text, source)``: a number from a paper or another project, not from this run (the paper's
  figure beside ours), with where it comes from;
- ``Wording(text, why)``: a quantity word or number that states no measurement: a definition ("the most
  likely tokens"), a name ("line 1" of a couplet), what a method does ("only direct effects").

``text`` is a verbatim piece of one markdown cell (whitespace may differ); a number or word is covered
when it lies inside the text of a claim.

What counts as a number follows the course's count: inline code, LaTeX, links' targets, URLs, HTML
tags, headings, ordered-list markers, "notebook NN" references and years are not numbers in prose.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Words that state how much or how often. "every" and "all" are left to the modules' judgement: in this
# course they mostly say what a method covers ("every edge is checked"), which the code itself decides.
QUANTITY_WORDS = ("most", "mostly", "majority", "minority", "never", "always", "nearly", "almost", "rarely",
                  "seldom", "usually", "none", "only", "half")
NUMBER = re.compile(r"(?<![\w.])[-−+]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-−]?\d+)?(?![\w.]\d|\w)")
WORD = re.compile(r"\b(" + "|".join(QUANTITY_WORDS) + r")\b", re.IGNORECASE)
_REMOVED = [  # (pattern, flags): what the count leaves out, replaced by spaces so positions stay
    (r"```.*?```", re.S), (r"`[^`\n]*`", 0), (r"\$\$.*?\$\$", re.S), (r"\$[^$\n]*\$", 0),
    (r"\]\([^)\s]*\)", 0), (r"https?://\S+", 0), (r"<[^>\n]+>", 0),
    (r"^[ \t]*#.*$", re.M), (r"^[ \t]*\d+\.(?=\s)", re.M),
    (r"\b[Nn]otebooks? \d\d[a-z]?(?:(?:,| and| or|–|-) ?\d\d[a-z]?)*", 0),
    (r"\b\d\d[a-z]?_\w+\.ipynb\b", 0), (r"\b(?:19|20)\d\d\b", 0),
]


def prose(text: str) -> str:
    """``text`` with what is not prose blanked out (same length, so positions match the original)."""
    for pattern, flags in _REMOVED:
        text = re.sub(pattern, lambda m: re.sub(r"\S", " ", m.group()), text, flags=flags)
    return text


def numbers(text: str) -> list[str]:
    """The numbers a reader meets in a markdown cell's prose, as written."""
    return NUMBER.findall(prose(text))


def is_decimal(number: str) -> bool:
    """Decimals, percentages and thousands: the numbers that report a measurement."""
    return "." in number or bool(re.search(r"\d,\d{3}", number))


def to_float(number: str) -> float:
    return float(number.replace(",", "").replace("−", "-"))


def decimals(number: str) -> int:
    mantissa = number.split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Claim:
    text: str
    expression: str


@dataclass(frozen=True)
class Rule:
    text: str
    expression: str


@dataclass(frozen=True)
class Cited:
    text: str
    source: str


@dataclass(frozen=True)
class Wording:
    text: str
    why: str


def markdown_cells(nb) -> list[str]:
    return ["".join(cell.source) if isinstance(cell.source, list) else cell.source
            for cell in nb.cells if cell.cell_type == "markdown"]


def number_matches(number: str, value) -> bool:
    """Whether ``number`` (as written, e.g. "0.88", "2,450", "1e-5") is ``value`` rounded as written."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    written = to_float(number)
    if "e" in number:
        return math.isclose(value, written, rel_tol=0.05)
    return abs(value - written) <= 0.5 * 10 ** -decimals(number) + 1e-9


def check(claim, value) -> str | None:
    """What is wrong with ``claim`` given its expression's ``value`` in the run, or None."""
    if isinstance(claim, Rule):
        return None if value is True else f"rule does not hold ({claim.expression} is {value!r}): {claim.text!r}"
    written = numbers(claim.text)
    values = value if isinstance(value, list) else [value]
    if len(values) != len(written):
        return f"{claim.text!r} writes {len(written)} numbers {written}; {claim.expression} gives {len(values)}: {values}"
    wrong = [f"{n} (the run: {v!r})" for n, v in zip(written, values) if not number_matches(n, v)]
    return f"{claim.text!r} does not match the run: " + ", ".join(wrong) if wrong else None


def _pattern(text: str) -> re.Pattern:
    """``text`` as a pattern in which any run of whitespace matches any other."""
    return re.compile(r"\s+".join(re.escape(word) for word in text.split()))


def uncovered(cells: list[str], claims) -> list[str]:
    """Numbers and quantity words in the prose that no claim's text covers, with their context."""
    patterns = [_pattern(claim.text) for claim in claims]
    missing = []
    for cell in cells:
        spans = [(m.start(), m.end()) for p in patterns for m in p.finditer(cell)]
        blank = prose(cell)
        for found in list(NUMBER.finditer(blank)) + list(WORD.finditer(blank)):
            if not any(start <= found.start() and found.end() <= end for start, end in spans):
                context = _squash(cell[max(0, found.start() - 60): found.end() + 60])
                missing.append(f"{found.group()!r} in …{context}…")
    return missing


def absent(cells: list[str], claims) -> list[str]:
    """Claims whose text no markdown cell contains (the prose changed; the claim must follow)."""
    return [claim.text for claim in claims if not any(_pattern(claim.text).search(cell) for cell in cells)]


def problems(run, claims) -> list[str]:
    """Every way the notebook's prose and its run disagree (empty when every claim holds and is covered)."""
    cells = markdown_cells(run.nb)
    found = [f"claimed text not in the notebook: {text!r}" for text in absent(cells, claims)]
    found += [f"no claim covers {where}" for where in uncovered(cells, claims)]
    for claim in claims:
        if isinstance(claim, (Claim, Rule)):
            try:
                value = run.value(claim.expression)
            except ValueError as error:
                plain = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().splitlines()
                found.append(f"{claim.expression!r} cannot be evaluated in the run: {plain[-1]}")
                continue
            if (problem := check(claim, value)) is not None:
                found.append(problem)
    return found
