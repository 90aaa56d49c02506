"""Every place in a model is named by its TransformerLens hook name, built here and nowhere else.

The names are TransformerLens's own (``transformer_lens.utils.get_act_name`` builds the same strings,
and a test holds the two equal); they work on the organisms and on any ``HookedTransformer``:

    resid_pre(1)        -> "blocks.1.hook_resid_pre"     the residual stream entering block 1
    resid_mid(1)        -> "blocks.1.hook_resid_mid"     ... after attention, entering the MLP
    mlp_out(1)          -> "blocks.1.hook_mlp_out"       the MLP's output, before it is added
    attn_pattern(0)     -> "blocks.0.attn.hook_pattern"  attention probabilities (head, query, key)

Transcoders read the residual stream entering each MLP and write each MLP's output, as
circuit-tracer's do (``TRANSCODER_INPUT`` and ``TRANSCODER_OUTPUT``).
"""

from __future__ import annotations

TRANSCODER_INPUT = "hook_resid_mid"
TRANSCODER_OUTPUT = "hook_mlp_out"


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
