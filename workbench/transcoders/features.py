"""Reading a transcoder's features: where they fire, what they fire on, and what the world says they are.

A graph node is only useful with a label. Two kinds here: the contexts where a feature fires
most (what one would look at on a real model), and, where the world knows the truth, the
ground-truth variable the feature tracks best (``FactsWorld.token_variables``, matched by F1 as
in notebook 02).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch

from workbench import hooks
from workbench.feature_matching import f1_scores
from workbench.transcoders.model import CrossLayerTranscoder


@dataclass
class FeatureCorpus:
    """Every transcoder feature's activation on a corpus: ``activations`` (rows, n_ctx, n_layers, F)."""

    tokens: torch.Tensor  # (rows, n_ctx)
    activations: torch.Tensor
    str_tokens: list[list[str]]


@torch.no_grad()
def feature_corpus(model, clt: CrossLayerTranscoder, world, sentences: list[str] | None = None) -> FeatureCorpus:
    """Activations of every feature on ``sentences`` (default: every distinct sentence of the world, if it lists them)."""
    sentences = sentences if sentences is not None else world.all_sentences
    tokens = world.tokenize(sentences)
    inputs = hooks.transcoder_inputs(model.cfg.n_layers)
    _, cache = model.run_with_cache(tokens, names_filter=lambda name: name in inputs)
    x = torch.stack([cache[name] for name in inputs], dim=2)  # (rows, n_ctx, L, d)
    rows, n = tokens.shape
    activations = clt.encode(x.reshape(rows * n, *x.shape[2:])).reshape(rows, n, *x.shape[2:3], -1)
    activations[tokens == world.tokenizer.pad_token_id] = 0
    str_tokens = [model.tokenizer.convert_ids_to_tokens(row.tolist()) for row in tokens]
    return FeatureCorpus(tokens, activations, str_tokens)


@torch.no_grad()
def rows_feature_corpus(model, clt: CrossLayerTranscoder, rows: torch.Tensor, batch_rows: int = 8) -> FeatureCorpus:
    """Every feature's activation on token ``rows`` (n, n_ctx) of a model with no world (a real model's own
    text, ``activations.corpus``); nothing fires at ``<bos>`` (position 0), as in the attribution graphs."""
    inputs = hooks.transcoder_inputs(model.cfg.n_layers)
    parts = []
    for start in range(0, len(rows), batch_rows):
        batch = rows[start:start + batch_rows].to(model.cfg.device)
        _, cache = model.run_with_cache(batch, names_filter=lambda name: name in inputs)
        x = torch.stack([cache[name] for name in inputs], dim=2)  # (b, n_ctx, L, d)
        parts.append(clt.encode(x.flatten(0, 1)).reshape(*x.shape[:3], -1).cpu())
    activations = torch.cat(parts)
    activations[:, 0] = 0
    str_tokens = [model.to_str_tokens(row) for row in rows]  # decoded, spaces included: join with ""
    return FeatureCorpus(rows.cpu(), activations, str_tokens)


@torch.no_grad()
def position_features(model, clt: CrossLayerTranscoder, tokens: torch.Tensor, position: int) -> torch.Tensor:
    """Every feature at one ``position`` of each row of ``tokens`` (n, n_pos): (n, n_layers, F)."""
    inputs = hooks.transcoder_inputs(model.cfg.n_layers)
    _, cache = model.run_with_cache(tokens, names_filter=lambda name: name in inputs)
    return clt.encode(torch.stack([cache[name][:, position] for name in inputs], dim=1))


