"""How much CPU time does it take to train a shipped transcoder, and what fidelity does it reach? Prints figures.

Goal: each shipped recipe reaches the fidelity bar in at most 3 CPU-minutes on this machine, from
scratch: top-1 agreement with the organism ≥ 0.95 on held-out text where the organism has decided
(top two tokens ≥ 0.05 apart: at the world's free choices any approximation flips near-ties; the
plain figure is printed too), and the organism's key
behaviour kept under replacement (facts: held-out two-hop accuracy ≥ 0.9; couplets: held-out
rhyme accuracy ≥ 0.95).

For each recipe (``workbench.artifacts``, kind "transcoder") and each step count, times
``artifacts.train(name, steps=...)`` with ``time.process_time()`` (1 torch thread, so CPU time ≈ wall
time on a quiet machine; CPU time is the steadier figure when other jobs share the cores). That
includes loading the organism and collecting its MLP activations; the activation collection alone
is also timed once per recipe. A shorter run is the same recipe with fewer steps: its learning-rate
decay and sparsity ramp are compressed into those steps, not cut off. Then ``artifacts.evaluate`` gives
fidelity and behaviours (not timed). One run per cell: training is deterministic, and long.

Run: ``python benchmarks/clt_training_time.py [NAME ...]`` (default facts_clt couplets_clt, about
5 minutes), ``--quick`` for the first name at 250 and 500 steps.
"""

from __future__ import annotations

import argparse
import time
import warnings

from workbench import artifacts, organisms, runtime
from workbench.transcoders import load_clt
from workbench.activations import organism_activations

SHIPPED = {name: artifacts.get(name).recipe for name in artifacts.names("transcoder")}

TOP1_BAR = 0.95
KEY_BEHAVIOUR = {"facts": ("two_hop_heldout_city", 0.9), "couplets": ("rhyme_accuracy", 0.95)}
CPU_BUDGET_S = 180


def activation_seconds(name: str) -> float:
    recipe = SHIPPED[name]
    model, world = organisms.load(recipe.organism)
    start = time.process_time()
    train = recipe.train_config()
    organism_activations(model, world, train.n_sentences, train.seed)
    return time.process_time() - start


def report(name: str, steps_list: list[int]) -> None:
    organism = SHIPPED[name].organism
    behaviour, bar = KEY_BEHAVIOUR[organism]
    print(f"{name}: {SHIPPED[name]}")
    print(f"  collecting activations alone: {activation_seconds(name):.1f} CPU s")
    print(f"  {'steps':>5} {'CPU s':>6} {'wall s':>6} {'top1':>6} {'top1 dec.':>9} {'KL':>7} {'L0':>6} "
          f"{behaviour:>20} {'bar':>4} {'≤3 min':>6}  other behaviours")
    for steps in steps_list:
        cpu, wall = time.process_time(), time.perf_counter()
        clt = artifacts.train(name, steps=steps, progress=False)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        result = artifacts.evaluate(name, clt)
        fidelity, behaviours = result["fidelity"], result["behaviour"]
        meets = fidelity["top1_agreement_decided"] >= TOP1_BAR and behaviours[behaviour] >= bar
        others = " ".join(f"{k}={v:.3f}" for k, v in behaviours.items() if k != behaviour)
        print(f"  {steps:>5} {cpu:>6.1f} {wall:>6.1f} {fidelity['top1_agreement']:>6.3f} "
              f"{fidelity['top1_agreement_decided']:>9.3f} {fidelity['kl']:>7.4f} {sum(fidelity['l0']):>6.1f} "
              f"{behaviours[behaviour]:>20.3f} {'yes' if meets else 'no':>4} "
              f"{'yes' if cpu <= CPU_BUDGET_S else 'no':>6}  {others}")
        if steps == SHIPPED[name].train_config().steps:
            shipped = load_clt(name).state_dict()
            difference = max((value - shipped[key]).abs().max().item() for key, value in clt.state_dict().items())
            print(f"        (the full recipe: max |weight − shipped weight| = {difference:.1e})")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["facts_clt", "couplets_clt"], metavar="NAME",
                        help=f"shipped recipes, of: {', '.join(SHIPPED)}")
    parser.add_argument("--quick", action="store_true", help="the first NAME only, at 250 and 500 steps")
    args = parser.parse_args()
    unknown = set(args.names) - set(SHIPPED)
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(sorted(unknown))}; known: {', '.join(SHIPPED)}")
    warnings.filterwarnings("ignore")
    print(runtime.configure())
    print(f"Bar: top-1 agreement where the organism has decided ≥ {TOP1_BAR} and key behaviour ≥ its bar "
          f"({', '.join(f'{b} ≥ {v}' for b, v in KEY_BEHAVIOUR.values())}); budget {CPU_BUDGET_S / 60:.0f} CPU-min.\n"
          "CPU s: artifacts.train (activations + training). top1 dec.: agreement where the organism has decided.\n")
    for name in args.names[:1] if args.quick else args.names:
        full = SHIPPED[name].train_config().steps
        report(name, [250, 500] if args.quick else [500, 1000, full])


if __name__ == "__main__":
    main()
