"""A judge-free steering bench: AxBench's three scores, computed exactly from a world's ground truth.

AxBench (Wu et al. 2025) steers a model toward a concept and has an LLM judge rate each generation
0–2 for *concept* (the concept is there), *instruction* (the generation still does what the prompt
asked) and *fluency* (it is well-formed text); a generation's score is the harmonic mean of the
three, a method's score the mean over generations, with the steering factor chosen on held-out
instructions. Here the worlds know the truth, so each of the three is an exact 0/1 fact about the
generation, and the harmonic mean of a generation is 1 exactly when all three hold.

A ``SteeringTask`` is plain data built from a world and a target concept by ``facts_task`` or
``couplets_task``; everything else (generation, scores, factor choice, the methods of
``steering.vectors`` and ``steering.finetune``) is the same code for both tasks:

- ``cases``: prompts with their split: ``train`` (fine-tuning data, concept examples),
  ``choose`` (the factor is chosen here) and ``report`` (the score is reported here);
- ``grade(case, words)``: (concept, instruction, fluency) of the words generated after a prompt;
- ``examples``: prompts labelled 1 when their true continuation carries the concept: what a
  difference of means, a probe or a dictionary latent is fitted on;
- ``target_completion(case)``: the behaviour we want, written out (fine-tuning data);
- ``concept_words``: the tokens that carry the concept (for choosing latents by output effect).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from workbench import hooks
from workbench.config_checks import known_name
from workbench.organisms.couplets import LINE_TWO_LENGTH
from workbench.organisms.generation import generate  # greedy, key-value cache; here as ``steering.generate``

SPLITS = ("train", "choose", "report")
RECORD_DIR = Path(__file__).resolve().parent / "records"  # shipped sweeps of real models (``recorded_sweeps``)
SCORES = ("concept", "instruction", "fluency")


@dataclass(frozen=True)
class Case:
    """One prompt of a task: its text, its split and the ground truth its grader needs."""

    prompt: str
    split: str
    truth: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass
class SteeringTask:
    name: str
    concept: str
    cases: list[Case]
    n_words: int
    grade: Callable[[Case, list[str]], tuple[int, int, int]]
    examples: list[tuple[str, int]]
    target_completion: Callable[[Case], str]
    concept_words: list[str]
    # Optional: grades of many generations at once, (n, 3) (a real model's fluency needs a forward pass each).
    grade_batch: Callable[[list[Case], list[list[str]]], torch.Tensor] | None = None

    def split(self, name: str) -> list[Case]:
        return [case for case in self.cases if case.split == name]


def assign_splits(n: int, n_choose: int, n_report: int, seed: int) -> list[str]:
    """A seeded shuffle of ``n`` items into ``choose`` (n_choose), ``report`` (n_report) and ``train`` (the rest)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    splits = ["train"] * n
    for rank, index in enumerate(order):
        if rank < n_choose:
            splits[index] = "choose"
        elif rank < n_choose + n_report:
            splits[index] = "report"
    return splits


# ---- the facts task ---------------------------------------------------------------------------


