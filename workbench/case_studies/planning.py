"""Planning in rhyming couplets (Lindsey et al. 2025, "On the Biology of a Large Language Model", §Planning).

The paper finds that Claude picks the rhyme word of line 2 at the newline, before writing the
line: features for the planned word are active there, suppressing them makes another rhyme
appear, and injecting another word's features makes the line end with that word. Here the same
experiments run on the couplets organisms (``workbench.organisms.couplets``), whose ground truth
(planned word B, rhyme class of A, topic of the subject) labels every feature.

Every function takes ``(model, world, clt)``: the organism, its couplets world and its
transcoder. Feature edits act on the *original* model: the transcoder reads the live residual
stream entering each MLP at one position, the edited features' change × decoders is added to the
MLP outputs they write to (``circuits.feature_edit_hooks``, while line 2 is generated).

Shapes: ``n`` first lines, ``L`` layers, ``F`` features per layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from workbench.circuits.attribution import attribute
from workbench.circuits.graph import node_influence
from workbench.circuits.interventions import feature_edit_hooks
from workbench.feature_matching import f1_scores
from workbench.organisms.couplets import B_POSITION, LINE_TWO_LENGTH, NEWLINE_POSITION
from workbench.organisms.generation import generate
from workbench.transcoders.features import position_features

LABEL_KINDS = ("planned word", "rhyme class of A", "topic", "word A", "subject")
PLANNED = "planned word"
MIN_F1 = 0.5  # a feature is labelled with a variable when it fires for it with F1 ≥ this
# The plan of a word at <nl>: the features of the word itself and of the two facts that decide it.
PLAN_KINDS = ("planned word", "topic", "rhyme class of A")
# Injected features are set to this multiple of their mean activation over the couplets planning the word.
# Measured on the planning demo (sweep cases): × 1 → 32 % of lines end with the injected word, × 2 → 75 %, × 3 → 86 %.
INJECTION_SCALE = 2.0


# ---- the features at the newline, labelled against ground truth ---------------------------------


def corpus_cases(world) -> list[tuple[str, str, str]]:
    """Every first line of the world once: (subject, A, verb), verbs rotating (768 cases)."""
    return world.first_lines(world.pairs)


def heldout_cases(world) -> list[tuple[str, str, str]]:
    """The held-out first lines (never trained), one verb each, as notebook 00b's rewrite uses them."""
    return world.first_lines(world.heldout_pairs)


def newline_features(model, world, clt, cases) -> torch.Tensor:
    """Transcoder features at ``<nl>`` for each first line (subject, A, verb): (n, L, F)."""
    tokens = model.to_tokens([world.first_line_prompt(*case) for case in cases])
    return position_features(model, clt, tokens, NEWLINE_POSITION)


def ground_truth(world, cases) -> dict[str, list[str]]:
    """For each label kind, the value of that variable in each case (a word, a class, a topic)."""
    return {
        PLANNED: [world.target(s, a) for s, a, _ in cases],
        "rhyme class of A": [" / ".join(world.rhyme_classes[world.rhyme_class_of[a]]) for _, a, _ in cases],
        "topic": [world.topic_of[s] for s, _, _ in cases],
        "word A": [a for _, a, _ in cases],
        "subject": [s for s, _, _ in cases],
    }


