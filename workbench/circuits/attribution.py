"""Attribution graphs: the direct linear effect of every node on every other, for one prompt.

In the local replacement model (``workbench.circuits.local_replacement``) attention patterns and LayerNorm
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

from workbench.circuits.graph import AttributionGraph, token_names
from workbench.circuits.local_replacement import PromptState, prompt_state
from workbench.transcoders.model import CrossLayerTranscoder


def _centre(x: torch.Tensor, normalization: str) -> torch.Tensor:
    return x - x.mean(-1, keepdim=True) if normalization in ("LN", "LNPre") else x


def _norm_weight(ln) -> torch.Tensor | float:
    return ln.w if hasattr(ln, "w") else 1.0


def attention_adjoint(model, state: PromptState, layer: int, g: torch.Tensor) -> torch.Tensor:
    """Pull reading vectors ``g`` (k, n_pos, d_model) at the output of attention ``layer`` back to its input.

    Frozen pattern P and LayerNorm scale s: attention's linear part maps a residual change δ to
    Σ_h P_h · (centre(δ)/s ⊙ w) W_V^h W_O^h; this applies its transpose (the residual's own
    identity path is added by the caller). Written as matrix products, which BLAS does fastest.
    """
    block = model.blocks[layer]
    W_V, W_O = block.attn.W_V, block.attn.W_O  # (H, d, e), (H, e, d)
    H, d, e = W_V.shape
    k, n, _ = g.shape
    # The LayerNorm's scale 1/s_p, weight w and centring are linear: folded into the pattern (1/s_p,
    # per key position) and into the value map (w, then centred along d), not applied to all of g.
    pattern = state.patterns[layer] / state.ln1_scales[layer][:, 0]  # (H, q, p) / s_p
    values = _centre(W_V.transpose(1, 2).reshape(H * e, d) * _norm_weight(block.ln1), model.cfg.normalization_type)
    gz = g.reshape(k * n, d) @ W_O.reshape(H * e, d).T  # (k·q, H·e)
    gz = gz.view(k, n, H, e).permute(2, 1, 0, 3).reshape(H, n, k * e)
    gv = pattern.transpose(1, 2) @ gz  # (H, p, k·e)
    gv = gv.view(H, n, k, e).permute(2, 1, 0, 3).reshape(k * n, H * e)
    return (gv @ values).view(k, n, d)


def attention_adjoint_one_hot(model, state: PromptState, layer: int, reads: torch.Tensor, positions: torch.Tensor):
    """``attention_adjoint`` for reading vectors that are zero except ``reads`` (k, d) at ``positions`` (k,).

    A target's reading vector is one-hot in position until it has passed its first attention
    layer, so the head's output/value maps act on one vector per target instead of n_pos of them.
    """
    block = model.blocks[layer]
    W_V, W_O = block.attn.W_V, block.attn.W_O  # (H, d, e), (H, e, d)
    H, d, e = W_V.shape
    u = (reads @ W_O.permute(2, 0, 1).reshape(d, H * e)).view(-1, H, e).transpose(0, 1)  # (H, k, e)
    v = torch.bmm(u, W_V.transpose(1, 2))  # (H, k, d): what each head sends back to the key positions
    # centre(v ⊙ w / s_p) = centre(v ⊙ w) / s_p: centre once per head, not once per key position.
    v = _centre(v * _norm_weight(block.ln1), model.cfg.normalization_type)
    out = torch.empty(len(reads), state.n_pos, d)
    queries, counts = positions.unique_consecutive(return_counts=True)
    start = 0
    for query, count in zip(queries.tolist(), counts.tolist()):  # rows are sorted: each query is one block
        rows = slice(start, start + count)
        weights = state.patterns[layer][:, query].T / state.ln1_scales[layer]  # (p, H)
        out[rows] = (weights @ v[:, rows].reshape(H, -1)).view(-1, count, d).transpose(0, 1)
        start += count
    return out


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
              desired_logit_prob: float = 0.95, logit_tokens=None, name: str = "", device="auto") -> AttributionGraph:
    """The unpruned attribution graph of ``prompt`` (a string or token ids beginning with ``<bos>``).

    Computed on ``device`` ("auto": CUDA, then MPS, then CPU), where the model and the transcoder
    are moved if they are elsewhere; the graph comes back on the CPU.
    """
    from workbench.models import resolve_device

    device = resolve_device(device)
    if model.cfg.device is None or torch.device(model.cfg.device).type != device.type:
        model.to(device, print_details=False)
    clt.to(device)
    with torch.device(device):
        state = prompt_state(model, clt, torch.as_tensor(prompt).to(device) if not isinstance(prompt, str) else prompt)
        graph = graph_from_state(model, clt, state, max_n_logits=max_n_logits,
                                 desired_logit_prob=desired_logit_prob, logit_tokens=logit_tokens, name=name)
    for tensor_field in ("tokens", "active_features", "activations", "logit_tokens", "logit_probabilities", "adjacency"):
        setattr(graph, tensor_field, getattr(graph, tensor_field).cpu())
    return graph


def graph_from_state(model, clt: CrossLayerTranscoder, state: PromptState, *, max_n_logits: int = 10,
                     desired_logit_prob: float = 0.95, logit_tokens=None, name: str = "") -> AttributionGraph:
    """The attribution graph of the prompt whose clean forward pass is ``state``."""
    from workbench.circuits.graph import model_summary

    L, n, d = model.cfg.n_layers, state.n_pos, model.cfg.d_model
    active = state.features.nonzero()  # (n_features, 3): layer, position, index, sorted
    layer_of, pos_of, index_of = active.T
    activations = state.features[layer_of, pos_of, index_of]
    n_feat = len(active)
    logit_ids, logit_probs, logit_vectors = logit_targets(model, state, max_n_logits, desired_logit_prob, logit_tokens)
    n_logits = len(logit_ids)

    # Targets: feature rows (sorted by layer) then logit rows. Each reads one vector at one position;
    # logits read the final residual, as if they were features of layer L.
    final_norm = _norm_weight(model.ln_final) / state.final_scale[-1]
    reads = torch.cat([clt.W_enc[layer_of, index_of], _centre(logit_vectors * final_norm, model.cfg.normalization_type)])
    read_pos = torch.cat([pos_of, torch.full((n_logits,), n - 1)])
    starts = [int((layer_of < layer).sum()) for layer in range(L + 1)] + [n_feat + n_logits]  # rows of each layer
    # Reading vectors at the current residual level, kept for the rows that pass an attention layer
    # before reaching the bottom (rows of layer 0 go straight to the token edges).
    reading = torch.zeros(n_feat + n_logits - starts[1], n, d)
    g = lambda rows: reading[rows.start - starts[1] : None if rows.stop is None else rows.stop - starts[1]]
    edges = torch.zeros(n_feat + n_logits, n_feat + (L + 1) * n)  # target rows × source nodes

    for layer in reversed(range(L)):
        # g now reads the residual leaving layer `layer`: credit MLP `layer`'s writers.
        live = slice(starts[layer + 1], None)  # targets of later layers, and logits
        if layer == L - 1:
            g(live)[torch.arange(n_logits), read_pos[live]] = reads[live]
        _credit_features(edges[live], g(live), clt, layer, active, activations, starts)
        errors = n_feat + layer * n
        edges[live, errors : errors + n] = (g(live) * state.errors[layer]).sum(-1)
        # Pass attention `layer`: rows reading here for the first time are one-hot in position.
        fresh = slice(starts[layer], starts[layer + 1] if layer < L - 1 else None)
        seen = slice(starts[layer + 1], None) if layer < L - 1 else slice(n_feat + n_logits, None)
        if layer == 0:
            break  # below attention 0 only the token embeddings remain: _token_edges goes straight there
        g(seen)[:] += attention_adjoint(model, state, layer, g(seen))
        g(fresh)[:] = attention_adjoint_one_hot(model, state, layer, reads[fresh], read_pos[fresh])
        g(fresh)[torch.arange(len(reads[fresh])), read_pos[fresh]] += reads[fresh]
    tokens = n_feat + L * n
    edges[seen, tokens:] = _token_edges(model, state, g(seen))
    edges[fresh, tokens:] = _token_edges(model, state, reads[fresh], read_pos[fresh])

    n_nodes = tokens + n + n_logits
    adjacency = torch.zeros(n_nodes, n_nodes)
    adjacency[:n_feat, : tokens + n] = edges[:n_feat]
    adjacency[tokens + n :, : tokens + n] = edges[n_feat:]
    return AttributionGraph(
        tokens=state.tokens.clone(), active_features=active, activations=activations,
        logit_tokens=logit_ids, logit_probabilities=logit_probs, adjacency=adjacency,
        n_layers=L, token_strings=model.to_str_tokens(state.tokens, prepend_bos=False),
        logit_strings=token_names(model.tokenizer, logit_ids.tolist()),
        model=model_summary(model), name=name,
    )


def _token_edges(model, state: PromptState, g: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
    """Edges from every token embedding to targets whose reading vectors ``g`` sit just above attention 0.

    Below attention 0 nothing but the embeddings e_p writes, so instead of pulling ``g`` through
    the attention adjoint we take the dot products directly: edge[k, p] = g[k, p]·e_p +
    Σ_h Σ_q P_h[q, p] g[k, q]·t_{h,p}, with t_{h,p} = (centre(e_p) ⊙ w / s_p) W_V^h W_O^h what token
    p writes through head h. ``g`` is (k, n_pos, d), or (k, d) one-hot at ``positions``.
    """
    block = model.blocks[0]
    e = model.W_E[state.tokens]  # (p, d)
    e_read = _centre(e, model.cfg.normalization_type) * _norm_weight(block.ln1) / state.ln1_scales[0]
    t = torch.einsum("pd,hde,hef->hpf", e_read, block.attn.W_V, block.attn.W_O)  # (H, p, d)
    P = state.patterns[0]  # (H, q, p)
    if positions is None:
        k, n, d = g.shape
        through_heads = (g.reshape(k * n, d) @ t.reshape(-1, d).T).view(k, n, *t.shape[:2])  # (k, q, H, p)
        return (g * e).sum(-1) + (through_heads * P.transpose(0, 1)).sum((1, 2))
    direct = torch.zeros(len(g), len(e))
    direct[torch.arange(len(g)), positions] = (g * e[positions]).sum(-1)
    return direct + torch.einsum("hkp,khp->kp", P[:, positions], torch.einsum("kd,hpd->khp", g, t))


def _credit_features(edges, g, clt: CrossLayerTranscoder, layer: int, active, activations, starts):
    """Add the edges from every active feature that writes to MLP ``layer``'s output.

    ``g`` (k, n_pos, d) reads the residual just after MLP ``layer``; feature rows are sorted by
    (layer, position), so each source layer's columns are one block, filled position by position.
    """
    _, pos_of, index_of = active.T
    by_position = g.transpose(0, 1).contiguous()  # (n_pos, k, d): one contiguous matrix per position
    for source in range(layer + 1):
        W = clt.decoder(source, layer)
        if W is None or starts[source] == starts[source + 1]:
            continue
        columns = slice(starts[source], starts[source + 1])
        writes = W[index_of[columns]] * activations[columns, None]  # (s, d)
        positions = pos_of[columns]
        blocks = [by_position[p] @ writes[positions == p].T for p in positions.unique_consecutive().tolist()]
        edges[:, columns] += torch.cat(blocks, dim=1)


def circuit_tracer_model(model, clt: CrossLayerTranscoder):
    """The same organism and transcoder as circuit-tracer's ``ReplacementModel`` (built offline, in memory).

    circuit-tracer wraps each MLP and the unembedding in modules of its own, so the organism's
    weights are renamed on the way in. Pass it token ids that begin with ``<bos>``: given a string
    it tokenizes without special tokens and prepends one itself.
    """
    import warnings

    from circuit_tracer import ReplacementModel

    # circuit-tracer's backward passes hook modules whose inputs need no gradient, and torch warns
    # about it on every graph: nothing a learner can act on.
    warnings.filterwarnings("ignore", message=r"Full backward hook is firing when gradients are computed")
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


# circuit-tracer's pretrained transcoder sets, by the model they replace (its README's table; any
# other set of its hub references can be passed by name).
PRETRAINED_TRANSCODERS = {
    "gemma-2-2b": "gemma",  # GemmaScope per-layer transcoders, mwhanna/gemma-scope-transcoders
    "meta-llama/Llama-3.2-1B": "llama",  # mntss/transcoder-Llama-3.2-1B
}


def replacement_model(name: str, model=None, transcoder: CrossLayerTranscoder | None = None, *,
                      transcoder_set: str | None = None, device="auto"):
    """circuit-tracer's ``ReplacementModel`` for model ``name``: the switch between offline and the hub.

    A model ``workbench.models`` loads offline (an organism, ``"smollm2-135m"``) is replaced with our
    ``transcoder`` (``circuit_tracer_model(model, transcoder)``). Any other name is a hub model:
    circuit-tracer downloads it and its pretrained transcoders, ``transcoder_set`` (by default
    ``PRETRAINED_TRANSCODERS[name]``), with ``ReplacementModel.from_pretrained``. Offline, or when
    the hub cannot be reached, that raises ``models.ModelUnavailable`` saying so.
    """
    from workbench import models
    from workbench.config_checks import UnknownNameError, closest_names

    if name in models.offline_names():
        if model is None or transcoder is None:
            raise ValueError(f"{name!r} is replaced with our own transcoder: pass the model and the transcoder")
        return circuit_tracer_model(model, transcoder)
    transcoder_set = transcoder_set or PRETRAINED_TRANSCODERS.get(name)
    if transcoder_set is None:
        close = closest_names(name, [*models.offline_names(), *PRETRAINED_TRANSCODERS])
        raise UnknownNameError(f"circuit-tracer ships no transcoders for {name!r} that we know of"
                               + (f" (closest: {', '.join(close)})" if close else "") + "; pass transcoder_set "
                               f"(its hub reference). Known: {', '.join(f'{k} ({v})' for k, v in PRETRAINED_TRANSCODERS.items())}; "
                               f"offline, with our transcoders: {', '.join(models.offline_names())}")
    from circuit_tracer import ReplacementModel

    why = models.hub_offline()
    try:
        return ReplacementModel.from_pretrained(name, transcoder_set, device=models.resolve_device(device))
    except OSError as error:  # FileNotFoundError from its download of the transcoders' config, hub errors
        why = why or f"{type(error).__name__}: {str(error).splitlines()[0]}"
    raise models.ModelUnavailable(models.OFFLINE_HINT.format(
        name=f"{name} with circuit-tracer's {transcoder_set!r} transcoders", why=why,
        offline=", ".join(models.offline_names())))


def attribution_graph(model_name: str, model, prompt, transcoder: CrossLayerTranscoder | None = None, *,
                      logit_tokens=None, max_feature_nodes: int | None = None, name: str = "",
                      device="auto") -> AttributionGraph:
    """The attribution graph of ``prompt`` on model ``model_name``, whichever way the model allows.

    A model loaded offline (an organism, ``"smollm2-135m"``): ``attribute`` with our ``transcoder``.
    A hub model (GPU and internet): circuit-tracer's pretrained transcoders, downloaded with the model
    by ``replacement_model``, and its ``attribute`` (``max_feature_nodes`` caps the features, as big
    models need). Either way an ``AttributionGraph``, so pruning, scores and figures are the same.
    """
    from workbench import models

    if model_name in models.offline_names():
        if transcoder is None:
            raise ValueError(f"{model_name!r} is attributed with our own transcoder: pass it")
        return attribute(model, transcoder, prompt, logit_tokens=logit_tokens, name=name, device=device)
    replacement = replacement_model(model_name, device=device)
    if isinstance(prompt, str):
        prompt = model.to_tokens(prompt)[0]
    return attribute_with_circuit_tracer(replacement, prompt, logit_tokens=logit_tokens,
                                         max_feature_nodes=max_feature_nodes, name=name or None)


def attribute_with_circuit_tracer(replacement, prompt, *, logit_tokens=None, max_feature_nodes: int | None = None,
                                  batch_size: int = 256, name: str | None = None) -> AttributionGraph:
    """circuit-tracer's ``attribute`` on ``replacement`` (``replacement_model``), as our ``AttributionGraph``.

    ``prompt``: token ids beginning with ``<bos>`` (a string is tokenized by circuit-tracer, which
    prepends one); ``logit_tokens``: the logit nodes (default: circuit-tracer's choice, as ours).
    ``max_feature_nodes`` keeps only the most influential features (what makes big models tractable).
    """
    import warnings

    from circuit_tracer import attribute as circuit_tracer_attribute

    from workbench.circuits.graph import from_circuit_tracer

    targets = None if logit_tokens is None else torch.as_tensor(logit_tokens)
    if max_feature_nodes is not None:  # every backward pass carries batch_size copies of the prompt, even the
        batch_size = min(batch_size, max(8, max_feature_nodes // 4))  # logits' one row: small graphs, small batches
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Full backward hook is firing when gradients are computed")
        theirs = circuit_tracer_attribute(prompt, replacement, attribution_targets=targets, batch_size=batch_size,
                                          max_feature_nodes=max_feature_nodes)
    return from_circuit_tracer(theirs, replacement.tokenizer, name)


def path_length_profile(model, clt: CrossLayerTranscoder, prompts, max_length: int = 5) -> torch.Tensor:
    """``graph.influence_by_path_length`` averaged over the graphs of ``prompts``: (max_length,)."""
    from workbench.circuits.graph import influence_by_path_length

    return torch.stack([influence_by_path_length(attribute(model, clt, p), max_length) for p in prompts]).mean(0)
