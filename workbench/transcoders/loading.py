"""Saving and loading transcoders: safetensors weights beside a JSON record, never a pickle.

A transcoder is stored as ``NAME.safetensors`` (its parameters) and ``NAME.json`` (its
``CLTConfig`` and a free-form ``metadata`` record: the recipe it was trained with, what it
measured). The ones the course ships live in ``workbench/transcoders/checkpoints/``; the artifact
registry (``workbench.artifacts``) knows how each was trained.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from workbench.config_checks import unknown_name
from workbench.transcoders.model import CLTConfig, CrossLayerTranscoder

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


def save_clt(clt: CrossLayerTranscoder, path, metadata: dict | None = None) -> Path:
    """Write ``path`` (.safetensors: weights) and its .json (shape, organism and ``metadata``).

    Each file is written under a temporary name and renamed, so a reader (or a run killed midway)
    never leaves half a transcoder behind.
    """
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    weights, record = path.with_name(f".{path.name}.{os.getpid()}.tmp"), path.with_suffix(".json")
    save_file({k: v.detach().cpu().contiguous() for k, v in clt.state_dict().items()}, str(weights))
    weights.chmod(0o644)
    os.replace(weights, path)
    text = json.dumps({"config": asdict(clt.config), "organism": clt.organism, "metadata": metadata or {}},
                      indent=2, sort_keys=True) + "\n"
    temporary = record.with_name(f".{record.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, record)
    return path


def shipped_path(name: str) -> Path:
    return CHECKPOINT_DIR / f"{name}.safetensors"


def shipped_names() -> list[str]:
    """The transcoders shipped in ``CHECKPOINT_DIR``."""
    return sorted(p.stem for p in CHECKPOINT_DIR.glob("*.safetensors"))


def check_shipped(name: str) -> str:
    """``name`` if a transcoder ships by that name, else ``FileNotFoundError`` naming the closest shipped ones."""
    if not shipped_path(name).exists():
        raise FileNotFoundError(f"no transcoder at {shipped_path(name)}: {unknown_name(name, shipped_names(), 'a shipped transcoder')}")
    return name


def load_clt(name_or_path) -> CrossLayerTranscoder:
    """A shipped transcoder by name (``facts_clt``) or one saved with ``save_clt`` (never unpickles)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(name_or_path)
    if path.suffix != ".safetensors":
        path = shipped_path(str(name_or_path))
        check_shipped(str(name_or_path))
    if not path.exists():
        raise FileNotFoundError(f"no transcoder at {path}")
    try:
        state = load_file(str(path))
        record = json.loads(path.with_suffix(".json").read_text())
        clt = CrossLayerTranscoder(CLTConfig(**record["config"]), record.get("organism"))
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a valid transcoder (safetensors weights and the JSON record save_clt "
                         f"writes): {type(error).__name__}: {error}") from None
    clt.load_state_dict(state)
    clt.eval()
    return clt.requires_grad_(False)  # for analysis: no autograd bookkeeping in graphs and interventions


def shipped_metadata(name: str) -> dict:
    """What was measured when shipped transcoder ``name`` was trained (fidelity, behaviours, time)."""
    return json.loads(shipped_path(check_shipped(name)).with_suffix(".json").read_text())["metadata"]