@dataclass
class NewlineLabels:
    """Each ``<nl>`` feature's best ground-truth variable. Tensors are (L, F); ``values[l][f]`` a string."""

    kinds: list[list[str]]  # label kind ("planned word", …), "" if the feature never fires at <nl>
    values: list[list[str]]  # the variable's value ("rabbit", "animals", …)
    f1: torch.Tensor  # (L, F)
    mean_activation: dict[str, torch.Tensor] = field(default_factory=dict)  # planned word → (L, F) mean at <nl>

    def features_of(self, kind: str, value: str, min_f1: float = MIN_F1) -> list[tuple[int, int]]:
        """The (layer, feature) pairs labelled ``kind`` = ``value`` with F1 ≥ ``min_f1``."""
        return [(l, f) for l, row in enumerate(self.kinds) for f, k in enumerate(row)
                if k == kind and self.values[l][f] == value and self.f1[l, f] >= min_f1]

    def counts(self, min_f1: float = MIN_F1) -> dict[str, int]:
        """How many features carry each kind of label (F1 ≥ ``min_f1``)."""
        out = {kind: 0 for kind in LABEL_KINDS}
        for l, row in enumerate(self.kinds):
            for f, kind in enumerate(row):
                if kind and self.f1[l, f] >= min_f1:
                    out[kind] += 1
        return out

    def labelled(self, min_f1: float = MIN_F1) -> torch.Tensor:
        """(L, F) bool: the features that fire at ``<nl>`` and carry a label (F1 ≥ ``min_f1``)."""
        return torch.tensor([[bool(kind) for kind in row] for row in self.kinds]) & (self.f1 >= min_f1)

    def planned_words(self, min_f1: float = MIN_F1) -> list[str]:
        """Planned words that have at least one feature of their own."""
        return sorted({self.values[l][f] for l, row in enumerate(self.kinds) for f, k in enumerate(row)
                       if k == PLANNED and self.f1[l, f] >= min_f1})

    def label(self, layer: int, feature: int, min_f1: float = MIN_F1) -> str:
        """'topic: animals (F1 0.93)', or the best match marked 'no label' when its F1 is below ``min_f1``."""
        kind, f1 = self.kinds[layer][feature], float(self.f1[layer, feature])
        if not kind:
            return "silent at <nl>"
        text = f"{kind}: {self.values[layer][feature]} (F1 {f1:.2f})"
        return text if f1 >= min_f1 else f"no label (best {text})"


def label_newline_features(model, world, clt) -> NewlineLabels:
    """Label every ``<nl>`` feature by the ground-truth variable it fires for with the best F1.

    Variables: the planned word B, the rhyme class of A, the subject's topic, and, so that a
    feature tracking a token is not mistaken for a plan, the word A and the subject themselves.
    Measured on every first line of the world (``corpus_cases``).
    """
    cases = corpus_cases(world)
    acts = newline_features(model, world, clt, cases)
    n, L, F = acts.shape
    fires = (acts > 0).float().reshape(n, L * F)
    truth = ground_truth(world, cases)
    columns = [(kind, value) for kind in LABEL_KINDS for value in dict.fromkeys(truth[kind])]
    onehot = torch.tensor([[truth[kind][i] == value for kind, value in columns] for i in range(n)]).float()
    best_f1, best = f1_scores(fires, onehot).max(1)  # over (L·F, variables)
    alive = fires.sum(0) > 0
    kinds = [[columns[int(best[l * F + f])][0] if alive[l * F + f] else "" for f in range(F)] for l in range(L)]
    values = [[columns[int(best[l * F + f])][1] if alive[l * F + f] else "" for f in range(F)] for l in range(L)]
    planned = truth[PLANNED]
    means = {word: acts[[i for i, b in enumerate(planned) if b == word]].mean(0) for word in world.nouns}
    return NewlineLabels(kinds, values, best_f1.reshape(L, F), means)


# ---- the graph of the rhyme word ----------------------------------------------------------------


def line_two_prompt(model, world, subject: str, a: str, verb: str = "looked", word: str = "last") -> torch.Tensor:
    """Token ids of the couplet up to the word of line 2 that the model is about to write.

    ``word="last"``: up to ``the`` before B (the graph of the rhyme word); ``"first"``: up to
    ``<nl>`` (the graph of line 2's first word).
    """
    end = {"last": B_POSITION, "first": NEWLINE_POSITION + 1}[word]
    return model.to_tokens(world.couplet(subject, a, verb))[0, :end]


def newline_feature_influence(graph) -> list[tuple[int, int, float]]:
    """Features at ``<nl>`` in ``graph``, by influence on its logits: (layer, feature, influence), strongest first."""
    influence = node_influence(graph)
    rows = [(int(l), int(f), float(influence[node])) for node, (l, p, f) in enumerate(graph.active_features.tolist())
            if p == NEWLINE_POSITION]
    return sorted(rows, key=lambda row: -row[2])


