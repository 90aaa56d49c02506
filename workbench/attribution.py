"""Attribution graphs: the direct linear effect of every node on every other, for one prompt.

In the local replacement model (``workbench.local_replacement``) attention patterns and LayerNorm
scales are frozen, so the residual stream is a *linear* function of what the nodes write into it:
feature decoders (activation × W_dec), error vectors and token embeddings. A target node reads the
residual stream linearly too: a feature through its encoder row at the residual entering its MLP
(its pre-activation), a logit through the frozen final LayerNorm and its mean-centred unembedding
column. The edge s → t is the part of t's reading that s's write contributes along paths that
pass through no other node: through the residual stream and attention's value/output path only.

circuit-tracer computes those edges with one backward pass of the whole model per batch of
targets, through hooks. For models this small the frozen map is cheap to apply by hand, so we
carry every target's reading vector down the layers at once (the adjoint of the frozen map):

    at the top, logits read the final residual; at layer ℓ, targets of layer ℓ join, and the
    reading vectors pass back through attention ℓ: g ← g + Attnᵀ_ℓ(g)

and a source writing into the residual entering layer ℓ + 1 (MLP ℓ's output) gets the dot product
of its write with the reading vectors there. Nodes and their order are circuit-tracer's:
[features (layer, position, index) sorted, errors (layer, position), tokens, logits]; rows are
targets and columns sources.
"""

from __future__ import annotations

import torch

from workbench.clt import CrossLayerTranscoder
from workbench.graph import AttributionGraph
from workbench.local_replacement import PromptState, prompt_state


def _centre(x: torch.Tensor, normalization: str) -> torch.Tensor:
    return x - x.mean(-1, keepdim=True) if normalization in ("LN", "LNPre") else x


def _norm_weight(ln) -> torch.Tensor | float:
    return ln.w if hasattr(ln, "w") else 1.0


def attention_adjoint(model, state: PromptState, layer: int, g: torch.Tensor) -> torch.Tensor:
    """Pull reading vectors ``g`` (k, n_pos, d_model) at the output of attention ``layer`` back to its input.

    Frozen pattern P and LayerNorm scale s: attention's linear part maps a residual change δ to
    Σ_h P_h · (centre(δ)/s ⊙ w) W_V^h W_O^h; this applies its transpose.
    """
    block = model.blocks[layer]
    W_V, W_O = block.attn.W_V, block.attn.W_O  # (H, d, e), (H, e, d)
    gz = torch.einsum("kqd,hed->kqhe", g, W_O)
    gv = torch.einsum("hqp,kqhe->kphe", state.patterns[layer], gz)
    gx = torch.einsum("kphe,hde->kpd", gv, W_V) * _norm_weight(block.ln1) / state.ln1_scales[layer]
    return _centre(gx, model.cfg.normalization_type)


def logit_targets(model, state: PromptState, max_n_logits: int = 10, desired_logit_prob: float = 0.95, tokens=None):
    """(token ids, probabilities, mean-centred unembedding columns (k, d_model)) of the logit nodes.

    By default circuit-tracer's choice: the most likely next tokens until their probabilities sum
    to ``desired_logit_prob``, at most ``max_n_logits``.
    """
    probs = state.logits[-1].softmax(-1)
    if tokens is None:
        top_p, top_idx = probs.topk(max_n_logits)
        cutoff = int(torch.searchsorted(top_p.cumsum(0), desired_logit_prob)) + 1
        tokens = top_idx[:cutoff]
    tokens = torch.as_tensor(tokens)
    W_U = model.W_U
    return tokens, probs[tokens], (W_U[:, tokens] - W_U.mean(1, keepdim=True)).T


@torch.no_grad()
def attribute(model, clt: CrossLayerTranscoder, prompt, *, max_n_logits: int = 10,
              desired_logit_prob: float = 0.95, logit_tokens=None, name: str = "") -> AttributionGraph:
    """The unpruned attribution graph of ``prompt`` (a string or token ids beginning with ``<bos>``)."""
    state = prompt_state(model, clt, prompt)
    return graph_from_state(model, clt, state, max_n_logits=max_n_logits,
                            desired_logit_prob=desired_logit_prob, logit_tokens=logit_tokens, name=name)


