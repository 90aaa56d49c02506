"""The steering bench over every concept of a world, as AxBench averages over its concepts.

One concept (facts → California) ranks the methods once; another state can rank them differently
(issue 25: on Ohio the probe beats the difference of means and the best-labelled SAE latent does not
steer). ``bench_concepts`` runs the whole bench (``standard_methods``, each factor chosen on
``choose`` and reported on ``report``) for every concept given, and the functions below summarise
the table per method: mean overall score with its spread over concepts, and how often each method
ranks first.

An entry of the table is plain data, one per concept: ``{"choices": …, "rows": …}`` with the rows of
``bench.table`` (best first) and what the methods were built from (``Choices``). The full table of
both worlds ships as ``records/concepts.json`` (``CONCEPT_RECORD``; ``python -m workbench.artifacts
steering-concepts`` writes it), since it takes CPU-minutes; notebook 07 runs a few concepts live and
reads the rest.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Callable

from workbench.steering.bench import RECORD_DIR, Choices, standard_methods, sweep, table

CONCEPT_RECORD = RECORD_DIR / "concepts.json"
BY_EFFECT = {"SAE latent added": "SAE latent (by effect) added", "SAE latent clamped": "SAE latent (by effect) clamped"}


def concept_entry(choices: Choices, rows: list[dict]) -> dict:
    """One concept's entry: what the methods were built from and the AxBench-form rows (``bench.table``)."""
    return {"choices": {"hook": choices.hook, "unit": choices.unit,
                        "sae_by_label": list(choices.sae_by_label) if choices.sae_by_label else None,
                        "sae_by_effect": list(choices.sae_by_effect) if choices.sae_by_effect else None,
                        "clt_features": [list(f) for f in choices.clt_features] if choices.clt_features else None},
            "rows": rows}


def bench_concept(model, task, sae=None, clt=None, **method_options) -> dict:
    """``task``'s bench: every method of ``standard_methods`` swept, factor chosen on ``choose``, reported on ``report``."""
    methods, choices = standard_methods(model, task, sae=sae, clt=clt, **method_options)
    return concept_entry(choices, table([sweep(task, method) for method in methods]))


def bench_concepts(model, world, make_task: Callable, concepts: list[str], sae=None, clt=None, log=None,
                   **method_options) -> dict[str, dict]:
    """{concept: ``bench_concept``} for each of ``concepts``, the task of each made by ``make_task(world, concept)``
    (``facts_task``, ``couplets_task``). ``log``: a file to write one line per concept to as it finishes."""
    entries = {}
    for concept in concepts:
        start = time.perf_counter()
        entries[concept] = bench_concept(model, make_task(world, concept), sae=sae, clt=clt, **method_options)
        if log is not None:
            best = entries[concept]["rows"][0]
            print(f"{concept}: {time.perf_counter() - start:.1f} s; first {best['method']} {best['overall']:.3f}",
                  file=log, flush=True)
    return entries


def read_concept_record(path=CONCEPT_RECORD) -> dict:
    """The shipped table: {task: {"organism", "sae", "clt", "command", "concepts": {concept: entry}}}."""
    return json.loads(Path(path).read_text())


# ---- the table summarised per method ---------------------------------------------------------------


def overall_by_method(entry: dict) -> dict[str, float]:
    """{method: overall score on ``report``} of one concept. Where the latent chosen by effect is the one chosen
    by label the bench runs it once; its "(by effect)" methods then get the same scores, so that every concept
    has every method."""
    scores = {row["method"]: row["overall"] for row in entry["rows"]}
    for by_label, by_effect in BY_EFFECT.items():
        if by_label in scores and by_effect not in scores:
            scores[by_effect] = scores[by_label]
    return scores


def same_latent(entry: dict) -> bool:
    """Whether the SAE latent chosen by output effect is the one chosen by label (False without an SAE)."""
    choices = entry["choices"]
    return choices["sae_by_label"] is not None and choices["sae_by_label"][0] == choices["sae_by_effect"][0]


def method_scores(entries: dict[str, dict]) -> dict[str, dict[str, float]]:
    """{method: {concept: overall}} over every concept of the table (methods in the order of the first entry)."""
    per_concept = {concept: overall_by_method(entry) for concept, entry in entries.items()}
    methods = list(dict.fromkeys(m for scores in per_concept.values() for m in scores))
    return {m: {c: scores[m] for c, scores in per_concept.items() if m in scores} for m in methods}


def first_places(entries: dict[str, dict]) -> dict[str, dict[str, int]]:
    """{method: {"first": concepts where no method of the concept's own table scores higher (ties included),
    "alone": where it beats every other method}}. Each concept's own rows are ranked, as its table ranks them:
    where one SAE latent is chosen both by label and by effect it is one method there, under its by-label names."""
    counts = {m: {"first": 0, "alone": 0} for m in method_scores(entries)}
    for entry in entries.values():
        top = max(row["overall"] for row in entry["rows"])
        leaders = [row["method"] for row in entry["rows"] if row["overall"] == top]
        for m in leaders:
            counts[m]["first"] += 1
            counts[m]["alone"] += len(leaders) == 1
    return counts


def method_summary(entries: dict[str, dict]) -> list[dict]:
    """Per method: mean, std (population), min and max of its overall score over concepts, and its first places
    (``first_places``); the best mean first."""
    firsts = first_places(entries)
    rows = []
    for method, by_concept in method_scores(entries).items():
        values = list(by_concept.values())
        rows.append({"method": method, "n": len(values), "mean": statistics.fmean(values),
                     "std": statistics.pstdev(values), "min": min(values), "max": max(values), **firsts[method]})
    return sorted(rows, key=lambda row: -row["mean"])


def share_of_concepts(entries: dict[str, dict], holds: Callable[[dict[str, float]], bool]) -> float:
    """The share of concepts whose scores by method (``overall_by_method``) satisfy ``holds``."""
    return sum(bool(holds(overall_by_method(entry))) for entry in entries.values()) / len(entries)
