"""The case studies' headline numbers as one flat row, and the findings a notebook states, tested on a row.

Notebooks 05 and 06 measure their organisms once, on the shipped checkpoints. Are their findings the
organism's, or one training run's luck? ``multihop_row`` and ``planning_row`` compute the numbers each
notebook's prose rests on, with the very functions the notebook calls, for any organism, world and
transcoder: ``python -m workbench.artifacts case-seeds NAME`` runs them on the organism and its
transcoder retrained with each seed and ships the rows (``artifacts.case_seed_table``). A ``Finding`` is
one sentence of a notebook written down as a test on such a row; ``findings_over_seeds`` says for which
seeds each holds.

A row is {name: number}; fractions are shares of cases, counts are counts of features; None where a number is
undefined for that organism (a group its graph did not keep: an organism trained a few steps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from workbench.case_studies import multihop, planning

# ---- notebook 05: two-hop recall (facts) ---------------------------------------------------------

FROZEN = tuple(multihop.FROZEN_LABELS.values())  # "attention", "nothing"
FACTORS = (-2.0, 0.0)  # reversed, removed (``intervention_rates``' default)


def multihop_row(model, world, clt, city: str) -> dict[str, float]:
    """Notebook 05's headline numbers: the supernodes of ``city``'s graph and what they mean, the interventions
    over every held-out city and as many trained ones, the state swap over every pair with its controls, and the
    share of the city's influence through the state group."""
    fire_rate = (multihop.answer_features(model, world, clt, world.cities) > 0).float().mean(0)
    example = multihop.find_supernodes(model, world, clt, city, fire_rate)
    row = {f"example: {group} members": float(len(example.groups.get(group, []))) for group in multihop.GROUPS}
    row["example: p(capital)"] = float(example.graph.logit_probabilities[0])
    row["example: capital on top"] = float(example.graph.logit_probabilities.argmax() == 0)
    row.update(_group_meanings(model, world, clt, example))
    row.update({f"example link: {link}": value for link, value in multihop.link_strengths(example).items()})

    heldout, trained = world.heldout_cities, multihop.trained_cities(world)
    supernodes = {c: multihop.find_supernodes(model, world, clt, c, fire_rate) for c in heldout + trained}
    for name, cities in (("held-out", heldout), ("trained", trained)):
        rates = multihop.intervention_rates(model, world, clt, cities, supernodes)
        for group in multihop.GROUPS:  # a group no city's graph kept (an untrained organism) has no rate: None
            for factor in FACTORS:
                for frozen in FROZEN:
                    rate = rates.get((group, factor, frozen))
                    key = f"{name}: {group} ×{factor:+.0f}, {frozen} frozen: capital on top"
                    row[key] = None if rate is None else rate["capital"]
        asks = [r["state"] for (group, _, _), r in rates.items() if group == "asks for a capital"]
        row[f"{name}: asks for a capital scaled: state on top (most)"] = max(asks, default=None)

    swap = multihop.swap_rates(model, world, clt, heldout, supernodes)
    by_target, by_source = torch.nanmean(swap["success"], 0), torch.nanmean(swap["success"], 1)
    sizes = swap["group_sizes"].float()
    row.update({
        "swap: supernode": swap["success_rate"], "swap: random-feature control": swap["control_rate"],
        "swap: control keeps the source's capital": swap["control_kept"],
        "swap: residual mean difference": world.state_swap_success(model, heldout),
        "swap: hardest target state": float(by_target.min()), "swap: hardest source state": float(by_source.min()),
        "swap: state group size, mean": float(sizes.mean()),
        "swap: state group size, min": float(sizes.min()), "swap: state group size, max": float(sizes.max()),
        "swap: success vs group size, correlation": _number(torch.corrcoef(torch.stack([by_source, sizes]))[0, 1]),
    })
    shares = multihop.shortcut_shares(world, supernodes)
    row["through the state group: held-out median"] = float(torch.tensor([shares[c] for c in heldout]).median())
    row["through the state group: trained median"] = float(torch.tensor([shares[c] for c in trained]).median())
    return row


