"""Teaching truth across seeds: the shipped seed tables, checked against the checkpoints; the seed command on
short runs and small tables; and what the README's *Seeds* paragraph says about the recipe trials (tables that no
notebook loads); and the seed-1 transcoder's record, checked for where it comes from
(what notebook 03 says about it is read from notebook 03's run).

The spread of the shipped seed tables that notebook 00b shows (and the README quotes) is asserted on 00b's own
run, ``tests/notebooks/test_00b_meet_the_organisms.py``.
"""

from __future__ import annotations

import pytest

from workbench import artifacts, organisms


# Seeds shipped so far (issue 17: five for every organism; the rest are left to a later session).
SHIPPED_SEEDS = {"facts": 5, "facts_heldout_states": 5, "couplets": 5, "couplets_control": 5, "couplets_lookback": 5,
                 "couplets_bottleneck": 5}


@pytest.mark.parametrize("name", organisms.names())
def test_seed_table_ships_its_seeds_with_every_metric(name):
    table = artifacts.seed_table(name)
    assert sorted(table) == list(range(SHIPPED_SEEDS[name]))
    shipped_metrics = set(organisms.checkpoint_metadata(name)["metrics"])
    for seed, row in table.items():
        retrained = not row.get("from_checkpoint", False)
        assert retrained or seed == 0, "only seed 0 may be read from the shipped checkpoint"
        assert set(row) >= shipped_metrics | {"train_seconds"} | ({"cpu_seconds"} if retrained else set()), seed
        assert all(0.0 <= row[m] <= 1.0 for m in shipped_metrics), seed
        assert row["train_seconds"] > 0 and (not retrained or row["cpu_seconds"] > 0)


@pytest.mark.parametrize("name", organisms.names())
def test_seed_zero_row_is_the_shipped_checkpoint(name):
    """Seed 0 is the recipe unchanged: its row equals the metrics recorded with the shipped checkpoint."""
    row = artifacts.seed_table(name)[0]
    shipped = organisms.checkpoint_metadata(name)["metrics"]
    assert {metric: row[metric] for metric in shipped} == shipped
    assert artifacts.seed_configs(name, 0) == (organisms.get_world(name).model_config, organisms.get_world(name).train_config)


def test_seed_zero_was_retrained_at_least_once():
    """Measured, not copied: where seed 0 was retrained, the row also records whether the weights are the
    shipped ones bit for bit, and how far apart they are."""
    retrained = [name for name in organisms.names() if not artifacts.seed_table(name)[0].get("from_checkpoint")]
    assert retrained
    for name in retrained:
        row = artifacts.seed_table(name)[0]
        assert isinstance(row["matches_shipped"], bool)
    # The README: the planning demo's seed 0, retrained, has the shipped metrics, not its bits.
    assert "couplets" in retrained and artifacts.seed_table("couplets")[0]["matches_shipped"] is False


def test_a_seed_sets_both_the_initialisation_and_the_data_order():
    model_config, train_config = artifacts.seed_configs("facts", 3, steps=7)
    assert (model_config.seed, train_config.seed, train_config.steps) == (3, 3, 7)


def test_short_seed_runs_differ_across_seeds_and_repeat_within_one():
    seed_one = artifacts.train_seed("facts", 1, steps=3)
    assert artifacts.same_weights(seed_one, artifacts.train_seed("facts", 1, steps=3))
    assert not artifacts.same_weights(seed_one, artifacts.train_seed("facts", 0, steps=3))


def test_a_sweep_with_overrides_is_not_written_over_the_table():
    with pytest.raises(ValueError, match="experiment"):
        artifacts.seed_sweep("facts", [1], steps=3)


def test_spread_and_verdict_on_a_small_table():
    table = {0: {"a": 1.0, "b": 0.5, "train_seconds": 3.0}, 1: {"a": 1.0, "b": 0.7, "train_seconds": 9.0}}
    spread = artifacts.seed_spread(table)
    assert set(spread) == {"a", "b"}
    assert spread["b"]["mean"] == pytest.approx(0.6) and spread["b"]["std"] == pytest.approx(0.1)
    assert (spread["b"]["min"], spread["b"]["max"]) == (0.5, 0.7)
    assert artifacts.seed_verdict(table) == ({"a": 1.0}, {"b": (0.5, 0.7)})
    assert artifacts.seed_sentence("toy", table) == "toy, 2 seeds: every seed gives a = 1.00; across seeds b from 0.500 to 0.700."


