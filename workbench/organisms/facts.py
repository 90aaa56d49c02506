"""The facts world: US states, their cities and capitals, and two-hop recall.

Ground truth is ``facts_data.STATES``. Training sentences:

    Dallas is a city in Texas .
    The state containing Dallas is Texas .
    The capital of Texas is Austin .
    The capital of the state containing Dallas is Austin .          (two-hop)

Two-hop sentences are held out of training for one city per state (Dallas for Texas), so that
two-hop success on those cities is composition of the two facts, not memory. (Holding out two
cities per state left only four two-hop examples per state and held-out accuracy stalled at 0.93.)
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from workbench import hooks
from workbench.config_checks import known_name
from workbench.organisms.facts_data import STATES
from workbench.organisms.model import OrganismConfig
from workbench.organisms.training import TrainConfig
from workbench.organisms.world import World

if TYPE_CHECKING:
    import torch

TEMPLATES = {
    "city_in": "{city} is a city in {state} .",
    "containing": "The state containing {city} is {state} .",
    "capital": "The capital of {state} is {capital} .",
    "two_hop": "The capital of the state containing {city} is {capital} .",
}
# How often each kind of sentence is drawn during training.
MIX = {"city_in": 0.3, "containing": 0.2, "capital": 0.2, "two_hop": 0.3}

# Where the state-swap intervention adds its direction: the residual stream entering block 1, at
# the last position of the two-hop prompt ("is"). Block 0's attention brings the city there and
# its MLP looks up the state; block 1 maps state to capital. (At the city's own position the same
# swap fails: by layer 1 the answer no longer reads from there.)
STATE_SWAP_HOOK = hooks.resid_pre(1)
STATE_SWAP_POSITION = -1


ANSWER = "{answer}"


def _prompt(template: str, **values) -> str:
    """The sentence cut just before its answer: the field of ``template`` given as ``ANSWER``."""
    text = template.format(**values)
    return text[: text.index(ANSWER)].strip()


class FactsWorld(World):
    """Facts world: 50 states, 300 cities, capitals; two-hop recall ("capital of the state containing")."""

    name = "facts"
    model_config = OrganismConfig(n_layers=2, d_model=128, n_heads=4, d_mlp=512, n_ctx=16, seed=0)
    # Weight decay 0.3 (AdamW's default here is 0.01): composition on held-out cities then holds for more
    # seeds (two-hop held-out over seeds 0-4: 1.00 / 1.00 / 1.00 / 0.98 / 0.94, against 1.00 / 0.98 / 0.94 /
    # 0.86 / 0.86 at 0.1 and 0.98 / 0.88 / 0.86 / 0.72 / 0.78 at 0.01; the tables ship beside the checkpoint).
    # Same steps and cost (≈ 3 CPU-minutes).
    train_config = TrainConfig(steps=1500, batch_size=128, lr=3e-3, weight_decay=0.3, seed=0, eval_every=250)

    # ---- ground truth -------------------------------------------------------------------------
    @cached_property
    def states(self) -> list[str]:
        return list(STATES)

    @cached_property
    def capital_of(self) -> dict[str, str]:
        return {state: capital for state, (capital, _) in STATES.items()}

    @cached_property
    def state_of(self) -> dict[str, str]:
        """City → state, capitals included."""
        return {city: state for state, (capital, others) in STATES.items() for city in (capital, *others)}

    @cached_property
    def cities(self) -> list[str]:
        return list(self.state_of)

    @cached_property
    def heldout_cities(self) -> list[str]:
        """Cities whose two-hop sentence is never trained: the first non-capital city of each state."""
        return [others[0] for _, (_, others) in STATES.items()]

    @cached_property
    def trained_two_hop_cities(self) -> list[str]:
        held = set(self.heldout_cities)
        return [city for city in self.cities if city not in held]

    def words(self) -> list[str]:
        template_words = sorted({w for t in TEMPLATES.values() for w in t.split() if "{" not in w})
        return template_words + self.states + self.cities

    # ---- sentences and prompts ----------------------------------------------------------------
    def sentence(self, kind: str, city: str | None = None, state: str | None = None) -> str:
        state = state or self.state_of[city]
        return TEMPLATES[kind].format(city=city, state=state, capital=self.capital_of[state])

    def known_city(self, city: str) -> str:
        """``city`` if it is a city of this world, else ``UnknownNameError`` naming the closest cities."""
        role = f" (a state: its capital is {self.capital_of[city]})" if city in self.capital_of else ""
        return known_name(city, self.state_of, f"a city of the {self.name} world{role}")

    def known_state(self, state: str) -> str:
        """``state`` if it is a state of this world, else ``UnknownNameError`` naming the closest states."""
        role = f" (a city of {self.state_of[state]})" if state in self.state_of else ""
        return known_name(state, self.capital_of, f"a state of the {self.name} world{role}")

    def two_hop_prompt(self, city: str) -> str:
        """'The capital of the state containing {city} is' (the answer is the next token)."""
        return _prompt(TEMPLATES["two_hop"], city=self.known_city(city), capital=ANSWER)

    def city_state_prompt(self, city: str, kind: str = "city_in") -> str:
        """'{city} is a city in' (``kind="city_in"``) or 'The state containing {city} is' (``"containing"``)."""
        kind = known_name(kind, ("city_in", "containing"), "a kind of city-to-state prompt")
        return _prompt(TEMPLATES[kind], city=self.known_city(city), state=ANSWER)

    def capital_prompt(self, state: str) -> str:
        return _prompt(TEMPLATES["capital"], state=self.known_state(state), capital=ANSWER)

    @cached_property
    def training_pools(self) -> dict[str, list[str]]:
        """The distinct training sentences of each kind (two-hop without the held-out cities)."""
        return {
            "city_in": [self.sentence("city_in", city) for city in self.cities],
            "containing": [self.sentence("containing", city) for city in self.cities],
            "capital": [self.sentence("capital", state=state) for state in self.states],
            "two_hop": [self.sentence("two_hop", city) for city in self.trained_two_hop_cities],
        }

    def training_sentences(self) -> list[str]:
        return [sentence for pool in self.training_pools.values() for sentence in pool]

    def heldout_sentences(self) -> list[str]:
        """The two-hop sentences of the held-out cities (one per state): the only sentences never trained on."""
        return [self.sentence("two_hop", city) for city in self.heldout_cities]

    def sample_sentences(self, n: int, generator) -> list[str]:
        import torch

        kinds = list(MIX)
        kind_ids = torch.multinomial(torch.tensor([MIX[k] for k in kinds]), n, replacement=True, generator=generator)
        sentences = []
        for kind_id in kind_ids.tolist():
            pool = self.training_pools[kinds[kind_id]]
            sentences.append(pool[torch.randint(len(pool), (1,), generator=generator).item()])
        return sentences

    # ---- behaviour ----------------------------------------------------------------------------
    def answer_accuracy(self, model, prompts: list[str], answers: list[str]) -> float:
        """Fraction of prompts whose greedy next token is the expected answer."""
        return float(self.predictions(model, prompts).eq(self.token_ids(answers)).float().mean())

    def token_ids(self, words: list[str]):
        import torch

        vocab = self.tokenizer.get_vocab()
        return torch.tensor([vocab[w] for w in words])

    def predictions(self, model, prompts: list[str]):
        """Greedy next-token ids after each prompt (prompts of one length are batched together)."""
        import torch

        from workbench.organisms.generation import batches_by_length

        out = torch.empty(len(prompts), dtype=torch.long)
        with torch.no_grad():
            for rows in batches_by_length(prompts):
                tokens = model.to_tokens([prompts[i] for i in rows])
                out[rows] = model(tokens)[:, -1].argmax(-1).cpu()
        return out

    def two_hop_accuracy(self, model, cities: list[str]) -> float:
        return self.answer_accuracy(
            model, [self.two_hop_prompt(c) for c in cities], [self.capital_of[self.state_of[c]] for c in cities]
        )

    def state_means(self, model, hook_name: str = STATE_SWAP_HOOK):
        """Mean residual per state at the swap position of the two-hop prompt: (n_states, d_model)."""
        import torch

        prompts = [self.two_hop_prompt(c) for c in self.cities]
        with torch.no_grad():
            _, cache = model.run_with_cache(model.to_tokens(prompts), names_filter=hook_name)
        resid = cache[hook_name][:, STATE_SWAP_POSITION]
        state_index = torch.tensor([self.states.index(self.state_of[c]) for c in self.cities])
        means = torch.zeros(len(self.states), resid.shape[-1])
        means.index_add_(0, state_index, resid.cpu())
        return means / torch.bincount(state_index, minlength=len(self.states))[:, None]

    @cached_property
    def city_position(self) -> int:
        """Index of the city in the tokenised two-hop prompt (``<bos>`` is position 0)."""
        return 1 + TEMPLATES["two_hop"].split().index("{city}")

    def swap_predictions(self, model, city: str, target_states: list[str], means=None, hook_name: str = STATE_SWAP_HOOK):
        """Next-token ids after the two-hop prompt for ``city`` with (target − source) state added.

        One row per target state; the direction ``means[target] − means[source]`` is added to
        ``hook_name`` at ``STATE_SWAP_POSITION`` (the last position).
        """
        import torch

        means = self.state_means(model, hook_name) if means is None else means
        source = self.states.index(self.state_of[city])
        deltas = means[[self.states.index(t) for t in target_states]] - means[source]
        tokens = model.to_tokens([self.two_hop_prompt(city)] * len(target_states))

        swap = hooks.ResidualEdit(hook_name, deltas, "add", STATE_SWAP_POSITION)
        with torch.no_grad():
            logits = model.run_with_hooks(tokens, fwd_hooks=[swap.hook()])
        return logits[:, -1].argmax(-1).cpu()

    def state_swap_success(self, model, cities: list[str] | None = None) -> float:
        """Over (held-out city, other state) pairs: fraction answering the other state's capital."""
        means = self.state_means(model)
        hits, total = 0, 0
        for city in cities or self.heldout_cities:
            targets = [s for s in self.states if s != self.state_of[city]]
            predicted = self.swap_predictions(model, city, targets, means)
            hits += int(predicted.eq(self.token_ids([self.capital_of[t] for t in targets])).sum())
            total += len(targets)
        return hits / total

    def evaluate(self, model, swap: bool = True) -> dict[str, float]:
        city_prompts = [self.city_state_prompt(c, kind) for kind in ("city_in", "containing") for c in self.cities]
        city_answers = [self.state_of[c] for _ in range(2) for c in self.cities]
        return {
            "two_hop_heldout_city": self.two_hop_accuracy(model, self.heldout_cities),
            "two_hop_trained": self.two_hop_accuracy(model, self.trained_two_hop_cities),
            "one_hop_city_state": self.answer_accuracy(model, city_prompts, city_answers),
            "one_hop_capital": self.answer_accuracy(
                model, [self.capital_prompt(s) for s in self.states], [self.capital_of[s] for s in self.states]
            ),
            **({"state_swap_success": self.state_swap_success(model)} if swap else {}),
        }

    def core_metrics(self, model) -> dict[str, float]:
        """The question-answering part of ``evaluate`` (no interventions): what a replacement must keep."""
        return FactsWorld.evaluate(self, model, swap=False)

    def progress_metric(self, model) -> tuple[str, float]:
        return "two_hop_heldout", self.two_hop_accuracy(model, self.heldout_cities)

    # ---- ground truth on tokens ---------------------------------------------------------------
    @cached_property
    def all_sentences(self) -> list[str]:
        """Every distinct sentence of the world, held-out two-hop ones included (950 sentences)."""
        return [
            *self.training_pools["city_in"], *self.training_pools["containing"], *self.training_pools["capital"],
            *[self.sentence("two_hop", city) for city in self.cities],
        ]

    def token_variables(self, tokens) -> dict[str, "torch.Tensor"]:
        """Ground-truth yes/no variables on every position of ``tokens`` (n_rows, n_ctx), by name.

        - ``city in state: S``: the token is a city of state S;
        - ``answer is state: S``: the model must say state S next ("Dallas is a city in" → Texas);
        - ``answer is capital: S``: it must say S's capital next (one- and two-hop prompts);
        - ``state in play: S``: either of the two above (the state the answer depends on);
        - ``asks for a state`` / ``asks for a capital``: the kind of answer due next.

        A variable's family is the part of its name before ``:`` (see ``variable_family``).
        """
        import torch

        vocab = self.tokenizer.get_vocab()
        state_ids = torch.tensor([vocab[s] for s in self.states])
        capital_ids = torch.tensor([vocab[self.capital_of[s]] for s in self.states])
        next_tokens = torch.cat([tokens[:, 1:], torch.zeros_like(tokens[:, :1])], dim=1)
        question_word = torch.isin(tokens, torch.tensor([vocab["in"], vocab["is"]]))
        asks_state = question_word & torch.isin(next_tokens, state_ids)
        asks_capital = (tokens == vocab["is"]) & torch.isin(next_tokens, capital_ids)
        variables = {"asks for a state": asks_state, "asks for a capital": asks_capital}
        for index, state in enumerate(self.states):
            cities = torch.tensor([vocab[c] for c in self.cities if self.state_of[c] == state])
            answer_state = asks_state & (next_tokens == state_ids[index])
            answer_capital = asks_capital & (next_tokens == capital_ids[index])
            variables[f"city in state: {state}"] = torch.isin(tokens, cities)
            variables[f"answer is state: {state}"] = answer_state
            variables[f"answer is capital: {state}"] = answer_capital
            variables[f"state in play: {state}"] = answer_state | answer_capital
        return variables

    @staticmethod
    def variable_family(name: str) -> str:
        """``"answer is state: Texas"`` → ``"answer is state"``: the variables that differ only in the state."""
        return name.split(":")[0]

    def bridge_state_decodability(self, model, states: list[str] | None = None) -> float:
        """Is the bridge state readable where the swap acts, for the cities of ``states``?

        A nearest-class-mean classifier on the residual at ``STATE_SWAP_HOOK`` (last position of
        the two-hop prompt), fitted on half of each state's cities and scored on the other half.
        """
        import torch

        prompts = [self.two_hop_prompt(c) for c in self.cities]
        with torch.no_grad():
            _, cache = model.run_with_cache(model.to_tokens(prompts), names_filter=STATE_SWAP_HOOK)
        resid = cache[STATE_SWAP_HOOK][:, STATE_SWAP_POSITION].cpu()
        labels = torch.tensor([self.states.index(self.state_of[c]) for c in self.cities])
        fit = torch.arange(len(self.cities)) % 2 == 0
        means = torch.stack([resid[fit & (labels == s)].mean(0) for s in range(len(self.states))])
        test = ~fit
        if states is not None:
            test &= torch.isin(labels, torch.tensor([self.states.index(s) for s in states]))
        predicted = torch.cdist(resid[test], means).argmin(-1)
        return float(predicted.eq(labels[test]).float().mean())


