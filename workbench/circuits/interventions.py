"""The intervention engine: feature edits and residual edits on a batch of prompts, frozen or free, one pass or generating.

Every intervention of the course runs here: notebook 04's checks of the graph, the case studies'
group scalings, swaps, suppressions and injections, and every steering method. Edits are plain data:

- ``FeatureEdits``: dictionary features edited on a batch: which (``mask``, (batch | 1, n_layers, F)),
  where (``positions``: every position, or one per row), how (``mode``: ``"set"``, ``"scale"`` or
  ``"add"`` the ``values``). ``FeatureEdit`` is one feature at one position of one prompt, the unit of
  an attribution graph; ``ablate`` sets one to zero.
- ``ResidualEdit`` (from ``workbench.hooks``, where the organisms can use it too): a vector set,
  scaled or added at a hook, at every position or at one position per row.

A feature edit changes a feature's activation from a (what the dictionary computes from the live
residual stream) to a′ and writes the difference through the feature's decoders: for a cross-layer
transcoder, (a′ − a) × W_dec^{ℓ→ℓ′} added to the output of every MLP ℓ′ the feature writes to; for
an SAE, (a′ − a) × W_dec added back at its own hook. The MLPs themselves still run: the rest of the
model responds as it would.

``freeze`` chooses how much of the batch's clean forward pass is held fixed:

- ``"none"``: nothing; attention and MLPs respond freely (the effect on the real model);
- ``"attention"``: attention patterns fixed (circuit-tracer's default for interventions);
- ``"direct"``: patterns, LayerNorm scales *and* every MLP output fixed, so only the edited
  feature's own writes move the residual stream: the measured change is the graph's direct
  effects, exactly (``predicted_effects``). Comparing "direct" with "none" shows how far the
  linear picture carries.

``edit_hooks`` turns edits into forward hooks (what a steering method hands to generation);
``run_edited`` runs one forward pass on a batch, frozen or not; ``generate_edited`` writes greedily
with a key-value cache, each edit acting on the positions it names as they pass (freezing holds one
clean pass, so it is not offered while generating); ``intervene`` is one prompt with ``FeatureEdit``s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

from workbench import hooks
from workbench.circuits.local_replacement import frozen_names, hold_hooks, prompt_state, state_activations, target_readings
from workbench.hooks import Cursor, ResidualEdit
from workbench.organisms.generation import generate
from workbench.transcoders.model import CrossLayerTranscoder

MODES = hooks.EDIT_MODES
FREEZES = ("none", "attention", "direct")


# ---- edits as plain data ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureEdits:
    """Dictionary features edited on a batch of prompts.

    ``mask`` (batch | 1, n_layers, F) bool: the features edited in each row (an SAE has one layer);
    ``values`` (same shape): what they are set to, scaled by or have added (``mode``); ``positions``:
    None for every position (generated ones too), or an int / (batch,) tensor of one position per row
    (negative: from the end of the text read so far; ``workbench.hooks.sites``).
    """

    mask: torch.Tensor
    values: torch.Tensor
    mode: str = "set"
    positions: int | torch.Tensor | None = None

    def __post_init__(self):
        hooks.check_mode(self.mode, "FeatureEdits")
        if self.mask.ndim != 3 or self.mask.dtype != torch.bool:
            raise ValueError(f"FeatureEdits.mask must be a bool tensor (batch, n_layers, F), got {self.mask.dtype} "
                             f"of shape {tuple(self.mask.shape)}")

    def apply(self, layer: int, features: torch.Tensor, cursor: Cursor) -> torch.Tensor:
        """The features (rows, pos, F) of ``layer`` in the pass at ``cursor``, with this edit applied."""
        rows, where, batch_rows = hooks.sites(self.positions, cursor, *features.shape[:2])
        mask = hooks.per_row(self.mask[:, layer], batch_rows)
        values = hooks.per_row(torch.as_tensor(self.values)[:, layer], batch_rows)
        if rows is None:
            return hooks.apply_mode(self.mode, features, values[:, None], mask[:, None])
        edited = features.clone()
        edited[rows, where] = hooks.apply_mode(self.mode, features[rows, where], values, mask)
        return edited


@dataclass(frozen=True)
class FeatureEdit:
    """Feature ``feature`` of ``layer`` at ``position`` set to ``value``, scaled by it or with it added (``mode``)."""

    layer: int
    position: int
    feature: int
    mode: str = "set"
    value: float = 0.0

    def __post_init__(self):
        hooks.check_mode(self.mode, "FeatureEdit")

    def batched(self, n_layers: int, d_features: int) -> FeatureEdits:
        """The same edit as ``FeatureEdits`` on a batch of one prompt."""
        mask = torch.zeros(1, n_layers, d_features, dtype=torch.bool)
        mask[0, self.layer, self.feature] = True
        return FeatureEdits(mask, torch.full((1, n_layers, d_features), float(self.value)), self.mode, self.position)


def ablate(layer: int, position: int, feature: int) -> FeatureEdit:
    """Switch a feature off (set it to zero)."""
    return FeatureEdit(layer, position, feature, "set", 0.0)


# ---- edits as hooks ---------------------------------------------------------------------------


def edit_hooks(edits, *, dictionary=None, cursor: Cursor | None = None, record: dict | None = None) -> list:
    """Forward hooks that apply ``edits`` (``FeatureEdits``, ``FeatureEdit``s, ``ResidualEdit``s), in order.

    ``dictionary``: the cross-layer transcoder or SAE whose features the feature edits name; given
    it, its hooks run even without feature edits (they then change nothing). ``cursor``: where each
    pass sits in a generated text (``generate_edited`` moves it). ``record``: a dict that receives,
    for a transcoder, the residual each MLP read (``"resid_mid"``) and its features after the edits
    (``"features"``), by layer. Residual edits come first, so features are read from the edited residual.
    """
    cursor = Cursor() if cursor is None else cursor
    residual, features = [], []
    for edit in ([edits] if isinstance(edits, (FeatureEdit, FeatureEdits, ResidualEdit)) else edits):
        if isinstance(edit, ResidualEdit):
            residual.append(edit)
        elif isinstance(edit, (FeatureEdit, FeatureEdits)):
            features.append(edit)
        else:
            raise TypeError(f"not an edit: {edit!r} (FeatureEdits, FeatureEdit or ResidualEdit)")
    if features and dictionary is None:
        raise ValueError("feature edits need the dictionary (transcoder or SAE) whose features they name")
    fwd_hooks = [edit.hook(cursor) for edit in residual]
    if isinstance(dictionary, CrossLayerTranscoder):
        L, F = dictionary.config.n_layers, dictionary.config.d_features
        features = [e.batched(L, F) if isinstance(e, FeatureEdit) else e for e in features]
        fwd_hooks += _transcoder_hooks(dictionary, features, cursor, record)
    elif dictionary is not None:
        features = [e.batched(1, dictionary.cfg.d_sae) if isinstance(e, FeatureEdit) else e for e in features]
        fwd_hooks.append((dictionary.cfg.metadata.hook_name, _sae_hook(dictionary, features, cursor)))
    return fwd_hooks


def _edited(edits: list[FeatureEdits], layer: int, features: torch.Tensor, cursor: Cursor) -> torch.Tensor:
    for edit in edits:
        features = edit.apply(layer, features, cursor)
    return features


def _transcoder_hooks(clt: CrossLayerTranscoder, edits: list[FeatureEdits], cursor: Cursor, record: dict | None):
    """Read each MLP's input, encode it, edit the features; add Σ_{ℓ ≤ ℓ′} (a′_ℓ − a_ℓ) W_dec^{ℓ→ℓ′} to MLP ℓ′'s output."""
    deltas: dict[int, torch.Tensor] = {}
    if record is not None:
        record.setdefault("resid_mid", {})
        record.setdefault("features", {})

    @torch.no_grad()
    def read(resid, hook):
        layer = hook.layer()
        current = clt.encode_layer(resid, layer)
        edited = _edited(edits, layer, current, cursor)
        deltas[layer] = edited - current
        if record is not None:
            record["resid_mid"][layer], record["features"][layer] = resid, edited
        return resid

    @torch.no_grad()
    def write(mlp_out, hook):
        out = mlp_out.clone()
        out += clt.decode_layer(deltas, hook.layer(), bias=False).to(out.dtype)
        return out

    L = clt.config.n_layers
    return [(name, read) for name in hooks.transcoder_inputs(L)] + [(name, write) for name in hooks.transcoder_outputs(L)]


def _sae_hook(sae, edits: list[FeatureEdits], cursor: Cursor):
    """At the SAE's hook: resid + (a′ − a) × W_dec, a the latents of the live residual (the SAE's error stays)."""

    @torch.no_grad()
    def edit(resid, hook=None):
        current = sae.encode(resid)
        delta = _edited(edits, 0, current, cursor) - current
        return resid + (delta @ sae.W_dec).to(resid.dtype)

    return edit


# ---- running --------------------------------------------------------------------------------


def freeze_names(n_layers: int, freeze: str) -> list[str]:
    """The hook points ``freeze`` holds at their clean values (see the module docstring)."""
    if freeze not in FREEZES:
        raise ValueError(f"freeze must be one of {FREEZES}, got {freeze!r}")
    if freeze == "none":
        return []
    if freeze == "attention":
        return frozen_names(n_layers, scales=False)
    return frozen_names(n_layers) + hooks.every_layer(hooks.mlp_out, n_layers)


@torch.no_grad()
def clean_activations(model, tokens: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    """The activations at ``names`` of the batch's clean forward pass: what freezing holds."""
    if not names:
        return {}
    _, cache = model.run_with_cache(tokens, names_filter=names)
    return {name: cache[name] for name in names}


