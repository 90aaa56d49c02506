"""Transcoders, per-layer and cross-layer: on an organism's MLPs, or on a real model's over its own text.

Each ships as ``transcoders/checkpoints/NAME.safetensors`` with a JSON record (``transcoders.save_clt``):
its recipe, training time, its fidelity as the replacement model and, for an organism, the behaviours
under it. A transcoder also trains data-parallel under torchrun (README, "Training bigger
dictionaries"): every process trains, process 0 alone measures and writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbench import organisms
from workbench.artifacts.kinds import SPOT_CHECK_ROWS, Artifact, register

RUN_OPTIONS = ("checkpoint", "checkpoint_every", "activations", "device")  # how it runs, not what it trains


class _CLTTraining:
    def train_config(self, **overrides):
        """The recipe's ``CLTTrainConfig``, with ``overrides`` replacing fields of it."""
        from workbench.transcoders.training import CLTTrainConfig

        return CLTTrainConfig(**{**self.train, **overrides})


@dataclass(frozen=True)
class TranscoderRecipe(_CLTTraining):
    """A transcoder on an organism: its shape, and how it was trained (``CLTTrainConfig`` fields in ``train``)."""

    organism: str
    cross_layer: bool
    d_features: int = 256
    train: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CorpusTranscoderRecipe(_CLTTraining):
    """A transcoder on a real model's MLPs (``models.load_model(model)``), trained on corpus artifact ``corpus``.

    The last ``heldout_rows`` rows of the corpus are never trained on; ``evaluate`` measures on the first
    ``measure_rows`` of them (two passes of the model per row: a few CPU-seconds each). The first
    ``train_rows`` of the others are collected once (``activations.corpus_activations``, ``<bos>`` left
    out); ``train`` holds ``CLTTrainConfig`` fields (its ``n_sentences`` is unused).
    """

    model: str
    corpus: str
    cross_layer: bool = False
    d_features: int = 128
    train_rows: int = 200
    heldout_rows: int = 40
    measure_rows: int = 16
    train: dict = field(default_factory=dict)

    def split(self):
        """``(training rows, held-out rows)`` of the recipe's corpus."""
        from workbench.activations.corpus import corpus_path, load_rows, split_rows

        return split_rows(load_rows(corpus_path(self.corpus)), heldout=self.heldout_rows)


class _Transcoder(Artifact):
    """What every transcoder shares: its files, loading, seed records, and shipping from any number of processes."""

    kind = "transcoder"
    takes_training_options = True

    @property
    def paths(self) -> list[Path]:
        from workbench.transcoders.loading import shipped_path

        path = shipped_path(self.name)
        return [path, path.with_suffix(".json"), *self.seed_records]

    def seed_commands(self) -> list[tuple[Path, str]]:
        """Its recipe's records on other seeds' organisms (``seed-transcoder NAME --seed S``)."""
        from workbench.transcoders.loading import CHECKPOINT_DIR

        return [(record, f"seed-transcoder {self.name} --seed {record.stem.rsplit('seed', 1)[1]}")
                for record in sorted(CHECKPOINT_DIR.glob(f"{self.name}.seed*.json"))]

    def load(self):
        from workbench.transcoders.loading import load_clt

        return load_clt(self.name)

    def train_to_ship(self, history: list, **options):
        return self.train(progress=True, history=history, **options).cpu()

    def record(self, trained, timing: dict, history: list, options: dict) -> dict | None:
        """Process 0's record (None on the others): the recipe with its training config as run, and what it measures."""
        from workbench.transcoders import distributed

        ranks = distributed.world()
        if not ranks.is_main:
            return None
        overrides = {key: value for key, value in options.items() if key not in RUN_OPTIONS}
        recipe = {**asdict(self.recipe), "train": asdict(self.recipe.train_config(**overrides))}
        if ranks.size > 1:
            recipe["processes"] = ranks.size
        return {"recipe": recipe, **timing, "command": self.command, **self.evaluate(trained)}

    def write(self, trained, record: dict | None, out=None) -> list[Path]:
        """Over the shipped copy, or to ``out`` (.safetensors + .json); process 0 writes, the others wait."""
        from workbench.transcoders import distributed
        from workbench.transcoders.loading import save_clt, shipped_path

        path = shipped_path(self.name) if out is None else Path(out).with_suffix(".safetensors")
        if record is not None:
            save_clt(trained, path, record)
        distributed.barrier()
        return [path, path.with_suffix(".json")]


