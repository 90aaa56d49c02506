"""Every place in a model is named by its TransformerLens hook name, built here and nowhere else.

The names are TransformerLens's own (``transformer_lens.utils.get_act_name`` builds the same strings,
and a test holds the two equal); they work on the organisms and on any ``HookedTransformer``:

    resid_pre(1)        -> "blocks.1.hook_resid_pre"     the residual stream entering block 1
    resid_mid(1)        -> "blocks.1.hook_resid_mid"     ... after attention, entering the MLP
    mlp_out(1)          -> "blocks.1.hook_mlp_out"       the MLP's output, before it is added
    attn_pattern(0)     -> "blocks.0.attn.hook_pattern"  attention probabilities (head, query, key)
    EMBED               -> "hook_embed"                  the token embeddings
    FINAL_SCALE         -> "ln_final.hook_scale"         the final LayerNorm's scale

Transcoders read the residual stream entering each MLP and write each MLP's output, as
circuit-tracer's do (``TRANSCODER_INPUT`` and ``TRANSCODER_OUTPUT``).

The one edit that needs no dictionary lives here too, because every stage uses it (the organisms'
own behaviours, the case studies, steering): a ``ResidualEdit``, a vector set, scaled or added at
a hook, at every position or at one position per row. Feature edits, freezing and generation with
edits are ``workbench.circuits.interventions``, which builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import torch

TRANSCODER_INPUT = "hook_resid_mid"
TRANSCODER_OUTPUT = "hook_mlp_out"
EMBED = "hook_embed"  # token embeddings (batch, pos, d_model), before positional embeddings are added
FINAL_SCALE = "ln_final.hook_scale"  # the final LayerNorm's scale (batch, pos, 1)
FINAL_NORMALIZED = "ln_final.hook_normalized"  # the final LayerNorm's output before its own weight and bias


def block(layer: int, name: str) -> str:
    """``blocks.{layer}.{name}``: a hook inside block ``layer`` (``name`` as "hook_resid_pre" or "ln1.hook_scale")."""
    return f"blocks.{layer}.{name}"


def resid_pre(layer: int) -> str:
    return block(layer, "hook_resid_pre")


def resid_mid(layer: int) -> str:
    return block(layer, "hook_resid_mid")


def resid_post(layer: int) -> str:
    return block(layer, "hook_resid_post")


def mlp_out(layer: int) -> str:
    return block(layer, "hook_mlp_out")


def attn_pattern(layer: int) -> str:
    return block(layer, "attn.hook_pattern")


def attn_z(layer: int) -> str:
    """Every head's output before W_O: (batch, position, head, d_head)."""
    return block(layer, "attn.hook_z")


def attn_scores(layer: int) -> str:
    return block(layer, "attn.hook_attn_scores")


def ln_scale(layer: int, norm: str) -> str:
    """The scale of LayerNorm ``norm`` ("ln1" before attention, "ln2" before the MLP) in block ``layer``."""
    return block(layer, f"{norm}.hook_scale")


def every_layer(hook, n_layers: int) -> list[str]:
    """``hook(layer)`` for every layer: ``every_layer(resid_mid, 2)`` → both MLP inputs."""
    return [hook(layer) for layer in range(n_layers)]


def transcoder_inputs(n_layers: int) -> list[str]:
    """Where a transcoder reads, at every layer: the residual stream entering the MLP."""
    return [block(layer, TRANSCODER_INPUT) for layer in range(n_layers)]


def transcoder_outputs(n_layers: int) -> list[str]:
    """Where a transcoder writes, at every layer: the MLP's output."""
    return [block(layer, TRANSCODER_OUTPUT) for layer in range(n_layers)]


def lens_points(n_layers: int) -> list[str]:
    """The residual checkpoints the logit lens reads: the embedding (``resid_pre(0)``), then every block's output."""
    return [resid_pre(0), *every_layer(resid_post, n_layers)]


# ---- edits at a place -------------------------------------------------------------------------

EDIT_MODES = ("set", "scale", "add")