@dataclass
class EditedRun:
    """One edited forward pass on a batch."""

    logits: torch.Tensor  # (batch, n_pos, d_vocab)
    resid_mid: torch.Tensor | None  # (batch, n_layers, n_pos, d_model): the residual each MLP (and transcoder) read
    features: torch.Tensor | None  # (batch, n_layers, n_pos, F): the transcoder's features, edits applied
    kept: dict[str, torch.Tensor] = field(default_factory=dict)  # hook name → activation as the edited run left it


@torch.no_grad()
def run_edited(model, tokens: torch.Tensor, edits=(), *, dictionary=None,
               freeze: Literal["none", "attention", "direct"] = "none", frozen: dict | None = None,
               keep: list[str] = ()) -> EditedRun:
    """Run ``model`` on ``tokens`` (batch, n_pos) with ``edits`` applied; see the module docstring for ``freeze``.

    ``frozen``: the clean activations to hold, by hook name (default: this batch's clean pass, at
    ``freeze_names``). ``resid_mid`` and ``features`` are kept when ``dictionary`` is a transcoder;
    the activations at ``keep`` (hook names) always, after every edit and freeze.
    """
    if frozen is None:
        frozen = clean_activations(model, tokens, freeze_names(model.cfg.n_layers, freeze))
    record = {} if isinstance(dictionary, CrossLayerTranscoder) else None
    kept = {}

    def keep_value(value, hook):
        kept[hook.name] = value
        return value

    fwd_hooks = hold_hooks(frozen) + edit_hooks(edits, dictionary=dictionary, record=record)
    logits = model.run_with_hooks(tokens, fwd_hooks=fwd_hooks + [(name, keep_value) for name in keep])
    if record is None:
        return EditedRun(logits, None, None, kept)
    stack = lambda by_layer: torch.stack([by_layer[layer] for layer in range(len(by_layer))], 1)
    return EditedRun(logits, stack(record["resid_mid"]), stack(record["features"]), kept)


