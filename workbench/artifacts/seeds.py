"""Seeds: how much of what an organism (or a transcoder recipe on it) shows is the recipe, and how much luck.

Every organism ships a seed table beside its checkpoint (``checkpoints/NAME.seeds.json``): its
behaviours retrained with each seed (the seed sets both the initial weights and the order of the
training sentences). Seed 0 is the recipe unchanged, so its row is the shipped checkpoint's. A recipe
tried and not shipped keeps its table as ``NAME.seeds.TRIAL.json`` (``seed_trials``). A transcoder
recipe trained on another seed's organism ships a record beside the transcoder (``transcoder_on_seed``).

    python -m workbench.artifacts seeds NAME [--seeds 0 1 2 3 4]  # retrain an organism per seed, ship the table
    python -m workbench.artifacts seed-transcoder NAME --seed S   # a transcoder recipe on another seed's organism
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from workbench import organisms
from workbench.config_checks import known_name

SEEDS = (0, 1, 2, 3, 4)


def seed_table_path(name: str) -> Path:
    """The seed table shipped beside organism ``name``'s checkpoint: ``checkpoints/NAME.seeds.json``."""
    return organisms.CHECKPOINT_DIR / f"{known_name(name, organisms.names(), 'an organism')}.seeds.json"


def seed_configs(name: str, seed: int, **overrides):
    """``(model_config, train_config)`` of organism ``name``'s recipe with ``seed`` for both the model's
    initialisation (``OrganismConfig.seed``) and the order of its training sentences (``TrainConfig.seed``).

    Seed 0 is the recipe unchanged: the shipped checkpoint's configs exactly.
    """
    world = organisms.get_world(name)
    return replace(world.model_config, seed=seed), replace(world.train_config, seed=seed, **overrides)


def train_seed(name: str, seed: int, *, progress: bool = False, **overrides):
    """Organism ``name`` retrained with ``seed`` (init and data order); ``overrides`` replace ``TrainConfig`` fields."""
    model_config, train_config = seed_configs(name, seed, **overrides)
    return organisms.train(name, model_config, train_config, progress=progress)


def same_weights(model, other) -> bool:
    """True when two organisms hold bit-for-bit the same parameters and buffers."""
    import torch

    mine, theirs = model.state_dict(), other.state_dict()
    return mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


def weight_difference(model, other) -> float:
    """The largest absolute difference between two organisms' parameters, relative to the largest parameter."""
    mine, theirs = dict(model.named_parameters()), dict(other.named_parameters())
    largest = max(float(p.detach().abs().max()) for p in mine.values())
    return max(float((mine[k].detach() - theirs[k].detach()).abs().max()) for k in mine) / largest


def shipped_seed_row(name: str) -> dict:
    """Seed 0's row read from the shipped checkpoint's record instead of retrained (``from_checkpoint``).

    Sound because seed 0 is the recipe unchanged (``seed_configs(name, 0)`` is the world's configs)
    and training is bit-for-bit reproducible with one thread; a retrained seed 0 records
    ``matches_shipped`` to show it. ``train_seconds`` is the one recorded when the checkpoint was made.
    """
    record = organisms.checkpoint_metadata(name)
    return {**record["metrics"], "train_seconds": record["train_seconds"], "from_checkpoint": True}


def seed_sweep(name: str, seeds=SEEDS, *, progress: bool = False, write: bool = True, keep=None,
               log=None, reuse_shipped: bool = False, **overrides) -> dict[str, dict]:
    """Retrain organism ``name`` once per seed, measure its behaviours, and return {seed: row}.

    A row is the world's behaviour metrics plus ``train_seconds`` (wall time of training alone) and
    ``cpu_seconds``. A seed-0 row also says whether the retrained weights are bit-for-bit the
    shipped checkpoint's (``matches_shipped``) and, if not, how far apart they are
    (``weight_difference``): seed 0 with no ``overrides`` is the recipe that made it. ``write``: merge the rows into the shipped table (``seed_table_path``), so seeds can
    be run in separate processes; not with ``overrides``, which are experiments, not the recipe.
    ``keep``: a directory to save each seed's weights in (``NAME.seedS.safetensors``).
    ``reuse_shipped``: take seed 0's row from the shipped checkpoint (``shipped_seed_row``), not retrained.
    """
    from workbench.organisms.model import save_checkpoint

    if write and overrides:
        raise ValueError("a sweep with recipe overrides is an experiment: run it with write=False")
    rows = {}
    for seed in seeds:
        if seed == 0 and reuse_shipped and not overrides:
            rows["0"] = shipped_seed_row(name)
            if write:
                _write_seed_row(name, 0, rows["0"])
            continue
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        model = train_seed(name, seed, progress=progress, **overrides)
        row = {"train_seconds": round(time.perf_counter() - start_wall, 1),
               "cpu_seconds": round(time.process_time() - start_cpu, 1)}
        row = {**organisms.evaluate(name, model), **row}
        if seed == 0 and not overrides:
            shipped = organisms.load(name)[0]
            row["matches_shipped"] = same_weights(model, shipped)
            row["weight_difference"] = weight_difference(model, shipped)
        if keep is not None:
            Path(keep).mkdir(parents=True, exist_ok=True)
            save_checkpoint(model, seed_configs(name, seed)[0], Path(keep) / f"{name}.seed{seed}.safetensors",
                            {"metrics": row, "overrides": overrides})
        rows[str(seed)] = row
        if log is not None:
            print(f"{name} seed {seed}: {json.dumps(row)}", file=log, flush=True)
        if write:
            _write_seed_row(name, seed, row)
    return rows


