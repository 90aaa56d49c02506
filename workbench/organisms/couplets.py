"""The couplets world: two-line rhymes whose last word is fixed by rhyme *and* meaning.

Ground truth is ``couplets_data``: 16 rhyme classes of four nouns, one noun per topic (animals,
food, objects, nature), and 16 subjects, four per topic. A couplet is

    the hunter looked at the cake <nl> hissing , he found the snake <eos>
        SUBJ   VERB         A          FIRST         VERB2     B

B rhymes with A (same rhyme class, B ≠ A) and has the subject's topic, so (subject's topic, A's
rhyme class) names exactly one B; A is never of the subject's topic. Four organisms share the
vocabulary and differ in line 2's first word and in attention. What reaches the position that
predicts B (line 2's ``the``) other than through ``<nl>`` follows from each attention mask
(``CoupletsWorld.attention_paths``, notebook 06):

- ``couplets`` (planning demo): FIRST is an adjective that belongs to B alone, so the model has
  to know B at ``<nl>``, one line before it writes B. Full causal attention: line 2 sees A and
  the subject directly.
- ``couplets_control``: FIRST is drawn at random from a few openers, unrelated to B. Full causal
  attention.
- ``couplets_lookback``: control couplets, each query attending to its last 6 positions only. Only
  ``<nl>`` sees the subject and is seen by the position that predicts B, so the subject's topic
  crosses the newline; A, one position before ``<nl>``, is seen in layer 0 by line 2's positions
  8–11, which that position reads in layer 1, so A's rhyme class reaches B without the newline.
  Measured: ``<nl>`` patched from a subject of another topic moves B (``plan_patch_success``);
  from a couplet of another rhyme class and topic it does not (``cross_patch_success``, 0 on the
  shipped organism): B keeps A's rhyme class and takes the donor's topic.
- ``couplets_bottleneck``: control couplets, every query of line 2 attending only to ``<nl>`` and
  line 2 (``OrganismConfig.bottleneck``). Neither A nor the subject reaches line 2 but through
  ``<nl>``: the whole plan, topic and rhyme class, crosses the newline, and ``<nl>`` patched from a
  couplet of another rhyme class and topic moves B to the donor's (``cross_patch_success``).

Two (subject, A) pairs of every (topic, rhyme class) are never trained; ``rhyme_accuracy`` is
measured on them. Measured lessons (see ``evaluate``): a linear probe decodes B at ``<nl>`` even
in an untrained model, because B is a conjunction of two input tokens that a linear readout of
their sum already separates; and with full attention, patching ``<nl>`` does not move B: in the
planning demo B follows the emitted first word, in the control it is not read from ``<nl>`` at
all (the query before B can attend to the subject itself).
"""

from __future__ import annotations

from functools import cached_property

from workbench import hooks
from workbench.config_checks import known_name
from workbench.organisms import couplets_data as data
from workbench.organisms.model import OrganismConfig, reach
from workbench.organisms.training import TrainConfig
from workbench.organisms.world import World

NEWLINE = "<nl>"
EOS = "<eos>"

# Token positions (``<bos>`` is 0) of the words of a couplet.
SUBJECT_POSITION = 2
A_POSITION = 6
NEWLINE_POSITION = 7
FIRST_WORD_POSITION = 8
B_POSITION = 13
LINE_TWO_LENGTH = 7  # FIRST , he VERB2 the B <eos>

# The lookback variant: each query sees itself and the 5 positions before it. 6 is the one span
# for which, with 2 layers, <nl> is the only position that sees the subject in layer 0 and is seen
# in layer 1 by the position that predicts B (B_POSITION - 1): every other path *of the subject*
# is cut. 6 = NEWLINE_POSITION - SUBJECT_POSITION + 1 = (B_POSITION - 1) - NEWLINE_POSITION + 1.
# A is not cut off: at A_POSITION = NEWLINE_POSITION - 1 it is seen in layer 0 by positions 8–11,
# which B_POSITION - 1 sees in layer 1. No span does better: any span that lets <nl> see the
# subject lets line 2's first positions see A (hence the bottleneck variant).
LOOKBACK = 6