def newline_share(graph) -> float:
    """Share of all feature influence in ``graph`` that sits on features at ``<nl>``."""
    influence = node_influence(graph)[: graph.n_features]
    at_newline = graph.active_features[:, 1] == NEWLINE_POSITION
    return float(influence[at_newline].sum() / influence.sum().clamp(min=1e-12))


def rhyme_word_graph(model, world, clt, subject: str, a: str, verb: str = "looked", word: str = "last"):
    """The attribution graph of line 2's ``word`` ("last": B; "first": line 2's opener), logit = the true word."""
    prompt = line_two_prompt(model, world, subject, a, verb, word)
    b = world.target(subject, a)
    true_word = b if word == "last" else world.first_word(b)
    logit = model.tokenizer.convert_tokens_to_ids(true_word) if word == "last" or world.first_word_names_b else None
    return attribute(model, clt, prompt, logit_tokens=None if logit is None else [logit])


def planned_word_share(model, world, clt, labels: NewlineLabels, cases=None, min_f1: float = MIN_F1) -> float:
    """Share of first lines (default: held out) where a feature labelled with their own B is active at ``<nl>``."""
    cases = heldout_cases(world) if cases is None else cases
    acts = newline_features(model, world, clt, cases)
    hits = 0
    for row, (s, a, _) in zip(acts, cases):
        hits += any(row[l, f] > 0 for l, f in labels.features_of(PLANNED, world.target(s, a), min_f1))
    return hits / len(cases)


# ---- suppress and inject at a position, on the original model, while line 2 is written ----------


def clamp_hooks(model, clt, position, mask: torch.Tensor, values: torch.Tensor, offset: dict | None = None):
    """Hooks that clamp features at ``position`` to ``values`` where ``mask`` (both (n, L, F)), on the original model.

    ``position``: one position for every row, or a tensor (n,) of one per row. At every forward
    pass the features are read from the live residual stream; the clamped ones' change × decoders
    is added to every MLP output they write to. ``offset["start"]``: the absolute position of the
    first token of this pass (with a key-value cache only new tokens pass); rows whose position is
    not in this pass are left alone.
    """
    offset = {"start": 0} if offset is None else offset
    positions = torch.as_tensor(position).expand(mask.shape[0])
    here: dict[str, torch.Tensor] = {}

    def rows_at_position(resid):
        index = positions - offset["start"]
        here["rows"] = rows = ((index >= 0) & (index < resid.shape[1])).nonzero().squeeze(1)
        return rows, index[rows]

    def clamp(layer, current, resid):
        rows = here["rows"]
        return torch.where(mask[rows, layer], values[rows, layer].to(current.dtype), current)

    return feature_edit_hooks(clt, clamp, sites=rows_at_position)


def plan_features(world, labels: NewlineLabels, word: str, kinds=PLAN_KINDS, min_f1: float = MIN_F1):
    """The ``<nl>`` features of the plan ``word``: labelled with the word itself (``"planned word"``) and, if
    ``kinds`` asks, with its topic and its rhyme class (the two facts that decide it)."""
    value = {PLANNED: word, "topic": world.topic_of[word],
             "rhyme class of A": " / ".join(world.rhyme_classes[world.rhyme_class_of[word]])}
    return [feature for kind in kinds for feature in labels.features_of(kind, value[kind], min_f1)]


def plan_edit(world, clt, labels: NewlineLabels, plans: list[str], injected: list[str | None], kinds=PLAN_KINDS,
              min_f1: float = MIN_F1, scale: float = INJECTION_SCALE) -> tuple[torch.Tensor, torch.Tensor]:
    """(mask, values), each (n, L, F): switch off the features of each row's plan; set those of its injected
    word (None: nothing injected) to ``scale`` × their mean activation over the couplets planning that word."""
    L, F = clt.config.n_layers, clt.config.d_features
    word_mask = torch.zeros(len(world.nouns), L, F, dtype=torch.bool)
    for w, word in enumerate(world.nouns):
        for l, f in plan_features(world, labels, word, kinds, min_f1):
            word_mask[w, l, f] = True
    word_values = scale * torch.stack([labels.mean_activation[word] for word in world.nouns]) * word_mask
    plan_rows = torch.tensor([world.nouns.index(plan) for plan in plans])
    mask = word_mask[plan_rows].clone()
    values = torch.zeros(len(plans), L, F)
    injecting = [row for row, new in enumerate(injected) if new is not None]
    if injecting:
        new_rows = torch.tensor([world.nouns.index(injected[row]) for row in injecting])
        mask[injecting] |= word_mask[new_rows]
        values[injecting] = word_values[new_rows]
    return mask, values


