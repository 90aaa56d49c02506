"""``python -m workbench.organisms list | train NAME | evaluate NAME [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    from workbench import organisms
    from workbench.notebook import filter_warnings, go_offline
    from workbench.runtime import configure

    parser = argparse.ArgumentParser(prog="python -m workbench.organisms", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the organisms and their purpose")
    train = commands.add_parser("train", help="retrain NAME from scratch and overwrite its shipped checkpoint")
    train.add_argument("name", choices=organisms.names())
    evaluate = commands.add_parser("evaluate", help="measure NAME's behaviours on the shipped checkpoint")
    evaluate.add_argument("name", choices=organisms.names())
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    go_offline()
    filter_warnings()
    configure()
    if args.command == "list":
        for name in organisms.names():
            doc = (type(organisms.get_world(name)).__doc__ or "").strip().splitlines()[0]
            print(f"{name:24s} {doc}")
    elif args.command == "train":
        start = time.perf_counter()
        history: list[dict] = []
        model = organisms.train(args.name, history=history)
        seconds = time.perf_counter() - start
        metrics = organisms.evaluate(args.name, model)
        metadata = {"train_seconds": round(seconds, 1), "metrics": metrics, "history": history}
        path = organisms.save(args.name, model, metadata)
        print(json.dumps(metrics, indent=2))
        print(f"trained in {seconds:.0f} s; wrote {path}", file=sys.stderr)
    elif args.command == "evaluate":
        metrics = organisms.evaluate(args.name)
        if args.json:
            print(json.dumps(metrics))
        else:
            for key, value in metrics.items():
                print(f"{key:32s} {value:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
