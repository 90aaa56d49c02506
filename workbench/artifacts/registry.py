"""Everything the course ships, by name: the recipe of each, and what can be done with any of them.

    train(name, **overrides)   # retrain from the recipe and return it (nothing is written)
    evaluate(name, trained)    # measure the shipped copy, or one just trained
    load(name)                 # the shipped copy
    ship(name)                 # retrain, measure, overwrite the shipped copy and its record
    listing()                  # what ``python -m workbench.artifacts list`` prints

Each artifact's kind (``kinds``: one class per kind, registered for its recipe's type) does the work.
"""

from __future__ import annotations

from pathlib import Path

from workbench import hooks, organisms
from workbench.artifacts.kinds import KINDS_BY_RECIPE, Artifact, artifact
# The kinds register as they are imported, in the pipeline's order (``KINDS``).
from workbench.artifacts.organism import Organism  # noqa: F401  (an organism's recipe is its world's)
from workbench.artifacts.corpus import CorpusRecipe
from workbench.artifacts.sae import CorpusSAERecipe, SAERecipe
from workbench.artifacts.steering_concepts import BENCHES, COMMAND
from workbench.artifacts.transcoder import CorpusTranscoderRecipe, TranscoderRecipe
from workbench.config_checks import known_name


def _recipes() -> dict:
    """Name → recipe of everything shipped, in the order ``artifacts list`` prints them."""
    recipes: dict = {name: None for name in organisms.names()}  # an organism's recipe is its world's configs
    # SmolLM2's own text (notebook 08): 400 rows of 128 tokens, 51,200 tokens; 22 CPU-minutes to write on a
    # loaded 2-core machine (the sampling is one token at a time for each batch of 40 rows).
    recipes["smollm2_text"] = CorpusRecipe("smollm2-135m")
    # Per-layer transcoders on all 30 MLPs of SmolLM2 (notebook 08), 128 features each (17.8 MB in
    # float32), trained on its own text: 15 CPU-minutes on a busy 2-core machine, collection included.
    recipes["smollm2_plt"] = CorpusTranscoderRecipe("smollm2-135m", "smollm2_text", train=dict(
        steps=400, batch_size=512, sparsity_coefficient=5e-3))
    # TopK, k=8, 512 latents on the residual entering block 1 of the facts organism, where the state
    # swap of notebook 00 acts. Measured on the 50 held-out two-hop sentences (never trained on): CE recovered
    # 0.978, explained variance 0.99.
    recipes["facts_resid1"] = SAERecipe("facts", dict(hook_name=hooks.resid_pre(1), d_sae=512, k=8))
    # TopK, k=32, 2048 latents on SmolLM2's residual entering block 24, where the Dallas → Texas fact
    # arrives at the last position (notebook 08), trained on its own text (smollm2_text, the last 40 rows
    # held out): ~2.2 passes over the 45k training tokens, ≈ 8 CPU-minutes.
    recipes["smollm2_resid24"] = CorpusSAERecipe("smollm2-135m", dict(
        hook_name=hooks.resid_pre(24), d_sae=2048, k=32, lr=1e-2, training_tokens=100_000), corpus="smollm2_text")
    # The facts organisms trained with weight decay (0.1, then 0.3) have sparser MLPs: on the 0.1 organism
    # the default sparsity coefficient (5e-4) kept L0 23 / 12 and held-out two-hop fell from 1.00 to 0.86
    # under replacement. At 2e-4 the 0.3 organism's CLT keeps L0 35 / 14, KL 0.0002, two-hop 1.00.
    facts_train = dict(sparsity_coefficient=2e-4)
    recipes.update({
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
    })
    return recipes


ARTIFACTS: dict[str, Artifact] = {name: artifact(name, recipe) for name, recipe in _recipes().items()}
KINDS = tuple(dict.fromkeys(kind.kind for kind in KINDS_BY_RECIPE.values()))  # organism, corpus, sae, transcoder


