"""Training a cross-layer (or per-layer) transcoder on an organism's MLP inputs and outputs.

Activations come from the organism's own training distribution: ``<bos> sentence`` rows, padding
dropped. The loss is the paper's (``workbench.transcoders.model``): reconstruction error of every MLP output, each
layer's divided by that layer's mean squared output norm so that layers count alike, plus the tanh
sparsity penalty (its coefficient ramps up linearly over training, as in the paper) and the
pre-activation loss against dead features.

The same loop trains in one process or data-parallel in several (``torchrun``; the maths is in
``workbench.transcoders.distributed``), and can stop and resume from a training checkpoint
(safetensors: weights, Adam's moments, the batch generator's state and the step).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from workbench.activations.shards import ActivationShard
from workbench.config_checks import non_negative_numbers, positive_ints, positive_numbers
from workbench.transcoders import distributed
from workbench.transcoders.model import CLTConfig, CrossLayerTranscoder


@dataclass(frozen=True)
class CLTTrainConfig:
    """How to train a transcoder: data, optimiser and the loss coefficients."""

    n_sentences: int = 8000
    steps: int = 2000
    batch_size: int = 1024  # tokens
    lr: float = 2e-3
    sparsity_coefficient: float = 5e-4  # λ_S, reached at the end of training
    tanh_scale: float = 4.0  # c
    preact_coefficient: float = 3e-6  # λ_P
    seed: int = 0

    def __post_init__(self):
        positive_ints(self, ("n_sentences", "steps", "batch_size"))
        positive_numbers(self, ("lr", "tanh_scale"))
        non_negative_numbers(self, ("sparsity_coefficient", "preact_coefficient"))


def clt_loss(clt: CrossLayerTranscoder, x, y, output_scale, sparsity_coefficient: float, config: CLTTrainConfig):
    """(total loss, parts) for one batch; ``output_scale``: (n_layers,) mean squared norm of each layer's y."""
    pre = clt.pre_activations(x)
    features = clt.encode(x)
    y_hat = clt.decode(features)
    reconstruction = ((y_hat - y).pow(2).sum(-1).mean(0) / output_scale).sum()
    sparsity = torch.tanh(config.tanh_scale * features * clt.decoder_norms()).sum((1, 2)).mean()
    preact = torch.relu(clt.threshold - pre).sum((1, 2)).mean()
    total = reconstruction + sparsity_coefficient * sparsity + config.preact_coefficient * preact
    l0 = (features > 0).float().sum(-1).mean(0)
    return total, {"reconstruction": reconstruction.item(), "sparsity": sparsity.item(), "l0": l0.tolist()}