@torch.no_grad()
def write_line_two(model, world, cases, fwd_hooks=(), offset: dict | None = None, n_words: int = LINE_TWO_LENGTH):
    """Greedy line 2 of each first line (subject, A, verb), with a key-value cache: list of word lists.

    The same words as ``world.complete`` (a test holds them equal), several times faster; hooks
    see only the new tokens of each pass, at absolute position ``offset["start"]`` onwards
    (``organisms.generation.generate``).
    """
    return generate(model, [world.first_line_prompt(*case) for case in cases], n_words, fwd_hooks, offset)


def generate_with_edit(model, world, clt, cases, mask, values, position: int = NEWLINE_POSITION) -> list[list[str]]:
    """Line 2 of each first line (subject, A, verb) with the feature edit clamped at ``position``."""
    offset = {"start": 0}
    return write_line_two(model, world, cases, clamp_hooks(model, clt, position, mask, values, offset), offset)


def ending_kind(world, line_two: list[str], a: str, plan: str, injected: str | None = None) -> str:
    """What a line 2 ends with, relative to the first line's A and plan B."""
    end = world.ending(line_two)
    if end is None:
        return "malformed"
    if end == injected:
        return "injected word"
    if end == plan:
        return "the plan B"
    if end in world.rhymes_with(a):
        return "another rhyme of A"
    if world.topic_of.get(end) == world.topic_of.get(plan):
        return "another word of B's topic"
    return "other"


def well_formed(world, line_two: list[str], a: str) -> bool:
    """Is line 2 a couplet line of the world: its grammar, a legal first word and verb, an ending that rhymes with A?"""
    return world.ending(line_two) in world.rhymes_with(a) and world.grammatical(line_two)


@dataclass
class EditOutcome:
    """Lines written under one kind of edit, and what they end with."""

    cases: list[tuple[str, str, str]]
    plans: list[str]
    injected: list[str | None]
    lines: list[list[str]]
    kinds: list[str]

    def rate(self, kind: str) -> float:
        return sum(k == kind for k in self.kinds) / len(self.kinds)

    def breakdown(self) -> dict[str, float]:
        return {kind: self.rate(kind) for kind in dict.fromkeys(self.kinds)}


def suppress(model, world, clt, labels: NewlineLabels, cases=None, kinds=PLAN_KINDS, min_f1: float = MIN_F1,
             position: int = NEWLINE_POSITION) -> EditOutcome:
    """Switch off each held-out first line's planned-word features at ``position`` and write line 2."""
    cases = heldout_cases(world) if cases is None else cases
    plans = [world.target(s, a) for s, a, _ in cases]
    mask, values = plan_edit(world, clt, labels, plans, [None] * len(cases), kinds, min_f1)
    lines = generate_with_edit(model, world, clt, cases, mask, values, position)
    kinds = [ending_kind(world, line, a, b) for line, (_, a, _), b in zip(lines, cases, plans)]
    return EditOutcome(cases, plans, [None] * len(cases), lines, kinds)


def injection_cases(world, cases=None) -> tuple[list, list[str]]:
    """Every held-out first line × every noun other than its B: (cases, injected words)."""
    cases = heldout_cases(world) if cases is None else cases
    rows = [(case, new) for case in cases for new in world.nouns if new != world.target(*case[:2])]
    return [case for case, _ in rows], [new for _, new in rows]


def inject(model, world, clt, labels: NewlineLabels, cases=None, injected=None, kinds=PLAN_KINDS,
           min_f1: float = MIN_F1, position: int = NEWLINE_POSITION, scale: float = INJECTION_SCALE) -> EditOutcome:
    """Replace each first line's planned-word features by another word's at ``position``, and write line 2.

    Default: every held-out first line × every other noun (``injection_cases``).
    """
    if injected is None:
        cases, injected = injection_cases(world, cases)
    plans = [world.target(s, a) for s, a, _ in cases]
    mask, values = plan_edit(world, clt, labels, plans, injected, kinds, min_f1, scale)
    lines = generate_with_edit(model, world, clt, cases, mask, values, position)
    kinds = [ending_kind(world, line, a, b, new) for line, (_, a, _), b, new in zip(lines, cases, plans, injected)]
    return EditOutcome(cases, plans, list(injected), lines, kinds)