def names(kind: str | None = None) -> list[str]:
    """Every artifact's name, or those of one ``kind`` ("organism", "corpus", "sae", "transcoder")."""
    if kind is not None:
        known_name(kind, KINDS, "a kind of artifact")
    return [name for name, artifact in ARTIFACTS.items() if kind in (None, artifact.kind)]


def get(name: str) -> Artifact:
    """Artifact ``name``; ``UnknownNameError`` (a ``KeyError``) naming the closest if none is shipped by that name."""
    return ARTIFACTS[known_name(name, ARTIFACTS, "a shipped artifact")]


def train(name: str, *, progress: bool = True, history: list | None = None, **overrides):
    """Retrain artifact ``name`` from its recipe and return it (nothing is written).

    ``overrides`` replace fields of its training config: ``TrainConfig`` for an organism,
    ``LMSAEConfig`` for an SAE (``training_tokens=30_000``), ``CLTTrainConfig`` for a transcoder
    (``steps=300``). ``history``, if given, receives the training curve (organisms, transcoders).
    A transcoder also takes ``checkpoint``, ``checkpoint_every``, ``activations`` (a directory of
    streamed activation shards) and ``device``, and trains data-parallel inside a process group.
    """
    return get(name).train(progress=progress, history=history, **overrides)


def load(name: str):
    """The shipped artifact ``name``: ``(model, world)`` for an organism, token rows for a corpus, SAELens's
    ``SAE``, or a transcoder."""
    return get(name).load()


def evaluate(name: str, trained=None) -> dict:
    """What artifact ``name`` measures (the shipped copy, or ``trained``), as plain numbers.

    Organism: its world's behaviours. Corpus: its size. SAE: the splice report on held-out text.
    Transcoder: its fidelity as the replacement of its organism (and the organism's behaviours under
    it), or of its real model on held-out text (and the variance of each MLP output it explains).
    """
    return get(name).evaluate(trained)


def ship(name: str, *, out=None, **options) -> list[Path]:
    """Retrain ``name`` from its full recipe, measure it, and overwrite the shipped copy and its record; return its files.

    Transcoders only: ``out`` writes there instead of the shipped copy; ``options`` go to ``train``
    (recipe overrides such as ``steps``, and ``checkpoint``, ``activations``, ``device``). Inside a
    process group (torchrun) every process trains and process 0 alone measures and writes.
    """
    return get(name).ship(out, **options)


def listing() -> str:
    """One line per artifact: name, kind, organism, size on disk, and the command that reproduces it; under
    an organism or transcoder, its seed records and the commands that make them; last, the records of
    measurements that ship (notebook 07's steering bench over every concept)."""
    from workbench.steering.concepts import CONCEPT_RECORD

    name_w = max(len(a.name) for a in ARTIFACTS.values())
    organism_w = max(len(a.organism) for a in ARTIFACTS.values())
    lines = [(f"{'name':{name_w}s} {'kind':10s} {'organism':{organism_w}s} {'size':>9s}", "reproduce with")]
    for a in ARTIFACTS.values():
        lines.append((f"{a.name:{name_w}s} {a.kind:10s} {a.organism:{organism_w}s} {a.size_bytes / 1e6:6.2f} MB",
                      a.command))
        lines += [(f"  {record.name}", f"python -m workbench.artifacts {command}") for record, command in a.seed_commands()]
    if CONCEPT_RECORD.exists():  # notebook 07's bench over every concept: a measurement, not a trained artifact
        benched = ", ".join(bench.organism for bench in BENCHES.values())
        lines.append((f"{'steering_concepts':{name_w}s} {'record':10s} {benched:{organism_w}s} "
                      f"{CONCEPT_RECORD.stat().st_size / 1e6:6.2f} MB", COMMAND))
    width = max(len(left) for left, _ in lines)  # every command starts in one column
    return "\n".join(f"{left:{width}s}   {command}" for left, command in lines)