def test_seed_tables_are_listed_beside_their_organisms():
    for name in organisms.names():
        assert artifacts.seed_table_path(name) in artifacts.get(name).paths
    assert "facts.seeds.json" in artifacts.listing()


# --- The transcoder recipe on another seed's organism: the record notebook 03 prints (its statements: its run) ---


def test_the_seed_one_transcoder_record_is_the_shipped_recipe_on_the_seed_one_organism():
    from dataclasses import asdict

    record = artifacts.seed_transcoder_record("facts_clt", 1)
    recipe = artifacts.get("facts_clt").recipe
    assert (record["organism"], record["organism_seed"]) == ("facts", 1)
    assert record["recipe"] == {**asdict(recipe), "train": asdict(recipe.train_config())}
    assert record["command"] == "python -m workbench.artifacts seed-transcoder facts_clt --seed 1"
    # The organism it was trained on is the one of the seed table: same behaviours, measured apart.
    seed_one = artifacts.seed_table("facts")[1]
    assert record["organism_metrics"] == {metric: seed_one[metric] for metric in record["organism_metrics"]}
    fidelity = record["fidelity"]
    assert 0.0 <= fidelity["top1_agreement"] <= 1.0 and fidelity["kl"] >= 0.0 and len(fidelity["l0"]) == 2
    assert set(record["behaviour"]) == set(record["organism_metrics"])
    assert record in [artifacts.seed_transcoder_record(p.stem.split(".seed")[0], 1)
                      for p in artifacts.get("facts_clt").seed_records]


# --- What the README says about the recipes tried across seeds ---------------------------------------


def test_the_facts_recipe_changes_raised_every_seed():
    """README: weight decay 0.01 (the first recipe) gave 0.72-0.98, only seed 0 at 0.95; 0.1 raised every seed
    (0.86-1.00, mean 0.93); 0.3 (shipped) raises the lagging seeds again. The README lists the three rows."""
    trials = artifacts.seed_trials("facts")
    assert list(trials) == ["weight_decay=0.01", "weight_decay=0.1"]
    first = [trials["weight_decay=0.01"][seed]["two_hop_heldout_city"] for seed in range(5)]
    second = [trials["weight_decay=0.1"][seed]["two_hop_heldout_city"] for seed in range(5)]
    shipped = [artifacts.seed_table("facts")[seed]["two_hop_heldout_city"] for seed in range(5)]
    assert (round(min(first), 2), round(max(first), 2), round(sum(first) / 5, 2)) == (0.72, 0.98, 0.84)
    assert [seed for seed, value in enumerate(first) if value >= 0.95] == [0]
    assert (round(min(second), 2), round(max(second), 2), round(sum(second) / 5, 2)) == (0.86, 1.0, 0.93)
    assert all(new > old for new, old in zip(second, first))
    assert all(new >= old for new, old in zip(shipped, second)) and round(sum(shipped) / 5, 2) == 0.98
    assert [round(v, 2) for v in first] == [0.98, 0.88, 0.86, 0.72, 0.78]
    assert [round(v, 2) for v in second] == [1.0, 0.98, 0.94, 0.86, 0.86]
    assert [round(v, 2) for v in shipped] == [1.0, 1.0, 1.0, 0.98, 0.94]
    assert artifacts.get("facts").recipe is None and organisms.get_world("facts").train_config.weight_decay == 0.3
    for weight_decay in ("0.01", "0.1"):
        assert f"--set weight_decay={weight_decay} --out facts.seeds.weight_decay_{weight_decay}.json" in artifacts.listing()


def test_the_shipped_facts_recipe_trains_in_under_three_cpu_minutes():
    """README: weight decay 0.3 costs under 3 CPU-minutes a seed (seeds retrained by the seed command)."""
    retrained = [row for row in artifacts.seed_table("facts").values() if "cpu_seconds" in row]
    assert len(retrained) == 4 and all(row["cpu_seconds"] < 180 for row in retrained)