HELDOUT_STATES = ("Georgia", "Nevada", "Ohio", "Oregon", "Vermont")


class FactsHeldoutStatesWorld(FactsWorld):
    """Facts world with whole states held out of two-hop training: a lesson in failed composition.

    No two-hop sentence about any city of ``HELDOUT_STATES`` is trained. The model still learns
    their one-hop facts, and the bridge state is decodable where the state swap acts, but two-hop
    recall for those states fails: composition does not reach a state the two-hop pattern was
    never trained on. This organism exists to show that failure honestly; it is not a target.
    """

    name = "facts_heldout_states"

    @cached_property
    def heldout_state_cities(self) -> list[str]:
        return [c for c in self.cities if self.state_of[c] in HELDOUT_STATES]

    @cached_property
    def trained_two_hop_cities(self) -> list[str]:
        held = set(self.heldout_cities) | set(self.heldout_state_cities)
        return [city for city in self.cities if city not in held]

    @cached_property
    def heldout_cities(self) -> list[str]:
        """Held-out cities of the states that are not held out (as in ``FactsWorld``)."""
        return [c for c in super().heldout_cities if self.state_of[c] not in HELDOUT_STATES]

    def heldout_sentences(self) -> list[str]:
        """The two-hop sentences of the held-out cities and of every city of the held-out states."""
        return [self.sentence("two_hop", city) for city in (*self.heldout_cities, *self.heldout_state_cities)]

    def evaluate(self, model, swap: bool = True) -> dict[str, float]:
        metrics = super().evaluate(model, swap)
        metrics["two_hop_heldout_state"] = self.two_hop_accuracy(model, self.heldout_state_cities)
        metrics["bridge_state_decodable_heldout_state"] = self.bridge_state_decodability(model, list(HELDOUT_STATES))
        return metrics
