"""The steering bench over every concept, as a shipped record: which organism and dictionaries each task uses.

    python -m workbench.artifacts steering-concepts                    # every state and every topic: the shipped table
    python -m workbench.artifacts steering-concepts --task facts --concepts Ohio Florida --out /tmp/t.json

The loop is ``workbench.steering.bench_concepts`` (it takes the model, its world and its dictionaries);
this module only knows which shipped artifacts notebook 07 steers with, as the rest of the registry
knows which organism a dictionary was made from.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from workbench import organisms

COMMAND = "python -m workbench.artifacts steering-concepts"


@dataclass(frozen=True)
class ConceptBench:
    """A steering task of notebook 07: its organism, its dictionaries (shipped names) and its concepts."""

    organism: str
    make_task: str  # the ``workbench.steering`` function that builds the task: facts_task or couplets_task
    concepts_of: str  # the world's attribute listing every concept: states or topics
    sae: str | None = None
    clt: str | None = None

    def concepts(self, world) -> list[str]:
        return list(getattr(world, self.concepts_of))


BENCHES = {
    "facts": ConceptBench("facts", "facts_task", "states", sae="facts_resid1", clt="facts_clt"),
    "couplets": ConceptBench("couplets", "couplets_task", "topics", clt="couplets_clt"),
}


def run_concept_bench(task: str, concepts: list[str] | None = None, log=None) -> dict:
    """Task ``task``'s bench over ``concepts`` (default: every one of its world): the record's entry for the task."""
    from workbench import runtime, saes, steering, transcoders

    runtime.configure()
    bench = BENCHES[task]
    model, world = organisms.load(bench.organism)
    sae = saes.load_sae(bench.sae) if bench.sae else None
    clt = transcoders.load_clt(bench.clt) if bench.clt else None
    concepts = bench.concepts(world) if concepts is None else concepts
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    entries = steering.bench_concepts(model, world, getattr(steering, bench.make_task), concepts, sae=sae, clt=clt,
                                      log=log)
    return {"organism": bench.organism, "sae": bench.sae, "clt": bench.clt,
            "wall_seconds": round(time.perf_counter() - start_wall, 1),
            "cpu_seconds": round(time.process_time() - start_cpu, 1), "concepts": entries}


def write_concept_record(tasks=tuple(BENCHES), concepts: list[str] | None = None, out=None, log=None) -> Path:
    """Run the bench for ``tasks`` and write the record (the shipped ``steering.CONCEPT_RECORD`` unless ``out``)."""
    from workbench.steering import CONCEPT_RECORD

    record = {"command": COMMAND, "tasks": {task: run_concept_bench(task, concepts, log) for task in tasks}}
    path = Path(out) if out is not None else CONCEPT_RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path