def first_word_follows(world, outcome: EditOutcome) -> float:
    """Among lines that end with the injected word, the share whose first word is the one that word calls for
    (planning demo: its adjective; control and lookback: the default opener, which no plan changes)."""
    hits = [line for line, kind in zip(outcome.lines, outcome.kinds) if kind == "injected word"]
    if not hits:
        return 0.0
    return sum(line[0] == world.first_word(world.ending(line)) for line in hits) / len(hits)


# ---- where the plan lives: the same injection at every position ----------------------------------


def sweep_cases(world) -> tuple[list, list[str]]:
    """Each held-out first line with one injected word: its class-mates and other topics in turn."""
    cases = heldout_cases(world)
    others = [[n for n in world.nouns if n != world.target(*case[:2])] for case in cases]
    return cases, [words[(7 * i) % len(words)] for i, words in enumerate(others)]


def injection_by_position(model, world, clt, labels: NewlineLabels, positions=None, kinds=PLAN_KINDS,
                          min_f1: float = MIN_F1, scale: float = INJECTION_SCALE) -> dict[int, float]:
    """Position → share of lines ending with the injected word when the injection is made there.

    Positions run over line 1, ``<nl>`` and line 2 up to the word before B (default ``1 … B_POSITION − 1``).
    All positions run in one batch (each row carries its own position).
    """
    positions = list(range(1, B_POSITION) if positions is None else positions)
    cases, injected = sweep_cases(world)
    plans = [world.target(s, a) for s, a, _ in cases]
    mask, values = plan_edit(world, clt, labels, plans, injected, kinds, min_f1, scale)
    n = len(cases)
    where = torch.tensor(positions).repeat_interleave(n)
    offset = {"start": 0}
    edit = clamp_hooks(model, clt, where, mask.repeat(len(positions), 1, 1), values.repeat(len(positions), 1, 1), offset)
    lines = write_line_two(model, world, cases * len(positions), edit, offset)
    hits = [world.ending(line) == new for line, new in zip(lines, injected * len(positions))]
    return {p: sum(hits[i * n:(i + 1) * n]) / n for i, p in enumerate(positions)}


# ---- features or a direction --------------------------------------------------------------------


def rewrite_comparison(model, world, clt, labels: NewlineLabels, min_f1: float = MIN_F1) -> dict[str, dict[str, float]]:
    """Notebook 00b's rewrite cases (held-out first line, new B a class-mate of A) done two ways.

    ``direction``: add mean[new B] − mean[B] to the residual at ``<nl>`` (``world.line_rewrite``);
    ``features``: swap the planned-word features (``inject``). For each: ``success`` (line ends with
    the new B), ``well_formed`` (line 2 is still a couplet line of the world).
    """
    rewrite = world.rewrite_cases()
    cases = [(s, a, v) for s, a, v, _ in rewrite]
    injected = [new for *_, new in rewrite]
    by_direction = world.line_rewrite(model, rewrite)
    by_features = inject(model, world, clt, labels, cases, injected, min_f1=min_f1).lines
    out = {}
    for name, lines in (("direction", by_direction), ("features", by_features)):
        out[name] = {
            "success": sum(world.ending(line) == new for line, new in zip(lines, injected)) / len(lines),
            "well_formed": sum(well_formed(world, line, a) for line, (_, a, _) in zip(lines, cases)) / len(lines),
        }
    return out


# ---- what a probe cannot tell -------------------------------------------------------------------