def generate_edited(model, prompts: list[str], n_tokens: int, edits=(), *, dictionary=None) -> list[list[str]]:
    """Greedy continuation of ``n_tokens`` tokens after each prompt with ``edits`` applied, with a key-value cache.

    Row k of a per-row edit belongs to ``prompts[k]`` (prompts of different lengths are batched
    apart); an edit at a position acts once, in the pass that reads it (the cache keeps its effect),
    and an edit at every position acts on every new token too.
    """
    cursor = Cursor()
    return generate(model, prompts, n_tokens, edit_hooks(edits, dictionary=dictionary, cursor=cursor), cursor)


# ---- one prompt, as the attribution graph sees it ---------------------------------------------


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


@torch.no_grad()
def intervene(model, clt: CrossLayerTranscoder, prompt, edits, *,
              freeze: Literal["none", "attention", "direct"] = "none", state=None) -> InterventionResult:
    """Run ``model`` on ``prompt`` with feature ``edits`` applied; see the module docstring for ``freeze``.

    ``state``: the prompt's ``prompt_state`` (computed if not given), whose clean pass freezing holds.
    """
    names = freeze_names(model.cfg.n_layers, freeze)
    state = prompt_state(model, clt, prompt) if state is None else state
    edits = _check_edits(edits, clt, state.n_pos)
    kept = state_activations(state)
    result = run_edited(model, state.tokens[None], edits, dictionary=clt, frozen={name: kept[name][None] for name in names})
    return InterventionResult(result.logits[0], result.resid_mid[0], result.features[0])


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
