"""The steering bench over every concept: the shipped table (``steering.CONCEPT_RECORD``), the command that writes
it, and the per-method summary on hand-made entries (ties, a latent chosen both ways).

Notebook 07 reads the table and runs two of its concepts live; ``tests/notebooks/test_07_steering.py`` checks that
its live rows equal the shipped ones and reads what the notebook concludes from the table.
"""

from __future__ import annotations

import json

import pytest

from workbench import artifacts, organisms, steering
from workbench.artifacts import cli
from workbench.artifacts.steering_concepts import COMMAND


@pytest.fixture(scope="module")
def record():
    return steering.read_concept_record()


def test_the_table_covers_every_state_and_every_topic(record):
    assert list(record["tasks"]) == list(artifacts.BENCHES) == ["facts", "couplets"]
    for task, bench in artifacts.BENCHES.items():
        shipped = record["tasks"][task]
        world = organisms.get_world(bench.organism)
        assert list(shipped["concepts"]) == bench.concepts(world)
        assert (shipped["organism"], shipped["sae"], shipped["clt"]) == (bench.organism, bench.sae, bench.clt)
        for concept, entry in shipped["concepts"].items():
            methods = [row["method"] for row in entry["rows"]]
            expected = {"difference of means", "probe", "transcoder features clamped", "fine-tuning"}
            if bench.sae:
                expected |= {"SAE latent added", "SAE latent clamped"}
                if not steering.same_latent(entry):
                    expected |= set(steering.concepts.BY_EFFECT.values())
            assert set(methods) == expected, concept
            overall = [row["overall"] for row in entry["rows"]]
            assert overall == sorted(overall, reverse=True), concept  # best first, as bench.table orders them
            for row in entry["rows"]:  # counts out of the 96 report prompts
                assert row["overall"] * 96 == pytest.approx(round(row["overall"] * 96)), (concept, row["method"])
    listed = next(line for line in artifacts.listing().splitlines() if line.startswith("steering_concepts "))
    assert "record" in listed and listed.endswith(COMMAND)  # listed beside the artifacts, with its command


def test_the_command_reproduces_a_concept_of_the_shipped_table(record, tmp_path):
    """The same numbers again: the bench is deterministic on the CPU (notebook 07 reruns California and food; here
    a topic it does not run, through the command's own ``main``)."""
    out = tmp_path / "one.json"
    assert cli.main(["steering-concepts", "--task", "couplets", "--concepts", "objects", "--out", str(out)]) == 0
    written = json.loads(out.read_text())["tasks"]["couplets"]["concepts"]
    assert list(written) == ["objects"]
    assert written["objects"] == record["tasks"]["couplets"]["concepts"]["objects"]


def test_a_partial_table_needs_its_own_file(capsys):
    with pytest.raises(SystemExit):
        cli.main(["steering-concepts", "--concepts", "Ohio"])
    assert "--out" in capsys.readouterr().err


def entry(scores: dict[str, float], by_label=None, by_effect=None) -> dict:
    rows = [{"method": m, "overall": s} for m, s in sorted(scores.items(), key=lambda kv: -kv[1])]
    return {"choices": {"sae_by_label": by_label, "sae_by_effect": by_effect}, "rows": rows}


def test_first_places_count_ties_and_the_summary_spreads():
    entries = {
        "a": entry({"difference of means": 0.9, "probe": 0.9, "fine-tuning": 0.1}),
        "b": entry({"difference of means": 0.5, "probe": 0.7, "fine-tuning": 0.3}),
        "c": entry({"difference of means": 0.8, "probe": 0.2, "fine-tuning": 0.2}),
    }
    assert steering.first_places(entries) == {"difference of means": {"first": 2, "alone": 1},
                                              "probe": {"first": 2, "alone": 1},
                                              "fine-tuning": {"first": 0, "alone": 0}}
    summary = {row["method"]: row for row in steering.method_summary(entries)}
    assert list(summary) == ["difference of means", "probe", "fine-tuning"]  # best mean first
    assert summary["difference of means"]["mean"] == pytest.approx(2.2 / 3)
    assert summary["probe"]["std"] == pytest.approx(((0.9 - 0.6) ** 2 + (0.7 - 0.6) ** 2 + (0.2 - 0.6) ** 2) ** 0.5
                                                    / 3 ** 0.5)
    assert (summary["fine-tuning"]["min"], summary["fine-tuning"]["max"], summary["fine-tuning"]["n"]) == (0.1, 0.3, 3)
    assert steering.share_of_concepts(entries, lambda s: s["difference of means"] > s["probe"]) == pytest.approx(1 / 3)


def test_a_latent_chosen_both_ways_gives_its_scores_to_both_methods():
    one = entry({"SAE latent added": 0.6, "SAE latent clamped": 0.5}, by_label=[7, 0.9], by_effect=[7, 0.4])
    two = entry({"SAE latent added": 0.1, "SAE latent clamped": 0.1, "SAE latent (by effect) added": 0.7,
                 "SAE latent (by effect) clamped": 0.6}, by_label=[7, 0.9], by_effect=[3, 0.5])
    assert steering.same_latent(one) and not steering.same_latent(two)
    assert steering.overall_by_method(one) == {"SAE latent added": 0.6, "SAE latent clamped": 0.5,
                                               "SAE latent (by effect) added": 0.6,
                                               "SAE latent (by effect) clamped": 0.5}
    firsts = steering.first_places({"one": one, "two": two})  # each concept's own rows are ranked
    assert firsts["SAE latent added"] == {"first": 1, "alone": 1}  # on "one": the latent chosen both ways
    assert firsts["SAE latent (by effect) added"] == {"first": 1, "alone": 1}  # on "two" only