def planning_table(model, world, clt, labels: NewlineLabels | None = None, min_f1: float = MIN_F1) -> dict[str, float]:
    """One column of the probe-versus-intervention table for one organism.

    Injection here runs on ``sweep_cases`` (each held-out first line, one injected word), so
    that three organisms fit in a notebook; ``inject`` alone runs the full grid.
    """
    labels = label_newline_features(model, world, clt) if labels is None else labels
    suppressed = suppress(model, world, clt, labels, min_f1=min_f1)
    injected = inject(model, world, clt, labels, *sweep_cases(world), min_f1=min_f1)
    return {
        "probe accuracy": world.probe_accuracy(model),
        "planned words with features": len(labels.planned_words(min_f1)) / len(world.nouns),
        "held-out lines with planned-word features": planned_word_share(model, world, clt, labels, min_f1=min_f1),
        "suppression: B gone": 1 - suppressed.rate("the plan B"),
        "injection: ends with injected word": injected.rate("injected word"),
    }


# ---- what crosses the newline: injections and rewrites split by B's rhyme class -----------------

SPLIT = ("B's rhyme class", "another rhyme class")


def rhyme_class_split(world, outcome: EditOutcome) -> dict[str, tuple[int, int]]:
    """An injection's hits split by whether the injected word shares B's rhyme class (then only the topic
    changes) or not: {``SPLIT[0]``: (lines ending with the injected word, cases), ``SPLIT[1]``: (…, …)}."""
    out = {side: [0, 0] for side in SPLIT}
    for plan, new, kind in zip(outcome.plans, outcome.injected, outcome.kinds):
        side = SPLIT[0] if world.rhyme_class_of[new] == world.rhyme_class_of[plan] else SPLIT[1]
        out[side][0] += kind == "injected word"
        out[side][1] += 1
    return {side: (hits, n) for side, (hits, n) in out.items()}


def swap_cases(world) -> dict[str, tuple[list, list[str]]]:
    """Each held-out first line with three new words per side of ``SPLIT``: B's three class-mates (A among
    them), and the Bs of the line's three ``cross_patch_cases`` donors (another rhyme class and another
    topic). {side: (cases (subject, A, verb), new words)}, 384 cases a side."""
    lines = heldout_cases(world)
    verb_of = {(s, a): v for s, a, v in lines}
    same = [(case, new) for case in lines for new in world.rhyme_classes[world.rhyme_class_of[world.target(*case[:2])]]
            if new != world.target(*case[:2])]
    other = [((s, a, verb_of[(s, a)]), world.target(d, da)) for s, a, _, d, da in world.cross_patch_cases()]
    return {side: ([case for case, _ in rows], [new for _, new in rows]) for side, rows in zip(SPLIT, (same, other))}


def direction_split(model, world) -> dict[str, float]:
    """Another word's plan written as a residual direction: mean[new] − mean[B] added at ``<nl>`` to the residual
    entering the last layer (``world.line_rewrite``), on ``swap_cases``. {side of ``SPLIT``: share of lines
    ending with the new word}."""
    out = {}
    for side, (cases, words) in swap_cases(world).items():
        lines = world.line_rewrite(model, [(*case, new) for case, new in zip(cases, words)])
        out[side] = sum(world.ending(line) == new for line, new in zip(lines, words)) / len(words)
    return out


def feature_patch(model, world, clt, labels: NewlineLabels | None = None, labelled: bool = True,
                  min_f1: float = MIN_F1) -> float:
    """The donor's transcoder features at ``<nl>`` clamped into the clean first line (``world.cross_patch_cases``:
    a donor of another topic and rhyme class), on the original model: the share of lines that end with the
    donor's B. Every feature; or, given ``labels``, only those that carry a ground-truth label (F1 ≥ ``min_f1``),
    or with ``labelled=False`` only those that fire at ``<nl>`` and carry none."""
    cases = world.cross_patch_cases()
    clean, donors = [(s, a, v) for s, a, v, _, _ in cases], [(d, da, v) for _, _, v, d, da in cases]
    values = newline_features(model, world, clt, donors)
    mask = torch.ones_like(values, dtype=torch.bool)
    if labels is not None:
        live = torch.tensor([[bool(kind) for kind in row] for row in labels.kinds])
        mask &= labels.labelled(min_f1) if labelled else live & ~labels.labelled(min_f1)
    lines = generate_with_edit(model, world, clt, clean, mask, values)
    return sum(world.ending(line) == world.target(d, da) for line, (*_, d, da) in zip(lines, cases)) / len(cases)
