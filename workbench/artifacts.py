"""Everything the course ships, in one registry with one command line.

An artifact is a trained thing a notebook loads: an organism's checkpoint, an SAE, a transcoder.
Each has a recipe here, so that it can be reproduced by one command and measured by another:

    python -m workbench.artifacts list                   # name, kind, size, the command that makes it
    python -m workbench.artifacts train NAME [NAME ...]  # retrain from the recipe, overwrite the shipped copy
    python -m workbench.artifacts evaluate NAME [--json] # measure the shipped copy
    python -m workbench.artifacts seeds NAME [--seeds 0 1 2 3 4]  # retrain an organism per seed, ship the table
    python -m workbench.artifacts seed-transcoder NAME --seed S   # a transcoder recipe on another seed's organism

A transcoder also trains data-parallel, under PyTorch's launcher: ``torchrun --nproc-per-node N -m
workbench.artifacts train NAME [--steps …] [--out PATH] [--checkpoint PATH] [--activations DIR]
[--device cuda]`` (README, "Training bigger dictionaries"). The command line lives here, not in
``workbench.transcoders``, because only the registry knows the recipes; the loop it runs is
``workbench.transcoders.training.train_clt``, the same in one process and in N.

From Python, ``train(name, **overrides)`` retrains one without writing it (``overrides`` replace
fields of its training config, e.g. ``train("facts_clt", steps=300)`` for a quick run) and
``evaluate(name, trained=None)`` measures the shipped copy or one just trained.

This module sits above every stage of the pipeline: it is the only place that knows how a
dictionary was made from an organism, and nothing in the pipeline imports it.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from workbench import hooks, organisms

PACKAGE_DIR = Path(__file__).resolve().parent
KINDS = ("organism", "corpus", "sae", "transcoder")


@dataclass(frozen=True)
class SAERecipe:
    """A shipped SAE: which organism, and how it was trained (``LMSAEConfig`` fields in ``config``).

    With ``corpus`` (a corpus artifact), ``organism`` is a real model (``models.load_model``) and the SAE
    trains on that corpus's rows but the last ``heldout_rows``, on which ``evaluate`` measures it.
    """

    organism: str
    config: dict
    dataset_rows: int = 60_000
    dataset_seed: int = 0
    corpus: str | None = None
    heldout_rows: int = 40

    def lm_sae_config(self, **overrides):
        from workbench.saes.training import LMSAEConfig

        return LMSAEConfig(**{**self.config, **overrides})


@dataclass(frozen=True)
class CorpusRecipe:
    """Text a real model writes itself (``activations.corpus``): ``n_rows`` rows of ``row_tokens`` tokens."""

    model: str
    n_rows: int = 400
    row_tokens: int = 128
    seed: int = 0


@dataclass(frozen=True)
class TranscoderRecipe:
    """A shipped transcoder: which organism, its shape, how it was trained (``CLTTrainConfig`` fields)."""

    organism: str
    cross_layer: bool
    d_features: int = 256
    train: dict = field(default_factory=dict)

    def train_config(self, **overrides):
        from workbench.transcoders.training import CLTTrainConfig

        return CLTTrainConfig(**{**self.train, **overrides})


@dataclass(frozen=True)
class CorpusTranscoderRecipe:
    """A transcoder on a real model's MLPs (``models.load_model(model)``), trained on corpus artifact ``corpus``.

    The last ``heldout`` rows of the corpus are never trained on; ``evaluate`` measures on the first
    ``measure_rows`` of them (two passes of the model per row: a few CPU-seconds each). The first
    ``train_rows`` of the others are collected once (``activations.corpus_activations``, ``<bos>`` left
    out); ``train`` holds ``CLTTrainConfig`` fields (its ``n_sentences`` is unused).
    """

    model: str
    corpus: str
    cross_layer: bool = False
    d_features: int = 128
    train_rows: int = 200
    heldout: int = 40
    measure_rows: int = 16
    train: dict = field(default_factory=dict)

    def train_config(self, **overrides):
        from workbench.transcoders.training import CLTTrainConfig

        return CLTTrainConfig(**{**self.train, **overrides})


@dataclass(frozen=True)
class Artifact:
    """One shipped artifact: its ``name``, ``kind`` and the recipe that reproduces it."""

    name: str
    kind: str
    organism: str
    recipe: CorpusRecipe | SAERecipe | TranscoderRecipe | CorpusTranscoderRecipe | None = None  # organisms carry theirs in their world

    @property
    def paths(self) -> list[Path]:
        """The files shipped for this artifact."""
        if self.kind == "organism":
            path = organisms.checkpoint_path(self.name)
            return [path, path.with_suffix(".json"), *self.seed_records]
        if self.kind == "corpus":
            return [corpus_path(self.name)]
        if self.kind == "sae":
            from workbench.saes.loading import CHECKPOINT_DIR

            return sorted((CHECKPOINT_DIR / self.name).glob("*"))
        from workbench.transcoders.loading import shipped_path

        path = shipped_path(self.name)
        return [path, path.with_suffix(".json"), *self.seed_records]

    @property
    def seed_records(self) -> list[Path]:
        """What ships about other seeds: an organism's seed table (``seeds NAME``), a transcoder recipe's
        records on other seeds' organisms (``seed-transcoder NAME --seed S``)."""
        if self.kind == "organism":
            return [path for path in [seed_table_path(self.name)] if path.exists()] + seed_trial_paths(self.name)
        if self.kind == "transcoder":
            from workbench.transcoders.loading import CHECKPOINT_DIR

            return sorted(CHECKPOINT_DIR.glob(f"{self.name}.seed*.json"))
        return []

    @property
    def size_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.paths if path.exists())

    @property
    def command(self) -> str:
        return f"python -m workbench.artifacts train {self.name}"