def train_clt(activations, clt_config: CLTConfig, config: CLTTrainConfig = CLTTrainConfig(), *,
              progress: bool = True, history: list | None = None, log_every: int = 100,
              checkpoint=None, checkpoint_every: int = 100, stop_after: int | None = None,
              organism: str | None = None) -> CrossLayerTranscoder:
    """Train a transcoder on ``activations`` = (inputs, outputs), each (n_tokens, n_layers, d_model).

    Deterministic: initial weights and batches draw from generators seeded with ``config.seed``.
    ``history``, if given, receives the loss parts every ``log_every`` steps (and at the last). ``organism``
    names whose activations these are; the transcoder keeps it, and refuses to replace another organism's MLPs.

    Data-parallel when ``torch.distributed`` is initialised with several processes (``torchrun``):
    ``activations`` is then this process's ``ActivationShard`` (or the whole set, of which each process
    takes its part); the batches are the one-process batches and the gradient is theirs up to float
    rounding (``workbench.transcoders.distributed``). Only process 0 shows progress and writes.

    ``checkpoint``: a path for the training state, written every ``checkpoint_every`` steps and at the
    end, atomically; if it exists, training resumes from it. ``stop_after``: stop after that many
    steps of ``config.steps`` (the schedules stay those of ``config.steps``) and return the transcoder
    as it is then; resuming from its checkpoint continues the same run.
    """
    from tqdm.auto import tqdm

    shard = activations if isinstance(activations, ActivationShard) else ActivationShard.whole(activations)
    x_all, y_all = shard.inputs, shard.outputs
    if x_all.shape != y_all.shape or x_all.shape[1:] != (clt_config.n_layers, clt_config.d_model):
        raise ValueError(f"activations of shape {tuple(x_all.shape)} and {tuple(y_all.shape)} do not fit {clt_config}")
    world = distributed.world()
    if world.size > 1 and shard.is_whole:
        shard = shard.part(world.rank, world.size)
        x_all, y_all = shard.inputs, shard.outputs
    elif world.size == 1 and not shard.is_whole:
        raise ValueError(f"tokens {shard.start}…{shard.stop} of {shard.total}: one process trains on all of them")
    if len(shard) == 0:
        raise ValueError(f"process {world.rank} of {world.size} owns no tokens: use fewer processes, more sentences or smaller activation files")
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        clt = CrossLayerTranscoder(clt_config, organism).to(x_all.device)
    if world.size == 1:  # exactly the one-process computation, kept as it always was
        with torch.no_grad():
            clt.b_dec.copy_(y_all.mean(0))
        output_scale = (y_all - y_all.mean(0)).pow(2).sum(-1).mean(0)
    else:
        mean, output_scale = distributed.output_statistics(y_all, shard.total)
        with torch.no_grad():
            clt.b_dec.copy_(mean)
    optimizer = torch.optim.Adam(clt.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, 2 * (1 - step / config.steps)))
    generator = torch.Generator().manual_seed(config.seed)
    first = 0
    if checkpoint is not None and Path(checkpoint).exists():
        first = load_training_state(checkpoint, clt, optimizer, generator, clt_config, config, shard.total)
        scheduler.last_epoch = first  # the learning rate itself came back with the optimizer's state
    last = config.steps if stop_after is None else min(config.steps, stop_after)
    parallel = None
    if world.size > 1:
        device_ids = [x_all.device] if x_all.device.type == "cuda" else None
        parallel = nn.parallel.DistributedDataParallel(_WeightedLoss(clt, config), device_ids=device_ids)
    bar = tqdm(range(first, last), desc="training transcoder", disable=not (progress and world.is_main))
    for step in bar:
        batch = torch.randint(shard.total, (config.batch_size,), generator=generator)
        ramp = config.sparsity_coefficient * (step + 1) / config.steps
        if parallel is None:
            loss, parts = clt_loss(clt, x_all[batch], y_all[batch], output_scale, ramp, config)
        else:
            mine = distributed.owned(batch, shard.start, shard.stop)
            share = mine.numel() / config.batch_size
            if mine.numel() == 0:  # still take part in the gradient all-reduce, with a zero gradient
                mine = torch.zeros(1, dtype=torch.long)
            mine = mine.to(x_all.device)
            loss, parts = parallel(x_all[mine], y_all[mine], output_scale, ramp, share * world.size)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if step % log_every == 0 or step == config.steps - 1:
            if parallel is not None:
                parts = distributed.batch_means(parts, share, x_all.device)
            bar.set_postfix(nmse=f"{parts['reconstruction'] / clt_config.n_layers:.3f}", l0=f"{sum(parts['l0']):.1f}")
            if history is not None:
                history.append({"step": step + 1, **parts})
        if checkpoint is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == last):
            if world.is_main:
                save_training_state(checkpoint, step + 1, clt, optimizer, generator, clt_config, config, shard.total)
            distributed.barrier()
    clt.eval()
    return clt


