"""Two-hop recall taken apart: "The capital of the state containing Dallas is" → Austin.

After Lindsey et al. 2025, "On the Biology of a Large Language Model", §4 (multi-step reasoning),
done on the facts organism with its cross-layer transcoder. Every function takes the organism
(``model``), its ``world`` and its transcoder (``clt``); which city, state or feature plays which
role is found from the world's ground truth, the graph's geometry and the logits, never written here.

Supernodes of one prompt's pruned graph (``find_supernodes``):

- **city**: by graph position, the city's token node (and any kept feature at its position);
- **asks for a capital**: kept features at the answer position that fire on the two-hop prompt of
  (nearly) every city in the world (fire rate ≥ ``QUESTION_FIRE_RATE``): they carry the question,
  not which state it is about;
- **state in play**: the other kept features at the answer position in every layer but the last:
  they read the city and vary with it; no single one means the state (notebook 04), the
  combination does, which ``group_truth`` checks against the world;
- **say the capital**: the other kept features at the answer position in the last layer, which
  write only into the logits.

Interventions scale a whole group on the original model, a batch of prompts at a time
(``circuits.run_edited``), with attention frozen to each prompt's clean patterns or nothing frozen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from workbench import hooks
from workbench.circuits.attribution import attribute
from workbench.circuits.graph import AttributionGraph, Pruned, prune
from workbench.circuits.interventions import FeatureEdits, ResidualEdit, run_edited
from workbench.config_checks import known_name
from workbench.transcoders.features import position_features

GROUPS = ("city", "asks for a capital", "state in play", "say the capital")
QUESTION_FIRE_RATE = 0.9  # a feature firing for at least this share of all cities does not depend on the city
FROZEN_LABELS = {"attention": "attention", "none": "nothing"}  # circuits' freeze → what the tables call it


# ---- features at the answer position over the whole world --------------------------------------
def answer_features(model, world, clt, cities: list[str]) -> torch.Tensor:
    """Transcoder features at the last position of each city's two-hop prompt: (n_cities, n_layers, F)."""
    return position_features(model, clt, model.to_tokens([world.two_hop_prompt(city) for city in cities]), -1)


# ---- supernodes ---------------------------------------------------------------------------------
@dataclass
class Supernodes:
    """One prompt's graph, its pruning and its groups of node ids (``GROUPS`` order; empty groups dropped)."""

    city: str
    graph: AttributionGraph
    pruned: Pruned
    groups: dict[str, list[int]]
    answer: int  # token id of the correct capital
    fire_rate: torch.Tensor = field(repr=False)  # (n_layers, F) share of the world's cities firing each feature

    def features(self, name: str) -> list[tuple[int, int, int]]:
        """(layer, position, index) of the feature members of group ``name`` (one of ``GROUPS``; none if it is empty)."""
        known_name(name, GROUPS, "a group of supernodes")
        return [tuple(self.graph.active_features[n].tolist()) for n in self.groups.get(name, [])
                if self.graph.node_kind(n) == "feature"]


def find_supernodes(model, world, clt, city: str, fire_rate: torch.Tensor | None = None,
                    graph: AttributionGraph | None = None) -> Supernodes:
    """Group the kept nodes of ``city``'s two-hop graph by role (see the module docstring).

    ``fire_rate`` (n_layers, F): how often each feature fires at the answer position over the
    world's cities (computed from every city if not given). The graph is built with the correct
    capital as its first logit node, so the answer is in it even when the model gets it wrong.
    """
    world.known_city(city)
    if fire_rate is None:
        fire_rate = (answer_features(model, world, clt, world.cities) > 0).float().mean(0)
    answer = int(world.token_ids([world.capital_of[world.state_of[city]]])[0])
    if graph is None:
        graph = answer_graph(model, world, clt, city)
    pruned = prune(graph)
    last_position, last_layer = graph.n_pos - 1, graph.n_layers - 1
    groups: dict[str, list[int]] = {name: [] for name in GROUPS}
    groups["city"].append(graph.token_start + world.city_position)
    for node in pruned.node_mask[: graph.n_features].nonzero().flatten().tolist():
        layer, position, index = graph.active_features[node].tolist()
        if position == world.city_position:
            groups["city"].append(node)
        elif position != last_position:
            continue
        elif fire_rate[layer, index] >= QUESTION_FIRE_RATE:
            groups["asks for a capital"].append(node)
        elif layer < last_layer:
            groups["state in play"].append(node)
        else:
            groups["say the capital"].append(node)
    groups = {name: kept for name, nodes in groups.items() if (kept := [n for n in nodes if pruned.node_mask[n]])}
    return Supernodes(city, graph, pruned, groups, answer, fire_rate)


