"""The SAEs the course ships, in SAELens's own format (``cfg.json`` + safetensors), one folder each.

``load_sae("facts_resid1")`` is ``SAE.load_from_disk`` on ``workbench/saes/checkpoints/facts_resid1``;
the artifact registry (``workbench.artifacts``) knows how each was trained. For a hub model,
``pretrained_sae(release, sae_id)`` downloads one of SAELens's pretrained SAEs (``PRETRAINED_SAES``).
"""

from __future__ import annotations

from pathlib import Path

from workbench import hooks

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


# --- SAELens's pretrained SAEs, for hub models ----------------------------------------------------

# The SAE notebook 08 studies on each hub model it names, from SAELens's directory of pretrained SAEs
# (release, SAE id): the residual stream about four fifths of the way up, as ours on SmolLM2 (block 24
# of 30), where a fact has reached the last position. Any other pair can be passed to ``pretrained_sae``.
PRETRAINED_SAES = {
    "gpt2": ("gpt2-small-res-jb", hooks.resid_pre(8)),  # this release names its SAEs by their hook
    "gemma-2-2b": ("gemma-scope-2b-pt-res-canonical", "layer_20/width_16k/canonical"),
}


def check_pretrained(release: str, sae_id: str) -> None:
    """Raise ``ValueError`` naming the alternatives when SAELens's directory (shipped with it, no network)
    has no such release or SAE id: a typo is reported as a typo, not as a failed download."""
    from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory

    directory = get_pretrained_saes_directory()
    if release not in directory:
        raise ValueError(f"SAELens has no pretrained release {release!r}; for example: {', '.join(sorted(directory)[:8])}, …")
    ids = list(directory[release].saes_map)
    if sae_id not in ids:
        raise ValueError(f"release {release!r} has no SAE {sae_id!r}; it has {len(ids)}, e.g. {', '.join(ids[:4])}, …")


def pretrained_sae(release: str, sae_id: str, device="auto"):
    """SAELens's ``SAE.from_pretrained(release, sae_id)``: the real download from the hub.

    Offline, or when the hub cannot be reached, raises ``models.ModelUnavailable`` saying so (as
    ``models.load_model`` does for a hub model).
    """
    from sae_lens import SAE

    from workbench import models

    check_pretrained(release, sae_id)
    why = models.hub_offline()
    try:
        sae = SAE.from_pretrained(release, sae_id, device=str(models.resolve_device(device)))
    except OSError as error:  # huggingface_hub's offline and connection errors are OSErrors
        why = why or f"{type(error).__name__}: {str(error).splitlines()[0]}"
    else:
        sae.eval()
        return sae
    raise models.ModelUnavailable(models.OFFLINE_HINT.format(
        name=f"SAELens's SAE {release}/{sae_id}", why=why, offline=", ".join(models.offline_names())))
