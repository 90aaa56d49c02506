"""The SAEs the course ships, in SAELens's own format (``cfg.json`` + safetensors), one folder each.

``load_sae("facts_resid1")`` is ``SAE.load_from_disk`` on ``workbench/saes/checkpoints/facts_resid1``;
the artifact registry (``workbench.artifacts``) knows how each was trained, and writes beside it a
record of its recipe and what it measured (``sae_record``). For a hub model, ``pretrained_sae(release,
sae_id)`` downloads one of SAELens's pretrained SAEs (``PRETRAINED_SAES``); ``model_sae(model_name)``
picks the SAE notebook 08 studies: the one shipped for that model, else the hub's.
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench import hooks
from workbench.config_checks import UnknownNameError, closest_names, unknown_name

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
SAE_RECORD = "record.json"  # beside a shipped SAE: its recipe, training time and what it measured when shipped


def shipped_names() -> list[str]:
    """The SAEs shipped in ``CHECKPOINT_DIR``, one folder each."""
    return sorted(p.name for p in CHECKPOINT_DIR.iterdir() if p.is_dir()) if CHECKPOINT_DIR.is_dir() else []


def shipped_folder(name: str) -> Path:
    """The folder of shipped SAE ``name``; ``FileNotFoundError`` naming the shipped ones if there is none."""
    folder = CHECKPOINT_DIR / name
    if not folder.is_dir():
        raise FileNotFoundError(f"no SAE in {folder}: {unknown_name(name, shipped_names(), 'a shipped SAE')}")
    return folder


def sae_record(name: str) -> dict | None:
    """What shipped with SAE ``name`` (its recipe, training CPU seconds and splice report on held-out
    text), or None for one shipped without a record."""
    path = shipped_folder(name) / SAE_RECORD
    return json.loads(path.read_text()) if path.exists() else None


def load_sae(name: str):
    """A shipped SAE (``workbench/saes/checkpoints/<name>``), loaded with ``SAE.load_from_disk``."""
    from sae_lens import SAE

    sae = SAE.load_from_disk(str(shipped_folder(name)))
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
        close = closest_names(release, directory)
        raise UnknownNameError(f"SAELens has no pretrained release {release!r}" + (f"; closest: {', '.join(close)}" if close else "")
                               + f"; for example: {', '.join(sorted(directory)[:8])}, …")
    ids = list(directory[release].saes_map)
    if sae_id not in ids:
        close = closest_names(sae_id, ids)
        raise UnknownNameError(f"release {release!r} has no SAE {sae_id!r}" + (f"; closest: {', '.join(close)}" if close else "")
                               + f"; it has {len(ids)}, e.g. {', '.join(ids[:4])}, …")


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


def model_sae(model_name: str, device="auto") -> tuple[str, object]:
    """``(name, SAE)``: the SAE notebook 08 studies on ``model_name``.

    The one shipped for it if there is one (its record names the model it was trained on, e.g.
    ``smollm2_resid24``, trained here on the model's own text), else SAELens's pretrained SAE for it
    (``PRETRAINED_SAES``), downloaded: offline that raises ``models.ModelUnavailable``. A hub SAE's name
    is ``release/sae_id``.
    """
    from workbench.models import resolve_device

    shipped = [name for name in shipped_names() if (sae_record(name) or {}).get("recipe", {}).get("organism") == model_name]
    if shipped:
        return shipped[0], load_sae(shipped[0]).to(resolve_device(device))
    if model_name not in PRETRAINED_SAES:
        models_with_saes = [*dict.fromkeys(record["recipe"]["organism"] for name in shipped_names()
                                           if (record := sae_record(name))), *PRETRAINED_SAES]
        close = closest_names(model_name, models_with_saes)
        raise UnknownNameError(f"no SAE shipped or known for {model_name!r}" + (f" (closest: {', '.join(close)})" if close else "")
                               + f": pass SAELens's release and SAE id to saes.pretrained_sae. Known: {', '.join(models_with_saes)}")
    release, sae_id = PRETRAINED_SAES[model_name]
    return f"{release}/{sae_id}", pretrained_sae(release, sae_id, device)
