"""An organism's transformer: a small ``HookedTransformer`` and its safetensors checkpoint.

``OrganismConfig`` holds the architecture (validated on construction). ``lookback`` restricts
each query to the last ``lookback`` positions (itself included) with a permanent hook on
``blocks.{l}.attn.hook_attn_scores``: transformer-lens 3.x's ``attn_types="local"`` did not
restrict the pattern when we tried it, the hook does. ``bottleneck`` is a second such hook: every
query after position ``bottleneck`` attends only to keys at or after it, so the residual stream at
``bottleneck`` is the only way information from earlier positions gets past it.

``visible_keys`` is the mask those hooks leave (causal included), and ``reach`` follows it layer by
layer: which positions' residual streams can carry what one position held.
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
    bottleneck: int | None = None
    seed: int = 0

    def __post_init__(self):
        positive_ints(self, ("n_layers", "d_model", "n_heads", "d_mlp", "n_ctx"))
        if self.d_model % self.n_heads:
            raise ValueError(
                f"OrganismConfig.d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if self.lookback is not None and not 1 <= self.lookback <= self.n_ctx:
            raise ValueError(f"OrganismConfig.lookback must be in [1, n_ctx], got {self.lookback}")
        if self.bottleneck is not None and not 0 <= self.bottleneck < self.n_ctx:
            raise ValueError(f"OrganismConfig.bottleneck must be a position in [0, n_ctx), got {self.bottleneck}")

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


def bottleneck_mask_hook(position: int):
    """A hook on ``hook_attn_scores`` that hides every key before ``position`` from every query after it."""
    import torch

    def hook(scores, hook):  # scores: (batch, head, query, key)
        n_query, n_key = scores.shape[-2:]
        query = torch.arange(n_query, device=scores.device)[:, None] + (n_key - n_query)
        key = torch.arange(n_key, device=scores.device)[None, :]
        return scores.masked_fill((query > position) & (key < position), float("-inf"))

    return hook


def mask_hooks(config: OrganismConfig) -> list:
    """The attention-score hooks that ``config``'s ``lookback`` and ``bottleneck`` put on every layer."""
    masks = [] if config.lookback is None else [lookback_mask_hook(config.lookback)]
    return masks + ([] if config.bottleneck is None else [bottleneck_mask_hook(config.bottleneck)])


def visible_keys(config: OrganismConfig, n_positions: int):
    """(query, key) bool tensor, (n_positions, n_positions): which positions each query attends to, in every
    layer: the causal mask and the hooks of ``mask_hooks`` applied to zero scores, as the model applies them."""
    import torch

    scores = torch.zeros(1, 1, n_positions, n_positions).masked_fill(
        torch.ones(n_positions, n_positions, dtype=torch.bool).triu(1), float("-inf"))
    for hook in mask_hooks(config):
        scores = hook(scores, None)
    return torch.isfinite(scores[0, 0])


def reach(config: OrganismConfig, n_positions: int, source: int, avoid: int | None = None) -> list[list[int]]:
    """After each layer, the positions whose residual stream can carry what position ``source`` held on entry.

    Attention is the only thing that moves information between positions (embeddings, MLPs and layer norms
    act on one position): after layer l, a position carries it when it attends to a position that carried
    it before layer l (itself included). ``avoid``: a position cut out of every path (its residual stream is
    taken never to carry it), so that the result is what arrives *other than through* ``avoid``. Returns
    one sorted list of positions per layer.
    """
    visible = visible_keys(config, n_positions)
    carried = [p == source and p != avoid for p in range(n_positions)]
    layers = []
    for _ in range(config.n_layers):
        carried = [q != avoid and any(carried[k] for k in range(n_positions) if visible[q, k]) for q in range(n_positions)]
        layers.append([p for p, c in enumerate(carried) if c])
    return layers


def build_model(config: OrganismConfig, tokenizer, device: str = "cpu", name: str | None = None):
    """A freshly initialised organism (seeded by ``config.seed``) with its tokenizer attached."""
    import warnings

    from transformer_lens import HookedTransformer

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*deprecated.*")
        model = HookedTransformer(hooked_config(config, len(tokenizer), device, name), tokenizer=tokenizer)
    for mask in mask_hooks(config):
        for layer in range(config.n_layers):
            model.add_perma_hook(hooks.attn_scores(layer), mask)
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
