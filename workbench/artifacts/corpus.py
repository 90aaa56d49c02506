"""Corpora: text a real model writes itself (``activations.corpus``), for its dictionaries to train on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from workbench.artifacts.kinds import Artifact, register


@dataclass(frozen=True)
class CorpusRecipe:
    """Text a real model writes itself (``activations.corpus``): ``n_rows`` rows of ``row_tokens`` tokens."""

    model: str
    n_rows: int = 400
    row_tokens: int = 128
    seed: int = 0


@register(CorpusRecipe)
class Corpus(Artifact):
    """Token rows in ``activations/corpora/NAME.safetensors``, the recipe and what they measure in the header."""

    kind = "corpus"

    @property
    def organism(self) -> str:
        return self.recipe.model

    @property
    def paths(self) -> list[Path]:
        from workbench.activations.corpus import corpus_path

        return [corpus_path(self.name)]

    def train(self, *, progress: bool = True, history: list | None = None, **overrides):
        """The corpus's token rows, written by its model (``overrides``: ``n_rows``, ``row_tokens``, ``seed``)."""
        from workbench.activations.corpus import generate_rows
        from workbench.models import load_model

        recipe = replace(self.recipe, **overrides)
        model = load_model(recipe.model, device="cpu")
        return generate_rows(model, recipe.n_rows, recipe.row_tokens, recipe.seed, progress=progress)

    def load(self):
        """The token rows (n_rows, row_tokens), int64."""
        from workbench.activations.corpus import corpus_path, load_rows

        return load_rows(corpus_path(self.name))

    def evaluate(self, trained=None) -> dict:
        rows = self.load() if trained is None else trained
        return {"rows": rows.shape[0], "tokens": rows.numel(), "distinct_tokens": int(rows.unique().numel())}

    def record(self, trained, timing: dict, history: list, options: dict) -> dict:
        """Flat, for the file's header (whose values are strings): the recipe's fields first, ``model`` among them."""
        return {**asdict(self.recipe), "cpu_seconds": timing["train_cpu_seconds"], "command": self.command,
                **self.evaluate(trained)}

    def write(self, trained, record: dict, out=None) -> list[Path]:
        from workbench.activations.corpus import save_rows

        save_rows(trained, self.paths[0], record)
        return self.paths