@register(TranscoderRecipe)
class OrganismTranscoder(_Transcoder):
    def train(self, *, progress: bool = True, history: list | None = None, model=None, checkpoint=None,
              checkpoint_every: int = 100, activations=None, device=None, **overrides):
        """On the MLPs of ``model`` (default: the shipped organism; ``seeds.transcoder_on_seed`` gives another
        seed's). One process: the recipe as it always ran. In a process group (torchrun): each process
        computes its own share of the activations, or reads its shard files from ``activations`` (written
        first, once, by all processes together), and ``train_clt`` trains data-parallel."""
        from workbench.activations.collect import organism_activations
        from workbench.activations.shards import organism_activation_shard, read_activation_shard, write_activation_shards
        from workbench.transcoders import distributed
        from workbench.transcoders.model import CLTConfig
        from workbench.transcoders.training import train_clt

        model = organisms.load(self.organism)[0] if model is None else model
        world = organisms.get_world(self.organism)
        config = self.recipe.train_config(**overrides)
        ranks = distributed.world()
        if device is not None:
            model = model.to(device)
        if activations is not None:
            write_activation_shards(model, world, config.n_sentences, config.seed, activations, rank=ranks.rank,
                                    world_size=ranks.size)
            distributed.barrier()
            expect = {"world": world.name, "n_sentences": config.n_sentences, "seed": config.seed}
            data = read_activation_shard(activations, ranks.rank, ranks.size, expect=expect).to(device or "cpu")
        elif ranks.size > 1:
            data = organism_activation_shard(model, world, config.n_sentences, config.seed, ranks.rank, ranks.size)
        else:
            data = organism_activations(model, world, config.n_sentences, config.seed)
        shape = CLTConfig(model.cfg.n_layers, model.cfg.d_model, self.recipe.d_features, cross_layer=self.recipe.cross_layer)
        return train_clt(data, shape, config, progress=progress, history=history, checkpoint=checkpoint,
                         checkpoint_every=checkpoint_every, organism=self.organism)

    def evaluate(self, trained=None, model=None) -> dict:
        """Its fidelity as the replacement of ``model`` (default: the shipped organism) on the sentences the organism
        never trained on (``activations.heldout_tokens``), and the behaviours under it."""
        from workbench.activations.collect import heldout_tokens
        from workbench.circuits.replacement import fidelity, replaced

        model = organisms.load(self.organism)[0] if model is None else model
        world = organisms.get_world(self.organism)
        transcoder = self.load() if trained is None else trained
        tokens, mask = heldout_tokens(world)
        result = {"fidelity": asdict(fidelity(model, transcoder, tokens, mask)), "heldout_sentences": len(tokens)}
        with replaced(model, transcoder):
            result["behaviour"] = world.core_metrics(model)
        return result


@register(CorpusTranscoderRecipe)
class CorpusTranscoder(_Transcoder):
    @property
    def organism(self) -> str:
        return self.recipe.model

    def train(self, *, progress: bool = True, history: list | None = None, checkpoint=None,
              checkpoint_every: int = 100, device="auto", train_rows: int | None = None, **overrides):
        """On the corpus's training rows (``train_rows``: the first that many instead of the recipe's), each
        layer at its own scale (``transcoders.train_rescaled_clt``)."""
        from workbench.activations.collect import corpus_activations
        from workbench.models import load_model, resolve_device
        from workbench.transcoders.model import CLTConfig
        from workbench.transcoders.training import train_rescaled_clt

        config = self.recipe.train_config(**overrides)
        device = resolve_device(device)
        model = load_model(self.recipe.model, device=device)
        rows, _ = self.recipe.split()
        inputs, outputs = corpus_activations(model, rows[: train_rows or self.recipe.train_rows])
        del model
        shape = CLTConfig(inputs.shape[1], inputs.shape[2], self.recipe.d_features, cross_layer=self.recipe.cross_layer)
        return train_rescaled_clt(inputs, outputs, shape, config, device=device, progress=progress, history=history,
                                  checkpoint=checkpoint, checkpoint_every=checkpoint_every, organism=self.recipe.model)

    def evaluate(self, trained=None, device="auto", batch_rows: int = 8, rows: int | None = None) -> dict:
        """On the first ``measure_rows`` held-out rows (or the first ``rows``): its fidelity as the replacement and,
        per layer, the explained variance of the MLP outputs (``circuits.rows_fidelity``)."""
        from workbench.circuits.replacement import rows_fidelity
        from workbench.models import load_model

        model = load_model(self.recipe.model, device=device)
        transcoder = (self.load() if trained is None else trained).to(model.cfg.device)
        heldout = self.recipe.split()[1][: rows or self.recipe.measure_rows]
        fit, explained = rows_fidelity(model, transcoder, heldout, batch_rows)
        return {"fidelity": asdict(fit), "explained_variance": explained, "heldout_rows": len(heldout)}

    def record(self, trained, timing: dict, history: list, options: dict) -> dict | None:
        """The record, and the same measures on the first ``SPOT_CHECK_ROWS`` held-out rows (a test's seconds)."""
        record = super().record(trained, timing, history, options)
        if record is not None:
            record["spot_check"] = self.evaluate(trained, rows=SPOT_CHECK_ROWS)
        return record