@torch.no_grad()
def answer_graph(model, world, clt, city: str) -> AttributionGraph:
    """``city``'s two-hop graph with the correct capital first among the logit nodes, then the model's top 4."""
    prompt = world.two_hop_prompt(city)
    answer = int(world.token_ids([world.capital_of[world.state_of[city]]])[0])
    top = model(model.to_tokens(prompt))[0, -1].topk(5).indices.tolist()
    return attribute(model, clt, prompt, logit_tokens=[answer, *[t for t in top if t != answer][:4]])


def group_truth(corpus, world, features: list[tuple[int, int, int]], variable: str) -> dict[str, float]:
    """Does the group mean ``variable``? Precision and recall, over every token of the world's sentences, of
    the group firing as a whole (all members active) and of its best single member.

    ``features`` are (layer, position, index) triples (the position is ignored: the corpus has its own).
    """
    truth = world.token_variables(corpus.tokens)[variable]
    fires = torch.stack([corpus.activations[:, :, layer, index] > 0 for layer, _, index in features])
    together = fires.all(0)
    best = max(((fires[k] & truth).sum() / fires[k].sum().clamp(min=1)).item() for k in range(len(features)))
    hits = (together & truth).sum().item()
    return {"precision": hits / max(together.sum().item(), 1), "recall": hits / max(truth.sum().item(), 1),
            "best_member_precision": best, "members": len(features)}


# ---- interventions on a batch of prompts -------------------------------------------------------
def scale_edits(rows: list[Supernodes], group: str, factor: float, d_features: int) -> list:
    """The edits that multiply group ``group`` of each row's prompt by ``factor`` (``circuits.run_edited``'s).

    A group sits at one position of its prompt (the city's, or the answer's): its features are
    scaled there, and its token node, if kept, by scaling the token's embedding.
    """
    graph = rows[0].graph
    mask = torch.zeros(len(rows), graph.n_layers, d_features, dtype=torch.bool)
    positions = torch.zeros(len(rows), dtype=torch.long)
    embed_scale = torch.ones(len(rows), 1)
    for row, found in enumerate(rows):
        for node in found.groups[group]:
            layer, positions[row] = found.graph.node_location(node)
            if found.graph.node_kind(node) == "token":
                embed_scale[row] = factor
            else:
                mask[row, layer, found.graph.active_features[node, 2]] = True
    values = torch.full((1, graph.n_layers, d_features), factor)
    return [FeatureEdits(mask, values, "scale", positions), ResidualEdit(hooks.EMBED, embed_scale, "scale", positions)]