def _number(value) -> float | None:
    """A float, or None where it is undefined (NaN: a correlation with a constant, a mean over no city)."""
    value = float(value)
    return None if value != value else value


def _group_meanings(model, world, clt, example) -> dict[str, float]:
    """Precision and recall of each feature group of the example against the variable it is named for, and a
    broader one (notebook 05's section 1)."""
    from workbench.transcoders.features import feature_corpus

    corpus = feature_corpus(model, clt, world)
    state = world.state_of[example.city]
    meanings = {"asks for a capital": ["asks for a capital", "asks for a state"],
                "state in play": [f"state in play: {state}"],
                "say the capital": [f"answer is capital: {state}", "asks for a capital"]}
    row = {}
    for group, variables in meanings.items():
        members = example.features(group) if group in example.groups else []
        for variable, reading in zip(variables, ("", ", broader")):  # a group the graph did not keep: None
            truth = multihop.group_truth(corpus, world, members, variable) if members else {}
            row[f"example: {group}{reading}: precision"] = truth.get("precision")
            row[f"example: {group}{reading}: recall"] = truth.get("recall")
            if not reading:
                row[f"example: {group}: best member's precision"] = truth.get("best_member_precision")
    return row


# ---- notebook 06: planning in rhyming couplets -----------------------------------------------------

SUPPRESSION_KINDS = tuple(kind for kind in planning.ENDING_KINDS if kind != "injected word")


def planning_row(model, world, clt) -> dict[str, float]:
    """Notebook 06's headline numbers for one couplets organism: the labelled features at ``<nl>``, suppression's
    breakdown, the injection over every held-out line × every other word split by B's rhyme class, the injection
    position by position, ``<nl>`` patched from another rhyme class and topic (the residual; the transcoder's
    features, all, labelled, unlabelled), and the residual direction within and across rhyme classes."""
    labels = planning.label_newline_features(model, world, clt)
    row = {f"labelled: {kind}": float(n) for kind, n in labels.counts().items()}
    row["planned words with a feature"] = len(labels.planned_words()) / len(world.nouns)
    row["held-out lines with planned-word features"] = planning.planned_word_share(model, world, clt, labels)

    suppressed = planning.suppress(model, world, clt, labels)
    row.update({f"suppression: {kind}": suppressed.rate(kind) for kind in SUPPRESSION_KINDS})

    injected = planning.inject(model, world, clt, labels)
    row["injection: ends with the injected word"] = injected.rate("injected word")
    for side, (hits, n) in planning.rhyme_class_split(world, injected).items():
        row[f"injection, word of {side}"] = hits / n
    row["injection: line 2 opens as the injected word's"] = planning.first_word_follows(world, injected)

    profile = planning.injection_by_position(model, world, clt, labels)
    row.update({f"injection at position {p}": rate for p, rate in profile.items()})
    row["injection elsewhere than <nl>, best position"] = max(
        rate for p, rate in profile.items() if p != planning.NEWLINE_POSITION)

    row["<nl> patched: another class and topic"] = world.cross_patch_success(model)
    row["<nl> features patched: every one"] = planning.feature_patch(model, world, clt)
    row["<nl> features patched: labelled only"] = planning.feature_patch(model, world, clt, labels)
    row["<nl> features patched: unlabelled only"] = planning.feature_patch(model, world, clt, labels, labelled=False)
    row.update({f"direction, word of {side}": rate for side, rate in planning.direction_split(model, world).items()})
    return row


# ---- findings: a notebook's sentences, tested on a row ----------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One sentence of a notebook (``text``) and what it means on a row of headline numbers (``holds``)."""

    text: str
    holds: Callable[[dict], bool]


def findings_over_seeds(findings: list[Finding], table: dict[int, dict]) -> dict[str, list[int]]:
    """{finding's text: the seeds of ``table`` ({seed: row}) for which it holds}."""
    return {finding.text: [seed for seed, row in sorted(table.items()) if finding.holds(row)] for finding in findings}


