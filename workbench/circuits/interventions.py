"""Interventions on the original model through transcoder features: clamp, ablate, scale or add.

A feature edit changes a feature's activation from a (what the transcoder computes from the live
residual stream) to a′, and writes the difference through the feature's decoders into the MLP
outputs it reconstructs: (a′ − a) × W_dec^{ℓ→ℓ′} added to MLP ℓ′'s output for every ℓ′ the feature
writes to. The MLPs themselves still run: the rest of the model responds as it would.

``freeze`` chooses how much of the prompt's clean forward pass is held fixed:

- ``"none"``: nothing; attention and MLPs respond freely (the effect on the real model);
- ``"attention"``: attention patterns fixed (circuit-tracer's default for interventions);
- ``"direct"``: patterns, LayerNorm scales *and* every MLP output fixed, so only the edited
  feature's own writes move the residual stream: the measured change is the graph's direct
  effects, exactly (``predicted_effects``). Comparing "direct" with "none" shows how far the
  linear picture carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import torch

from workbench import hooks
from workbench.circuits.local_replacement import freeze_hooks, prompt_state, target_readings
from workbench.transcoders.model import CrossLayerTranscoder

MODES = ("clamp", "scale", "add")
FREEZES = ("none", "attention", "direct")


@dataclass(frozen=True)
class FeatureEdit:
    """Set feature ``feature`` of ``layer`` at ``position`` to ``value`` (clamp), a × ``value`` (scale) or a + ``value`` (add)."""

    layer: int
    position: int
    feature: int
    mode: str = "clamp"
    value: float = 0.0

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"FeatureEdit.mode must be one of {MODES}, got {self.mode!r}")

    def apply(self, activation: torch.Tensor) -> torch.Tensor:
        if self.mode == "clamp":
            return torch.full_like(activation, self.value)
        if self.mode == "scale":
            return activation * self.value
        return activation + self.value


def ablate(layer: int, position: int, feature: int) -> FeatureEdit:
    """Switch a feature off (clamp it to zero)."""
    return FeatureEdit(layer, position, feature, "clamp", 0.0)


@dataclass
class InterventionResult:
    logits: torch.Tensor  # (n_pos, d_vocab)
    resid_mid: torch.Tensor  # (n_layers, n_pos, d_model): the residual each MLP (and transcoder) read
    features: torch.Tensor  # (n_layers, n_pos, d_features): the transcoder's features, edits applied

    def top_tokens(self, tokenizer, k: int = 5, position: int = -1) -> list[tuple[str, float]]:
        """The ``k`` most likely next tokens at ``position`` with their probabilities."""
        probs = self.logits[position].softmax(-1)
        top = probs.topk(k)
        return list(zip(tokenizer.convert_ids_to_tokens(top.indices.tolist()), top.values.tolist()))


def _check_edits(edits, clt: CrossLayerTranscoder, n_pos: int) -> list[FeatureEdit]:
    edits = [edits] if isinstance(edits, FeatureEdit) else list(edits)
    for edit in edits:
        if not (0 <= edit.layer < clt.config.n_layers and 0 <= edit.feature < clt.config.d_features
                and -n_pos <= edit.position < n_pos):
            raise ValueError(f"{edit} is outside the transcoder ({clt.config.n_layers} layers × "
                             f"{clt.config.d_features} features) or the prompt ({n_pos} positions)")
    return edits


def feature_edit_hooks(clt: CrossLayerTranscoder, edit: Callable, *, sites: Callable | None = None,
                       base: Callable | None = None) -> list[tuple[str, Callable]]:
    """Forward hooks that edit transcoder features on the original model (the module docstring's a → a′).

    At the input of MLP ℓ the transcoder encodes the live residual x (..., d_model):
    a = ``clt.encode_layer(x, ℓ)``, and ``edit(ℓ, a, x)`` returns a′ (same shape as a). At the
    output of MLP ℓ′, Σ_{ℓ ≤ ℓ′} (a′_ℓ − a_ℓ) × W_dec^{ℓ→ℓ′} is added; the MLPs still run.

    ``sites(resid)``: an index into the residual (batch, pos, d_model) choosing where features are
    read and written in this forward pass (default: everywhere). It is called at every layer, so it
    may depend on the pass (with a key-value cache only the new positions pass). ``base(ℓ, mlp_out)``:
    the MLP output the change is added to (default: the live one; ``intervene`` passes the clean
    one to freeze the MLPs). Returns the hook list for ``model.run_with_hooks`` or ``model.hooks``.
    """
    deltas: dict[int, torch.Tensor] = {}
    where = {"index": ...}

    @torch.no_grad()
    def read(resid, hook):
        layer = hook.layer()
        if sites is not None:
            where["index"] = sites(resid)
        x = resid[where["index"]]
        current = clt.encode_layer(x, layer)
        deltas[layer] = edit(layer, current, x) - current
        return resid

    @torch.no_grad()
    def write(mlp_out, hook):
        layer = hook.layer()
        out = (mlp_out if base is None else base(layer, mlp_out)).clone()
        out[where["index"]] += clt.decode_layer(deltas, layer, bias=False).to(out.dtype)
        return out

    L = clt.config.n_layers
    return [(name, read) for name in hooks.transcoder_inputs(L)] + [(name, write) for name in hooks.transcoder_outputs(L)]


@torch.no_grad()
def intervene(model, clt: CrossLayerTranscoder, prompt, edits, *,
              freeze: Literal["none", "attention", "direct"] = "none", state=None) -> InterventionResult:
    """Run ``model`` on ``prompt`` with feature ``edits`` applied; see the module docstring for ``freeze``."""
    if freeze not in FREEZES:
        raise ValueError(f"freeze must be one of {FREEZES}, got {freeze!r}")
    state = prompt_state(model, clt, prompt) if state is None else state
    edits = _check_edits(edits, clt, state.n_pos)
    L = model.cfg.n_layers
    resid_mid: dict[int, torch.Tensor] = {}
    features: dict[int, torch.Tensor] = {}

    def apply_edits(layer, current, resid):
        resid_mid[layer] = resid
        edited = current.clone()
        for edit in edits:
            if edit.layer == layer:
                edited[edit.position, edit.feature] = edit.apply(current[edit.position, edit.feature])
        features[layer] = edited
        return edited

    clean_mlp_out = (lambda layer, mlp_out: state.mlp_out[layer][None]) if freeze == "direct" else None
    fwd_hooks = [] if freeze == "none" else freeze_hooks(state, L, scales=freeze == "direct")
    one_prompt = lambda resid: 0  # the batch holds the prompt alone: edit row 0, every position
    fwd_hooks += feature_edit_hooks(clt, apply_edits, sites=one_prompt, base=clean_mlp_out)
    logits = model.run_with_hooks(state.tokens[None], fwd_hooks=fwd_hooks)[0]
    stack = lambda d: torch.stack([d[l] for l in range(L)])
    return InterventionResult(logits, stack(resid_mid), stack(features))


def predicted_effects(graph, node: int, new_activation: float) -> torch.Tensor:
    """The graph's prediction of each target's change when feature ``node`` goes from its activation to ``new_activation``.

    Edges are linear in the source's activation, so the change is edge × (a′ − a) / a. Returns a
    vector over the graph's targets (features, then logits), like ``measured_effects``.
    """
    if graph.node_kind(node) != "feature":
        raise ValueError(f"node {node} is a {graph.node_kind(node)}, not a feature")
    targets = graph.target_nodes()
    activation = graph.activations[node]
    return graph.adjacency[targets, node] * (new_activation - activation) / activation


def measured_effects(model, clt: CrossLayerTranscoder, graph, edit: FeatureEdit, *, freeze="direct", state=None) -> torch.Tensor:
    """The change in every target's reading (pre-activation or centred logit) when ``edit`` is applied."""
    state = prompt_state(model, clt, graph.tokens) if state is None else state
    clean = target_readings(model, clt, graph, state.logits[None], state.resid_mid[None])[0]
    result = intervene(model, clt, graph.tokens, edit, freeze=freeze, state=state)
    edited = target_readings(model, clt, graph, result.logits[None], result.resid_mid[None])[0]
    return edited - clean