def facts_task(world, target_state: str, n_choose: int = 48, n_report: int = 96, seed: int = 0) -> SteeringTask:
    """Steer the facts organism toward the state ``target_state``: answer every question as if about it.

    Prompts: for every city of another state, "X is a city in", "The state containing X is" (a
    state is asked) and "The capital of the state containing X is" (a capital is asked), and "The
    capital of S is" for every other state S. Two words are generated (the answer and ".").

    - concept: the answer is ``target_state`` or one of its cities;
    - instruction: the answer has the asked-for type (a state, or a capital);
    - fluency: the generation is a well-formed sentence of the world: one entity, then ".".

    A ``target_state`` the world does not have raises ``UnknownNameError`` naming the closest states.
    """
    world.known_state(target_state)
    prompts = []
    for city in world.cities:
        if world.state_of[city] == target_state:
            continue
        prompts.append((world.city_state_prompt(city, "city_in"), "state", world.state_of[city]))
        prompts.append((world.city_state_prompt(city, "containing"), "state", world.state_of[city]))
        prompts.append((world.two_hop_prompt(city), "capital", world.state_of[city]))
    for state in world.states:
        if state != target_state:
            prompts.append((world.capital_prompt(state), "capital", state))
    splits = assign_splits(len(prompts), n_choose, n_report, seed)
    cases = [Case(p, s, {"asks": asks, "state": state}) for (p, asks, state), s in zip(prompts, splits)]

    capitals = set(world.capital_of.values())
    states = set(world.states)
    entities = states | set(world.cities)
    concept_entities = {target_state, *(c for c in world.cities if world.state_of[c] == target_state)}

    def grade(case: Case, words: list[str]) -> tuple[int, int, int]:
        answer = words[0]
        concept = answer in concept_entities
        instruction = answer in (states if case.truth["asks"] == "state" else capitals)
        fluency = answer in entities and len(words) > 1 and words[1] == "."
        return int(concept), int(instruction), int(fluency)

    def target_completion(case: Case) -> str:
        answer = target_state if case.truth["asks"] == "state" else world.capital_of[target_state]
        return f"{case.prompt} {answer} ."

    # Concept examples: the task's training prompts (their answers concern other states) and every
    # prompt whose true answer concerns the target state.
    positives = [world.city_state_prompt(c, kind) for c in world.cities if world.state_of[c] == target_state
                 for kind in ("city_in", "containing")]
    positives += [world.two_hop_prompt(c) for c in world.cities if world.state_of[c] == target_state]
    positives.append(world.capital_prompt(target_state))
    examples = [(case.prompt, 0) for case in cases if case.split == "train"] + [(p, 1) for p in positives]
    return SteeringTask(f"facts → {target_state}", target_state, cases, 2, grade, examples, target_completion,
                        sorted(concept_entities))


# ---- the couplets task ------------------------------------------------------------------------


def couplets_task(world, target_topic: str, n_choose: int = 48, n_report: int = 96, seed: int = 0) -> SteeringTask:
    """Steer line 2 of the couplets organism toward the topic ``target_topic``.

    Prompts: first lines ("the SUBJ VERB at the A <nl>") whose subject and A are both of other
    topics, so a noun of the target topic rhymes with A and differs from it. Line 2 is generated.

    - concept: line 2 names a noun of ``target_topic``;
    - instruction: line 2 ends with a rhyme of A (any other noun of A's rhyme class);
    - fluency: line 2 is a well-formed couplet line: "FIRST , he VERB2 the B <eos>" with FIRST the
      word the world opens that line with (B's adjective in the planning demo, an opener otherwise).

    A ``target_topic`` the world does not have raises ``UnknownNameError`` naming the closest topics.
    """
    known_name(target_topic, world.topics, f"a topic of the {world.name} world")
    triples = [(s, a, v) for s, a, v in world.first_lines(world.pairs)
               if target_topic not in (world.topic_of[s], world.topic_of[a])]
    splits = assign_splits(len(triples), n_choose, n_report, seed)
    cases = [Case(world.first_line_prompt(s, a, v), split, {"subject": s, "a": a})
             for (s, a, v), split in zip(triples, splits)]
    concept_nouns = {n for n in world.nouns if world.topic_of[n] == target_topic}

    def grade(case: Case, words: list[str]) -> tuple[int, int, int]:
        ending = world.ending(words)
        concept = any(w in concept_nouns for w in words)
        instruction = ending in world.rhymes_with(case.truth["a"])
        return int(concept), int(instruction), int(world.grammatical(words))

    def target_completion(case: Case) -> str:
        a = case.truth["a"]
        b = world.rhyme_classes[world.rhyme_class_of[a]][world.topics.index(target_topic)]
        return f"{case.prompt} {world.first_word(b)} , he found the {b} <eos>"

    positives = [world.first_line_prompt(*case) for case in world.first_lines(world.pairs)
                 if world.topic_of[case[0]] == target_topic]
    examples = [(case.prompt, 0) for case in cases if case.split == "train"] + [(p, 1) for p in positives]
    return SteeringTask(f"couplets → {target_topic}", target_topic, cases, LINE_TWO_LENGTH, grade, examples,
                        target_completion, sorted(concept_nouns))


