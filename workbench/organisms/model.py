"""An organism's transformer: a small ``HookedTransformer`` and its safetensors checkpoint.

``OrganismConfig`` holds the architecture (validated on construction). ``lookback`` restricts
each query to the last ``lookback`` positions (itself included) with a permanent hook on
``blocks.{l}.attn.hook_attn_scores``: transformer-lens 3.x's ``attn_types="local"`` did not
restrict the pattern when we tried it, the hook does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from workbench import hooks
from workbench.config_checks import positive_ints


@dataclass(frozen=True)
class OrganismConfig:
    """Architecture of an organism. Defaults: 2 layers, d_model 128, 4 heads, GELU MLPs of 512."""

    n_layers: int = 2
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    n_ctx: int = 16
    lookback: int | None = None
    seed: int = 0

    def __post_init__(self):
        positive_ints(self, ("n_layers", "d_model", "n_heads", "d_mlp", "n_ctx"))
        if self.d_model % self.n_heads:
            raise ValueError(
                f"OrganismConfig.d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if self.lookback is not None and not 1 <= self.lookback <= self.n_ctx:
            raise ValueError(f"OrganismConfig.lookback must be in [1, n_ctx], got {self.lookback}")

    @classmethod
    def from_dict(cls, values: dict) -> "OrganismConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def hooked_config(config: OrganismConfig, d_vocab: int, device: str = "cpu", name: str | None = None):
    """The ``HookedTransformerConfig`` of an organism (also what circuit-tracer loads from).

    ``name`` (the organism's) becomes ``model_name``, which transcoders are checked against.
    """
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(
        n_layers=config.n_layers,
        d_model=config.d_model,
        n_heads=config.n_heads,
        d_head=config.d_model // config.n_heads,
        d_mlp=config.d_mlp,
        n_ctx=config.n_ctx,
        d_vocab=d_vocab,
        act_fn="gelu",
        normalization_type="LN",
        positional_embedding_type="standard",
        seed=config.seed,
        device=device,
        model_name=name or "custom",  # TransformerLens's default for a model built from a config
    )


def lookback_mask_hook(lookback: int):
    """A hook on ``hook_attn_scores`` that hides keys more than ``lookback - 1`` positions back."""
    import torch

    def hook(scores, hook):  # scores: (batch, head, query, key)
        n_query, n_key = scores.shape[-2:]
        query = torch.arange(n_query, device=scores.device)[:, None] + (n_key - n_query)
        key = torch.arange(n_key, device=scores.device)[None, :]
        too_far = query - key >= lookback
        return scores.masked_fill(too_far, float("-inf"))

    return hook


def build_model(config: OrganismConfig, tokenizer, device: str = "cpu", name: str | None = None):
    """A freshly initialised organism (seeded by ``config.seed``) with its tokenizer attached."""
    import warnings

    from transformer_lens import HookedTransformer

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*deprecated.*")
        model = HookedTransformer(hooked_config(config, len(tokenizer), device, name), tokenizer=tokenizer)
    if config.lookback is not None:
        for layer in range(config.n_layers):
            model.add_perma_hook(hooks.attn_scores(layer), lookback_mask_hook(config.lookback))
    model.eval()
    return model


def save_checkpoint(model, config: OrganismConfig, path: Path, metadata: dict | None = None) -> None:
    """Write ``path`` (.safetensors, weights) and ``path.with_suffix('.json')`` (config, metadata)."""
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path.with_suffix(".safetensors")))
    path.with_suffix(".safetensors").chmod(0o644)  # safetensors writes 0600; checkpoints are shared
    record = {"config": asdict(config), "metadata": metadata or {}}
    path.with_suffix(".json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


class CheckpointError(ValueError):
    """A file that is not an organism checkpoint (weights and their JSON record)."""


def read_checkpoint_config(path: Path) -> tuple[OrganismConfig, dict]:
    """The config and metadata in the JSON record next to checkpoint ``path``."""
    record_path = Path(path).with_suffix(".json")
    try:
        record = json.loads(record_path.read_text())
        return OrganismConfig.from_dict(record["config"]), record.get("metadata", {})
    except FileNotFoundError:
        raise CheckpointError(f"{path} is not a valid organism checkpoint: its record {record_path.name} "
                              "(architecture and metadata, written by save_checkpoint) is missing") from None
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path} is not a valid organism checkpoint: its record {record_path.name} "
                              f"cannot be read ({type(error).__name__}: {error})") from None


def load_checkpoint(path: Path, tokenizer, device: str = "cpu", name: str | None = None):
    """Rebuild the organism ``name`` from a safetensors checkpoint (never unpickles)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path).with_suffix(".safetensors")
    if not path.is_file():
        raise FileNotFoundError(f"no organism checkpoint at {path}")
    try:
        state = load_file(str(path), device=str(device))
    except SafetensorError as error:
        raise CheckpointError(f"{path} is not a valid organism checkpoint: not a safetensors file ({error})") from None
    config, _ = read_checkpoint_config(path)
    model = build_model(config, tokenizer, device, name)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith(("IGNORE", ".mask"))]
    if missing or unexpected:
        raise ValueError(f"checkpoint {path} does not fit the model: missing {missing}, unexpected {unexpected}")
    return model
