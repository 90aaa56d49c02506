"""Activations split between processes: each of ``world_size`` processes owns a contiguous part.

Data-parallel training (``workbench.transcoders.training``) draws every batch from the whole token
set, in the same order as one process would, and each process computes the loss on the tokens of
the batch that it owns. So a process only ever needs its own part of the activations: it computes
them from the model (``organism_activation_shard``), or reads them from files written once
(``write_activation_shards`` / ``read_activation_shard``) when the model is too large to run again.

Tokens are numbered as ``organism_activations`` orders them (sentence by sentence, padding
dropped), so process ``rank`` owns tokens ``start … start + n − 1`` of ``total``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from workbench.activations.collect import mlp_activations

INDEX = "index.json"


@dataclass(frozen=True)
class ActivationShard:
    """MLP ``inputs`` and ``outputs`` (n, n_layers, d_model) of tokens ``start … start + n − 1`` out of ``total``."""

    inputs: torch.Tensor
    outputs: torch.Tensor
    start: int
    total: int

    def __post_init__(self):
        if self.inputs.shape[0] != self.outputs.shape[0]:
            raise ValueError(f"inputs ({self.inputs.shape[0]}) and outputs ({self.outputs.shape[0]}) count different tokens")
        if not 0 <= self.start <= self.start + len(self) <= self.total:
            raise ValueError(f"tokens {self.start}…{self.start + len(self)} do not lie within 0…{self.total}")

    def __len__(self) -> int:
        return self.inputs.shape[0]

    @property
    def stop(self) -> int:
        return self.start + len(self)

    @property
    def is_whole(self) -> bool:
        return self.start == 0 and len(self) == self.total

    @classmethod
    def whole(cls, activations) -> "ActivationShard":
        """Every token of ``activations`` = (inputs, outputs), owned by one process."""
        inputs, outputs = activations
        return cls(inputs, outputs, 0, inputs.shape[0])

    def part(self, rank: int, world_size: int) -> "ActivationShard":
        """Process ``rank``'s contiguous share of a whole set (when every process holds it all)."""
        if not self.is_whole:
            raise ValueError("only a whole token set can be split again")
        lo, hi = split(self.total, world_size)[rank]
        return ActivationShard(self.inputs[lo:hi], self.outputs[lo:hi], lo, self.total)

    def to(self, device) -> "ActivationShard":
        return ActivationShard(self.inputs.to(device), self.outputs.to(device), self.start, self.total)


def split(n: int, world_size: int) -> list[tuple[int, int]]:
    """``n`` items in ``world_size`` contiguous ranges whose lengths differ by at most one."""
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, got {world_size}")
    return [(n * r // world_size, n * (r + 1) // world_size) for r in range(world_size)]


def _keep(world, tokens: torch.Tensor) -> torch.Tensor:
    return tokens != world.tokenizer.pad_token_id


def organism_activation_shard(model, world, n_sentences: int, seed: int, rank: int, world_size: int) -> ActivationShard:
    """Process ``rank``'s part of ``organism_activations(model, world, n_sentences, seed)``, computed from the model.

    Every process draws the same sentences (cheap) and runs the model on its own rows only.
    """
    tokens = world.sample_tokens(n_sentences, seed)
    keep = _keep(world, tokens)
    lo, hi = split(n_sentences, world_size)[rank]
    inputs, outputs = mlp_activations(model, tokens[lo:hi], keep[lo:hi])
    return ActivationShard(inputs, outputs, int(keep[:lo].sum()), int(keep.sum()))


def write_activation_shards(model, world, n_sentences: int, seed: int, directory, *, rows_per_file: int = 512,
                            rank: int = 0, world_size: int = 1) -> Path:
    """Write ``organism_activations(model, world, n_sentences, seed)`` to ``directory`` as safetensors files.

    ``shard-00000.safetensors`` … hold ``inputs`` and ``outputs`` of ``rows_per_file`` sentences each
    (padding dropped); ``index.json`` says which tokens each holds. Processes split the files, so there
    should be at least as many files as processes. With a multiple of 512 (``mlp_activations``'s batch)
    the values are bit for bit those of ``organism_activations``. With ``world_size`` processes, process
    ``rank`` writes every ``world_size``-th file. A file is written to a temporary name and renamed, so one
    that exists is complete; files already there are kept (the activations are written once).
    Returns the directory. The caller waits for every process before reading (a barrier).
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokens = world.sample_tokens(n_sentences, seed)
    keep = _keep(world, tokens)
    rows = [(lo, min(lo + rows_per_file, n_sentences)) for lo in range(0, n_sentences, rows_per_file)]
    files = [f"shard-{i:05d}.safetensors" for i in range(len(rows))]
    index = {
        "world": world.name, "n_sentences": n_sentences, "seed": seed, "n_layers": model.cfg.n_layers,
        "d_model": model.cfg.d_model, "total": int(keep.sum()),
        "files": [{"file": f, "rows": [lo, hi], "tokens": int(keep[lo:hi].sum())} for f, (lo, hi) in zip(files, rows)],
    }
    if rank == 0:
        _write_atomically(directory / INDEX, lambda path: path.write_text(json.dumps(index, indent=1) + "\n"))
    for i in range(rank, len(files), world_size):
        if not (directory / files[i]).exists():
            lo, hi = rows[i]
            inputs, outputs = mlp_activations(model, tokens[lo:hi], keep[lo:hi])
            tensors = {"inputs": inputs.cpu().contiguous(), "outputs": outputs.cpu().contiguous()}
            _write_atomically(directory / files[i], lambda path: save_file(tensors, str(path)))
    return directory


def read_activation_shard(directory, rank: int = 0, world_size: int = 1, *, expect: dict | None = None) -> ActivationShard:
    """Process ``rank``'s part of the activations in ``directory``: a contiguous run of its files.

    ``expect``: fields the index must carry (``{"world": "facts", "n_sentences": 8000, "seed": 0}``),
    so that files written for another recipe are refused rather than trained on.
    """
    from safetensors.torch import load_file

    directory = Path(directory)
    index = json.loads((directory / INDEX).read_text())
    wrong = {k: (index.get(k), v) for k, v in (expect or {}).items() if index.get(k) != v}
    if wrong:
        raise ValueError(f"activations in {directory} were written for another recipe (found, wanted): {wrong}")
    files = index["files"]
    lo, hi = split(len(files), world_size)[rank]
    missing = [f["file"] for f in files[lo:hi] if not (directory / f["file"]).exists()]
    if missing:
        raise FileNotFoundError(f"activation files missing in {directory}: {', '.join(missing)}")
    parts = [load_file(str(directory / f["file"])) for f in files[lo:hi]]
    inputs = torch.cat([p["inputs"] for p in parts]) if parts else torch.empty(0, index["n_layers"], index["d_model"])
    outputs = torch.cat([p["outputs"] for p in parts]) if parts else torch.empty(0, index["n_layers"], index["d_model"])
    start = sum(f["tokens"] for f in files[:lo])
    return ActivationShard(inputs, outputs, start, index["total"])


def _write_atomically(path: Path, write) -> None:
    """``write(temporary_path)``, then rename it to ``path``: readers never see half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(temporary)
    os.replace(temporary, path)