def graph_from_state(model, clt: CrossLayerTranscoder, state: PromptState, *, max_n_logits: int = 10,
                     desired_logit_prob: float = 0.95, logit_tokens=None, name: str = "") -> AttributionGraph:
    L, n, d = model.cfg.n_layers, state.n_pos, model.cfg.d_model
    active = state.features.nonzero()  # (n_features, 3): layer, position, index, sorted
    layer_of, pos_of, index_of = active.T
    activations = state.features[layer_of, pos_of, index_of]
    n_feat = len(active)
    logit_ids, logit_probs, logit_vectors = logit_targets(model, state, max_n_logits, desired_logit_prob, logit_tokens)
    n_logits = len(logit_ids)
    error_start, token_start = n_feat, n_feat + L * n
    logit_start = token_start + n
    n_nodes = logit_start + n_logits

    # Reading vectors of all targets (feature rows then logit rows) at the current residual level.
    rows = n_feat + n_logits
    g = torch.zeros(rows, n, d)
    final_norm = _norm_weight(model.ln_final) / state.final_scale[-1]
    g[n_feat:, -1] = _centre(logit_vectors * final_norm, model.cfg.normalization_type)
    adjacency = torch.zeros(n_nodes, n_nodes)
    target_rows = torch.cat([torch.arange(n_feat), torch.arange(logit_start, n_nodes)])

    for layer in reversed(range(L)):
        # g reads the residual leaving layer `layer`: credit MLP `layer`'s writers (features, errors).
        live = slice(_first_row_above(layer_of, layer), rows)  # targets in later layers, and logits
        _credit_features(adjacency, target_rows[live], g[live], clt, layer, active, activations)
        errors = state.errors[layer]
        adjacency[target_rows[live], error_start + layer * n: error_start + (layer + 1) * n] = torch.einsum(
            "kpd,pd->kp", g[live], errors
        )
        # Targets of this layer start reading here, at the residual entering MLP `layer`.
        here = (layer_of == layer).nonzero().squeeze(1)
        g[here, pos_of[here]] = clt.W_enc[layer, index_of[here]]
        live = slice(_first_row_above(layer_of, layer - 1), rows)
        g[live] = g[live] + attention_adjoint(model, state, layer, g[live])

    embeddings = model.W_E[state.tokens]
    adjacency[target_rows, token_start:logit_start] = torch.einsum("kpd,pd->kp", g, embeddings)
    from workbench.graph import model_summary

    return AttributionGraph(
        tokens=state.tokens.clone(), active_features=active, activations=activations,
        logit_tokens=logit_ids, logit_probabilities=logit_probs, adjacency=adjacency,
        n_layers=L, token_strings=model.tokenizer.convert_ids_to_tokens(state.tokens.tolist()),
        logit_strings=model.tokenizer.convert_ids_to_tokens(logit_ids.tolist()),
        model=model_summary(model), name=name,
    )


def _first_row_above(layer_of: torch.Tensor, layer: int) -> int:
    """First feature row whose layer is above ``layer`` (rows are sorted by layer)."""
    return int((layer_of <= layer).sum())


def _credit_features(adjacency, target_rows, g, clt: CrossLayerTranscoder, layer: int, active, activations):
    """Add the edges from every active feature that writes to MLP ``layer``'s output."""
    layer_of, pos_of, index_of = active.T
    for source_layer in range(layer + 1):
        W = clt.W_dec[source_layer]
        if layer - source_layer >= W.shape[1]:
            continue
        sources = (layer_of == source_layer).nonzero().squeeze(1)
        if len(sources) == 0:
            continue
        writes = W[index_of[sources], layer - source_layer] * activations[sources, None]  # (s, d)
        for pos in pos_of[sources].unique().tolist():
            at = sources[pos_of[sources] == pos]
            block = g[:, pos] @ writes[pos_of[sources] == pos].T  # (k, s_at)
            adjacency[target_rows[:, None], at[None, :]] += block


def circuit_tracer_model(model, clt: CrossLayerTranscoder):
    """The same organism and transcoder as circuit-tracer's ``ReplacementModel`` (built offline, in memory).

    circuit-tracer wraps each MLP and the unembedding in modules of its own, so the organism's
    weights are renamed on the way in. Pass it token ids that begin with ``<bos>``: given a string
    it tokenizes without special tokens and prepends one itself.
    """
    from circuit_tracer import ReplacementModel

    replacement = ReplacementModel.from_config(model.cfg, clt.to_circuit_tracer(), tokenizer=model.tokenizer)
    renamed = {}
    for key, value in model.state_dict().items():
        parts = key.split(".")
        if parts[0] == "unembed":
            parts.insert(1, "old_unembed")
        elif len(parts) > 2 and parts[0] == "blocks" and parts[2] == "mlp":
            parts.insert(3, "old_mlp")
        renamed[".".join(parts)] = value
    missing, unexpected = replacement.load_state_dict(renamed, strict=False)
    if unexpected or any(not key.startswith("transcoders.") for key in missing):
        raise RuntimeError(f"weights did not map onto circuit-tracer's model: missing {missing}, unexpected {unexpected}")
    return replacement