def test_the_lookback_seed_that_failed_learns_with_twice_the_steps():
    """README: seed 4 of the lookback variant, trained 1,600 steps instead of 800, tells the whole story."""
    trials = artifacts.seed_trials("couplets_lookback")
    assert list(trials) == ["steps=1600"] and list(trials["steps=1600"]) == [4]
    assert organisms.get_world("couplets_lookback").train_config.steps == 800
    row = trials["steps=1600"][4]
    for metric in ("rhyme_accuracy", "rhyme_accuracy_trained_pairs", "line_rewrite_success", "plan_patch_success"):
        assert row[metric] == 1.0, metric
    listed = "seeds couplets_lookback --seeds 4 --set steps=1600 --out couplets_lookback.seeds.steps_1600.json"
    assert listed in artifacts.listing()


def test_the_bottleneck_plan_crosses_the_newline_for_every_seed():
    """Issue 25: in every seed of the bottleneck organism, <nl> patched from a couplet of another rhyme class and
    topic moves B to the donor's (≥ 0.9), and the recipe costs under 5 CPU-minutes a seed."""
    table = artifacts.seed_table("couplets_bottleneck")
    assert all(row["cross_patch_success"] >= 0.9 and row["rhyme_accuracy"] >= 0.98 for row in table.values())
    assert all(row["cpu_seconds"] < 300 for row in table.values() if "cpu_seconds" in row)


def test_the_listing_keeps_its_columns_for_the_longest_names():
    """``artifacts list``: every reproducing command starts in the same column, the longest name included."""
    lines = artifacts.listing().splitlines()
    starts = {line.index("python -m") for line in lines[1:]}
    assert len(starts) == 1 and lines[0].index("reproduce with") == starts.pop()
    assert any(line.startswith("facts_heldout_states_clt ") for line in lines)


# --- The case studies across seeds (issue 25, item 3): what notebooks 05 and 06 read, and the command that makes it ---

# Seeds whose case-study rows ship so far (issue 25, item 3 asks for five of facts and of each couplets organism; the
# couplets organisms' seeds 1-4 are left to a later session, NOTES-seeds25.md says how).
CASE_SEEDS_SHIPPED = {name: [0, 1, 2, 3, 4] for name in ("facts", "couplets", "couplets_lookback", "couplets_bottleneck",
                                                       "couplets_control")}


@pytest.mark.parametrize("name", CASE_SEEDS_SHIPPED)
def test_case_seed_tables_ship_their_seeds_of_organism_and_transcoder(name):
    """Each seed's row has every headline number; seed 0 is the shipped pair, the others were retrained (organism and
    transcoder, full recipes), and each retrained organism is the one of the organism's own seed table: the same
    behaviours, measured apart."""
    record = artifacts.case_seed_record(name)
    table = artifacts.case_seed_table(name)
    assert sorted(table) == CASE_SEEDS_SHIPPED[name]
    assert (record["organism"], record["transcoder"]) == (name, f"{name}_clt")
    assert record["command"] == f"python -m workbench.artifacts case-seeds {name}"
    assert all(set(row) == set(table[0]) for row in table.values())
    assert record["runs"]["0"] == {"from_shipped": True, "measure_cpu_seconds": record["runs"]["0"]["measure_cpu_seconds"]}
    organism_seeds = artifacts.seed_table(name)
    for seed in CASE_SEEDS_SHIPPED[name][1:]:
        run = record["runs"][str(seed)]
        assert run["from_shipped"] is False and "shortened" not in run
        assert run["organism_cpu_seconds"] > 0 and run["transcoder_cpu_seconds"] > 0
        assert run["organism_metrics"] == pytest.approx(
            {metric: organism_seeds[seed][metric] for metric in run["organism_metrics"]}, abs=0.02), seed
        assert 0 <= run["fidelity"]["top1_agreement_decided"] <= 1 and run["fidelity"]["kl"] >= 0


@pytest.mark.parametrize("name", CASE_SEEDS_SHIPPED)
def test_case_seed_tables_are_listed_beside_their_organisms(name):
    assert artifacts.case_seed_table_path(name) in artifacts.get(name).paths
    assert f"python -m workbench.artifacts case-seeds {name}\n" in artifacts.listing() + "\n"