def _rate(name: str, group: str, factor: str) -> list[str]:
    return [f"{name}: {group} ×{factor}, {frozen} frozen: capital on top" for frozen in FROZEN]


def _removed(name: str, group: str) -> list[str]:
    return _rate(name, group, "+0")


MULTIHOP_FINDINGS = [
    Finding("the example's capital is on top, with most of the probability",
            lambda r: r["example: capital on top"] == 1 and r["example: p(capital)"] > 0.5),
    Finding("its state group is the state only together (precision 1, no member above 0.1)",
            lambda r: r["example: state in play: precision"] == 1
            and r["example: state in play: best member's precision"] < 0.1),
    Finding("reversed, the state group takes the capital off the top on every held-out city",
            lambda r: all(r[k] == 0 for k in _rate("held-out", "state in play", "-2"))),
    Finding("removed, it leaves the capital on top for a minority of held-out cities",
            lambda r: all(r[k] < 0.5 for k in _removed("held-out", "state in play"))),
    Finding("removing 'say the capital' never takes the capital off the top",
            lambda r: all(r[k] == 1 for name in ("held-out", "trained") for k in _removed(name, "say the capital"))),
    Finding("scaling 'asks for a capital' never makes the organism say the state",
            lambda r: all(r[f"{name}: asks for a capital scaled: state on top (most)"] == 0
                          for name in ("held-out", "trained"))),
    Finding("state group removed, trained cities keep the capital more often than held-out",
            lambda r: all(r[t] > r[h] for t, h in zip(_removed("trained", "state in play"),
                                                        _removed("held-out", "state in play")))),
    Finding("the supernode swap moves the answer for most pairs", lambda r: r["swap: supernode"] > 0.5),
    Finding("the random-feature control never does", lambda r: r["swap: random-feature control"] == 0),
    Finding("the residual swap succeeds on every pair", lambda r: r["swap: residual mean difference"] == 1),
    Finding("the pruned groups carry most, not all, of what the swap needs",
            lambda r: 0.5 < r["swap: supernode"] < r["swap: residual mean difference"]),
    Finding("swap success does not follow the group's size (|correlation| < 0.2)",
            lambda r: abs(r["swap: success vs group size, correlation"]) < 0.2),
    Finding("most of the city's influence goes through the state group (both medians)",
            lambda r: r["through the state group: held-out median"] > 0.5
            and r["through the state group: trained median"] > 0.5),
]

CROSS, SAME, OTHER = ("<nl> patched: another class and topic", "injection, word of B's rhyme class",
                      "injection, word of another rhyme class")


