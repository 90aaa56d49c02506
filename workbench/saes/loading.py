"""The SAEs the course ships, in SAELens's own format (``cfg.json`` + safetensors), one folder each.

``load_sae("facts_resid1")`` is ``SAE.load_from_disk`` on ``workbench/saes/checkpoints/facts_resid1``;
the artifact registry (``workbench.artifacts``) knows how each was trained.
"""

from __future__ import annotations

from pathlib import Path

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


def load_sae(name: str):
    """A shipped SAE (``workbench/saes/checkpoints/<name>``), loaded with ``SAE.load_from_disk``."""
    from sae_lens import SAE

    folder = CHECKPOINT_DIR / name
    if not folder.is_dir():
        known = sorted(p.name for p in CHECKPOINT_DIR.iterdir()) if CHECKPOINT_DIR.is_dir() else []
        raise FileNotFoundError(f"no shipped SAE {name!r} in {CHECKPOINT_DIR}; shipped: {', '.join(known) or 'none'}")
    sae = SAE.load_from_disk(str(folder))
    sae.eval()
    return sae