def _write_seed_row(name: str, seed: int, row: dict) -> None:
    """Merge one row into organism ``name``'s shipped seed table (rows of other seeds are kept)."""
    path = seed_table_path(name)
    table = json.loads(path.read_text()) if path.exists() else {}
    table[str(seed)] = row
    path.write_text(json.dumps(dict(sorted(table.items(), key=lambda kv: int(kv[0]))), indent=2) + "\n")


def seed_trial_paths(name: str) -> list[Path]:
    """Seed tables of recipes tried and not shipped (``seeds NAME --set … --out``), kept beside the checkpoint
    as ``NAME.seeds.TRIAL.json`` so that a recipe change can be shown against what it replaced."""
    return sorted(organisms.CHECKPOINT_DIR.glob(f"{known_name(name, organisms.names(), 'an organism')}.seeds.*.json"))


def seed_trials(name: str) -> dict[str, dict[int, dict]]:
    """{"weight_decay=0.01": {seed: row}, …}: each tried recipe of organism ``name``, named by its changes."""
    trials = {}
    for path in seed_trial_paths(name):
        trial = json.loads(path.read_text())
        label = " ".join(f"{key}={value}" for key, value in trial["overrides"].items())
        trials[label] = {int(seed): row for seed, row in trial["rows"].items()}
    return trials


def seed_table(name: str) -> dict[int, dict]:
    """The shipped seed table of organism ``name``: {seed: behaviour metrics, train_seconds, ...}."""
    return {int(seed): row for seed, row in json.loads(seed_table_path(name).read_text()).items()}


SEED_BOOKKEEPING = ("train_seconds", "cpu_seconds", "matches_shipped", "weight_difference", "from_checkpoint")


def seed_spread(table: dict[int, dict]) -> dict[str, dict[str, float]]:
    """Per behaviour metric of a seed table: mean, std (population), min and max over its seeds."""
    import statistics

    # In the order the world measures them (a row read from a checkpoint's record has its keys sorted).
    measured = [row for row in table.values() if not row.get("from_checkpoint")] or list(table.values())
    metrics = [key for key in measured[0] if key not in SEED_BOOKKEEPING]
    spread = {}
    for metric in metrics:
        values = [row[metric] for row in table.values()]
        spread[metric] = {"mean": statistics.fmean(values), "std": statistics.pstdev(values),
                          "min": min(values), "max": max(values)}
    return spread


def seed_verdict(table: dict[int, dict], tolerance: float = 0.0) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """``(holds, varies)``: the metrics equal for every seed (within ``tolerance``) with their value, and
    the others with their (min, max) over seeds."""
    holds, varies = {}, {}
    for metric, s in seed_spread(table).items():
        if s["max"] - s["min"] <= tolerance:
            holds[metric] = s["min"]
        else:
            varies[metric] = (s["min"], s["max"])
    return holds, varies


def seed_sentence(name: str, table: dict[int, dict] | None = None) -> str:
    """One sentence on what holds for every seed of organism ``name`` and what does not."""
    table = seed_table(name) if table is None else table
    holds, varies = seed_verdict(table)
    same = ", ".join(f"{metric} = {value:.2f}" for metric, value in holds.items()) or "no metric"
    ranges = "; ".join(f"{metric} from {low:.3f} to {high:.3f}" for metric, (low, high) in varies.items())
    return (f"{name}, {len(table)} seeds: every seed gives {same}"
            + (f"; across seeds {ranges}." if ranges else "; nothing varies."))