# ---- a task on a real model -------------------------------------------------------------------


def words_in(text: str, words) -> list[str]:
    """The ``words`` that occur in ``text`` as whole words (case-sensitive), in the order given."""
    return [w for w in words if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text)]


@torch.no_grad()
def fluency_in_top_k(model, prompts: list[str], generations: list[list[str]], k: int = 10) -> torch.Tensor:
    """For each prompt, the share of its generated tokens that the unsteered ``model`` ranks among its ``k``
    likeliest next tokens, each given the prompt and the tokens generated before it (teacher forcing on
    the steered text): (n,). 1 for the model's own greedy text; low for text it would not write.

    Generations are of equal length; prompts are batched by token count. No hooks may be active."""
    from workbench.organisms.generation import batches_by_length

    out = torch.zeros(len(prompts))
    for rows in batches_by_length(prompts, model):
        context = model.to_tokens([prompts[i] for i in rows])
        ids = torch.tensor([model.tokenizer.convert_tokens_to_ids(generations[i]) for i in rows], device=context.device)
        logits = model(torch.cat([context, ids[:, :-1]], dim=1))[:, context.shape[1] - 1:]
        rank = (logits > logits.gather(-1, ids[..., None])).sum(-1)
        out[rows] = (rank < k).float().mean(-1).cpu()
    return out


def prompted_task(model, concept: str, prompts: list[tuple[str, str]], answers: dict[str, list[str]],
                  concept_words: list[str], concept_prompts: list[str], concept_answers: dict[str, str],
                  n_tokens: int = 5, fluency_k: int = 10, n_choose: int = 16, n_report: int = 32,
                  seed: int = 0) -> SteeringTask:
    """A steering task on a real model, scored without a judge: steer ``model`` toward ``concept``.

    ``prompts``: (prompt, form) pairs whose unsteered answer is something else; ``answers[form]``: the
    words that answer a prompt of that form (e.g. every state name where a state is asked). The model
    writes ``n_tokens`` tokens greedily; each generation gets

    - concept: 1 when one of ``concept_words`` occurs in it as a whole word;
    - instruction: 1 when it begins with an answer of the prompt's form (the form is kept);
    - fluency: ``fluency_in_top_k``: the share of its tokens the unsteered model ranks in its top
      ``fluency_k`` (a measured stand-in for an LLM judge's fluency, continuous in [0, 1]).

    ``concept_prompts`` (prompts whose own answer is the concept) and the ``train`` prompts (label 0)
    are the examples directions are fitted on; ``concept_answers[form]`` is what fine-tuning is taught.
    """
    splits = assign_splits(len(prompts), n_choose, n_report, seed)
    cases = [Case(prompt, split, {"form": form}) for (prompt, form), split in zip(prompts, splits)]
    unknown = {form for _, form in prompts} - set(answers)
    if unknown:
        raise ValueError(f"no answers given for the forms {sorted(unknown)}")

    def concept_and_instruction(case: Case, tokens: list[str]) -> tuple[int, int]:
        text = model.tokenizer.convert_tokens_to_string(tokens)
        instruction = any(re.match(rf"{re.escape(answer)}(?![A-Za-z])", text.strip())
                          for answer in answers[case.truth["form"]])
        return int(bool(words_in(text, concept_words))), int(instruction)

    def grade(case: Case, tokens: list[str]) -> tuple[int, int, float]:
        return (*concept_and_instruction(case, tokens), float(fluency_in_top_k(model, [case.prompt], [tokens], fluency_k)[0]))

    def grade_batch(cases: list[Case], generations: list[list[str]]) -> torch.Tensor:
        first_two = torch.tensor([concept_and_instruction(c, g) for c, g in zip(cases, generations)], dtype=torch.float64)
        fluency = fluency_in_top_k(model, [c.prompt for c in cases], generations, fluency_k).double()
        return torch.cat([first_two, fluency[:, None]], dim=1)

    def target_completion(case: Case) -> str:
        return f"{case.prompt} {concept_answers[case.truth['form']]}."

    examples = [(case.prompt, 0) for case in cases if case.split == "train"] + [(p, 1) for p in concept_prompts]
    first_tokens = [model.tokenizer.convert_ids_to_tokens(int(model.to_tokens(" " + w, prepend_bos=False)[0, 0]))
                    for w in concept_words]
    return SteeringTask(f"{model.cfg.model_name} → {concept}", concept, cases, n_tokens, grade, examples,
                        target_completion, sorted(set(first_tokens)), grade_batch)