@dataclass
class Cursor:
    """Where the forward pass now running sits in the text being generated, for hooks that edit one position.

    ``start``: the absolute position of the pass's first token (with a key-value cache only the new
    tokens pass); ``rows``: which rows of the whole batch the pass carries (generation batches prompts
    of one length together), None for all of them in order. A single forward pass is ``Cursor()``.
    """

    start: int = 0
    rows: "torch.Tensor | None" = None


def sites(positions, cursor: Cursor, n_rows: int, n_pos: int):
    """Where an edit at ``positions`` acts in a pass of ``n_rows`` × ``n_pos`` tokens.

    ``positions``: None (every position), an int or a (batch,) tensor of one absolute position per
    row (negative: counted from the end of the text read so far). Returns (rows, positions) indices
    into the pass (None, None for every position) and the batch rows they are (for per-row values).
    """
    import torch

    batch_rows = torch.arange(n_rows) if cursor.rows is None else cursor.rows
    if positions is None:
        return None, None, batch_rows
    where = torch.as_tensor(positions)
    where = where.expand(n_rows) if where.numel() == 1 else where[batch_rows]
    where = torch.where(where < 0, where + cursor.start + n_pos, where) - cursor.start
    rows = ((where >= 0) & (where < n_pos)).nonzero().squeeze(1)
    return rows, where[rows], batch_rows[rows]


def per_row(values: "torch.Tensor", batch_rows: "torch.Tensor") -> "torch.Tensor":
    """The rows ``batch_rows`` of ``values`` (batch, ...), or ``values`` itself when its first axis is 1."""
    return values if values.shape[0] == 1 else values[batch_rows]


def apply_mode(mode: str, current: "torch.Tensor", values: "torch.Tensor", mask: "torch.Tensor | None" = None):
    """``current`` set to ``values``, scaled by them or with them added (where ``mask``, if given)."""
    import torch

    values = values.to(current.dtype)
    if mode == "set":
        edited = values.expand_as(current).clone()
    elif mode == "scale":
        edited = current * values
    else:
        edited = current + values
    return edited if mask is None else torch.where(mask, edited, current)


def check_mode(mode: str, owner: str) -> None:
    if mode not in EDIT_MODES:
        raise ValueError(f"{owner}.mode must be one of {EDIT_MODES}, got {mode!r}")


@dataclass(frozen=True)
class ResidualEdit:
    """A vector written into the activation at hook ``name`` (the residual stream, or any hook of that shape): plain data.

    ``values``: (d,) or a scalar for every row, or (batch, d) / (batch, 1) one per row; ``mode``:
    ``"set"`` (the activation becomes ``values``), ``"scale"`` (multiplied by them) or ``"add"``;
    ``positions``: None for every position (generated ones too), or an int / (batch,) tensor of one
    position per row (see ``sites``).
    """

    name: str
    values: "torch.Tensor"
    mode: str = "add"
    positions: "int | torch.Tensor | None" = None

    def __post_init__(self):
        check_mode(self.mode, "ResidualEdit")

    def hook(self, cursor: Cursor | None = None) -> tuple[str, Callable]:
        """(``name``, the hook function) for ``model.run_with_hooks`` or ``model.hooks``."""
        return self.name, residual_hook(self.values, self.mode, self.positions, cursor)


def residual_hook(values: "torch.Tensor", mode: str = "add", positions=None, cursor: Cursor | None = None) -> Callable:
    """The hook function of a ``ResidualEdit`` (for a caller that names the place itself)."""
    import torch

    check_mode(mode, "ResidualEdit")
    values = torch.as_tensor(values)
    cursor = Cursor() if cursor is None else cursor
    one_per_row = values.ndim == 2

    def edit(resid, hook=None):
        values_here = values.to(resid.device)
        rows, where, batch_rows = sites(positions, cursor, resid.shape[0], resid.shape[1])
        if rows is None:
            return apply_mode(mode, resid, per_row(values_here, batch_rows)[:, None] if one_per_row else values_here)
        out = resid.clone()
        out[rows, where] = apply_mode(mode, out[rows, where], per_row(values_here, batch_rows) if one_per_row else values_here)
        return out

    return edit