def seed_transcoder_path(name: str, seed: int) -> Path:
    """The record of transcoder recipe ``name`` trained on organism seed ``seed``, beside the transcoder."""
    from workbench.transcoders.loading import CHECKPOINT_DIR, check_shipped

    return CHECKPOINT_DIR / f"{check_shipped(name)}.seed{seed}.json"


def seed_transcoder_record(name: str, seed: int) -> dict:
    """The shipped record of transcoder recipe ``name`` on organism seed ``seed`` (``transcoder_on_seed``)."""
    path = seed_transcoder_path(name, seed)
    if not path.exists():
        recorded = sorted(int(p.stem.rsplit("seed", 1)[1]) for p in path.parent.glob(f"{name}.seed*.json"))
        raise FileNotFoundError(f"no record of {name} on the seed-{seed} organism; recorded seeds: "
                                f"{', '.join(map(str, recorded)) or 'none'} (python -m workbench.artifacts "
                                f"seed-transcoder {name} --seed {seed} makes one)")
    return json.loads(path.read_text())


def transcoder_on_seed(name: str, seed: int, *, organism=None, progress: bool = False, write: bool = True) -> dict:
    """Transcoder recipe ``name`` on its organism retrained with ``seed``: does the recipe carry over?

    Retrains the organism with ``seed`` in memory (or takes ``organism``, a model trained with
    ``train_seed``), collects its activations, trains the transcoder with the shipped recipe, and
    measures it as ``evaluate`` does: replacement fidelity on held-out text and the behaviours
    under replacement, beside the organism's own behaviours. ``write``: save the record as
    ``seed_transcoder_path(name, seed)`` (no weights: it is a measurement, not an artifact).
    """
    from workbench.artifacts.registry import get
    from workbench.artifacts.transcoder import OrganismTranscoder

    artifact = get(name)
    if not isinstance(artifact, OrganismTranscoder):
        raise ValueError(f"{name} is of kind {artifact.kind}, not a transcoder of an organism")
    start = time.process_time()
    model = train_seed(artifact.organism, seed, progress=progress) if organism is None else organism
    organism_cpu_seconds = time.process_time() - start if organism is None else None
    world = organisms.get_world(artifact.organism)
    start = time.process_time()
    clt = artifact.train(progress=progress, model=model)
    record = {
        "organism": artifact.organism, "organism_seed": seed,
        "organism_metrics": world.core_metrics(model),
        "recipe": {**asdict(artifact.recipe), "train": asdict(artifact.recipe.train_config())},
        "train_cpu_seconds": round(time.process_time() - start, 1),
        **artifact.evaluate(clt, model=model),
        "command": f"python -m workbench.artifacts seed-transcoder {name} --seed {seed}",
    }
    if organism_cpu_seconds is not None:
        record["organism_cpu_seconds"] = round(organism_cpu_seconds, 1)
    if write:
        seed_transcoder_path(name, seed).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


# ---- the case studies across seeds ----------------------------------------------------------------
#
# Notebooks 05 and 06 measure the shipped organism and transcoder once. ``case-seeds NAME`` retrains both per
# seed with the shipped recipes and ships each seed's headline numbers (``workbench.case_studies.headlines``)
# beside the organism's seed table; the registry retrains, the case study measures (the command line,
# ``cli``, joins them, so that nothing here imports a case study).

def case_seed_table_path(name: str) -> Path:
    """The case study's seed table of organism ``name``: ``checkpoints/NAME.case_seeds.json`` (not a recipe trial)."""
    return organisms.CHECKPOINT_DIR / f"{known_name(name, organisms.names(), 'an organism')}.case_seeds.json"


def case_seed_record(name: str, path=None) -> dict:
    """The whole shipped record: which transcoder and command, each seed's ``rows`` (headline numbers) and ``runs``
    (where the seed's organism and transcoder came from, their fidelity and CPU seconds)."""
    return json.loads(Path(path or case_seed_table_path(name)).read_text())


def case_seed_table(name: str, path=None) -> dict[int, dict]:
    """{seed: headline numbers} of organism ``name``'s case study (``case_seed_record``'s rows)."""
    return {int(seed): row for seed, row in case_seed_record(name, path)["rows"].items()}