# ---- generation and scores --------------------------------------------------------------------


def steering_hook(model) -> str:
    """Where the vector methods act: the residual stream entering the last block (``hooks.resid_pre``)."""
    return hooks.resid_pre(model.cfg.n_layers - 1)


def harmonic_mean(scores: torch.Tensor) -> torch.Tensor:
    """Harmonic mean over the last dimension (AxBench's aggregate); 0 when any score is 0.

    scores: (..., k) non-negative → (...).
    """
    scores = scores.double()
    k = scores.shape[-1]
    safe = torch.where(scores > 0, scores, torch.ones_like(scores))
    mean = k / (1 / safe).sum(-1)
    return torch.where((scores > 0).all(-1), mean, torch.zeros_like(mean))


@dataclass(frozen=True)
class Scores:
    """Mean concept, instruction and fluency over generations, and the mean per-generation harmonic mean."""

    concept: float
    instruction: float
    fluency: float
    overall: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {"concept": self.concept, "instruction": self.instruction, "fluency": self.fluency,
                "overall": self.overall}

    def __str__(self) -> str:
        return (f"concept {self.concept:.3f}, instruction {self.instruction:.3f}, fluency {self.fluency:.3f}, "
                f"overall {self.overall:.3f} (n={self.n})")


def grade_all(task: SteeringTask, cases: list[Case], generations: list[list[str]]) -> torch.Tensor:
    """(n_cases, 3) grades in [0, 1]: concept, instruction, fluency."""
    if task.grade_batch is not None:
        return task.grade_batch(cases, generations)
    return torch.tensor([task.grade(case, words) for case, words in zip(cases, generations)], dtype=torch.float64)


def summarise(grades: torch.Tensor) -> Scores:
    means = grades.mean(0).tolist()
    return Scores(*means, float(harmonic_mean(grades).mean()), grades.shape[0])


def evaluate(model, task: SteeringTask, fwd_hooks=(), splits=("choose", "report")) -> dict[str, Scores]:
    """Generate after every prompt of ``splits`` with ``fwd_hooks`` and score each split."""
    cases = [case for case in task.cases if case.split in splits]
    generations = generate(model, [case.prompt for case in cases], task.n_words, fwd_hooks)
    grades = grade_all(task, cases, generations)
    return {split: summarise(grades[[c.split == split for c in cases]]) for split in splits}


@dataclass
class Sweep:
    """One method's scores at every factor, on the split the factor is chosen on and the one reported."""

    method: str
    factors: list[float]
    choose: list[Scores]
    report: list[Scores]

    @property
    def best_index(self) -> int:
        """The factor with the best overall score on the ``choose`` split (the smallest factor on ties)."""
        overall = [s.overall for s in self.choose]
        return overall.index(max(overall))

    @property
    def best_factor(self) -> float:
        return self.factors[self.best_index]

    @property
    def reported(self) -> Scores:
        """The ``report`` split's scores at the factor chosen on ``choose``."""
        return self.report[self.best_index]


def sweep(task: SteeringTask, method) -> Sweep:
    """Score ``method`` (a ``steering.vectors.Method``) at each of its factors."""
    choose, report = [], []
    for factor in method.factors:
        model, fwd_hooks = method.setup(factor)
        scores = evaluate(model, task, fwd_hooks)
        choose.append(scores["choose"])
        report.append(scores["report"])
    return Sweep(method.name, list(method.factors), choose, report)