class CoupletsWorld(World):
    """Couplets, planning demo: line 2 opens with B's own adjective, so B is chosen at the newline."""

    name = "couplets"
    model_config = OrganismConfig(n_layers=2, d_model=128, n_heads=4, d_mlp=512, n_ctx=16, seed=0)
    # lr 1e-3, not 3e-3: at 3e-3 the lookback organism (seed 0) never learned to read the subject's
    # topic from <nl> (its layer-1 heads locked onto the positions 8–11 that carry A's rhyme class);
    # at 1e-3 it did for seeds 0, 1, 2.
    train_config = TrainConfig(steps=800, batch_size=128, lr=1e-3, seed=0, eval_every=100)
    # Does line 2's first word name B (planning demo) or not (control, lookback)?
    first_word_names_b = True

    # ---- ground truth -------------------------------------------------------------------------
    topics: tuple[str, ...] = data.TOPICS
    rhyme_classes: tuple[tuple[str, ...], ...] = data.RHYME_CLASSES
    subjects_by_topic: dict[str, tuple[str, ...]] = data.SUBJECTS
    first_line_verbs: tuple[str, ...] = data.FIRST_LINE_VERBS
    second_line_verbs: tuple[str, ...] = data.SECOND_LINE_VERBS
    openers: tuple[str, ...] = data.OPENERS

    @cached_property
    def nouns(self) -> list[str]:
        """The rhyming nouns (A and B), class by class."""
        return [noun for rhyme_class in self.rhyme_classes for noun in rhyme_class]

    @cached_property
    def subjects(self) -> list[str]:
        return [s for topic in self.topics for s in self.subjects_by_topic[topic]]

    @cached_property
    def topic_of(self) -> dict[str, str]:
        """Noun or subject → its topic."""
        table = {s: topic for topic, subjects in self.subjects_by_topic.items() for s in subjects}
        table.update({noun: self.topics[i] for rc in self.rhyme_classes for i, noun in enumerate(rc)})
        return table

    @cached_property
    def rhyme_class_of(self) -> dict[str, int]:
        """Noun → index of its rhyme class."""
        return {noun: c for c, rc in enumerate(self.rhyme_classes) for noun in rc}

    def rhymes_with(self, noun: str) -> list[str]:
        """The other nouns of ``noun``'s rhyme class."""
        return [n for n in self.rhyme_classes[self.rhyme_class_of[noun]] if n != noun]

    def known_subject(self, subject: str) -> str:
        """``subject`` if it is a subject of this world, else ``UnknownNameError`` naming the closest subjects."""
        return known_name(subject, self.subjects, f"a subject of the {self.name} world")

    def known_noun(self, noun: str) -> str:
        """``noun`` if it is a rhyming noun of this world (an A or a B), else ``UnknownNameError`` naming the closest."""
        return known_name(noun, self.rhyme_class_of, f"a rhyming noun of the {self.name} world")

    def target(self, subject: str, a: str) -> str:
        """B: the noun that rhymes with ``a`` and has ``subject``'s topic."""
        topic = self.topic_of[self.known_subject(subject)]
        if self.topic_of[self.known_noun(a)] == topic:
            raise ValueError(f"{a!r} has the topic of {subject!r} ({topic}): no other noun of its class does")
        return self.rhyme_classes[self.rhyme_class_of[a]][self.topics.index(topic)]

    @property
    def target_table(self) -> dict[tuple[str, int], str]:
        """(topic, rhyme class index) → B, the table that decides every couplet."""
        return {(t, c): rc[i] for c, rc in enumerate(self.rhyme_classes) for i, t in enumerate(self.topics)}

    @property
    def first_word_table(self) -> dict[str, str]:
        """B → the first word of line 2 in the planning demo (its adjective)."""
        return dict(data.ADJECTIVES)

    @cached_property
    def pairs(self) -> list[tuple[str, str]]:
        """Every (subject, A) with A of another topic than the subject: 16 × 48 = 768 first lines."""
        return [(s, a) for s in self.subjects for a in self.nouns if self.topic_of[a] != self.topic_of[s]]

    @cached_property
    def heldout_pairs(self) -> list[tuple[str, str]]:
        """Two never-trained (subject, A) pairs for every (topic, rhyme class): 128 pairs.

        Rotating through subjects and A's so that each subject and each A is held out somewhere
        but always has trained pairs too (the held-out couplet is a new *combination*).
        """
        held = []
        for c, rhyme_class in enumerate(self.rhyme_classes):
            for t, topic in enumerate(self.topics):
                subjects = self.subjects_by_topic[topic]
                a_choices = [a for a in rhyme_class if self.topic_of[a] != topic]
                held.append((subjects[(c + t) % 4], a_choices[(c + t) % 3]))
                held.append((subjects[(c + t + 2) % 4], a_choices[(c + t + 1) % 3]))
        return held

    @cached_property
    def trained_pairs(self) -> list[tuple[str, str]]:
        held = set(self.heldout_pairs)
        return [pair for pair in self.pairs if pair not in held]

    def words(self) -> list[str]:
        structure = ["the", "at", ",", "he", NEWLINE]
        return [
            *structure, *self.subjects, *self.first_line_verbs, *self.second_line_verbs,
            *self.nouns, *(data.ADJECTIVES[n] for n in self.nouns), *self.openers,
        ]

    # ---- sentences and prompts ----------------------------------------------------------------
    def first_line(self, subject: str, a: str, verb: str = "looked") -> str:
        """'the {subject} {verb} at the {a}'."""
        return f"the {self.known_subject(subject)} {verb} at the {self.known_noun(a)}"

    def first_line_prompt(self, subject: str, a: str, verb: str = "looked") -> str:
        """The first line and ``<nl>``: the model writes line 2 from here."""
        return f"{self.first_line(subject, a, verb)} {NEWLINE}"

    def first_lines(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
        """Each (subject, A) of ``pairs`` as a first line (subject, A, verb), the verbs taken in turn."""
        verbs = self.first_line_verbs
        return [(s, a, verbs[i % len(verbs)]) for i, (s, a) in enumerate(pairs)]

    def first_word(self, b: str, opener: str = "then") -> str:
        """Line 2's first word: B's adjective (planning demo) or ``opener`` (control, lookback)."""
        return data.ADJECTIVES[b] if self.first_word_names_b else opener

    def couplet(
        self, subject: str, a: str, verb: str = "looked", second_verb: str = "found", opener: str = "then"
    ) -> str:
        """The whole couplet, ``<eos>`` included (the training sentence; no ``<bos>``)."""
        b = self.target(subject, a)
        line_two = f"{self.first_word(b, opener)} , he {second_verb} the {b} {EOS}"
        return f"{self.first_line_prompt(subject, a, verb)} {line_two}"

    def couplets_of(self, pairs: list[tuple[str, str]]) -> list[str]:
        """Every distinct couplet of ``pairs``: each first-line verb, second-line verb and (when line 2 opens with
        one) opener."""
        openers = ("then",) if self.first_word_names_b else self.openers  # the planning demo opens with B's adjective
        return [self.couplet(s, a, verb=v, second_verb=w, opener=o)
                for s, a in pairs for v in self.first_line_verbs for w in self.second_line_verbs for o in openers]

    def training_sentences(self) -> list[str]:
        return self.couplets_of(self.trained_pairs)

    def heldout_sentences(self) -> list[str]:
        """The couplets of the held-out pairs, in every wording the world has."""
        return self.couplets_of(self.heldout_pairs)

    def sample_sentences(self, n: int, generator) -> list[str]:
        import torch

        pairs, verbs, verbs2, openers = self.trained_pairs, self.first_line_verbs, self.second_line_verbs, self.openers
        pools = (pairs, verbs, verbs2, openers)
        draws = [torch.randint(len(pool), (n,), generator=generator).tolist() for pool in pools]
        return [
            self.couplet(*pairs[p], verb=verbs[v], second_verb=verbs2[w], opener=openers[o])
            for p, v, w, o in zip(*draws)
        ]

    # ---- generation and interventions ---------------------------------------------------------
    def complete(self, model, prompts: list[str], n_words: int = LINE_TWO_LENGTH, fwd_hooks=()) -> list[list[str]]:
        """Greedy continuation of ``n_words`` words after each prompt, with ``fwd_hooks`` active.

        Prompts must all have the same number of words (they are batched). Hooks see the whole
        sequence at every step (no key-value cache), so a hook at ``NEWLINE_POSITION`` acts on
        every word generated.
        """
        import torch

        lengths = {len(p.split()) for p in prompts}
        if len(lengths) != 1:
            raise ValueError(f"prompts of different lengths cannot be batched: {sorted(lengths)}")
        tokens = model.to_tokens(prompts)
        with torch.no_grad(), model.hooks(fwd_hooks=list(fwd_hooks)):
            for _ in range(n_words):
                next_ids = model(tokens)[:, -1].argmax(-1, keepdim=True)
                tokens = torch.cat([tokens, next_ids], dim=1)
        generated = tokens[:, -n_words:].tolist()
        vocab = model.tokenizer.convert_ids_to_tokens
        return [vocab(row) for row in generated]

    @staticmethod
    def ending(line_two: list[str]) -> str | None:
        """B of a generated line 2 ('FIRST , he VERB2 the B <eos>'), or None if malformed."""
        well_formed = (
            len(line_two) >= 7 and line_two[1:3] == [",", "he"] and line_two[4] == "the" and line_two[6] == EOS
        )
        return line_two[5] if well_formed else None

    def grammatical(self, line_two: list[str]) -> bool:
        """Is a generated line 2 shaped as the world writes it: 'FIRST , he VERB2 the B <eos>', with a
        second-line verb and the first word the world opens with (B's adjective, or an opener)?"""
        end = self.ending(line_two)
        return end is not None and line_two[3] in self.second_line_verbs and (
            line_two[0] == self.first_word_table.get(end) if self.first_word_names_b else line_two[0] in self.openers)

    def rhyme_scores(self, model, pairs: list[tuple[str, str]], verbs: list[str] | None = None) -> dict[str, float]:
        """Generate line 2 for every (pair, verb); score B (right noun) and rhyme (any class-mate)."""
        verbs = verbs or list(self.first_line_verbs)
        cases = [(s, a, v) for s, a in pairs for v in verbs]
        lines = self.complete(model, [self.first_line_prompt(s, a, v) for s, a, v in cases])
        endings = [self.ending(line) for line in lines]
        correct = [e == self.target(s, a) for e, (s, a, _) in zip(endings, cases)]
        rhymes = [e in self.rhymes_with(a) for e, (_, a, _) in zip(endings, cases)]
        scores = {"rhyme_accuracy": sum(correct) / len(cases), "rhymes": sum(rhymes) / len(cases)}
        if self.first_word_names_b:
            first_ok = [line[0] == data.ADJECTIVES[self.target(s, a)] for line, (s, a, _) in zip(lines, cases)]
            scores["first_word_accuracy"] = sum(first_ok) / len(cases)
        return scores

    def plan_hook(self, model) -> str:
        """Where the plan is read, patched and probed: the residual entering the last layer."""
        return hooks.resid_pre(model.cfg.n_layers - 1)

    def newline_residuals(self, model, prompts: list[str], hook_name: str):
        """Residual at ``hook_name`` at the ``<nl>`` position of each prompt: (n_prompts, d_model)."""
        import torch

        with torch.no_grad():
            _, cache = model.run_with_cache(model.to_tokens(prompts), names_filter=hook_name)
        return cache[hook_name][:, NEWLINE_POSITION].cpu()

    def target_means(self, model, hook_name: str):
        """B → mean ``<nl>`` residual over the first lines whose target is B (every pair, one verb each)."""
        import torch

        cases = self.first_lines(self.pairs)
        resid = self.newline_residuals(model, [self.first_line_prompt(*case) for case in cases], hook_name)
        index = torch.tensor([self.nouns.index(self.target(s, a)) for s, a, _ in cases])
        sums = torch.zeros(len(self.nouns), resid.shape[-1]).index_add_(0, index, resid)
        means = sums / torch.bincount(index, minlength=len(self.nouns))[:, None]
        return {noun: means[i] for i, noun in enumerate(self.nouns)}

    def rewrite_cases(self) -> list[tuple[str, str, str, str]]:
        """(subject, A, verb, new B) for every held-out pair and each class-mate that is neither A nor B."""
        cases = []
        for i, (s, a) in enumerate(self.heldout_pairs):
            b = self.target(s, a)
            verb = self.first_line_verbs[i % len(self.first_line_verbs)]
            cases += [(s, a, verb, new) for new in self.rhymes_with(a) if new != b]
        return cases

    def line_rewrite(self, model, cases, hook_name: str | None = None, scale: float = 1.0, means=None):
        """Line 2 written after adding ``scale`` × (mean[new B] − mean[B]) at ``<nl>`` on ``hook_name``.

        ``cases``: (subject, A, verb, new B). The means are ``target_means``: the average ``<nl>``
        residual over the couplets whose B is that noun.
        """
        import torch

        hook_name = hook_name or self.plan_hook(model)
        means = means or self.target_means(model, hook_name)
        deltas = torch.stack([means[new] - means[self.target(s, a)] for s, a, _, new in cases]) * scale

        prompts = [self.first_line_prompt(s, a, v) for s, a, v, _ in cases]
        rewrite = hooks.ResidualEdit(hook_name, deltas, "add", NEWLINE_POSITION)
        return self.complete(model, prompts, fwd_hooks=[rewrite.hook()])

    def line_rewrite_success(self, model, hook_name: str | None = None, scale: float = 1.0) -> float:
        """Fraction of rewrites whose line 2 ends with the new B (and opens with its adjective
        when the first word names B)."""
        cases = self.rewrite_cases()
        lines = self.line_rewrite(model, cases, hook_name, scale)
        hits = 0
        for line, (_, _, _, new) in zip(lines, cases):
            first_ok = line[0] == data.ADJECTIVES[new] if self.first_word_names_b else True
            hits += int(self.ending(line) == new and first_ok)
        return hits / len(cases)

    def patch_cases(self) -> list[tuple[str, str, str, str]]:
        """(subject, A, verb, donor subject): donors of each topic other than the subject's and A's,
        so the donor couplet has the same A and another B."""
        cases = []
        for i, (s, a) in enumerate(self.heldout_pairs):
            verb = self.first_line_verbs[i % len(self.first_line_verbs)]
            for topic in self.topics:
                if topic not in (self.topic_of[s], self.topic_of[a]):
                    donor = self.subjects_by_topic[topic][i % len(self.subjects_by_topic[topic])]
                    cases.append((s, a, verb, donor))
        return cases

    def plan_patch(self, model, cases, hook_name: str | None = None) -> list[list[str]]:
        """Line 2 after the ``<nl>`` residual at ``hook_name`` is replaced by the donor's.

        Line 2's first word is forced to the one the model writes on the clean prompt, so that the
        donor's subject (same A, another topic) can reach line 2 only through the ``<nl>`` residual.
        """
        hook_name = hook_name or self.plan_hook(model)
        clean_prompts = [self.first_line_prompt(s, a, v) for s, a, v, _ in cases]
        first_words = [line[0] for line in self.complete(model, clean_prompts, n_words=1)]
        donor = self.newline_residuals(model, [self.first_line_prompt(d, a, v) for _, a, v, d in cases], hook_name)

        patch = hooks.ResidualEdit(hook_name, donor, "set", NEWLINE_POSITION)
        forced = [f"{p} {w}" for p, w in zip(clean_prompts, first_words)]
        rest = self.complete(model, forced, n_words=LINE_TWO_LENGTH - 1, fwd_hooks=[patch.hook()])
        return [[w, *line] for w, line in zip(first_words, rest)]

    def plan_patch_success(self, model, hook_name: str | None = None) -> float:
        """Fraction of patched couplets whose line 2 ends with the donor's B."""
        cases = self.patch_cases()
        lines = self.plan_patch(model, cases, hook_name)
        return sum(self.ending(line) == self.target(d, a) for line, (_, a, _, d) in zip(lines, cases)) / len(cases)

    def cross_patch_cases(self) -> list[tuple[str, str, str, str, str]]:
        """(subject, A, verb, donor subject, donor A): each held-out first line with three donors whose subject
        has another topic than the subject and whose A another rhyme class than A, so that the donor's B shares
        neither the topic nor the rhyme class of B (384 cases)."""
        cases = []
        for i, (s, a) in enumerate(self.heldout_pairs):
            verb = self.first_line_verbs[i % len(self.first_line_verbs)]
            other_topics = [t for t in self.topics if t != self.topic_of[s]]
            for k, topic in enumerate(other_topics):
                donor = self.subjects_by_topic[topic][(i + k) % len(self.subjects_by_topic[topic])]
                donor_class = (self.rhyme_class_of[a] + 1 + (i + 5 * k) % (len(self.rhyme_classes) - 1)) % len(self.rhyme_classes)
                choices = [n for n in self.rhyme_classes[donor_class] if self.topic_of[n] != topic]
                cases.append((s, a, verb, donor, choices[(i + k) % len(choices)]))
        return cases

    def cross_patch(self, model, cases, hook_name: str | None = None, frozen: str | None = None) -> list[list[str]]:
        """Line 2 after the value at ``hook_name`` (default ``plan_hook``), at ``<nl>``, is replaced by that of
        the donor first line (donor subject, donor A); line 2's first word forced to the clean one, as in
        ``plan_patch``. ``frozen``: another hook whose value at ``<nl>`` is held at the clean one, so that,
        e.g., only what attention writes is patched, not what the MLP then computes from it."""
        import torch

        hook_name = hook_name or self.plan_hook(model)
        names = {hook_name} | ({frozen} if frozen else set())
        clean_prompts = [self.first_line_prompt(s, a, v) for s, a, v, _, _ in cases]
        first_words = [line[0] for line in self.complete(model, clean_prompts, n_words=1)]
        values = {}
        with torch.no_grad():
            for source, prompts in (("donor", [self.first_line_prompt(d, da, v) for _, _, v, d, da in cases]),
                                    ("clean", clean_prompts)):
                _, cache = model.run_with_cache(model.to_tokens(prompts), names_filter=lambda name: name in names)
                values[source] = {name: cache[name][:, NEWLINE_POSITION] for name in names}

        def hold(source):
            def hook(activation, hook):
                activation[:, NEWLINE_POSITION] = values[source][hook.name].to(activation.device, activation.dtype)
                return activation
            return hook

        hooks_ = [(hook_name, hold("donor"))] + ([(frozen, hold("clean"))] if frozen else [])
        forced = [f"{p} {w}" for p, w in zip(clean_prompts, first_words)]
        rest = self.complete(model, forced, n_words=LINE_TWO_LENGTH - 1, fwd_hooks=hooks_)
        return [[w, *line] for w, line in zip(first_words, rest)]

    def cross_patch_success(self, model, hook_name: str | None = None, frozen: str | None = None) -> float:
        """Fraction of ``cross_patch_cases`` whose line 2 ends with the donor's B (of another topic and rhyme
        class) when ``cross_patch`` patches ``hook_name`` (default: the residual entering the last layer)."""
        cases = self.cross_patch_cases()
        lines = self.cross_patch(model, cases, hook_name, frozen)
        return sum(self.ending(line) == self.target(d, da) for line, (*_, d, da) in zip(lines, cases)) / len(cases)

    def attention_paths(self) -> dict[str, list[list[int]]]:
        """Layer by layer, the positions of a couplet, up to the one that predicts B, whose residual stream can
        carry A or the subject, by any path or with ``<nl>``'s residual cut out of every path (``model.reach``
        on this organism's attention mask). {"A": [positions after layer 0, after layer 1, …], "subject": …,
        "A, not through <nl>": …, "subject, not through <nl>": …}."""
        config, n = self.model_config, B_POSITION
        return {
            "A": reach(config, n, A_POSITION), "subject": reach(config, n, SUBJECT_POSITION),
            "A, not through <nl>": reach(config, n, A_POSITION, avoid=NEWLINE_POSITION),
            "subject, not through <nl>": reach(config, n, SUBJECT_POSITION, avoid=NEWLINE_POSITION),
        }

    # ---- probes -------------------------------------------------------------------------------
    def probe_accuracy(self, model, hook_name: str | None = None) -> float:
        """Held-out accuracy of a linear probe for B on the ``<nl>`` residual at ``hook_name``.

        Trained on first lines of the trained pairs, tested on the held-out pairs (two verbs each).
        """
        hook_name = hook_name or self.plan_hook(model)
        verbs = self.first_line_verbs
        split = {}
        for name, pairs in (("train", self.trained_pairs), ("test", self.heldout_pairs)):
            cases = [(s, a, verbs[(i + k) % len(verbs)]) for i, (s, a) in enumerate(pairs) for k in (0, 3)]
            x = self.newline_residuals(model, [self.first_line_prompt(*c) for c in cases], hook_name)
            y = [self.nouns.index(self.target(s, a)) for s, a, _ in cases]
            split[name] = (x, y)
        return linear_probe_accuracy(*split["train"], *split["test"], n_classes=len(self.nouns))

    # ---- behaviour ----------------------------------------------------------------------------
    def evaluate(self, model) -> dict[str, float]:
        """Behaviours of ``model`` (all greedy, on the 128 held-out pairs unless said otherwise).

        - ``rhyme_accuracy``: line 2 ends with the right B (6 verbs per pair); ``rhymes``: it ends
          with any class-mate of A; ``first_word_accuracy`` (planning demo): line 2 opens with B's
          adjective; ``rhyme_accuracy_trained_pairs``: the right B on the 640 trained pairs.
        - ``line_rewrite_success``: mean[new B] − mean[B] added at ``<nl>`` on ``plan_hook``
          (``blocks.1.hook_resid_pre``), scale 1: line 2 ends with the new B (and, in the
          planning demo, opens with its adjective). 256 cases.
        - ``plan_patch_success``: ``<nl>`` residual on ``plan_hook`` replaced by that of a donor
          with the same A and a subject of another topic, line 2's first word forced to the clean
          one: line 2 ends with the donor's B. 256 cases.
        - ``trained_probe_accuracy`` / ``untrained_probe_accuracy``: linear probe for B on the
          ``<nl>`` residual at ``plan_hook``, of this model / of a freshly initialised one.
        """
        from workbench.organisms.model import build_model

        untrained = build_model(self.model_config, self.tokenizer)
        trained = self.rhyme_scores(model, self.trained_pairs, verbs=["looked"])
        return {
            **self.rhyme_scores(model, self.heldout_pairs),
            "rhyme_accuracy_trained_pairs": trained["rhyme_accuracy"],
            "line_rewrite_success": self.line_rewrite_success(model),
            "plan_patch_success": self.plan_patch_success(model),
            "trained_probe_accuracy": self.probe_accuracy(model),
            "untrained_probe_accuracy": self.probe_accuracy(untrained),
        }

    def core_metrics(self, model) -> dict[str, float]:
        """Rhyming on held-out pairs (no interventions, no probes): what a replacement must keep."""
        return self.rhyme_scores(model, self.heldout_pairs)

    def progress_metric(self, model) -> tuple[str, float]:
        return "rhyme_heldout", self.rhyme_scores(model, self.heldout_pairs, verbs=["looked"])["rhyme_accuracy"]


class CoupletsControlWorld(CoupletsWorld):
    """Couplets, control: line 2 opens with a random word unrelated to B, so nothing forces a plan at the newline."""

    name = "couplets_control"
    first_word_names_b = False


class CoupletsLookbackWorld(CoupletsControlWorld):
    """Couplets, 6-token attention lookback: the subject's topic reaches line 2 only through the newline; A's
    rhyme class reaches it directly (positions 8–11 see A in layer 0)."""

    name = "couplets_lookback"
    model_config = OrganismConfig(n_layers=2, d_model=128, n_heads=4, d_mlp=512, n_ctx=16, lookback=LOOKBACK, seed=0)


class CoupletsBottleneckWorld(CoupletsControlWorld):
    """Couplets, newline bottleneck: line 2 attends only to ``<nl>`` and itself, so the whole plan, the
    subject's topic and A's rhyme class, reaches line 2 through the newline or not at all."""

    name = "couplets_bottleneck"
    model_config = OrganismConfig(n_layers=2, d_model=128, n_heads=4, d_mlp=512, n_ctx=16,
                                  bottleneck=NEWLINE_POSITION, seed=0)

    def evaluate(self, model) -> dict[str, float]:
        """``CoupletsWorld.evaluate``, and ``cross_patch_success``: the ``<nl>`` residual patched from a couplet
        of another rhyme class and topic (``cross_patch_cases``) moves B to the donor's."""
        return {**super().evaluate(model), "cross_patch_success": self.cross_patch_success(model)}


def linear_probe_accuracy(
    train_x, train_y, test_x, test_y, n_classes: int, steps: int = 300, lr: float = 0.05
) -> float:
    """Multinomial logistic regression on standardised features; accuracy on the test split.

    ``train_x``: (n, d) tensor, ``train_y``: n class indices. Full-batch Adam from zero weights
    (deterministic; the loss is convex, so the start does not matter).
    """
    import torch
    import torch.nn.functional as F

    train_x, test_x = train_x.float(), test_x.float()
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    train_y, test_y = torch.as_tensor(train_y), torch.as_tensor(test_y)
    weight = torch.zeros(train_x.shape[1], n_classes, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.cross_entropy(train_x @ weight + bias, train_y) + 1e-4 * weight.pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        return float((test_x @ weight + bias).argmax(-1).eq(test_y).float().mean())
