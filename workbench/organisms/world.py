"""What every organism's world provides: vocabulary, a sampler of training sentences, and the
evaluation of the behaviours its model must show.

A world is plain Python (no model inside); ``workbench.organisms.training`` turns a world into a
trained ``HookedTransformer`` and ``World.evaluate`` measures that model against the ground truth.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property

from workbench.organisms.model import OrganismConfig
from workbench.organisms.training import TrainConfig


class World(ABC):
    """Base class of the organisms' worlds. Subclasses set ``name`` and the two configs."""

    name: str
    model_config: OrganismConfig = OrganismConfig()
    train_config: TrainConfig = TrainConfig()

    @abstractmethod
    def words(self) -> list[str]:
        """Every word of the world, in a fixed order (token ids follow it)."""

    @abstractmethod
    def sample_sentences(self, n: int, generator) -> list[str]:
        """``n`` training sentences drawn with the torch ``generator`` (no ``<bos>``)."""

    @abstractmethod
    def training_sentences(self) -> list[str]:
        """Every distinct sentence ``sample_sentences`` can draw (no ``<bos>``): all the organism ever trains on."""

    @abstractmethod
    def heldout_sentences(self) -> list[str]:
        """Every sentence of the world the organism never trains on, none of them in ``training_sentences``.

        Dictionaries are judged on these (``activations.heldout_tokens``): text drawn from the training
        distribution with another seed repeats the sentences they trained on.
        """

    @abstractmethod
    def evaluate(self, model) -> dict[str, float]:
        """The behaviour metrics of ``model`` on this world, as a flat dict of floats."""

    def progress_metric(self, model) -> tuple[str, float]:
        """One cheap behaviour metric shown in the training progress bar."""
        name, value = next(iter(self.evaluate(model).items()))
        return name, value

    def tokenize(self, sentences: list[str]):
        """``<bos> sentence <pad>…`` rows of ``model_config.n_ctx`` token ids, as the organism is trained."""
        from workbench.organisms.training import tokenize_batch

        return tokenize_batch(self.tokenizer, sentences, self.model_config.n_ctx)[0]

    def sample_tokens(self, n: int, seed: int = 0):
        """Token rows (n, n_ctx) of ``n`` training sentences drawn with ``seed`` (another seed draws the same
        sentences again: the world has few; ``heldout_sentences`` are the ones never trained on)."""
        import torch

        return self.tokenize(self.sample_sentences(n, torch.Generator().manual_seed(seed)))

    @cached_property
    def tokenizer(self):
        from workbench.organisms.tokenizer import build_tokenizer

        return build_tokenizer(self.words(), self.name)