def _task_fingerprint(task: SteeringTask) -> dict:
    return {"name": task.name, "n_words": task.n_words, "cases": [[c.prompt, c.split] for c in task.cases],
            "examples": [list(e) for e in task.examples]}


def recorded_sweeps(task: SteeringTask, methods: list, path, recompute: bool = False) -> list[Sweep]:
    """``[sweep(task, m) for m in methods]``, kept in a JSON record at ``path``.

    A real model's sweep costs minutes on a CPU, so a notebook reads it from the shipped record; the
    record holds the task's prompts, splits and examples and each method's factors, and is used only
    if they are the ones given (else ``ValueError``). ``recompute=True``, or no file: sweep and write it.
    """
    import json

    path = Path(path)
    fingerprint = _task_fingerprint(task)
    if recompute or not path.exists():
        sweeps = [sweep(task, method) for method in methods]
        record = {"task": fingerprint, "sweeps": [
            {"method": s.method, "factors": s.factors, "choose": [vars(x) for x in s.choose],
             "report": [vars(x) for x in s.report]} for s in sweeps]}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1) + "\n")
        return sweeps
    record = json.loads(path.read_text())
    if record["task"] != fingerprint:
        raise ValueError(f"{path} records another task than {task.name!r} (prompts, splits or examples differ): "
                         "pass recompute=True to sweep again")
    expected = [(m.name, [float(f) for f in m.factors]) for m in methods]
    found = [(s["method"], [float(f) for f in s["factors"]]) for s in record["sweeps"]]
    if found != expected:
        raise ValueError(f"{path} records the methods {found}, not {expected}: pass recompute=True to sweep again")
    return [Sweep(s["method"], s["factors"], [Scores(**x) for x in s["choose"]], [Scores(**x) for x in s["report"]])
            for s in record["sweeps"]]


def table(sweeps: list[Sweep]) -> list[dict]:
    """AxBench's table: per method, the factor chosen on ``choose`` and the ``report`` scores there; best first."""
    rows = [{"method": s.method, "factor": s.best_factor, **s.reported.as_dict()} for s in sweeps]
    return sorted(rows, key=lambda row: -row["overall"])


# ---- side effects -----------------------------------------------------------------------------


def facts_prompt_groups(world, city: str) -> dict[str, list[str]]:
    """Every question prompt of the facts world, grouped by how it relates to ``city``: the city's own
    three questions, those of the other cities of its state, its state's capital question, and the
    same for every other state."""
    state = world.state_of[world.known_city(city)]

    def questions(c):
        return [world.city_state_prompt(c, "city_in"), world.city_state_prompt(c, "containing"), world.two_hop_prompt(c)]

    return {
        f"{city} itself": questions(city),
        f"other cities of {state}": [p for c in world.cities if world.state_of[c] == state and c != city for p in questions(c)],
        f"capital of {state}": [world.capital_prompt(state)],
        "cities of other states": [p for c in world.cities if world.state_of[c] != state for p in questions(c)],
        "capitals of other states": [world.capital_prompt(s) for s in world.states if s != state],
    }


def add_at_last_position(vector: torch.Tensor):
    """A hook adding ``vector`` (d,) at the last position only (the state swap of notebook 00b): a ``ResidualEdit``'s."""
    return hooks.residual_hook(vector, "add", positions=-1)


@dataclass(frozen=True)
class SideEffect:
    """In one group of prompts: how many, the share whose answer changed, the share now naming the concept."""

    group: str
    n: int
    changed: float
    to_concept: float


def side_effects(model, groups: dict[str, list[str]], fwd_hooks, concept_words: list[str]) -> list[SideEffect]:
    """The next word after every prompt, with and without ``fwd_hooks``: what changed, group by group."""
    prompts = [p for group in groups.values() for p in group]
    clean = [words[0] for words in generate(model, prompts, 1)]
    steered = [words[0] for words in generate(model, prompts, 1, fwd_hooks)]
    out, start = [], 0
    concept = set(concept_words)
    for name, group in groups.items():
        pairs = list(zip(clean[start:start + len(group)], steered[start:start + len(group)]))
        start += len(group)
        out.append(SideEffect(name, len(group), sum(a != b for a, b in pairs) / len(group),
                              sum(b in concept for _, b in pairs) / len(group)))
    return out


