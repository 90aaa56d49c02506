"""The local replacement model: one prompt's forward pass, made linear in its features.

For one prompt we run the original model once (``prompt_state``) and keep what the local
replacement model freezes: every attention pattern and every LayerNorm scale. The MLPs are replaced
by the transcoder's features *as given* (their activations are inputs, not recomputed), plus an
**error node** per layer and position, the part of the MLP output the transcoder misses:

    error^ℓ = mlp_out^ℓ − reconstruction^ℓ

With the original features and errors the local replacement model reproduces the original
logits exactly. With patterns, scales and features fixed, every path from a feature, an error or a
token embedding to a later feature's pre-activation or to a logit is linear: that is what makes
attribution-graph edges exact (``workbench.circuits.attribution``).

Following circuit-tracer, position 0 (``<bos>``) carries no feature or error nodes: its MLP
outputs stay as they were, a constant like the biases.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workbench import hooks
from workbench.circuits.replacement import check_fits
from workbench.transcoders.model import CrossLayerTranscoder

ZERO_POSITIONS = slice(0, 1)  # circuit-tracer's default: no nodes at <bos>


@dataclass
class PromptState:
    """What one clean forward pass gives the local replacement model (batch dimension dropped)."""

    tokens: torch.Tensor  # (n_pos,)
    patterns: torch.Tensor  # (n_layers, n_heads, n_pos, n_pos): attention, query × key
    ln1_scales: torch.Tensor  # (n_layers, n_pos, 1)
    ln2_scales: torch.Tensor  # (n_layers, n_pos, 1): unused by the features, frozen for the intervention checks
    final_scale: torch.Tensor  # (n_pos, 1)
    resid_mid: torch.Tensor  # (n_layers, n_pos, d_model): what the transcoder reads
    mlp_out: torch.Tensor  # (n_layers, n_pos, d_model)
    features: torch.Tensor  # (n_layers, n_pos, d_features), zero at ZERO_POSITIONS
    errors: torch.Tensor  # (n_layers, n_pos, d_model), zero at ZERO_POSITIONS
    logits: torch.Tensor  # (n_pos, d_vocab)

    @property
    def n_pos(self) -> int:
        return len(self.tokens)


def as_token_row(model, tokens) -> torch.Tensor:
    """A prompt as a 1-D tensor of token ids (strings are tokenized with the model's tokenizer).

    A prompt longer than the model's context is refused: ``to_tokens`` would silently cut it.
    """
    if isinstance(tokens, str):
        tokens = model.to_tokens(tokens, truncate=False)[0]
    tokens = torch.as_tensor(tokens)
    if tokens.ndim == 2 and tokens.shape[0] == 1:
        tokens = tokens[0]
    if tokens.ndim != 1 or len(tokens) < 2:
        raise ValueError(f"expected one prompt of at least 2 tokens, got a tensor of shape {tuple(tokens.shape)}")
    if len(tokens) > model.cfg.n_ctx:
        raise ValueError(f"prompt of {len(tokens)} tokens is longer than the model's context of "
                         f"{model.cfg.n_ctx} tokens (n_ctx); shorten it")
    return tokens


def reconstruction(clt: CrossLayerTranscoder, features: torch.Tensor) -> torch.Tensor:
    """The transcoder's MLP outputs (n_layers, n_pos, d_model) from features (n_layers, n_pos, F)."""
    return clt.decode(features.transpose(0, 1)).transpose(0, 1)


@torch.no_grad()
def prompt_state(model, clt: CrossLayerTranscoder, tokens) -> PromptState:
    """Run ``model`` once on ``tokens`` and keep everything the local replacement model needs."""
    check_fits(model, clt)
    tokens = as_token_row(model, tokens)
    L = model.cfg.n_layers
    wanted = [*hooks.transcoder_inputs(L), *hooks.transcoder_outputs(L), *frozen_names(L)]
    logits, cache = model.run_with_cache(tokens[None], names_filter=wanted)
    stack = lambda name: torch.stack([cache[name(l)][0] for l in range(L)])
    resid_mid = stack(hooks.resid_mid)
    mlp_out = stack(hooks.mlp_out)
    features = clt.encode(resid_mid.transpose(0, 1)).transpose(0, 1).clone()
    features[:, ZERO_POSITIONS] = 0
    errors = mlp_out - reconstruction(clt, features)
    errors[:, ZERO_POSITIONS] = 0
    return PromptState(
        tokens=tokens,
        patterns=stack(hooks.attn_pattern),
        ln1_scales=stack(lambda l: hooks.ln_scale(l, "ln1")),
        ln2_scales=stack(lambda l: hooks.ln_scale(l, "ln2")),
        final_scale=cache[hooks.FINAL_SCALE][0],
        resid_mid=resid_mid,
        mlp_out=mlp_out,
        features=features,
        errors=errors,
        logits=logits[0],
    )


def frozen_names(n_layers: int, scales: bool = True) -> list[str]:
    """What the local replacement model holds at the prompt's clean values: every attention pattern
    and, if ``scales``, every LayerNorm scale (before each attention, each MLP and the unembedding)."""
    names = hooks.every_layer(hooks.attn_pattern, n_layers)
    if scales:
        names += [hooks.ln_scale(l, norm) for norm in ("ln1", "ln2") for l in range(n_layers)] + [hooks.FINAL_SCALE]
    return names


def hold_hooks(values: dict[str, torch.Tensor]) -> list[tuple[str, callable]]:
    """Hooks that hold each hook point named in ``values`` at its value (broadcast over a batch of the same prompt)."""

    def fixed(value):
        return lambda activation, hook: value.expand_as(activation)

    return [(name, fixed(value)) for name, value in values.items()]


def freeze_hooks(state: PromptState, n_layers: int, scales: bool = True) -> list[tuple[str, callable]]:
    """Hooks that fix every attention pattern (and, if ``scales``, every LayerNorm scale) to ``state``'s."""
    kept = state_activations(state)
    return hold_hooks({name: kept[name] for name in frozen_names(n_layers, scales)})


def state_activations(state: PromptState) -> dict[str, torch.Tensor]:
    """What ``state`` kept, by hook point: patterns, LayerNorm scales, MLP inputs and outputs (batch dropped)."""
    kept = {hooks.FINAL_SCALE: state.final_scale}
    for l in range(len(state.patterns)):
        kept |= {hooks.attn_pattern(l): state.patterns[l], hooks.ln_scale(l, "ln1"): state.ln1_scales[l],
                 hooks.ln_scale(l, "ln2"): state.ln2_scales[l], hooks.resid_mid(l): state.resid_mid[l],
                 hooks.mlp_out(l): state.mlp_out[l]}
    return kept


@torch.no_grad()
def run_local(model, clt: CrossLayerTranscoder, state: PromptState, features=None, errors=None, embeddings=None):
    """Forward the local replacement model on a batch of node values; returns (logits, resid_mid).

    ``features`` (batch, n_layers, n_pos, F), ``errors`` (batch, n_layers, n_pos, d_model) and token
    ``embeddings`` (batch, n_pos, d_model) default to the prompt's own. MLP ℓ's output becomes the
    decoders of the given features plus the given error (outside ZERO_POSITIONS, where the clean
    output stays). Returns the logits (batch, n_pos, d_vocab) and the residual entering each MLP
    (batch, n_layers, n_pos, d_model), from which feature pre-activations are read.
    """
    L = model.cfg.n_layers
    defaults = (state.features, state.errors, model.W_E[state.tokens])
    features, errors, embeddings = [
        default[None] if given is None else given for given, default in zip((features, errors, embeddings), defaults)
    ]
    batch = max(features.shape[0], errors.shape[0], embeddings.shape[0])
    mlp_out = reconstruction_batch(clt, features) + errors
    mlp_out[:, :, ZERO_POSITIONS] = state.mlp_out[None, :, ZERO_POSITIONS]
    mlp_out = mlp_out.expand(batch, -1, -1, -1)
    resid_mid = {}

    def set_embed(value, hook):
        return embeddings.expand(batch, -1, -1)

    def keep_mid(value, hook):
        resid_mid[hook.layer()] = value
        return value

    def set_mlp(value, hook):
        return mlp_out[:, hook.layer()]

    fwd_hooks = freeze_hooks(state, L) + [(hooks.EMBED, set_embed)]
    fwd_hooks += [(name, keep_mid) for name in hooks.transcoder_inputs(L)]
    fwd_hooks += [(name, set_mlp) for name in hooks.transcoder_outputs(L)]
    tokens = state.tokens[None].expand(batch, -1)
    logits = model.run_with_hooks(tokens, fwd_hooks=fwd_hooks)
    return logits, torch.stack([resid_mid[l] for l in range(L)], dim=1)


def reconstruction_batch(clt: CrossLayerTranscoder, features: torch.Tensor) -> torch.Tensor:
    """``reconstruction`` for a batch: features (batch, L, n_pos, F) → (batch, L, n_pos, d_model)."""
    b, L, n, F = features.shape
    flat = features.permute(0, 2, 1, 3).reshape(b * n, L, F)
    return clt.decode(flat).reshape(b, n, L, -1).permute(0, 2, 1, 3)


def target_readings(model, clt: CrossLayerTranscoder, graph, logits: torch.Tensor, resid_mid: torch.Tensor) -> torch.Tensor:
    """What each target node of ``graph`` reads, for a batch of local forward passes: (batch, n_targets).

    Feature targets read their pre-activation (without the encoder bias), logit targets their
    mean-centred logit at the last position: the quantities attribution edges add up to.
    """
    layer, pos, index = graph.active_features.T
    pre = torch.einsum("bkd,kd->bk", resid_mid[:, layer, pos], clt.W_enc[layer, index])
    last = logits[:, -1]
    centred = last[:, graph.logit_tokens] - last.mean(-1, keepdim=True)
    return torch.cat([pre, centred], dim=1)


@torch.no_grad()
def ablation_effects(model, clt: CrossLayerTranscoder, state: PromptState, graph, sources=None) -> torch.Tensor:
    """Measured direct effect of removing each source node on every target node: (n_targets, n_sources).

    Each source (a feature, an error node or a token embedding) is set to zero in its own copy of
    the local replacement model, with every other node held at its value: the drop in each target's
    reading is that source's direct effect. Rows are the graph's targets (features, then logits),
    columns ``sources`` (default: every feature, error and token node).
    """
    sources = torch.arange(graph.logit_start) if sources is None else torch.as_tensor(sources)
    batch = len(sources) + 1  # row 0: nothing removed
    features = state.features[None].repeat(batch, 1, 1, 1)
    errors = state.errors[None].repeat(batch, 1, 1, 1)
    embeddings = model.W_E[state.tokens][None].repeat(batch, 1, 1)
    for row, node in enumerate(sources.tolist(), start=1):
        kind = graph.node_kind(node)
        layer, pos = graph.node_location(node)
        if kind == "feature":
            features[row, layer, pos, graph.active_features[node, 2]] = 0
        elif kind == "error":
            errors[row, layer, pos] = 0
        elif kind == "token":
            embeddings[row, pos] = 0
        else:
            raise ValueError(f"node {node} is a logit: it has no outgoing edges to ablate")
    readings = target_readings(model, clt, graph, *run_local(model, clt, state, features, errors, embeddings))
    return (readings[0] - readings[1:]).T
