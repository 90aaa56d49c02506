"""What every kind of shipped artifact does, and the one place that maps a recipe to its kind.

An artifact is a ``name`` and a ``recipe``. Its kind is a subclass of ``Artifact`` registered once for
the recipe's type (``register``, as SAELens registers an SAE class for its architecture), and that
class alone knows how the artifact is trained, loaded, measured, which files it ships and what record
it ships with. ``ship`` is the same for every kind: retrain from the recipe, measure, write the
artifact with a record of its recipe, its training time and what it measured.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

KINDS_BY_RECIPE: dict[type, type["Artifact"]] = {}


def register(recipe_type: type):
    """Class decorator: an artifact whose recipe is a ``recipe_type`` is of the decorated kind."""

    def add(kind: type[Artifact]) -> type[Artifact]:
        if recipe_type in KINDS_BY_RECIPE:
            raise ValueError(f"{recipe_type.__name__} is already the recipe of {KINDS_BY_RECIPE[recipe_type].__name__}")
        KINDS_BY_RECIPE[recipe_type] = kind
        return kind

    return add


def artifact(name: str, recipe) -> "Artifact":
    """Artifact ``name`` made by ``recipe``, of the kind registered for the recipe's type."""
    if type(recipe) not in KINDS_BY_RECIPE:
        raise TypeError(f"no kind of artifact is registered for a {type(recipe).__name__}")
    return KINDS_BY_RECIPE[type(recipe)](name, recipe)


# A real model's dictionaries take CPU-minutes to evaluate on their held-out rows; their records also keep the
# same measures on the first few rows, which a test measures again in seconds.
SPOT_CHECK_ROWS = 4


@dataclass(frozen=True)
class Artifact:
    """One shipped artifact: its ``name`` and the ``recipe`` that reproduces it. One subclass per kind."""

    name: str
    recipe: object = None

    kind: ClassVar[str]  # what ``artifacts list`` calls it: "organism", "corpus", "sae" or "transcoder"
    takes_training_options: ClassVar[bool] = False  # ``ship(out=…, steps=…, checkpoint=…)``: transcoders only

    @property
    def organism(self) -> str:
        """The organism, or the real model, whose activations (or text) it was made from."""
        return self.recipe.organism

    @property
    def paths(self) -> list[Path]:
        """The files shipped for this artifact."""
        raise NotImplementedError

    @property
    def seed_records(self) -> list[Path]:
        """What ships about other seeds (an organism's seed tables, a transcoder recipe on other seeds' organisms)."""
        return [record for record, _ in self.seed_commands()]

    def seed_commands(self) -> list[tuple[Path, str]]:
        """Each seed record and the ``python -m workbench.artifacts`` arguments that make it."""
        return []

    @property
    def size_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.paths if path.exists())

    @property
    def command(self) -> str:
        return f"python -m workbench.artifacts train {self.name}"

    def train(self, *, progress: bool = True, history: list | None = None, **overrides):
        """Retrain from the recipe and return the artifact (nothing is written); ``overrides`` replace
        fields of its training config; ``history``, if given, receives the training curve."""
        raise NotImplementedError

    def load(self):
        """The shipped copy."""
        raise NotImplementedError

    def evaluate(self, trained=None) -> dict:
        """What the shipped copy (or ``trained``) measures, as plain numbers."""
        raise NotImplementedError

    # --- shipping: the same steps for every kind ------------------------------------------------

    def ship(self, out=None, **options) -> list[Path]:
        """Retrain from the full recipe, measure, and overwrite the shipped copy with its record; return its files.

        ``out`` and ``options`` (recipe overrides, distributed training) only for kinds that take them.
        """
        from workbench import runtime

        runtime.configure()
        if (out is not None or options) and not self.takes_training_options:
            raise ValueError(f"{self.name} is of kind {self.kind}: only transcoders take out, overrides or distributed options")
        history: list[dict] = []
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        trained = self.train_to_ship(history, **options)
        timing = {"train_cpu_seconds": round(time.process_time() - start_cpu, 1),
                  "train_wall_seconds": round(time.perf_counter() - start_wall, 1)}
        return self.write(trained, self.record(trained, timing, history, options), out)

    def train_to_ship(self, history: list, **options):
        return self.train(progress=True, history=history, **options)

    def record(self, trained, timing: dict, history: list, options: dict) -> dict | None:
        """What ships beside the artifact: its recipe, training time, the command, and what it measures."""
        return {"recipe": asdict(self.recipe), **timing, "command": self.command, **self.evaluate(trained)}

    def write(self, trained, record: dict | None, out=None) -> list[Path]:
        """Write ``trained`` and its ``record`` over the shipped copy (or to ``out``); return the files written."""
        raise NotImplementedError
