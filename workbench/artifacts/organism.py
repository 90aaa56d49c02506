"""The organisms: a checkpoint per world, whose recipe is the world's own configs (``organisms``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from workbench import organisms
from workbench.artifacts.kinds import Artifact, register
from workbench.artifacts.seeds import SEEDS, case_seed_table_path, seed_table_path, seed_trial_paths


@register(type(None))  # an organism's recipe is its world's model and training configs
class Organism(Artifact):
    """An organism's checkpoint (``organisms.checkpoint_path``), with its seed tables beside it."""

    kind = "organism"

    @property
    def organism(self) -> str:
        return self.name

    @property
    def paths(self) -> list[Path]:
        path = organisms.checkpoint_path(self.name)
        return [path, path.with_suffix(".json"), *self.seed_records]

    def seed_commands(self) -> list[tuple[Path, str]]:
        """The shipped seed table (``seeds NAME``), its case study's (``case-seeds NAME``) and the tables of recipes
        tried and not shipped."""
        table, cases = seed_table_path(self.name), case_seed_table_path(self.name)
        commands = [(table, f"seeds {self.name}")] if table.exists() else []
        commands += [(cases, f"case-seeds {self.name}")] if cases.exists() else []
        for record in seed_trial_paths(self.name):
            trial = json.loads(record.read_text())
            changes = " ".join(f"{key}={value}" for key, value in trial["overrides"].items())
            tried = sorted(int(seed) for seed in trial["rows"])
            which = "" if tried == list(SEEDS) else f" --seeds {' '.join(map(str, tried))}"
            commands.append((record, f"seeds {self.name}{which} --set {changes} --out {record.name}"))
        return commands

    def train(self, *, progress: bool = True, history: list | None = None, **overrides):
        """``overrides``: fields of the world's ``TrainConfig``."""
        train_config = replace(organisms.get_world(self.name).train_config, **overrides)
        return organisms.train(self.name, train_config=train_config, progress=progress, history=history)

    def load(self):
        """``(model, world)``."""
        return organisms.load(self.name)

    def evaluate(self, trained=None) -> dict:
        """The world's behaviours."""
        return organisms.evaluate(self.name, trained)

    def record(self, trained, timing: dict, history: list, options: dict) -> dict:
        """The checkpoint's metadata: wall seconds of training, the behaviours, the training curve."""
        return {"train_seconds": timing["train_wall_seconds"], "metrics": self.evaluate(trained), "history": history}

    def write(self, trained, record: dict, out=None) -> list[Path]:
        organisms.save(self.name, trained, record)
        return self.paths