def train_rescaled_clt(inputs: torch.Tensor, outputs: torch.Tensor, clt_config: CLTConfig,
                       config: CLTTrainConfig = CLTTrainConfig(), *, device="cpu", **options) -> CrossLayerTranscoder:
    """``train_clt`` on MLP ``inputs`` and ``outputs`` (n_tokens, n_layers, d_model) whose norms differ from
    layer to layer, and the transcoder that reads and writes them as they are.

    A real model's residual norms grow from ~3 to ~600 with depth: each layer's inputs and outputs are
    divided (in place) by their mean norm over √d_model, so that they train at mean norm √d_model,
    where the JumpReLU's threshold and bandwidth mean the same at every layer; the scales are then
    folded back into the weights (``CrossLayerTranscoder.fold_scales``). ``options`` go to ``train_clt``.
    """
    root_d = inputs.shape[2] ** 0.5
    input_scale = inputs.norm(dim=-1).mean(0) / root_d  # (n_layers,)
    output_scale = outputs.norm(dim=-1).mean(0) / root_d
    inputs /= input_scale[:, None]
    outputs /= output_scale[:, None]
    clt = train_clt((inputs.to(device), outputs.to(device)), clt_config, config, **options)
    return clt.fold_scales(input_scale.to(device), output_scale.to(device))


class _WeightedLoss(nn.Module):
    """``clt_loss`` × weight, as a module so that DistributedDataParallel sees the forward pass it syncs."""

    def __init__(self, clt: CrossLayerTranscoder, config: CLTTrainConfig):
        super().__init__()
        self.clt, self.config = clt, config

    def forward(self, x, y, output_scale, sparsity_coefficient: float, weight: float):
        loss, parts = clt_loss(self.clt, x, y, output_scale, sparsity_coefficient, self.config)
        return loss * weight, parts


# --- Training checkpoints: resume where a run stopped ----------------------------------------------


def save_training_state(path, step: int, clt: CrossLayerTranscoder, optimizer, generator: torch.Generator,
                        clt_config: CLTConfig, config: CLTTrainConfig, n_tokens: int) -> Path:
    """Write everything a run needs to continue after ``step`` steps to ``path`` (safetensors), atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = optimizer.state_dict()
    tensors = {f"clt.{k}": v.detach().cpu().contiguous() for k, v in clt.state_dict().items()}
    for index, moments in state["state"].items():
        tensors.update({f"adam.{index}.{k}": v.detach().cpu().contiguous() for k, v in moments.items()})
    tensors["generator"] = generator.get_state()
    metadata = {
        "step": str(step), "n_tokens": str(n_tokens), "param_groups": json.dumps(state["param_groups"]),
        "clt_config": json.dumps(asdict(clt_config), sort_keys=True), "config": json.dumps(asdict(config), sort_keys=True),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(tensors, str(temporary), metadata=metadata)
    os.replace(temporary, path)
    return path


def load_training_state(path, clt: CrossLayerTranscoder, optimizer, generator: torch.Generator,
                        clt_config: CLTConfig, config: CLTTrainConfig, n_tokens: int) -> int:
    """Restore a run saved by ``save_training_state`` into ``clt``, ``optimizer`` and ``generator``; return its step.

    Refuses a checkpoint of another shape, another training config or another token set.
    """
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    expected = {"clt_config": json.dumps(asdict(clt_config), sort_keys=True),
                "config": json.dumps(asdict(config), sort_keys=True), "n_tokens": str(n_tokens)}
    wrong = [k for k, v in expected.items() if metadata[k] != v]
    if wrong:
        raise ValueError(f"checkpoint {path} belongs to another run: its {', '.join(wrong)} differ; "
                         f"delete it or choose another path")
    device = next(clt.parameters()).device
    clt.load_state_dict({k[len("clt."):]: v for k, v in tensors.items() if k.startswith("clt.")})
    moments: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("adam."):
            _, index, name = key.split(".")
            moments.setdefault(int(index), {})[name] = value if name == "step" else value.to(device)
    groups = [{**group, "betas": tuple(group["betas"])} for group in json.loads(metadata["param_groups"])]
    optimizer.load_state_dict({"state": moments, "param_groups": groups})
    generator.set_state(tensors["generator"])
    return int(metadata["step"])
