"""Model organisms: small transformers trained from scratch on worlds whose ground truth we know.

    model, world = workbench.organisms.load("facts")     # shipped checkpoint, no training
    model = workbench.organisms.train("facts")           # reproduces the shipped checkpoint
    metrics = workbench.organisms.evaluate("facts")      # the behaviours, measured

From the command line: ``python -m workbench.artifacts list | train NAME | evaluate NAME --json``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"

# name -> (module, class): worlds are imported only when asked for.
REGISTRY: dict[str, tuple[str, str]] = {
    "facts": ("workbench.organisms.facts", "FactsWorld"),
    "facts_heldout_states": ("workbench.organisms.facts", "FactsHeldoutStatesWorld"),
    "couplets": ("workbench.organisms.couplets", "CoupletsWorld"),
    "couplets_control": ("workbench.organisms.couplets", "CoupletsControlWorld"),
    "couplets_lookback": ("workbench.organisms.couplets", "CoupletsLookbackWorld"),
    "couplets_bottleneck": ("workbench.organisms.couplets", "CoupletsBottleneckWorld"),
}


def names() -> list[str]:
    return list(REGISTRY)


def get_world(name: str):
    """(Not ``world``: that name is the submodule holding the ``World`` base class.)

    The world object of organism ``name`` (vocabulary, ground truth, prompt helpers)."""
    from workbench.config_checks import known_name

    module, cls = REGISTRY[known_name(name, REGISTRY, "an organism")]
    return getattr(importlib.import_module(module), cls)()


def checkpoint_path(name: str) -> Path:
    from workbench.config_checks import known_name

    return CHECKPOINT_DIR / f"{known_name(name, REGISTRY, 'an organism')}.safetensors"


def load(name: str, device: str = "cpu"):
    """``(model, world)`` for organism ``name``, from the checkpoint shipped in the package."""
    from workbench.organisms.model import load_checkpoint

    the_world = get_world(name)
    path = checkpoint_path(name)
    if not path.exists():
        raise FileNotFoundError(f"no shipped checkpoint for {name!r} at {path}; run `python -m workbench.artifacts train {name}`")
    return load_checkpoint(path, the_world.tokenizer, device, name), the_world


def train(name: str, model_config=None, train_config=None, progress: bool = True, history: list | None = None):
    """Train organism ``name`` from scratch with its recipe (or the configs given); return the model."""
    from workbench.organisms.training import train_model

    return train_model(get_world(name), model_config, train_config, progress=progress, history=history)


def evaluate(name: str, model=None) -> dict[str, float]:
    """Behaviour metrics of ``model`` (default: the shipped checkpoint) on organism ``name``."""
    if model is None:
        model, the_world = load(name)
    else:
        the_world = get_world(name)
    return the_world.evaluate(model)


def save(name: str, model, metadata: dict | None = None) -> Path:
    """Write ``model`` as the shipped checkpoint of ``name``."""
    from workbench.organisms.model import OrganismConfig, save_checkpoint

    the_world = get_world(name)
    config = the_world.model_config
    assert isinstance(config, OrganismConfig)
    CHECKPOINT_DIR.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, config, checkpoint_path(name), metadata)
    return checkpoint_path(name)


def checkpoint_metadata(name: str) -> dict:
    """What was recorded when the shipped checkpoint of ``name`` was trained (metrics, curve, time)."""
    from workbench.organisms.model import read_checkpoint_config

    return read_checkpoint_config(checkpoint_path(name))[1]