def test_the_case_seed_command_retrains_and_measures_a_shortened_seed(tmp_path):
    """One command reproduces a seed's row: here seed 3 of the couplets control and its transcoder, both shortened,
    measured with notebook 06's functions; the row has every headline number the shipped tables have."""
    from workbench.artifacts.cli import main

    out = tmp_path / "couplets_control.case_seeds.json"
    main(["case-seeds", "couplets_control", "--seeds", "3", "--steps", "30", "--transcoder-steps", "20",
          "--transcoder-sentences", "200", "--out", str(out)])
    record = artifacts.case_seed_record("couplets_control", out)
    row, run = record["rows"]["3"], record["runs"]["3"]
    assert set(row) == set(artifacts.case_seed_table("couplets")[0])
    assert run["shortened"] == {"organism": {"steps": 30}, "transcoder": {"steps": 20, "n_sentences": 200}}
    assert (record["case_study"], record["transcoder"]) == ("planning", "couplets_control_clt")
    assert all(0 <= value <= 1 for key, value in row.items() if not key.startswith("labelled: "))
    with pytest.raises(SystemExit):  # a shortened run is an experiment: it never overwrites the shipped table
        main(["case-seeds", "couplets_control", "--seeds", "3", "--steps", "30"])


def test_what_the_readme_says_of_the_facts_case_study_across_seeds():
    """README, *The case studies across seeds* (notebook 05 says the same of the table it loads, on its run)."""
    table = artifacts.case_seed_table("facts")

    def values(key):
        return [row[key] for row in table.values()]

    assert max(values("swap: random-feature control")) * 2450 <= 2.001
    assert round(min(values("swap: residual mean difference")), 3) == 0.998
    swap = values("swap: supernode")
    assert (round(min(swap), 2), round(max(swap), 2)) == (0.25, 0.88)
    assert (min(values("example: state in play members")), max(values("example: state in play members"))) == (7, 23)
    less_than_half = [seed for seed, row in table.items() if row["through the state group: held-out median"] < 0.5
                      and row["through the state group: trained median"] < 0.5]
    assert less_than_half == [2, 3]
    for seed, run in artifacts.case_seed_record("facts")["runs"].items():
        if seed != "0":  # a retrained organism under heavy load: 290-330 CPU-seconds; its transcoder 80-125
            assert run["organism_cpu_seconds"] < 400 and run["transcoder_cpu_seconds"] < 150, seed


def test_what_the_readme_says_of_the_couplets_case_studies_across_seeds():
    """README, *The case studies across seeds*, on the four couplets tables (notebook 06, section 9, reads them too)."""
    from workbench import case_studies

    tables = {name: artifacts.case_seed_table(name) for name in CASE_SEEDS_SHIPPED if name != "facts"}

    def values(name, key, seeds=(0, 1, 2, 3, 4)):
        return [tables[name][seed][key] for seed in seeds]

    def holds(name, i):
        return case_studies.findings_over_seeds(case_studies.planning_findings(name), tables[name])[
            case_studies.planning_findings(name)[i].text]

    injection = values("couplets", "injection: ends with the injected word")
    assert (round(min(injection), 2), round(max(injection), 2)) == (0.57, 0.76)
    assert holds("couplets", 3) == [0, 3]  # the paper's 70 % ± 5
    assert all(holds("couplets", i) == [0, 1, 2, 3, 4] for i in (1, 2, 4, 5))
    assert all(holds("couplets_lookback", i) == [0, 1, 2, 3, 4] for i in (2, 3, 4))
    assert round(artifacts.seed_table("couplets_lookback")[4]["rhyme_accuracy"], 2) == 0.03
    assert round(min(values("couplets_bottleneck", "<nl> patched: another class and topic")), 2) == 0.99
    same = values("couplets_bottleneck", "injection, word of B's rhyme class")
    assert (round(min(same[1:]), 2), round(max(same[1:]), 2), round(same[0], 2)) == (0.60, 0.78, 0.24)
    assert holds("couplets_control", 1) == [0, 1, 2, 3, 4]
    runs = [run for name in tables for seed, run in artifacts.case_seed_record(name)["runs"].items() if seed != "0"]
    for key, spread in (("organism_cpu_seconds", (130, 190)), ("transcoder_cpu_seconds", (90, 130))):  # to 10 s
        assert (round(min(run[key] for run in runs), -1), round(max(run[key] for run in runs), -1)) == spread, key
    measured = [run["measure_cpu_seconds"] for name in tables for run in artifacts.case_seed_record(name)["runs"].values()]
    assert (round(min(measured)), round(max(measured))) == (12, 23)
