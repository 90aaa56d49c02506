"""How many tokens per second does transcoder training take in, in 1 and in 2 processes? Prints figures.

The facts organism's cross-layer transcoder recipe (256 features per layer, batches of 1024 tokens),
trained on activations written once to sharded safetensors files (``--sentences`` sentences) and
read back by each process (its own shards), so that only the training loop is timed. Processes are
joined by gloo on the CPU (``workbench.transcoders.distributed.launch``: this process is rank 0),
each with one torch thread. Each run first trains a few warm-up steps; then ``--steps`` steps are
timed between two barriers. Tokens per second = steps × batch size / seconds (the global batch:
each process handles about half of it). The machine's load average is printed with the figures:
on 2 cores shared with other jobs, 2 processes compete with them for the same cores.

Run: ``python benchmarks/transcoder_distributed.py [--steps 100] [--sentences 2000] [--processes 1 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

from workbench import artifacts, organisms, runtime
from workbench.activations.shards import read_activation_shard, write_activation_shards
from workbench.transcoders import distributed
from workbench.transcoders.model import CLTConfig
from workbench.transcoders.training import CLTTrainConfig, train_clt

NAME = "facts_clt"
WARM_UP_STEPS = 5


def _measure(directory: str, shape: CLTConfig, config: CLTTrainConfig, out: str) -> None:
    """Each process: read its shards, warm up, then time ``config.steps`` steps between barriers."""
    ranks = distributed.world()
    shard = read_activation_shard(directory, ranks.rank, ranks.size)
    train_clt(shard, shape, replace(config, steps=WARM_UP_STEPS), progress=False)
    distributed.barrier()
    start = time.perf_counter()
    train_clt(shard, shape, config, progress=False)
    distributed.barrier()
    seconds = time.perf_counter() - start
    if ranks.is_main:
        Path(out).write_text(json.dumps({"seconds": seconds, "tokens_here": len(shard), "tokens": shard.total}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(runtime.configure())
    recipe = artifacts.get(NAME).recipe
    model, world = organisms.load(recipe.organism)
    config = recipe.train_config(steps=args.steps, n_sentences=args.sentences)
    shape = CLTConfig(model.cfg.n_layers, model.cfg.d_model, recipe.d_features, cross_layer=recipe.cross_layer)
    print(f"{NAME}: {shape}; batch {config.batch_size} tokens, {args.steps} timed steps after {WARM_UP_STEPS} warm-up steps")
    with tempfile.TemporaryDirectory() as directory:
        write_activation_shards(model, world, args.sentences, config.seed, directory, rows_per_file=512)
        baseline = None
        print(f"{'processes':>9} {'tokens/s':>9} {'ms/step':>8} {'speed-up':>8} {'tokens held by rank 0':>22} {'load avg':>9}")
        for n in args.processes:
            out = os.path.join(directory, f"result-{n}.json")
            distributed.launch(_measure, n, directory, shape, config, out)
            result = json.loads(Path(out).read_text())
            rate = args.steps * config.batch_size / result["seconds"]
            baseline = baseline or rate
            print(f"{n:>9} {rate:>9.0f} {1000 * result['seconds'] / args.steps:>8.1f} {rate / baseline:>8.2f} "
                  f"{result['tokens_here']:>12} of {result['tokens']:<7} {os.getloadavg()[0]:>9.1f}")


if __name__ == "__main__":
    main()