def _registry() -> dict[str, Artifact]:
    artifacts = {name: Artifact(name, "organism", name) for name in organisms.names()}
    corpora = {
        # SmolLM2's own text (notebook 08): 400 rows of 128 tokens, 51,200 tokens; 22 CPU-minutes to write on a
        # loaded 2-core machine (the sampling is one token at a time for each batch of 40 rows).
        "smollm2_text": CorpusRecipe("smollm2-135m"),
    }
    artifacts.update({name: Artifact(name, "corpus", recipe.model, recipe) for name, recipe in corpora.items()})
    saes = {
        # TopK, k=8, 512 latents on the residual entering block 1 of the facts organism, where the state
        # swap of notebook 00 acts. Measured: CE recovered 0.987, explained variance 0.99.
        "facts_resid1": SAERecipe("facts", dict(hook_name=hooks.resid_pre(1), d_sae=512, k=8)),
        # TopK, k=32, 2048 latents on SmolLM2's residual entering block 24, where the Dallas → Texas fact
        # arrives at the last position (notebook 08), trained on its own text (smollm2_text, the last 40 rows
        # held out): ~2.2 passes over the 45k training tokens, ≈ 8 CPU-minutes.
        "smollm2_resid24": SAERecipe("smollm2-135m", dict(hook_name=hooks.resid_pre(24), d_sae=2048, k=32, lr=1e-2,
                                                          training_tokens=100_000), corpus="smollm2_text"),
    }
    # The facts organisms trained with weight decay (0.1, then 0.3) have sparser MLPs: on the 0.1 organism
    # the default sparsity coefficient (5e-4) kept L0 23 / 12 and held-out two-hop fell from 1.00 to 0.86
    # under replacement. At 2e-4 the 0.3 organism's CLT keeps L0 35 / 14, KL 0.0002, two-hop 1.00.
    facts_train = dict(sparsity_coefficient=2e-4)
    transcoders = {
        "facts_clt": TranscoderRecipe("facts", cross_layer=True, train=facts_train),
        "facts_plt": TranscoderRecipe("facts", cross_layer=False, train=facts_train),
        # Same recipe as facts_clt, on the organism with whole states held out of two-hop training
        # (notebook 05: where composition fails).
        "facts_heldout_states_clt": TranscoderRecipe("facts_heldout_states", cross_layer=True, train=facts_train),
        "couplets_clt": TranscoderRecipe("couplets", cross_layer=True),
        "couplets_plt": TranscoderRecipe("couplets", cross_layer=False),
        "couplets_lookback_clt": TranscoderRecipe("couplets_lookback", cross_layer=True),
        "couplets_control_clt": TranscoderRecipe("couplets_control", cross_layer=True),
        "couplets_bottleneck_clt": TranscoderRecipe("couplets_bottleneck", cross_layer=True),
    }
    real_transcoders = {
        # Per-layer transcoders on all 30 MLPs of SmolLM2 (notebook 08), 128 features each (17.8 MB in
        # float32), trained on its own text: 15 CPU-minutes on a busy 2-core machine, collection included.
        "smollm2_plt": CorpusTranscoderRecipe("smollm2-135m", "smollm2_text", train=dict(
            steps=400, batch_size=512, sparsity_coefficient=5e-3)),
    }
    artifacts.update({name: Artifact(name, "transcoder", recipe.model, recipe) for name, recipe in real_transcoders.items()})
    artifacts.update({name: Artifact(name, "sae", recipe.organism, recipe) for name, recipe in saes.items()})
    artifacts.update({name: Artifact(name, "transcoder", recipe.organism, recipe) for name, recipe in transcoders.items()})
    return artifacts


ARTIFACTS: dict[str, Artifact] = _registry()