def case_study_inputs(name: str, seed: int, transcoder: str, *, keep=None, progress: bool = False,
                      organism_steps: int | None = None, **transcoder_overrides):
    """``(model, world, clt, run)``: organism ``name`` and transcoder recipe ``transcoder`` for ``seed``, and a record
    of where they came from.

    Seed 0 with the recipes unchanged is the shipped organism and transcoder, the ones the notebooks load. Any other
    seed: the organism retrained with ``seed`` (``train_seed``) and the transcoder's recipe trained on it (its own
    seed unchanged, as ``transcoder_on_seed`` does). ``keep``: a directory where each is saved as
    ``NAME.seedS.safetensors`` and ``TRANSCODER.seedS.safetensors`` (with their CPU seconds), and read back instead of
    retrained when present. ``organism_steps`` and ``transcoder_overrides`` (``CLTTrainConfig`` fields: ``steps``,
    ``n_sentences``) shorten the recipes, for a test's quick run.
    """
    from workbench.artifacts.registry import get
    from workbench.organisms.model import load_checkpoint, read_checkpoint_config, save_checkpoint
    from workbench.transcoders.loading import load_clt, save_clt

    world = organisms.get_world(name)
    artifact = get(transcoder)
    if artifact.organism != name:
        raise ValueError(f"{transcoder} is a transcoder of {artifact.organism}, not of {name}")
    overrides = {} if organism_steps is None else {"steps": organism_steps}
    if seed == 0 and not overrides and not transcoder_overrides:
        return (*organisms.load(name), load_clt(transcoder), {"from_shipped": True})
    run = {"from_shipped": False}
    if overrides or transcoder_overrides:
        run["shortened"] = {"organism": overrides, "transcoder": transcoder_overrides}
    organism_path = clt_path = None
    if keep is not None:
        Path(keep).mkdir(parents=True, exist_ok=True)
        organism_path = Path(keep) / f"{name}.seed{seed}.safetensors"
        clt_path = Path(keep) / f"{transcoder}.seed{seed}.safetensors"
    if organism_path is not None and organism_path.exists():
        config, metadata = read_checkpoint_config(organism_path)
        if config != seed_configs(name, seed)[0] or metadata.get("overrides", {}) != overrides:
            raise ValueError(f"{organism_path} was not trained with seed {seed} and {overrides or 'the recipe'}")
        model = load_checkpoint(organism_path, world.tokenizer, name=name)
        run["organism_cpu_seconds"] = metadata["cpu_seconds"]
    else:
        start = time.process_time()
        model = train_seed(name, seed, progress=progress, **overrides)
        run["organism_cpu_seconds"] = round(time.process_time() - start, 1)
        if organism_path is not None:
            save_checkpoint(model, seed_configs(name, seed)[0], organism_path,
                            {"overrides": overrides, "cpu_seconds": run["organism_cpu_seconds"]})
    if clt_path is not None and clt_path.exists():
        clt = load_clt(clt_path)
        metadata = json.loads(clt_path.with_suffix(".json").read_text())["metadata"]
        if (metadata.get("organism_seed"), metadata.get("overrides", {})) != (seed, transcoder_overrides):
            raise ValueError(f"{clt_path} was not trained on the seed-{seed} organism with {transcoder_overrides or 'the recipe'}")
        run["transcoder_cpu_seconds"] = metadata["cpu_seconds"]
    else:
        start = time.process_time()
        clt = artifact.train(progress=progress, model=model, **transcoder_overrides)
        run["transcoder_cpu_seconds"] = round(time.process_time() - start, 1)
        if clt_path is not None:
            save_clt(clt, clt_path, {"organism_seed": seed, "overrides": transcoder_overrides,
                                     "cpu_seconds": run["transcoder_cpu_seconds"]})
    run["organism_metrics"] = world.core_metrics(model)
    run.update(artifact.evaluate(clt, model=model))  # the transcoder's fidelity on this seed's organism
    return model, world, clt, run


def write_case_seed_row(name: str, seed: int, row: dict, run: dict, header: dict, path=None) -> Path:
    """Merge one seed's headline numbers (``row``) and its ``run`` into the case-study table (rows of other seeds kept);
    ``header`` (transcoder, command, …) is written over the old one. Returns the path written."""
    path = Path(path or case_seed_table_path(name))
    record = json.loads(path.read_text()) if path.exists() else {"rows": {}, "runs": {}}
    record = {**record, **header, "organism": name}
    record["rows"][str(seed)] = {key: None if value is None else round(value, 6) for key, value in row.items()}
    record["runs"][str(seed)] = run
    for part in ("rows", "runs"):
        record[part] = dict(sorted(record[part].items(), key=lambda kv: int(kv[0])))
    order = ["organism", "transcoder", "case_study", "example", "command", "rows", "runs"]
    record = {key: record[key] for key in order if key in record}
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return path
