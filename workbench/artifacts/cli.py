"""The command line of the registry: ``python -m workbench.artifacts …``.

    python -m workbench.artifacts list                   # name, kind, size, the command that makes it
    python -m workbench.artifacts train NAME [NAME ...]  # retrain from the recipe, overwrite the shipped copy
    python -m workbench.artifacts evaluate NAME [--json] # measure the shipped copy
    python -m workbench.artifacts seeds NAME [--seeds 0 1 2 3 4]  # retrain an organism per seed, ship the table
    python -m workbench.artifacts seed-transcoder NAME --seed S   # a transcoder recipe on another seed's organism
    python -m workbench.artifacts steering-concepts [--task facts couplets] [--concepts C ...] [--out PATH]
                                                         # notebook 07's steering bench over every concept
    python -m workbench.artifacts case-seeds NAME [--seeds 0 1 2 3 4]  # the case study's headline numbers per seed

A transcoder also trains data-parallel, under PyTorch's launcher: ``torchrun --nproc-per-node N -m
workbench.artifacts train NAME [--steps …] [--out PATH] [--checkpoint PATH] [--activations DIR]
[--device cuda]`` (README, "Training bigger dictionaries"). The command line lives in the registry,
not in ``workbench.transcoders``, because only the registry knows the recipes; the loop it runs is
``workbench.transcoders.training.train_clt``, the same in one process and in N.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from workbench import organisms
from workbench.artifacts.registry import evaluate, get, listing, names, ship
from workbench.artifacts.seeds import (SEEDS, case_seed_table_path, case_study_inputs, seed_configs, seed_sweep,
                                      seed_table_path, seed_transcoder_path, transcoder_on_seed, write_case_seed_row)
from workbench.artifacts.steering_concepts import BENCHES, write_concept_record
from workbench.artifacts.transcoder import OrganismTranscoder

DESCRIPTION = "Everything the course ships, in one registry with one command line."
EXAMPLE_CITY = "Dallas"  # the city notebook 05 takes apart ("the capital of the state containing Dallas is")


def _shipped_record(record: Path) -> dict:
    """What a transcoder written with ``--out`` measured (from its JSON record)."""
    return json.loads(record.read_text())["metadata"]


def _flatten(metrics: dict, prefix: str = "") -> dict[str, float]:
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _train_overrides(assignments: list[str]) -> dict:
    """``["steps=3000", "weight_decay=0.1"]`` → ``{"steps": 3000, "weight_decay": 0.1}`` (typed as ``TrainConfig``'s fields)."""
    from dataclasses import fields

    from workbench.organisms.training import TrainConfig

    types = {f.name: type(getattr(TrainConfig(), f.name)) for f in fields(TrainConfig)}
    overrides = {}
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        if key not in types or key == "seed":
            raise SystemExit(f"--set {assignment}: not a TrainConfig field (fields: {', '.join(t for t in types if t != 'seed')})")
        overrides[key] = types[key](value)
    return overrides


def main(argv: list[str] | None = None) -> int:
    """``python -m workbench.artifacts list | train NAME ... | evaluate NAME [--json] | seeds NAME [--seeds S ...]``."""
    import argparse

    from workbench.notebook import filter_warnings, go_offline
    from workbench.runtime import configure

    parser = argparse.ArgumentParser(prog="python -m workbench.artifacts", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every shipped artifact: kind, size and the command that reproduces it")
    train_cmd = commands.add_parser("train", help="retrain NAME from its recipe and overwrite the shipped copy")
    train_cmd.add_argument("names", nargs="+", metavar="NAME", choices=names())
    transcoders = train_cmd.add_argument_group("transcoders only (also under torchrun --nproc-per-node N)")
    for field_name in ("steps", "n_sentences", "batch_size"):
        transcoders.add_argument(f"--{field_name.replace('_', '-')}", type=int, help=f"override the recipe's {field_name}")
    transcoders.add_argument("--out", help="write the transcoder here (.safetensors + .json), not over the shipped copy")
    transcoders.add_argument("--checkpoint", help="training state: saved every --checkpoint-every steps, resumed if present")
    transcoders.add_argument("--checkpoint-every", type=int, default=100)
    transcoders.add_argument("--activations", metavar="DIR",
                             help="stream activations: write them once to sharded safetensors files in DIR, train from them")
    transcoders.add_argument("--device", default="cpu", help="cpu (gloo between processes) or cuda (NCCL; process i uses GPU i)")
    seeds_cmd = commands.add_parser("seeds", help="retrain organism NAME once per seed; write the table beside its checkpoint")
    seeds_cmd.add_argument("name", metavar="NAME", choices=organisms.names())
    seeds_cmd.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    seeds_cmd.add_argument("--keep", metavar="DIR", help="also save each seed's weights in DIR")
    seeds_cmd.add_argument("--seed0-from-checkpoint", action="store_true",
                           help="take seed 0's row from the shipped checkpoint's record instead of retraining it")
    seeds_cmd.add_argument("--set", metavar="FIELD=VALUE", nargs="+", default=[],
                           help="an experiment: change TrainConfig fields (steps=3000 weight_decay=0.1); needs --out")
    seeds_cmd.add_argument("--out", metavar="PATH", help="write the experiment's table here, not beside the checkpoint")
    seed_clt_cmd = commands.add_parser("seed-transcoder",
                                       help="train transcoder recipe NAME on its organism retrained with --seed; record its fidelity")
    seed_clt_cmd.add_argument("name", metavar="NAME", choices=[n for n in names() if isinstance(get(n), OrganismTranscoder)])
    seed_clt_cmd.add_argument("--seed", type=int, required=True)
    seed_clt_cmd.add_argument("--organism", metavar="PATH",
                              help="the seed's organism already trained (saved by `seeds --keep`), instead of retraining it")
    concepts_cmd = commands.add_parser("steering-concepts",
                                       help="notebook 07's steering bench over every concept; write the table as JSON")
    concepts_cmd.add_argument("--task", nargs="+", choices=list(BENCHES), default=list(BENCHES))
    concepts_cmd.add_argument("--concepts", nargs="+", metavar="C", help="only these concepts (default: every one)")
    concepts_cmd.add_argument("--out", metavar="PATH", help="write the table here, not over the shipped record")
    case_cmd = commands.add_parser("case-seeds", help="retrain organism NAME and its transcoder per seed; write its case "
                                   "study's headline numbers (notebook 05 or 06) beside its checkpoint")
    case_cmd.add_argument("name", metavar="NAME", choices=[n for n in organisms.names() if f"{n}_clt" in names()])
    case_cmd.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    case_cmd.add_argument("--transcoder", help="the transcoder recipe (default: NAME_clt)")
    case_cmd.add_argument("--example", default=EXAMPLE_CITY, help="the two-hop case study's example city")
    case_cmd.add_argument("--keep", metavar="DIR", help="save each seed's organism and transcoder in DIR; reuse them if there")
    case_cmd.add_argument("--steps", type=int, help="an experiment: shorten the organism's training; needs --out")
    case_cmd.add_argument("--transcoder-steps", type=int, help="an experiment: shorten the transcoder's; needs --out")
    case_cmd.add_argument("--transcoder-sentences", type=int, help="an experiment: fewer sentences for it; needs --out")
    case_cmd.add_argument("--out", metavar="PATH", help="write the table here, not beside the checkpoint")
    evaluate_cmd = commands.add_parser("evaluate", help="measure the shipped NAME")
    evaluate_cmd.add_argument("name", metavar="NAME", choices=names())
    evaluate_cmd.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    go_offline()
    filter_warnings()
    configure()
    if args.command == "list":
        print(listing())
    elif args.command == "train":
        from workbench.transcoders import distributed

        options = {k: v for k, v in vars(args).items()
                   if k in ("steps", "n_sentences", "batch_size", "out", "checkpoint", "activations") and v is not None}
        if args.checkpoint is not None:
            options["checkpoint_every"] = args.checkpoint_every
        if args.device != "cpu" or distributed.launched_by_torchrun():
            options["device"] = distributed.init(args.device)
        if options and not all(get(name).takes_training_options for name in args.names):
            parser.error(f"{', '.join(options)}: for transcoders only")
        if "out" in options and len(args.names) > 1:
            parser.error("--out takes one NAME")
        main_process = distributed.world().is_main
        for name in args.names:
            start = time.perf_counter()
            paths = ship(name, **options)
            if main_process:
                print(f"{name}: trained in {time.perf_counter() - start:.0f} s; wrote {', '.join(map(str, paths))}",
                      file=sys.stderr)
                print(json.dumps(evaluate(name) if "out" not in options else _shipped_record(paths[1])))
        distributed.close()
    elif args.command == "seeds":
        overrides = _train_overrides(args.set)
        if overrides and args.out is None:
            parser.error("--set makes an experiment: give --out PATH for its table")
        rows = seed_sweep(args.name, args.seeds, progress=True, keep=args.keep, log=sys.stderr, write=args.out is None,
                          reuse_shipped=args.seed0_from_checkpoint, **overrides)
        print(json.dumps(rows))
        if args.out is not None:
            out = Path(args.out)
            table = json.loads(out.read_text())["rows"] if out.exists() else {}
            out.write_text(json.dumps({"organism": args.name, "overrides": overrides, "rows": {**table, **rows}}, indent=2) + "\n")
        print(f"wrote {args.out or seed_table_path(args.name)}", file=sys.stderr)
    elif args.command == "seed-transcoder":
        organism = None
        if args.organism is not None:
            from workbench.organisms.model import load_checkpoint, read_checkpoint_config

            organism_name = get(args.name).organism
            if read_checkpoint_config(args.organism)[0] != seed_configs(organism_name, args.seed)[0]:
                parser.error(f"{args.organism} was not trained with seed {args.seed}")
            organism = load_checkpoint(args.organism, organisms.get_world(organism_name).tokenizer)
        print(json.dumps(transcoder_on_seed(args.name, args.seed, organism=organism, progress=True)))
        print(f"wrote {seed_transcoder_path(args.name, args.seed)}", file=sys.stderr)
    elif args.command == "steering-concepts":
        if args.concepts is not None and args.out is None:
            parser.error("--concepts makes a partial table: give --out PATH for it")
        path = write_concept_record(args.task, args.concepts, args.out, log=sys.stderr)
        print(f"wrote {path}", file=sys.stderr)
    elif args.command == "case-seeds":
        if (args.steps or args.transcoder_steps or args.transcoder_sentences) and args.out is None:
            parser.error("--steps, --transcoder-steps and --transcoder-sentences make an experiment: give --out PATH")
        _case_seeds(args)
    else:
        metrics = evaluate(args.name)
        if args.json:
            print(json.dumps(metrics))
        else:
            for key, value in _flatten(metrics).items():
                print(f"{key:40s} {value:.4f}" if isinstance(value, float) else f"{key:40s} {value}")
    return 0


def _case_seeds(args) -> None:
    """``case-seeds``: per seed, the organism and its transcoder (shipped for seed 0, retrained otherwise), then the
    case study's headline numbers (``case_studies.headline_row``), each row merged into the table as it comes."""
    from workbench.case_studies.headlines import case_study, headline_row

    transcoder = args.transcoder or f"{args.name}_clt"
    world = organisms.get_world(args.name)
    example = args.example if case_study(world) == "multihop" else None
    header = {"transcoder": transcoder, "case_study": case_study(world), "example": example,
              "command": f"python -m workbench.artifacts case-seeds {args.name}"
                         + (f" --transcoder {transcoder}" if args.transcoder else "")}
    for seed in args.seeds:
        shortened = {key: value for key, value in (("steps", args.transcoder_steps),
                                                   ("n_sentences", args.transcoder_sentences)) if value is not None}
        model, world, clt, run = case_study_inputs(args.name, seed, transcoder, keep=args.keep, progress=False,
                                                   organism_steps=args.steps, **shortened)
        start = time.process_time()
        row = headline_row(model, world, clt, example)
        run["measure_cpu_seconds"] = round(time.process_time() - start, 1)
        write_case_seed_row(args.name, seed, row, run, header, args.out)
        print(f"{args.name} seed {seed}: {json.dumps(row)}", file=sys.stderr, flush=True)
    print(f"wrote {args.out or case_seed_table_path(args.name)}", file=sys.stderr)
