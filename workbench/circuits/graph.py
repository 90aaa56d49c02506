"""An attribution graph as plain data, and what can be done with it without a model.

``AttributionGraph`` holds tensors and strings only: the prompt, the active features, the logit
nodes and the dense adjacency matrix (rows are targets, columns sources) in circuit-tracer's node
order [features, errors (layer, position), tokens, logits]. ``save``/``load`` write one
safetensors file. ``prune`` and ``scores`` use circuit-tracer's own definitions (influence through
the row-normalised absolute adjacency, weighted by the logits' probabilities), by handing the graph
to its ``prune_graph`` and ``compute_graph_scores``; ``export_neuronpedia`` writes the JSON its
frontend and Neuronpedia read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

import torch

MODEL_FIELDS = ("n_layers", "d_model", "d_head", "n_heads", "d_mlp", "d_vocab")


def model_summary(model) -> dict:
    """The model facts a graph keeps (what circuit-tracer's graph config holds)."""
    cfg = model.cfg
    return {
        **{name: int(getattr(cfg, name)) for name in MODEL_FIELDS},
        "model_name": str(cfg.model_name),
        "tokenizer_name": str(getattr(cfg, "tokenizer_name", None) or cfg.model_name),
    }


@dataclass
class AttributionGraph:
    tokens: torch.Tensor  # (n_pos,) prompt token ids
    active_features: torch.Tensor  # (n_features, 3): layer, position, feature index
    activations: torch.Tensor  # (n_features,)
    logit_tokens: torch.Tensor  # (n_logits,) token ids of the logit nodes
    logit_probabilities: torch.Tensor  # (n_logits,)
    adjacency: torch.Tensor  # (n_nodes, n_nodes): adjacency[target, source] = direct effect
    n_layers: int
    token_strings: list[str]
    logit_strings: list[str]
    model: dict = field(default_factory=dict)  # model_summary
    name: str = ""  # which transcoder (circuit-tracer's "scan")

    # ---- node bookkeeping -----------------------------------------------------------------------
    @property
    def n_pos(self) -> int:
        return len(self.tokens)

    @property
    def n_features(self) -> int:
        return len(self.active_features)

    @property
    def n_logits(self) -> int:
        return len(self.logit_tokens)

    @property
    def text(self) -> str:
        """The prompt as text: a real model's tokens carry their own spaces and are joined as they are,
        an organism's words are joined with spaces."""
        own_spaces = any(token[:1].isspace() for token in self.token_strings[1:])
        return ("" if own_spaces else " ").join(self.token_strings)

    @property
    def error_start(self) -> int:
        return self.n_features

    @property
    def token_start(self) -> int:
        return self.n_features + self.n_layers * self.n_pos

    @property
    def logit_start(self) -> int:
        return self.token_start + self.n_pos

    @property
    def n_nodes(self) -> int:
        return self.logit_start + self.n_logits

    def node_kind(self, node: int) -> str:
        """'feature', 'error', 'token' or 'logit'."""
        if not 0 <= node < self.n_nodes:
            raise IndexError(f"node {node} out of range: the graph has {self.n_nodes} nodes")
        for kind, end in (("feature", self.error_start), ("error", self.token_start), ("token", self.logit_start)):
            if node < end:
                return kind
        return "logit"

    def node_location(self, node: int) -> tuple[int, int]:
        """(layer, position) of a node; tokens sit at layer −1 and logits at layer n_layers."""
        kind = self.node_kind(node)
        if kind == "feature":
            layer, pos, _ = self.active_features[node].tolist()
            return layer, pos
        if kind == "error":
            return divmod(node - self.error_start, self.n_pos)
        if kind == "token":
            return -1, node - self.token_start
        return self.n_layers, self.n_pos - 1

    def node_label(self, node: int) -> str:
        """A short human label: 'L1 F37 @5 "is"', 'error L0 @3', 'token "Dallas"', 'logit "Austin" (p=0.93)'."""
        kind = self.node_kind(node)
        layer, pos = self.node_location(node)
        if kind == "feature":
            return f'L{layer} F{int(self.active_features[node, 2])} @{pos} "{self.token_strings[pos]}"'
        if kind == "error":
            return f'error L{layer} @{pos} "{self.token_strings[pos]}"'
        if kind == "token":
            return f'token @{pos} "{self.token_strings[pos]}"'
        i = node - self.logit_start
        return f'logit "{self.logit_strings[i]}" (p={float(self.logit_probabilities[i]):.2f})'

    def feature_node(self, layer: int, position: int, index: int) -> int:
        """The node number of an active feature (KeyError if it is not active on this prompt)."""
        match = (self.active_features == torch.tensor([layer, position, index])).all(1).nonzero()
        if len(match) == 0:
            raise KeyError(f"feature {index} of layer {layer} is not active at position {position}")
        return int(match[0, 0])

    def target_nodes(self) -> torch.Tensor:
        """The nodes edges lead into, features then logits (errors and tokens have no inputs)."""
        return torch.cat([torch.arange(self.n_features), torch.arange(self.logit_start, self.n_nodes)])

    def logit_weights(self) -> torch.Tensor:
        """Per node: the logit probability for logit nodes, zero elsewhere (what influence is measured against)."""
        weights = torch.zeros(self.n_nodes)
        weights[self.logit_start:] = self.logit_probabilities
        return weights


# ---- save and load ------------------------------------------------------------------------------
TENSOR_FIELDS = ("tokens", "active_features", "activations", "logit_tokens", "logit_probabilities", "adjacency")


def save_graph(graph: AttributionGraph, path) -> Path:
    """Write ``graph`` to one safetensors file (tensors, plus the strings as JSON metadata)."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {name: getattr(graph, name).contiguous() for name in TENSOR_FIELDS}
    extra = {f.name: getattr(graph, f.name) for f in fields(graph) if f.name not in TENSOR_FIELDS}
    save_file(tensors, str(path), metadata={"graph": json.dumps(extra)})
    return path


def load_graph(path) -> AttributionGraph:
    """Read a graph written by ``save`` (no pickle involved)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        tensors = {name: f.get_tensor(name) for name in TENSOR_FIELDS}
        extra = json.loads(f.metadata()["graph"])
    return AttributionGraph(**tensors, **extra)


# ---- circuit-tracer's pruning and scores --------------------------------------------------------
def to_circuit_tracer(graph: AttributionGraph):
    """The same graph as circuit-tracer's ``Graph`` (every active feature selected)."""
    from circuit_tracer.attribution.targets import LogitTarget
    from circuit_tracer.graph import Graph
    from circuit_tracer.utils.tl_nnsight_mapping import UnifiedConfig

    cfg = UnifiedConfig(**{name: graph.model[name] for name in MODEL_FIELDS},
                        tokenizer_name=graph.model["tokenizer_name"], model_name=graph.model["model_name"],
                        original_architecture="HookedTransformer")
    return Graph(
        input_string=graph.text, input_tokens=graph.tokens,
        active_features=graph.active_features, adjacency_matrix=graph.adjacency, cfg=cfg,
        selected_features=torch.arange(graph.n_features), activation_values=graph.activations,
        logit_targets=[LogitTarget(s, int(t)) for s, t in zip(graph.logit_strings, graph.logit_tokens)],
        logit_probabilities=graph.logit_probabilities, scan=graph.name or "workbench", vocab_size=graph.model["d_vocab"],
    )


def token_names(tokenizer, ids: list[int]) -> list[str]:
    """Each token as the text it stands for (" Texas"; the vocabulary's entry would be "ĠTexas" in a
    byte-level tokenizer), decoded one by one as TransformerLens's ``to_str_tokens`` does (for graphs
    built from circuit-tracer's, where there is a tokenizer but no model). An organism's words are
    their own text."""
    return tokenizer.batch_decode([[int(i)] for i in ids], clean_up_tokenization_spaces=False)


def from_circuit_tracer(theirs, tokenizer, name: str | None = None) -> AttributionGraph:
    """circuit-tracer's ``Graph`` as ours, so that ``prune``, ``scores`` and the figures take it.

    Its feature nodes are the ``selected_features`` (all active ones unless ``max_feature_nodes``
    capped them); the node order is the same as ours.
    """
    selected = theirs.selected_features.cpu()
    cfg = theirs.cfg
    return AttributionGraph(
        tokens=theirs.input_tokens.cpu(), active_features=theirs.active_features.cpu()[selected],
        activations=theirs.activation_values.cpu()[selected],
        logit_tokens=torch.tensor([int(target.vocab_idx) for target in theirs.logit_targets]),
        logit_probabilities=theirs.logit_probabilities.cpu(), adjacency=theirs.adjacency_matrix.cpu(),
        n_layers=int(cfg.n_layers), token_strings=token_names(tokenizer, theirs.input_tokens.tolist()),
        logit_strings=[str(target.token_str) for target in theirs.logit_targets],
        model={**{field: int(getattr(cfg, field)) for field in MODEL_FIELDS}, "model_name": str(cfg.model_name),
               "tokenizer_name": str(getattr(cfg, "tokenizer_name", None) or cfg.model_name)},
        name=name if name is not None else str(theirs.scan or ""),
    )


def graph_difference(ours: AttributionGraph, theirs: AttributionGraph) -> float:
    """Largest absolute difference between the edges of two graphs of one prompt, over the nodes both hold.

    ``theirs`` may hold a subset of ``ours``'s features (circuit-tracer's ``max_feature_nodes``);
    every other node (errors, tokens, logits) must be the same. A feature of ``theirs`` that
    ``ours`` lacks, or different prompts or logits, raise a ValueError.
    """
    if not (torch.equal(ours.tokens, theirs.tokens) and torch.equal(ours.logit_tokens, theirs.logit_tokens)):
        raise ValueError("the graphs are of different prompts or logit nodes")
    index = {tuple(f): n for n, f in enumerate(ours.active_features.tolist())}
    missing = [tuple(f) for f in theirs.active_features.tolist() if tuple(f) not in index]
    if missing:
        raise ValueError(f"{len(missing)} features of the second graph are not in the first, e.g. {missing[0]}")
    nodes = torch.cat([torch.tensor([index[tuple(f)] for f in theirs.active_features.tolist()], dtype=torch.long),
                       torch.arange(ours.error_start, ours.n_nodes)])
    return float((ours.adjacency[nodes][:, nodes] - theirs.adjacency).abs().max())


class Pruned(NamedTuple):
    node_mask: torch.Tensor  # (n_nodes,) kept nodes
    edge_mask: torch.Tensor  # (n_nodes, n_nodes) kept edges
    cumulative_scores: torch.Tensor  # (n_nodes,) share of total influence of this node and all stronger ones


def prune(graph: AttributionGraph, node_threshold: float = 0.8, edge_threshold: float = 0.98) -> Pruned:
    """Keep the nodes, then edges, that carry ``node_threshold`` / ``edge_threshold`` of the influence on the logits."""
    from circuit_tracer.graph import prune_graph

    return Pruned(*prune_graph(to_circuit_tracer(graph), node_threshold, edge_threshold))


class Scores(NamedTuple):
    replacement: float  # share of token → logit influence that avoids error nodes entirely
    completeness: float  # influence-weighted share of each node's inputs that are not errors

    def __str__(self) -> str:
        """Rounded for a notebook's print (float32 in full reads 0.8914814591407776)."""
        return f"replacement score {self.replacement:.3f}, completeness {self.completeness:.3f}"


def scores(graph: AttributionGraph) -> Scores:
    """circuit-tracer's replacement and completeness scores of the (unpruned) graph."""
    from circuit_tracer.graph import compute_graph_scores

    return Scores(*compute_graph_scores(to_circuit_tracer(graph)))


def node_influence(graph: AttributionGraph) -> torch.Tensor:
    """Each node's total (direct and indirect) influence on the logits, as circuit-tracer ranks nodes."""
    from circuit_tracer.graph import compute_node_influence

    return compute_node_influence(graph.adjacency, graph.logit_weights())


# ---- export for circuit-tracer's frontend and Neuronpedia ---------------------------------------
def graph_slug(graph: AttributionGraph, max_length: int = 60) -> str:
    """A name safe in a file name and a URL: the transcoder's name, then the prompt's start."""
    import re

    text = re.sub(r"<[^>]*>", " ", graph.text)  # drop <bos> and kin
    slug = re.sub(r"[^a-z0-9]+", "-", f"{graph.name or 'workbench'} {text}".lower()).strip("-")
    return slug[:max_length].rstrip("-")


def export_neuronpedia(graph: AttributionGraph, path, tokenizer, *, slug: str | None = None,
                       node_threshold: float = 0.8, edge_threshold: float = 0.98) -> Path:
    """Write the pruned graph as the JSON that circuit-tracer's frontend and Neuronpedia read.

    Built by circuit-tracer's own ``create_nodes``, ``create_used_nodes_and_edges`` and
    ``build_model``, not its ``create_graph_files``, which reloads the tokenizer from the Hugging
    Face hub by name; ``tokenizer`` (say ``model.tokenizer``) decodes the prompt instead. ``path`` is
    a directory, where the file is named ``{slug}.json`` (the name the frontend fetches), or a
    ``.json`` file. ``graph-metadata.json`` beside it lists every graph in that directory (the
    frontend's menu of graphs); an entry with the same slug is replaced. Returns the JSON's path.
    """
    import re

    from circuit_tracer.frontend.utils import add_graph_metadata
    from circuit_tracer.utils.create_graph_files import build_model, create_nodes, create_used_nodes_and_edges

    slug = graph_slug(graph) if slug is None else slug
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", slug):
        raise ValueError(f"slug {slug!r} must be letters, digits, '.', '_' or '-': it names a file and a URL")
    path = Path(path)
    if path.suffix != ".json":
        path = path / f"{slug}.json"
    path.parent.mkdir(parents=True, exist_ok=True)

    ct_graph = to_circuit_tracer(graph)
    node_mask, edge_mask, cumulative_scores = prune(graph, node_threshold, edge_threshold)
    nodes = create_nodes(ct_graph, node_mask, tokenizer, cumulative_scores)
    for node in nodes.values():
        if node.feature_type == "mlp reconstruction error":
            # The pinned circuit-tracer names error nodes "0_{layer}_{pos}", the id of layer-0 feature {layer} at
            # {pos} too; later releases use "{layer}_-1_{pos}" (circuit-tracer #102), and so do we.
            node.node_id = f"{node.layer}_-1_{node.ctx_idx}"
    used_nodes, used_edges = create_used_nodes_and_edges(ct_graph, nodes, edge_mask)
    ids = [node.node_id for node in used_nodes]
    if len(set(ids)) != len(ids):
        clashes = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"circuit-tracer's node ids clash ({clashes}): the frontend could not tell these nodes apart")
    model = build_model(ct_graph, used_nodes, used_edges, slug, graph.name or "workbench", node_threshold, tokenizer)
    path.write_text(model.model_dump_json(indent=2))
    add_graph_metadata(model.metadata.model_dump(), str(path.parent / "graph-metadata.json"))
    return path


def influence_by_path_length(graph: AttributionGraph, max_length: int = 6) -> torch.Tensor:
    """Share of the logits' total influence carried by paths of 1, 2, … ``max_length`` edges.

    The terms of circuit-tracer's influence series w·Â + w·Â² + … summed over nodes: a transcoder
    whose features skip layers (cross-layer) should put more of its influence on short paths.
    """
    from circuit_tracer.graph import normalize_matrix

    A_hat = normalize_matrix(graph.adjacency)
    current, shares = graph.logit_weights(), []
    for _ in range(max_length):
        current = current @ A_hat
        shares.append(float(current.sum()))
    shares = torch.tensor(shares)
    return shares / shares.sum()