def names(kind: str | None = None) -> list[str]:
    """Every artifact's name, or those of one ``kind`` ("organism", "sae", "transcoder")."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    return [name for name, artifact in ARTIFACTS.items() if kind in (None, artifact.kind)]


def get(name: str) -> Artifact:
    if name not in ARTIFACTS:
        raise KeyError(f"unknown artifact {name!r}; known: {', '.join(ARTIFACTS)}")
    return ARTIFACTS[name]


# --- Training ------------------------------------------------------------------------------------


def train(name: str, *, progress: bool = True, history: list | None = None, **overrides):
    """Retrain artifact ``name`` from its recipe and return it (nothing is written).

    ``overrides`` replace fields of its training config: ``TrainConfig`` for an organism,
    ``LMSAEConfig`` for an SAE (``training_tokens=30_000``), ``CLTTrainConfig`` for a transcoder
    (``steps=300``). ``history``, if given, receives the training curve (organisms, transcoders).
    A transcoder also takes ``checkpoint``, ``checkpoint_every``, ``activations`` (a directory of
    streamed activation shards) and ``device``, and trains data-parallel inside a process group
    (``_train_transcoder``).
    """
    artifact = get(name)
    if artifact.kind == "organism":
        world = organisms.get_world(name)
        return organisms.train(name, train_config=replace(world.train_config, **overrides), progress=progress, history=history)
    if artifact.kind == "corpus":
        return _write_corpus(artifact.recipe, progress=progress, **overrides)
    if artifact.kind == "sae" and artifact.recipe.corpus is not None:
        return _train_corpus_sae(artifact.recipe, progress=progress, **overrides)
    if isinstance(artifact.recipe, CorpusTranscoderRecipe):
        return _train_corpus_transcoder(artifact.recipe, progress=progress, history=history, **overrides)
    model, world = organisms.load(artifact.organism)
    if artifact.kind == "sae":
        return _train_sae(artifact.recipe, model, world, progress=progress, **overrides)
    return _train_transcoder(artifact.recipe, model, world, progress=progress, history=history, **overrides)


def corpus_path(name: str) -> Path:
    """Where corpus ``name`` ships: ``activations/corpora/NAME.safetensors``."""
    return PACKAGE_DIR / "activations" / "corpora" / f"{name}.safetensors"


def _write_corpus(recipe: CorpusRecipe, *, progress: bool, **overrides):
    """The corpus's token rows, written by its model (``overrides``: ``n_rows``, ``row_tokens``, ``seed``)."""
    from workbench.activations.corpus import generate_rows
    from workbench.models import load_model

    recipe = replace(recipe, **overrides)
    model = load_model(recipe.model, device="cpu")
    return generate_rows(model, recipe.n_rows, recipe.row_tokens, recipe.seed, progress=progress)


def _train_sae(recipe: SAERecipe, model, world, *, progress: bool, save_to=None, **overrides):
    from workbench.activations.collect import organism_dataset
    from workbench.saes.training import train_lm_sae

    dataset = organism_dataset(world, recipe.dataset_rows, recipe.dataset_seed)
    return train_lm_sae(model, dataset, recipe.lm_sae_config(**overrides), save_to=save_to, progress=progress)


def corpus_split(recipe: SAERecipe):
    """``(train_rows, heldout_rows)`` of the corpus a real model's SAE recipe trains on."""
    from workbench.activations.corpus import split_rows

    return split_rows(load(recipe.corpus), heldout=recipe.heldout_rows)


def _train_corpus_sae(recipe: SAERecipe, *, progress: bool, save_to=None, model=None, device: str = "auto",
                      **overrides):
    """An SAE on a real model (``recipe.organism``) over its corpus's training rows (``model``: already loaded)."""
    from workbench.activations.corpus import corpus_dataset
    from workbench.models import load_model
    from workbench.saes.training import train_lm_sae

    model = load_model(recipe.organism, device=device) if model is None else model
    train_rows, _ = corpus_split(recipe)
    return train_lm_sae(model, corpus_dataset(train_rows), recipe.lm_sae_config(**overrides), save_to=save_to,
                        progress=progress)


def _train_transcoder(recipe: TranscoderRecipe, model, world, *, progress: bool, history: list | None,
                      checkpoint=None, checkpoint_every: int = 100, activations=None, device=None, **overrides):
    """One process: the recipe as it always ran. In a process group (torchrun): each process computes its
    own share of the activations from the model, or reads its shard files from ``activations`` (written
    first, once, by all processes together), and ``train_clt`` trains data-parallel."""
    from workbench.activations.collect import organism_activations
    from workbench.activations.shards import organism_activation_shard, read_activation_shard, write_activation_shards
    from workbench.transcoders import distributed
    from workbench.transcoders.model import CLTConfig
    from workbench.transcoders.training import train_clt

    config = recipe.train_config(**overrides)
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
    shape = CLTConfig(model.cfg.n_layers, model.cfg.d_model, recipe.d_features, cross_layer=recipe.cross_layer)
    return train_clt(data, shape, config, progress=progress, history=history, checkpoint=checkpoint,
                     checkpoint_every=checkpoint_every, organism=recipe.organism)


def _train_corpus_transcoder(recipe: CorpusTranscoderRecipe, *, progress: bool, history: list | None,
                             checkpoint=None, checkpoint_every: int = 100, device="auto", train_rows: int | None = None,
                             **overrides):
    """A transcoder on a real model's MLPs over its corpus's training rows (``train_rows`` overrides the recipe's)."""
    from workbench.activations.collect import corpus_activations
    from workbench.models import load_model, resolve_device
    from workbench.transcoders.model import CLTConfig
    from workbench.transcoders.training import train_clt

    config = recipe.train_config(**overrides)
    device = resolve_device(device)
    model = load_model(recipe.model, device=device)
    rows, _ = split_rows_of(recipe)
    inputs, outputs = corpus_activations(model, rows[: train_rows or recipe.train_rows])
    del model
    # A real model's residual norms grow from ~3 to ~600 with depth: each layer's inputs and outputs are
    # trained at mean norm √d_model, where the JumpReLU's threshold and bandwidth mean the same at every
    # layer, and the scales are folded back into the weights afterwards.
    d = inputs.shape[2]
    input_scale = inputs.norm(dim=-1).mean(0) / d ** 0.5  # (n_layers,)
    output_scale = outputs.norm(dim=-1).mean(0) / d ** 0.5
    inputs /= input_scale[:, None]
    outputs /= output_scale[:, None]
    shape = CLTConfig(inputs.shape[1], d, recipe.d_features, cross_layer=recipe.cross_layer)
    clt = train_clt((inputs.to(device), outputs.to(device)), shape, config, progress=progress, history=history,
                    checkpoint=checkpoint, checkpoint_every=checkpoint_every, organism=recipe.model)
    return _fold_scales(clt, input_scale.to(device), output_scale.to(device))


