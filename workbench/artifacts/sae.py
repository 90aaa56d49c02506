"""SAEs, trained with SAELens on an organism's sentences or on a real model's own text (a corpus artifact).

Each ships as a folder in SAELens's format with a record beside it (``saes.sae_record``): its recipe,
training time and its splice report on held-out text.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench import organisms
from workbench.artifacts.kinds import SPOT_CHECK_ROWS, Artifact, register


class _LMSAETraining:
    def lm_sae_config(self, **overrides):
        """The recipe's ``LMSAEConfig``, with ``overrides`` replacing fields of it."""
        from workbench.saes.training import LMSAEConfig

        return LMSAEConfig(**{**self.config, **overrides})


@dataclass(frozen=True)
class SAERecipe(_LMSAETraining):
    """An SAE on an organism: ``LMSAEConfig`` fields in ``config``, trained on ``dataset_rows`` of its sentences."""

    organism: str
    config: dict
    dataset_rows: int = 60_000
    dataset_seed: int = 0


@dataclass(frozen=True)
class CorpusSAERecipe(_LMSAETraining):
    """An SAE on a real model (``models.load_model(organism)``), trained on corpus artifact ``corpus`` but
    its last ``heldout_rows`` rows, on which it is measured."""

    organism: str
    config: dict
    corpus: str
    heldout_rows: int = 40

    def split(self):
        """``(training rows, held-out rows)`` of the recipe's corpus."""
        from workbench.activations.corpus import corpus_path, load_rows, split_rows

        return split_rows(load_rows(corpus_path(self.corpus)), heldout=self.heldout_rows)


class _SAE(Artifact):
    """What every SAE shares: a folder of ``saes.CHECKPOINT_DIR``, loaded with SAELens, shipped with a record."""

    kind = "sae"

    @property
    def folder(self) -> Path:
        from workbench.saes.loading import CHECKPOINT_DIR

        return CHECKPOINT_DIR / self.name

    @property
    def paths(self) -> list[Path]:
        return sorted(self.folder.glob("*"))

    def load(self):
        """SAELens's ``SAE``."""
        from workbench.saes.loading import load_sae

        return load_sae(self.name)

    def train_to_ship(self, history: list, **options):
        return self.train(progress=True, save_to=self.folder)

    def write(self, trained, record: dict, out=None) -> list[Path]:
        from workbench.saes.loading import SAE_RECORD

        (self.folder / SAE_RECORD).write_text(json.dumps(record, indent=2) + "\n")  # SAELens wrote the SAE itself
        return self.paths


@register(SAERecipe)
class OrganismSAE(_SAE):
    def train(self, *, progress: bool = True, history: list | None = None, save_to=None, **overrides):
        """``overrides``: fields of ``LMSAEConfig`` (``training_tokens=30_000``); ``save_to``: a folder for SAELens's files."""
        from workbench.activations.collect import organism_dataset
        from workbench.saes.training import train_lm_sae

        model, world = organisms.load(self.organism)
        dataset = organism_dataset(world, self.recipe.dataset_rows, self.recipe.dataset_seed)
        return train_lm_sae(model, dataset, self.recipe.lm_sae_config(**overrides), save_to=save_to, progress=progress)

    def evaluate(self, trained=None) -> dict:
        """The splice report on the sentences the organism never trained on (``activations.heldout_tokens``)."""
        from workbench.activations.collect import heldout_tokens
        from workbench.saes.evaluation import splice_report

        model, world = organisms.load(self.organism)
        tokens, _ = heldout_tokens(world)
        report = splice_report(model, self.load() if trained is None else trained, tokens)
        return {**asdict(report), "ce_recovered": report.ce_recovered, "heldout_sentences": len(tokens)}


@register(CorpusSAERecipe)
class CorpusSAE(_SAE):
    def train(self, *, progress: bool = True, history: list | None = None, save_to=None, model=None,
              device: str = "auto", **overrides):
        """On the corpus's training rows (``model``: the real model, already loaded)."""
        from workbench.activations.corpus import corpus_dataset
        from workbench.models import load_model
        from workbench.saes.training import train_lm_sae

        model = load_model(self.organism, device=device) if model is None else model
        train_rows, _ = self.recipe.split()
        return train_lm_sae(model, corpus_dataset(train_rows), self.recipe.lm_sae_config(**overrides),
                            save_to=save_to, progress=progress)

    def evaluate(self, trained=None, model=None, rows: int | None = None) -> dict:
        """The splice report on the corpus's held-out rows, or on the first ``rows`` of them (``model``: the real
        model, already loaded)."""
        from workbench.models import load_model
        from workbench.saes.evaluation import splice_report

        model = load_model(self.organism, device="auto") if model is None else model
        sae = self.load() if trained is None else trained
        heldout = self.recipe.split()[1][:rows]
        report = splice_report(model, sae.to(model.cfg.device), heldout.to(model.cfg.device), batch_rows=8,
                               from_hook=True)
        return {**asdict(report), "ce_recovered": report.ce_recovered, "heldout_rows": len(heldout)}

    def record(self, trained, timing: dict, history: list, options: dict) -> dict:
        """The record, and the same measures on the first ``SPOT_CHECK_ROWS`` held-out rows: what a test can
        measure again in seconds where the whole evaluation takes CPU-minutes."""
        from workbench.models import load_model

        model = load_model(self.organism, device="auto")
        return {**super().record(trained, timing, history, options),
                "spot_check": self.evaluate(trained, model=model, rows=SPOT_CHECK_ROWS)}


def splice_report(name: str, model, sae, rows, batch_rows: int = 8):
    """SAE ``name`` spliced into ``model`` on held-out ``rows`` (``saes.SpliceReport``).

    A shipped SAE with a record: the report it measured on its held-out rows when it shipped (measuring
    again costs minutes on a CPU; ``evaluate(name)`` does it). Any other (a hub SAE): measured now.
    """
    from workbench.saes.evaluation import SpliceReport
    from workbench.saes.evaluation import splice_report as measure
    from workbench.saes.loading import sae_record, shipped_names

    record = sae_record(name) if name in shipped_names() else None
    if record is not None:
        return SpliceReport.from_dict(record)
    return measure(model, sae, rows, batch_rows=batch_rows)