def top_contexts(corpus: FeatureCorpus, layer: int, index: int, k: int = 5, window: int | None = None,
                 separator: str = " ") -> list[tuple[str, float]]:
    """The ``k`` strongest firings of a feature: (sentence with the firing token in [brackets], activation).

    ``window``: only that many tokens before the firing one and after it (a real model's rows are long);
    ``separator``: "" for tokens that carry their own spaces (``model.to_str_tokens``).
    """
    acts = corpus.activations[:, :, layer, index]
    values, flat = acts.flatten().topk(k)
    out = []
    for value, i in zip(values.tolist(), flat.tolist()):
        if value <= 0:
            break
        row, pos = divmod(i, acts.shape[1])
        words = [w for w in corpus.str_tokens[row] if w != "<pad>"]
        words[pos] = f"[{words[pos]}]"
        if window is not None:
            words = words[max(0, pos - window): pos + window + 1]
        out.append((separator.join(words), value))
    return out


def token_label(corpus: FeatureCorpus, layer: int, index: int, k: int = 20) -> str:
    """The tokens a feature fires on most, e.g. 'Dallas / Houston'."""
    acts = corpus.activations[:, :, layer, index]
    values, flat = acts.flatten().topk(k)
    words = [corpus.str_tokens[i // acts.shape[1]][i % acts.shape[1]] for v, i in zip(values, flat) if v > 0]
    return " / ".join(word for word, _ in Counter(words).most_common(2)) or "never fires"


def ground_truth_labels(corpus: FeatureCorpus, world, features) -> dict[tuple[int, int], tuple[str, float]]:
    """For each (layer, index) in ``features``: the world's variable it tracks with the best F1, and that F1."""
    variables = world.token_variables(corpus.tokens)
    names = list(variables)
    labels = torch.stack([variables[n].flatten() for n in names], dim=1).float()  # (tokens, V)
    out = {}
    for layer, index in features:
        fires = (corpus.activations[:, :, layer, index] > 0).flatten()
        f1 = f1_scores(fires[:, None], labels)[0]
        best = int(f1.argmax())
        out[(layer, index)] = (names[best], float(f1[best]))
    return out


def precision_recall_for(corpus: FeatureCorpus, label: torch.Tensor, layer: int, index: int) -> tuple[float, float]:
    """Precision and recall of one feature's firing for one ground-truth variable ``label`` (rows, n_ctx)."""
    fires = corpus.activations[:, :, layer, index] > 0
    true_positive = (fires & label).sum().item()
    return true_positive / max(fires.sum().item(), 1), true_positive / max(label.sum().item(), 1)


def best_node_for(graph, corpus: FeatureCorpus, label: torch.Tensor, nodes) -> tuple[int, float, float]:
    """Among feature ``nodes`` of ``graph``, the one whose feature fires most precisely for ``label``: (node, precision, recall)."""
    scores = {n: precision_recall_for(corpus, label, *graph.active_features[n, [0, 2]].tolist()) for n in nodes}
    best = max(scores, key=lambda n: scores[n][0])
    return best, *scores[best]


def graph_feature_labels(graph, corpus: FeatureCorpus, world=None, min_f1: float = 0.3,
                         scores: bool = True) -> dict[tuple[int, int], str]:
    """A label for every feature in ``graph``: the ground-truth variable if one fits (F1 ≥ ``min_f1``), else its top tokens.

    ``scores=False`` leaves out the "(F1 …)" note, so that features with the same meaning share a label.
    """
    features = sorted({(int(l), int(i)) for l, _, i in graph.active_features.tolist()})
    truth = ground_truth_labels(corpus, world, features) if hasattr(world, "token_variables") else {}
    labels = {}
    for feature in features:
        name, f1 = truth.get(feature, ("", 0.0))
        if f1 < min_f1:
            labels[feature] = f"fires on {token_label(corpus, *feature)}"
        else:
            labels[feature] = f"{name} (F1 {f1:.2f})" if scores else name
    return labels


def node_labels(graph, feature_labels: dict[tuple[int, int], str], nodes) -> dict[int, str]:
    """``feature_labels`` (keyed by layer and index) for the feature ``nodes`` of ``graph``, keyed by node."""
    return {n: feature_labels[(int(graph.active_features[n, 0]), int(graph.active_features[n, 2]))] for n in nodes}