def _answer_readout(clt, run) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Next-token probabilities and centred logits at the last position (batch, d_vocab), and every feature's
    pre-activation without the encoder bias (batch, n_layers, n_pos, F), of an edited run."""
    last = run.logits[:, -1]
    pre = torch.stack([run.resid_mid[:, layer] @ clt.W_enc[layer].T for layer in range(clt.config.n_layers)], 1)
    return last.softmax(-1), last - last.mean(-1, keepdim=True), pre


def _group_readings(supernodes: Supernodes, pre: torch.Tensor, centred: torch.Tensor) -> dict[str, torch.Tensor]:
    """Summed pre-activation of each feature group's members, and the answer's centred logit, per row."""
    out = {}
    for name in supernodes.groups:
        members = supernodes.features(name)
        if members:
            layer, position, index = torch.tensor(members).T
            out[name] = pre[:, layer, position, index].sum(-1)
    out["answer logit"] = centred[:, supernodes.answer]
    return out


def _predicted(supernodes: Supernodes, group: str, factor: float) -> dict[str, float]:
    """The graph's direct-effect prediction of each reading's change when ``group`` is scaled by ``factor``."""
    graph, A = supernodes.graph, supernodes.graph.adjacency
    sources = supernodes.groups[group]
    out = {}
    for name, members in supernodes.groups.items():
        targets = [n for n in members if graph.node_kind(n) == "feature"]
        if targets:
            out[name] = float(A[targets][:, sources].sum() * (factor - 1))
    answer_node = graph.logit_start + graph.logit_tokens.tolist().index(supernodes.answer)
    out["answer logit"] = float(A[answer_node, sources].sum() * (factor - 1))
    return out


def intervention_table(model, world, clt, supernodes: Supernodes, factors=(-2.0, 0.0), top: int = 3) -> list[dict]:
    """Scale each group by each factor, attention frozen and nothing frozen: predicted beside measured.

    One row per (group, factor, freeze): ``predicted`` and ``measured`` changes of every group's
    summed pre-activation and of the answer's centred logit, and the ``top`` outputs with probabilities.
    """
    tokens = model.to_tokens(world.two_hop_prompt(supernodes.city))
    F = clt.config.d_features
    _, clean_centred, clean_pre = _answer_readout(clt, run_edited(model, tokens, dictionary=clt))
    clean_readings = _group_readings(supernodes, clean_pre, clean_centred)
    rows = []
    for group in supernodes.groups:
        for factor in factors:
            edits = scale_edits([supernodes], group, factor, F)
            predicted = _predicted(supernodes, group, factor)
            for freeze in FROZEN_LABELS:
                probs, centred, pre = _answer_readout(clt, run_edited(model, tokens, edits, dictionary=clt, freeze=freeze))
                readings = _group_readings(supernodes, pre, centred)
                top_probs, ids = probs[0].topk(top)
                rows.append({
                    "group": group, "factor": factor, "frozen": FROZEN_LABELS[freeze],
                    "predicted": {k: v for k, v in predicted.items() if k != group},
                    "measured": {k: float(readings[k][0] - clean_readings[k][0]) for k in predicted if k != group},
                    "top": list(zip(model.tokenizer.convert_ids_to_tokens(ids.tolist()), top_probs.tolist())),
                })
    return rows


# ---- the same over every city -------------------------------------------------------------------
def intervention_rates(model, world, clt, cities: list[str], supernodes: dict[str, Supernodes] | None = None,
                       factors=(-2.0, 0.0)) -> dict[tuple[str, float, str], dict[str, float]]:
    """Over ``cities``: scale each group by each factor (attention frozen / nothing frozen) and count outcomes.

    Returns, per (group, factor, frozen), the share of cities whose top output is still the capital
    (``capital``), is the city's state (``state``), and the median ratio of the capital's
    probability to its clean value (``capital_prob_ratio``). Cities whose prompt lacks a group are
    left out of that group's rates (``n`` says how many count).
    """
    fire_rate = (answer_features(model, world, clt, world.cities) > 0).float().mean(0)
    supernodes = supernodes or {c: find_supernodes(model, world, clt, c, fire_rate) for c in cities}
    tokens = model.to_tokens([world.two_hop_prompt(c) for c in cities])
    F = clt.config.d_features
    clean = run_edited(model, tokens, dictionary=clt).logits[:, -1].softmax(-1)
    capitals = world.token_ids([world.capital_of[world.state_of[c]] for c in cities])
    states = world.token_ids([world.state_of[c] for c in cities])
    rows = torch.arange(len(cities))
    out = {}
    for group in GROUPS:
        present = [k for k, c in enumerate(cities) if group in supernodes[c].groups]
        if not present:
            continue
        for factor in factors:
            edits = scale_edits([supernodes[cities[k]] for k in present], group, factor, F)
            for freeze in FROZEN_LABELS:
                probs = run_edited(model, tokens[present], edits, dictionary=clt, freeze=freeze).logits[:, -1].softmax(-1)
                top = probs.argmax(-1)
                k = rows[present]
                out[group, factor, FROZEN_LABELS[freeze]] = {
                    "capital": float((top == capitals[k]).float().mean()),
                    "state": float((top == states[k]).float().mean()),
                    "capital_prob_ratio": float((probs[torch.arange(len(k)), capitals[k]]
                                                 / clean[k, capitals[k]]).median()),
                    "n": len(present),
                }
    return out


# ---- cross-prompt swap --------------------------------------------------------------------------
def swap_rates(model, world, clt, cities: list[str], supernodes: dict[str, Supernodes], seed: int = 0) -> dict:
    """Replace the source city's "state in play" group by a target state's, over every (city, other state) pair.

    The target's group and values come from the two-hop prompt of the city in ``cities`` of the
    target state. At the answer position, every feature in either prompt's group is set to its
    activation on the target prompt; nothing is frozen. The control adds the same changes to as
    many random features of the same layers outside both groups (magnitude-matched, seeded).
    Returns ``success`` and ``control_success`` (n_states, n_states) matrices (NaN on the diagonal
    and for states without a city) of whether the top output became the target's capital, and
    ``control_kept`` (the control left the source's capital on top).
    """
    generator = torch.Generator().manual_seed(seed)
    states = world.states
    tokens = model.to_tokens([world.two_hop_prompt(c) for c in cities])
    clean_features = answer_features(model, world, clt, cities)  # (n, L, F)
    n, L, F = clean_features.shape
    index = {c: k for k, c in enumerate(cities)}

    def group_mask(city):
        mask = torch.zeros(L, F, dtype=torch.bool)
        for layer, _, feature in supernodes[city].features("state in play"):
            mask[layer, feature] = True
        return mask

    masks = {c: group_mask(c) for c in cities}
    pairs = [(s, t) for s in cities for t in cities if world.state_of[s] != world.state_of[t]]
    mask = torch.zeros(len(pairs), L, F, dtype=torch.bool)  # at the answer position
    values = torch.zeros(len(pairs), L, F)
    control_mask = torch.zeros_like(mask)
    control_values = torch.zeros_like(values)
    for row, (source, target) in enumerate(pairs):
        swapped = masks[source] | masks[target]
        mask[row] = swapped
        values[row] = clean_features[index[target]]
        delta = (clean_features[index[target]] - clean_features[index[source]])[swapped]
        layers = swapped.nonzero()[:, 0]
        chosen = torch.zeros(L, F, dtype=torch.bool)
        for layer in layers.unique().tolist():
            free = (~swapped[layer]).nonzero().flatten()
            pick = free[torch.randperm(len(free), generator=generator)[: int((layers == layer).sum())]]
            chosen[layer, pick] = True
        control_mask[row] = chosen
        control_values[row][chosen] = clean_features[index[source]][chosen] + delta
    source_rows = torch.tensor([index[s] for s, _ in pairs])
    target_capitals = world.token_ids([world.capital_of[world.state_of[t]] for _, t in pairs])
    source_capitals = world.token_ids([world.capital_of[world.state_of[s]] for s, _ in pairs])
    swap, control_swap = FeatureEdits(mask, values, "set", -1), FeatureEdits(control_mask, control_values, "set", -1)
    swapped_top = run_edited(model, tokens[source_rows], [swap], dictionary=clt).logits[:, -1].softmax(-1).argmax(-1)
    control_top = run_edited(model, tokens[source_rows], [control_swap], dictionary=clt).logits[:, -1].softmax(-1).argmax(-1)
    success = torch.full((len(states), len(states)), float("nan"))
    control = success.clone()
    for row, (source, target) in enumerate(pairs):
        i, j = states.index(world.state_of[source]), states.index(world.state_of[target])
        success[i, j] = float(swapped_top[row] == target_capitals[row])
        control[i, j] = float(control_top[row] == target_capitals[row])
    return {
        "success": success, "control_success": control,
        "success_rate": float(success.nanmean()), "control_rate": float(control.nanmean()),
        "control_kept": float((control_top == source_capitals).float().mean()),
        "group_sizes": torch.tensor([int(masks[c].sum()) for c in cities]),
    }


# ---- shortcut or composition --------------------------------------------------------------------
def through_share(graph: AttributionGraph, source: int, target: int, group: list[int]) -> float:
    """Share of ``source``'s influence on ``target`` carried by paths through any node of ``group``.

    Influence as circuit-tracer ranks it: paths through the row-normalised |adjacency| Â, summed
    over every length ((I − Â)⁻¹). Removing ``group``'s rows and columns leaves the paths around it.
    """
    A = graph.adjacency.abs()
    A_hat = A / A.sum(1, keepdim=True).clamp(min=1e-10)
    identity = torch.eye(graph.n_nodes)

    def paths(matrix):
        return float(torch.linalg.solve(identity - matrix, identity[:, source])[target])

    around = A_hat.clone()
    around[group] = 0
    around[:, group] = 0
    total = paths(A_hat)
    return (total - paths(around)) / total


def shortcut_shares(world, supernodes: dict[str, Supernodes]) -> dict[str, float]:
    """Per city: the share of the city token's influence on the answer logit that passes through "state in play"."""
    shares = {}
    for city, found in supernodes.items():
        graph = found.graph
        if "state in play" not in found.groups:
            shares[city] = 0.0
            continue
        answer = graph.logit_start + graph.logit_tokens.tolist().index(found.answer)
        shares[city] = through_share(graph, graph.token_start + world.city_position, answer, found.groups["state in play"])
    return shares


# ---- which link is missing ----------------------------------------------------------------------
def link_strengths(supernodes: Supernodes) -> dict[str, float]:
    """Summed edge weights of the chain city → state in play → say the capital → correct capital (and the direct jumps)."""
    graph, groups, A = supernodes.graph, supernodes.groups, supernodes.graph.adjacency
    answer = [graph.logit_start + graph.logit_tokens.tolist().index(supernodes.answer)]

    def link(source, target):
        if source not in groups or (target != "answer" and target not in groups):
            return 0.0
        targets = answer if target == "answer" else [n for n in groups[target] if graph.node_kind(n) == "feature"]
        return float(A[targets][:, groups[source]].sum()) if targets else 0.0

    return {
        "city → state in play": link("city", "state in play"),
        "state in play → say the capital": link("state in play", "say the capital"),
        "say the capital → capital": link("say the capital", "answer"),
        "state in play → capital": link("state in play", "answer"),
        "city → capital": link("city", "answer"),
    }


# ---- helpers for the notebook -------------------------------------------------------------------
def trained_cities(world) -> list[str]:
    """One city per state whose two-hop sentence was trained (the first that is no state's capital)."""
    capitals, chosen = set(world.capital_of.values()), {}
    for city in world.trained_two_hop_cities:
        if city not in capitals:
            chosen.setdefault(world.state_of[city], city)
    return [chosen[state] for state in world.states if state in chosen]


def table_text(rows: list[dict]) -> str:
    """``intervention_table``'s rows as plain text, one block per scaled group (lines ≤ 100 characters).

    Each block's columns are the readings (every other group's summed pre-activation and the
    answer's centred logit), each cell the graph's predicted → the measured change; one row per
    (factor, frozen), with the top outputs on the line below it.
    """
    lines = []
    for group in dict.fromkeys(row["group"] for row in rows):
        block = [row for row in rows if row["group"] == group]
        names = list(block[0]["predicted"])
        widths = [max(len(name), 11) for name in names]
        lines.append(f"scale '{group}': predicted→measured change of each reading")
        lines.append(f"  {'factor':>6}  {'frozen':9}  " + "  ".join(f"{n:>{w}}" for n, w in zip(names, widths)))
        for row in block:
            cells = "  ".join(f"{row['predicted'][n]:+.1f}→{row['measured'][n]:+.1f}".rjust(w) for n, w in zip(names, widths))
            factor = f"×{row['factor']:+.0f}"
            lines.append(f"  {factor:>6}  {row['frozen']:9}  {cells}")
            lines.append(f"  {'':6}  top: " + ", ".join(f"{token} {p:.2f}" for token, p in row["top"]))
    return "\n".join(lines)


def rates_text(rates: dict) -> str:
    """``intervention_rates`` as a fixed-width table, one row per (group, factor, frozen); lines ≤ 100 characters."""
    header = (f"{'group':>18} {'scale':>5} {'frozen':9} {'capital on top':>14} {'state on top':>12} "
              f"{'median p(capital) / clean':>25} {'n':>3}")
    return "\n".join([header] + [
        f"{group:>18} {f'×{factor:+.0f}':>5} {frozen:9} {r['capital']:14.2f} {r['state']:12.2f} "
        f"{r['capital_prob_ratio']:25.3f} {r['n']:3}"
        for (group, factor, frozen), r in rates.items()])