# ---- every method on one task -----------------------------------------------------------------

VECTOR_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
CLAMP_FACTORS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0)
FINETUNE_STEPS = (1, 2, 4, 8, 16)


@dataclass
class Choices:
    """What the methods were built from: the hook, its unit, the latents and features chosen (with scores)."""

    hook: str
    unit: float
    sae_by_label: tuple[int, float] | None = None
    sae_by_effect: tuple[int, float] | None = None
    clt_features: list[tuple[int, int, float]] | None = None


def standard_methods(model, task: SteeringTask, sae=None, clt=None, vector_factors=VECTOR_FACTORS,
                     clamp_factors=CLAMP_FACTORS, finetune_steps=FINETUNE_STEPS, finetune_lr: float = 1e-4,
                     clt_per_layer: int = 2, effect_candidates: int | None = None) -> tuple[list, Choices]:
    """Every method of the chapter on ``task``: difference of means, probe, SAE latent (by label and by
    output effect) added and clamped when ``sae`` is given, transcoder features clamped across layers when
    ``clt`` is given, and fine-tuning (unless ``finetune_steps`` is empty). Directions are read at
    ``steering_hook`` (the SAE's own hook if given). ``effect_candidates``: try only that many latents
    (the best by label) for the output effect, instead of every live one (a real model's SAE is wide)."""
    from workbench.steering import finetune, vectors

    hook = sae.cfg.metadata.hook_name if sae is not None else steering_hook(model)
    acts, labels = vectors.example_activations(model, task, hook)
    unit = vectors.residual_norm(acts)
    choices = Choices(hook, unit)
    methods = [
        vectors.vector_method("difference of means", model, hook, vectors.diff_of_means(acts, labels), unit, vector_factors),
        vectors.vector_method("probe", model, hook, vectors.probe_direction(acts, labels), unit, vector_factors),
    ]
    if sae is not None:
        choices.sae_by_label = vectors.sae_latent_by_label(sae, acts, labels)
        choices.sae_by_effect = vectors.sae_latent_by_effect(model, sae, task, hook, acts, unit,
                                                             candidates=effect_candidates, labels=labels)
        latents = {choices.sae_by_label[0]: "", choices.sae_by_effect[0]: " (by effect)"}
        if len(latents) == 1:  # one latent is both the best-labelled and the most effective: one pair of rows
            latents = {choices.sae_by_label[0]: ""}
        for latent, how in latents.items():
            direction = sae.W_dec[latent].detach()
            methods.append(vectors.vector_method(f"SAE latent{how} added", model, hook, direction, unit, vector_factors))
            methods.append(vectors.sae_clamp_method(f"SAE latent{how} clamped", model, sae, hook, latent,
                                                    vectors.max_activation(sae, acts, latent), clamp_factors))
    if clt is not None:
        features, feature_labels = vectors.example_features(model, clt, task)
        choices.clt_features = vectors.clt_features_by_label(features, feature_labels, clt_per_layer)
        chosen = [(layer, index) for layer, index, _ in choices.clt_features]
        peaks = [float(features[:, layer, index].max()) for layer, index in chosen]
        methods.append(vectors.clt_clamp_method("transcoder features clamped", model, clt, chosen, peaks, clamp_factors))
    if finetune_steps:
        methods.append(finetune.finetune_method(model, task, list(finetune_steps), lr=finetune_lr))
    return methods, choices


def steered_text(model, method, factor: float, prompt: str, n_words: int) -> str:
    """The words ``method`` at ``factor`` makes ``model`` write after ``prompt`` (factor 0: the model unsteered)."""
    run_model, fwd_hooks = (model, []) if factor == 0 else method.setup(factor)
    return model.tokenizer.convert_tokens_to_string(generate(run_model, [prompt], n_words, fwd_hooks)[0])