def planning_findings(name: str) -> list[Finding]:
    """What notebook 06 says of couplets organism ``name``, as findings on its rows."""
    no_plan_features = Finding("no planned-word or rhyme-class features at <nl>",
                               lambda r: r["labelled: planned word"] == r["labelled: rhyme class of A"] == 0)
    findings = {
        "couplets": [
            Finding("planned-word features for about half its words (within 0.1 of one half)",
                    lambda r: abs(r["planned words with a feature"] - 0.5) <= 0.1),
            Finding("suppression removes B from a minority of lines",
                    lambda r: 0 < 1 - r["suppression: the plan B"] < 0.5),
            Finding("most of what replaces B is another rhyme of A",
                    lambda r: r["suppression: another rhyme of A"] > 0.5 * (1 - r["suppression: the plan B"])),
            Finding("injection succeeds about as often as in the paper (70 % ± 5)",
                    lambda r: abs(r["injection: ends with the injected word"] - 0.70) < 0.05),
            Finding("injection works within B's rhyme class and across (most lines each)",
                    lambda r: r[SAME] > 0.5 and r[OTHER] > 0.5),
            Finding("injection works only at <nl>",
                    lambda r: r["injection elsewhere than <nl>, best position"] == 0
                    and r[f"injection at position {planning.NEWLINE_POSITION}"] > 0.5),
            Finding("line 2 then opens with the injected word's adjective",
                    lambda r: r["injection: line 2 opens as the injected word's"] == 1),
        ],
        "couplets_lookback": [
            no_plan_features,
            Finding("injecting a word of B's rhyme class ends most lines with it", lambda r: r[SAME] > 0.5),
            Finding("a word of another rhyme class, never", lambda r: r[OTHER] == 0),
            Finding("<nl> patched from another class and topic never moves B", lambda r: r[CROSS] == 0),
            Finding("the direction never moves B across rhyme classes",
                    lambda r: r["direction, word of another rhyme class"] == 0),
        ],
        "couplets_bottleneck": [
            Finding("<nl> patched from another class and topic moves B (≥ 0.95)", lambda r: r[CROSS] >= 0.95),
            Finding("labelled injection: a minority within B's class, under 5 % across",
                    lambda r: r[SAME] < 0.5 and r[OTHER] < 0.05),
            Finding("the residual direction moves B within and across classes (> 0.9)",
                    lambda r: min(r["direction, word of B's rhyme class"],
                                  r["direction, word of another rhyme class"]) > 0.9),
            Finding("every <nl> feature clamped to the donor's moves B on most lines",
                    lambda r: r["<nl> features patched: every one"] > 0.5),
            Finding("the labelled features alone move it on none",
                    lambda r: r["<nl> features patched: labelled only"] == 0),
            Finding("the unlabelled ones alone on fewer than half",
                    lambda r: 0 < r["<nl> features patched: unlabelled only"] < 0.5),
        ],
        "couplets_control": [
            no_plan_features,
            Finding("suppression and injection do nothing",
                    lambda r: r["suppression: the plan B"] == 1 and r["injection: ends with the injected word"] == 0),
        ],
    }
    return findings[name]


def spread_text(table: dict[int, dict], metrics: dict[str, str]) -> str:
    """One line per metric (``metrics``: label → key of a row): its value for each seed (seed 0 first), min – max."""
    width = max(len(label) for label in metrics)
    seeds = sorted(table)
    lines = [f"{'':{width}s} " + "".join(f"{f'seed {s}':>8s}" for s in seeds) + f"{'min – max':>16s}"]
    for label, metric in metrics.items():
        values = [table[s][metric] for s in seeds]
        known = [v for v in values if v is not None]
        count = _is_count(known)
        cells = "".join(f"{'–':>8s}" if v is None else f"{v:8.0f}" if count else f"{v:8.2f}" for v in values)
        spread = f"{min(known):.0f} – {max(known):.0f}" if count else f"{min(known):.2f} – {max(known):.2f}"
        lines.append(f"{label:{width}s} {cells}{spread:>16s}")
    return "\n".join(lines)


def findings_text(held: dict[str, list[int]], seeds: list[int]) -> str:
    """``findings_over_seeds``' answer, one line per finding: for which seeds it holds ("all 5", "seeds 0 1 3", "none")."""
    def which(holding):
        return f"all {len(seeds)}" if holding == seeds else "none" if not holding else "seeds " + " ".join(map(str, holding))
    return "\n".join(f"{which(holding):>11s}  {finding}" for finding, holding in held.items())


def _is_count(values) -> bool:
    return all(float(v).is_integer() for v in values) and max(values) > 1


# ---- which case study an organism's world has ---------------------------------------------------------


def case_study(world) -> str:
    """"multihop" (notebook 05) for a facts world, "planning" (notebook 06) for a couplets world."""
    from workbench.organisms.couplets import CoupletsWorld
    from workbench.organisms.facts import FactsWorld

    if isinstance(world, FactsWorld):
        return "multihop"
    if isinstance(world, CoupletsWorld):
        return "planning"
    raise ValueError(f"no case study is written for the {world.name} world")


def headline_row(model, world, clt, example: str | None = None) -> dict[str, float]:
    """The headline numbers of ``world``'s case study (``multihop_row`` on the ``example`` city, or ``planning_row``)."""
    if case_study(world) == "multihop":
        if example is None:
            raise ValueError("the two-hop case study takes apart one example city: give example=")
        return multihop_row(model, world, clt, example)
    return planning_row(model, world, clt)