def _fold_scales(clt, input_scale, output_scale):
    """The transcoder trained on x / input_scale and y / output_scale, as one that reads x and writes y
    (per-layer transcoders: each layer's decoder writes to its own layer only)."""
    import torch

    with torch.no_grad():
        clt.W_enc /= input_scale[:, None, None]
        clt.b_dec *= output_scale[:, None]
        for layer, W in enumerate(clt.W_dec):
            W *= output_scale[layer:layer + W.shape[1], None]
    return clt


def ship(name: str, *, out=None, **options) -> list[Path]:
    """Retrain ``name`` from its full recipe, measure it, and overwrite the shipped copy; return its files.

    Transcoders only: ``out`` writes there instead of the shipped copy; ``options`` go to ``train``
    (recipe overrides such as ``steps``, and ``checkpoint``, ``activations``, ``device``). Inside a
    process group (torchrun) every process trains and process 0 alone measures and writes.
    """
    from workbench import runtime

    runtime.configure()
    artifact = get(name)
    if (out is not None or options) and artifact.kind != "transcoder":
        raise ValueError(f"{name} is of kind {artifact.kind}: only transcoders take out, overrides or distributed options")
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    if artifact.kind == "organism":
        history: list[dict] = []
        model = train(name, history=history)
        seconds = time.perf_counter() - start_wall
        metadata = {"train_seconds": round(seconds, 1), "metrics": organisms.evaluate(name, model), "history": history}
        organisms.save(name, model, metadata)
    elif artifact.kind == "corpus":
        from workbench.activations.corpus import save_rows

        rows = train(name)
        cpu_seconds = time.process_time() - start_cpu
        save_rows(rows, corpus_path(name), {**asdict(artifact.recipe), "cpu_seconds": round(cpu_seconds, 1),
                                            "command": artifact.command})
    elif artifact.kind == "sae" and artifact.recipe.corpus is not None:
        from workbench.saes.loading import CHECKPOINT_DIR

        folder = CHECKPOINT_DIR / name
        sae = _train_corpus_sae(artifact.recipe, progress=True, save_to=folder)
        cpu_seconds = time.process_time() - start_cpu
        record = {"recipe": asdict(artifact.recipe), "train_cpu_seconds": round(cpu_seconds, 1),
                  "train_wall_seconds": round(time.perf_counter() - start_wall, 1), "command": artifact.command,
                  **evaluate(name, sae)}
        (folder / SAE_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    elif artifact.kind == "sae":
        from workbench.saes.loading import CHECKPOINT_DIR

        model, world = organisms.load(artifact.organism)
        _train_sae(artifact.recipe, model, world, progress=True, save_to=CHECKPOINT_DIR / name)
    else:
        from workbench.transcoders import distributed
        from workbench.transcoders.loading import save_clt, shipped_path

        ranks = distributed.world()
        clt = train(name, **options).cpu()
        cpu_seconds = time.process_time() - start_cpu
        overrides = {k: v for k, v in options.items() if k not in ("checkpoint", "checkpoint_every", "activations", "device")}
        recipe = {**asdict(artifact.recipe), "train": asdict(artifact.recipe.train_config(**overrides))}
        if ranks.size > 1:
            recipe["processes"] = ranks.size
        path = shipped_path(name) if out is None else Path(out).with_suffix(".safetensors")
        if ranks.is_main:
            metadata = {"recipe": recipe, "train_cpu_seconds": round(cpu_seconds, 1), **evaluate(name, clt)}
            save_clt(clt, path, metadata)
        distributed.barrier()
        return [path, path.with_suffix(".json")]
    return artifact.paths


# --- Seeds ---------------------------------------------------------------------------------------

SEEDS = (0, 1, 2, 3, 4)


def seed_table_path(name: str) -> Path:
    """The seed table shipped beside organism ``name``'s checkpoint: ``checkpoints/NAME.seeds.json``."""
    return organisms.CHECKPOINT_DIR / f"{name}.seeds.json"


def seed_configs(name: str, seed: int, **overrides):
    """``(model_config, train_config)`` of organism ``name``'s recipe with ``seed`` for both the model's
    initialisation (``OrganismConfig.seed``) and the order of its training sentences (``TrainConfig.seed``).

    Seed 0 is the recipe unchanged: the shipped checkpoint's configs exactly.
    """
    world = organisms.get_world(name)
    return replace(world.model_config, seed=seed), replace(world.train_config, seed=seed, **overrides)


def train_seed(name: str, seed: int, *, progress: bool = False, **overrides):
    """Organism ``name`` retrained with ``seed`` (init and data order); ``overrides`` replace ``TrainConfig`` fields."""
    model_config, train_config = seed_configs(name, seed, **overrides)
    return organisms.train(name, model_config, train_config, progress=progress)


def same_weights(model, other) -> bool:
    """True when two organisms hold bit-for-bit the same parameters and buffers."""
    import torch

    mine, theirs = model.state_dict(), other.state_dict()
    return mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


def weight_difference(model, other) -> float:
    """The largest absolute difference between two organisms' parameters, relative to the largest parameter."""
    mine, theirs = dict(model.named_parameters()), dict(other.named_parameters())
    largest = max(float(p.detach().abs().max()) for p in mine.values())
    return max(float((mine[k].detach() - theirs[k].detach()).abs().max()) for k in mine) / largest


def shipped_seed_row(name: str) -> dict:
    """Seed 0's row read from the shipped checkpoint's record instead of retrained (``from_checkpoint``).

    Sound because seed 0 is the recipe unchanged (``seed_configs(name, 0)`` is the world's configs)
    and training is bit-for-bit reproducible with one thread; a retrained seed 0 records
    ``matches_shipped`` to show it. ``train_seconds`` is the one recorded when the checkpoint was made.
    """
    record = organisms.checkpoint_metadata(name)
    return {**record["metrics"], "train_seconds": record["train_seconds"], "from_checkpoint": True}


def seed_sweep(name: str, seeds=SEEDS, *, progress: bool = False, write: bool = True, keep=None,
               log=None, reuse_shipped: bool = False, **overrides) -> dict[str, dict]:
    """Retrain organism ``name`` once per seed, measure its behaviours, and return {seed: row}.

    A row is the world's behaviour metrics plus ``train_seconds`` (wall time of training alone) and
    ``cpu_seconds``. A seed-0 row also says whether the retrained weights are bit-for-bit the
    shipped checkpoint's (``matches_shipped``) and, if not, how far apart they are
    (``weight_difference``): seed 0 with no ``overrides`` is the recipe that made it. ``write``: merge the rows into the shipped table (``seed_table_path``), so seeds can
    be run in separate processes; not with ``overrides``, which are experiments, not the recipe.
    ``keep``: a directory to save each seed's weights in (``NAME.seedS.safetensors``).
    ``reuse_shipped``: take seed 0's row from the shipped checkpoint (``shipped_seed_row``), not retrained.
    """
    from workbench.organisms.model import save_checkpoint

    if write and overrides:
        raise ValueError("a sweep with recipe overrides is an experiment: run it with write=False")
    rows = {}
    for seed in seeds:
        if seed == 0 and reuse_shipped and not overrides:
            rows["0"] = shipped_seed_row(name)
            if write:
                _write_seed_row(name, 0, rows["0"])
            continue
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        model = train_seed(name, seed, progress=progress, **overrides)
        row = {"train_seconds": round(time.perf_counter() - start_wall, 1),
               "cpu_seconds": round(time.process_time() - start_cpu, 1)}
        row = {**organisms.evaluate(name, model), **row}
        if seed == 0 and not overrides:
            shipped = organisms.load(name)[0]
            row["matches_shipped"] = same_weights(model, shipped)
            row["weight_difference"] = weight_difference(model, shipped)
        if keep is not None:
            Path(keep).mkdir(parents=True, exist_ok=True)
            save_checkpoint(model, seed_configs(name, seed)[0], Path(keep) / f"{name}.seed{seed}.safetensors",
                            {"metrics": row, "overrides": overrides})
        rows[str(seed)] = row
        if log is not None:
            print(f"{name} seed {seed}: {json.dumps(row)}", file=log, flush=True)
        if write:
            _write_seed_row(name, seed, row)
    return rows


def _write_seed_row(name: str, seed: int, row: dict) -> None:
    """Merge one row into organism ``name``'s shipped seed table (rows of other seeds are kept)."""
    path = seed_table_path(name)
    table = json.loads(path.read_text()) if path.exists() else {}
    table[str(seed)] = row
    path.write_text(json.dumps(dict(sorted(table.items(), key=lambda kv: int(kv[0]))), indent=2) + "\n")


def seed_trial_paths(name: str) -> list[Path]:
    """Seed tables of recipes tried and not shipped (``seeds NAME --set … --out``), kept beside the checkpoint
    as ``NAME.seeds.TRIAL.json`` so that a recipe change can be shown against what it replaced."""
    return sorted(organisms.CHECKPOINT_DIR.glob(f"{name}.seeds.*.json"))


def seed_trials(name: str) -> dict[str, dict[int, dict]]:
    """{"weight_decay=0.01": {seed: row}, …}: each tried recipe of organism ``name``, named by its changes."""
    trials = {}
    for path in seed_trial_paths(name):
        trial = json.loads(path.read_text())
        label = " ".join(f"{key}={value}" for key, value in trial["overrides"].items())
        trials[label] = {int(seed): row for seed, row in trial["rows"].items()}
    return trials


def seed_table(name: str) -> dict[int, dict]:
    """The shipped seed table of organism ``name``: {seed: behaviour metrics, train_seconds, ...}."""
    return {int(seed): row for seed, row in json.loads(seed_table_path(name).read_text()).items()}


SEED_BOOKKEEPING = ("train_seconds", "cpu_seconds", "matches_shipped", "weight_difference", "from_checkpoint")


def seed_spread(table: dict[int, dict]) -> dict[str, dict[str, float]]:
    """Per behaviour metric of a seed table: mean, std (population), min and max over its seeds."""
    import statistics

    # In the order the world measures them (a row read from a checkpoint's record has its keys sorted).
    measured = [row for row in table.values() if not row.get("from_checkpoint")] or list(table.values())
    metrics = [key for key in measured[0] if key not in SEED_BOOKKEEPING]
    spread = {}
    for metric in metrics:
        values = [row[metric] for row in table.values()]
        spread[metric] = {"mean": statistics.fmean(values), "std": statistics.pstdev(values),
                          "min": min(values), "max": max(values)}
    return spread


def seed_verdict(table: dict[int, dict], tolerance: float = 0.0) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """``(holds, varies)``: the metrics equal for every seed (within ``tolerance``) with their value, and
    the others with their (min, max) over seeds."""
    holds, varies = {}, {}
    for metric, s in seed_spread(table).items():
        if s["max"] - s["min"] <= tolerance:
            holds[metric] = s["min"]
        else:
            varies[metric] = (s["min"], s["max"])
    return holds, varies


def seed_sentence(name: str, table: dict[int, dict] | None = None) -> str:
    """One sentence on what holds for every seed of organism ``name`` and what does not."""
    table = seed_table(name) if table is None else table
    holds, varies = seed_verdict(table)
    same = ", ".join(f"{metric} = {value:.2f}" for metric, value in holds.items()) or "no metric"
    ranges = "; ".join(f"{metric} from {low:.3f} to {high:.3f}" for metric, (low, high) in varies.items())
    return (f"{name}, {len(table)} seeds: every seed gives {same}"
            + (f"; across seeds {ranges}." if ranges else "; nothing varies."))


def seed_transcoder_path(name: str, seed: int) -> Path:
    """The record of transcoder recipe ``name`` trained on organism seed ``seed``, beside the transcoder."""
    from workbench.transcoders.loading import CHECKPOINT_DIR

    return CHECKPOINT_DIR / f"{name}.seed{seed}.json"


def seed_transcoder_record(name: str, seed: int) -> dict:
    """The shipped record of transcoder recipe ``name`` on organism seed ``seed`` (``transcoder_on_seed``)."""
    return json.loads(seed_transcoder_path(name, seed).read_text())


def transcoder_on_seed(name: str, seed: int, *, organism=None, progress: bool = False, write: bool = True) -> dict:
    """Transcoder recipe ``name`` on its organism retrained with ``seed``: does the recipe carry over?

    Retrains the organism with ``seed`` in memory (or takes ``organism``, a model trained with
    ``train_seed``), collects its activations, trains the transcoder with the shipped recipe, and
    measures it as ``evaluate`` does: replacement fidelity on held-out text and the behaviours
    under replacement, beside the organism's own behaviours. ``write``: save the record as
    ``seed_transcoder_path(name, seed)`` (no weights: it is a measurement, not an artifact).
    """
    artifact = get(name)
    if artifact.kind != "transcoder":
        raise ValueError(f"{name} is of kind {artifact.kind}, not a transcoder")
    start = time.process_time()
    model = train_seed(artifact.organism, seed, progress=progress) if organism is None else organism
    organism_cpu_seconds = time.process_time() - start if organism is None else None
    world = organisms.get_world(artifact.organism)
    start = time.process_time()
    clt = _train_transcoder(artifact.recipe, model, world, progress=progress, history=None)
    record = {
        "organism": artifact.organism, "organism_seed": seed,
        "organism_metrics": world.core_metrics(model),
        "recipe": {**asdict(artifact.recipe), "train": asdict(artifact.recipe.train_config())},
        "train_cpu_seconds": round(time.process_time() - start, 1),
        **_measure_transcoder(model, world, clt),
        "command": f"python -m workbench.artifacts seed-transcoder {name} --seed {seed}",
    }
    if organism_cpu_seconds is not None:
        record["organism_cpu_seconds"] = round(organism_cpu_seconds, 1)
    if write:
        seed_transcoder_path(name, seed).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


# --- Measuring -----------------------------------------------------------------------------------


def load(name: str):
    """The shipped artifact ``name``: ``(model, world)`` for an organism, SAELens's ``SAE``, or a transcoder."""
    artifact = get(name)
    if artifact.kind == "organism":
        return organisms.load(name)
    if artifact.kind == "corpus":
        from workbench.activations.corpus import load_rows

        return load_rows(corpus_path(name))
    if artifact.kind == "sae":
        from workbench.saes.loading import load_sae

        return load_sae(name)
    from workbench.transcoders.loading import load_clt

    return load_clt(name)


def evaluate(name: str, trained=None) -> dict:
    """What artifact ``name`` measures (the shipped copy, or ``trained``), as plain numbers.

    Organism: its world's behaviours. SAE: the splice report on held-out text. Transcoder: its
    fidelity as the replacement of its organism, and the organism's behaviours under it.
    """
    artifact = get(name)
    if artifact.kind == "organism":
        return organisms.evaluate(name, trained)
    if artifact.kind == "corpus":
        rows = load(name) if trained is None else trained
        return {"rows": rows.shape[0], "tokens": rows.numel(), "distinct_tokens": int(rows.unique().numel())}
    if artifact.kind == "sae" and artifact.recipe.corpus is not None:
        return _measure_corpus_sae(artifact.recipe, load(name) if trained is None else trained)
    if isinstance(artifact.recipe, CorpusTranscoderRecipe):
        return _measure_corpus_transcoder(artifact.recipe, load(name) if trained is None else trained)
    model, world = organisms.load(artifact.organism)
    dictionary = load(name) if trained is None else trained
    if artifact.kind == "sae":
        from workbench.activations.collect import heldout_tokens
        from workbench.saes.evaluation import splice_report

        tokens, _ = heldout_tokens(world)
        report = splice_report(model, dictionary, tokens)
        return {**asdict(report), "ce_recovered": report.ce_recovered}
    return _measure_transcoder(model, world, dictionary)


SAE_RECORD = "record.json"  # beside a real model's SAE: its recipe, training time and what evaluate measured


def sae_record(name: str) -> dict:
    """What shipped with a real model's SAE: recipe, training CPU seconds and its splice report on held-out rows."""
    from workbench.saes.loading import CHECKPOINT_DIR

    return json.loads((CHECKPOINT_DIR / name / SAE_RECORD).read_text())


def _measure_corpus_sae(recipe: SAERecipe, sae, model=None) -> dict:
    """A real model's SAE spliced in on its corpus's held-out rows (``saes.splice_report``)."""
    from workbench.models import load_model
    from workbench.saes.evaluation import splice_report

    model = load_model(recipe.organism, device="auto") if model is None else model
    _, heldout = corpus_split(recipe)
    report = splice_report(model, sae.to(model.cfg.device), heldout.to(model.cfg.device), batch_rows=8,
                           from_hook=True)
    return {**asdict(report), "ce_recovered": report.ce_recovered, "heldout_rows": recipe.heldout_rows}


# --- A real model's SAE and text: shipped, or from the hub -----------------------------------------


def model_sae(model_name: str, device="auto") -> tuple[str, object]:
    """``(name, SAE)``: the SAE notebook 08 studies on ``model_name``.

    The one shipped for it if there is one (trained here on the model's own text, e.g. ``smollm2_resid24``),
    else SAELens's pretrained SAE for it (``saes.PRETRAINED_SAES``), downloaded: offline that raises
    ``models.ModelUnavailable``. A hub SAE's name is ``release/sae_id``.
    """
    from workbench.models import resolve_device
    from workbench.saes.loading import PRETRAINED_SAES, pretrained_sae

    shipped = [name for name in names("sae") if get(name).recipe.corpus is not None
               and get(name).recipe.organism == model_name]
    if shipped:
        return shipped[0], load(shipped[0]).to(resolve_device(device))
    if model_name not in PRETRAINED_SAES:
        raise ValueError(f"no SAE shipped or known for {model_name!r}: pass SAELens's release and SAE id to "
                         f"saes.pretrained_sae. Known: {', '.join(PRETRAINED_SAES)}")
    release, sae_id = PRETRAINED_SAES[model_name]
    return f"{release}/{sae_id}", pretrained_sae(release, sae_id, device)


def model_text(model_name: str, model, n_rows: int = 80, row_tokens: int = 128):
    """Token rows of a real model's own text: the corpus shipped for it (``smollm2_text``), else ``n_rows``
    rows the model writes now (``activations.generate_rows``: no dataset to download, and on a GPU it
    takes a minute). Either way the last rows are the ones to hold out (``activations.split_rows``)."""
    shipped = [name for name in names("corpus") if get(name).recipe.model == model_name]
    if shipped:
        return load(shipped[0]).to(model.cfg.device)
    from workbench.activations.corpus import generate_rows

    return generate_rows(model, n_rows, row_tokens).to(model.cfg.device)


def splice_report(name: str, model, sae, rows, batch_rows: int = 8):
    """SAE ``name`` spliced into ``model`` on held-out ``rows`` (``saes.SpliceReport``).

    A shipped real-model SAE: the report measured on its held-out rows when it shipped (``sae_record``;
    measuring again costs minutes on a CPU, ``evaluate(name)`` does it). Any other: measured now.
    """
    from workbench.saes.evaluation import SpliceReport
    from workbench.saes.evaluation import splice_report as measure

    if name in ARTIFACTS and get(name).recipe.corpus is not None:  # only a real model's SAE ships a record
        return SpliceReport.from_dict(sae_record(name))
    return measure(model, sae, rows, batch_rows=batch_rows)


def _measure_transcoder(model, world, transcoder) -> dict:
    """A transcoder's fidelity as the replacement of ``model`` on held-out text, and the behaviours under it."""
    from workbench.activations.collect import heldout_tokens
    from workbench.circuits.replacement import fidelity, replaced

    tokens, mask = heldout_tokens(world)
    result = {"fidelity": asdict(fidelity(model, transcoder, tokens, mask))}
    with replaced(model, transcoder):
        result["behaviour"] = world.core_metrics(model)
    return result


def _measure_corpus_transcoder(recipe: CorpusTranscoderRecipe, transcoder, device="auto", batch_rows: int = 8) -> dict:
    """A real model's transcoder on the corpus's held-out rows, in two passes of the model per batch: its
    fidelity as the replacement (every position but ``<bos>`` replaced) and, per layer, the fraction of
    the MLP output's variance it explains (pooled over every held-out token but ``<bos>``)."""
    import torch

    from workbench.circuits.replacement import combine_fidelity, fidelity_batch
    from workbench.models import load_model

    model = load_model(recipe.model, device=device)
    transcoder = transcoder.to(model.cfg.device)
    heldout = split_rows_of(recipe)[1][: recipe.measure_rows]
    inputs, outputs = hooks.transcoder_inputs(model.cfg.n_layers), hooks.transcoder_outputs(model.cfg.n_layers)
    parts, errors, sums, squares, n = [], 0.0, 0.0, 0.0, 0
    for start in range(0, len(heldout), batch_rows):
        rows = heldout[start:start + batch_rows].to(model.cfg.device)
        with torch.no_grad():
            logits, cache = model.run_with_cache(rows, names_filter=lambda name: name in inputs or name in outputs)
            x = torch.stack([cache[name][:, 1:] for name in inputs], dim=2).flatten(0, 1)
            y = torch.stack([cache[name][:, 1:] for name in outputs], dim=2).flatten(0, 1)
            errors = errors + (transcoder(x) - y).pow(2).sum((0, 2)).cpu()
            sums, squares, n = sums + y.sum(0).cpu(), squares + y.pow(2).sum((0, 2)).cpu(), n + len(y)
        del cache, x, y
        parts.append(fidelity_batch(model, transcoder, rows, _predicting_positions(rows), keep_bos=True,
                                    clean_logits=logits))
    variance = squares - sums.pow(2).sum(-1) / n  # Σ‖y − ȳ‖² per layer
    return {"fidelity": asdict(combine_fidelity(parts)), "explained_variance": (1 - errors / variance).tolist(),
            "heldout_rows": len(heldout)}


def split_rows_of(recipe: CorpusTranscoderRecipe):
    """(training rows, held-out rows) of the recipe's corpus."""
    from workbench.activations.corpus import split_rows

    return split_rows(load(recipe.corpus), recipe.heldout)


def _predicting_positions(rows):
    """The positions of ``rows`` whose next token is in the row, ``<bos>`` left out (its MLPs are kept whole)."""
    import torch

    mask = torch.ones_like(rows, dtype=torch.bool)
    mask[:, 0] = mask[:, -1] = False
    return mask


def _shipped_record(record: Path) -> dict:
    """What a transcoder written with ``--out`` measured (from its JSON record)."""
    return json.loads(record.read_text())["metadata"]


def listing() -> str:
    """One line per artifact: name, kind, organism, size on disk, and the command that reproduces it; under
    an organism or transcoder, its seed tables and the commands that make them."""
    name_w = max(len(a.name) for a in ARTIFACTS.values())
    organism_w = max(len(a.organism) for a in ARTIFACTS.values())
    lines = [(f"{'name':{name_w}s} {'kind':10s} {'organism':{organism_w}s} {'size':>9s}", "reproduce with")]
    for a in ARTIFACTS.values():
        lines.append((f"{a.name:{name_w}s} {a.kind:10s} {a.organism:{organism_w}s} {a.size_bytes / 1e6:6.2f} MB",
                      a.command))
        for record in a.seed_records:
            if a.kind != "organism":
                seeds = f"seed-transcoder {a.name} --seed {record.stem.rsplit('seed', 1)[1]}"
            elif record == seed_table_path(a.name):
                seeds = f"seeds {a.name}"
            else:
                trial = json.loads(record.read_text())
                changes = " ".join(f"{key}={value}" for key, value in trial["overrides"].items())
                tried = sorted(int(seed) for seed in trial["rows"])
                which = "" if tried == list(SEEDS) else f" --seeds {' '.join(map(str, tried))}"
                seeds = f"seeds {a.name}{which} --set {changes} --out {record.name}"
            lines.append((f"  {record.name}", f"python -m workbench.artifacts {seeds}"))
    width = max(len(left) for left, _ in lines)  # every command starts in one column
    return "\n".join(f"{left:{width}s}   {command}" for left, command in lines)


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

    parser = argparse.ArgumentParser(prog="python -m workbench.artifacts", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every shipped artifact: kind, size and the command that reproduces it")
    train_cmd = commands.add_parser("train", help="retrain NAME from its recipe and overwrite the shipped copy")
    train_cmd.add_argument("names", nargs="+", metavar="NAME", choices=list(ARTIFACTS))
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
    seed_clt_cmd.add_argument("name", metavar="NAME", choices=[n for n in names("transcoder")
                                                                if isinstance(get(n).recipe, TranscoderRecipe)])
    seed_clt_cmd.add_argument("--seed", type=int, required=True)
    seed_clt_cmd.add_argument("--organism", metavar="PATH",
                              help="the seed's organism already trained (saved by `seeds --keep`), instead of retraining it")
    evaluate_cmd = commands.add_parser("evaluate", help="measure the shipped NAME")
    evaluate_cmd.add_argument("name", metavar="NAME", choices=list(ARTIFACTS))
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
        if options and any(get(name).kind != "transcoder" for name in args.names):
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
    else:
        metrics = evaluate(args.name)
        if args.json:
            print(json.dumps(metrics))
        else:
            for key, value in _flatten(metrics).items():
                print(f"{key:40s} {value:.4f}" if isinstance(value, float) else f"{key:40s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
