"""Data-parallel transcoder training (``workbench.transcoders.distributed``) on two CPU processes with gloo.

Two processes, each computing its own part of the activations from the facts organism, train a
cross-layer and a per-layer transcoder; they must give the one-process run on the same global
batches (float rounding only: the activations are bitwise those of one process, but the gradient is
summed in another order): at every step the loss parts within ``LOSS_RTOL`` relative and L0 within
``L0_TOL``; at the end every weight tensor within ``WEIGHT_RTOL`` in relative norm, ‖Δw‖ / ‖w‖.
Single weights can differ more: Adam divides a gradient by its running size, so a rounding-level
gradient on a feature that barely fires moves its threshold by up to ~lr (measured: 6.6e-6 of the
tensor's largest weight after these 12 steps; one per-layer threshold 1e-4 off, 3.6e-5 of the largest,
after 16). A run stopped
halfway and resumed from its checkpoint must end bit for bit where the uninterrupted run ends.
Tiny configs (96 sentences, 12 steps) so that the whole module takes well under a minute.
"""

from __future__ import annotations

import json
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

from workbench import organisms
from workbench.activations import organism_activations
from workbench.activations.shards import organism_activation_shard, read_activation_shard, write_activation_shards
from workbench.transcoders import distributed
from workbench.transcoders.model import CLTConfig
from workbench.transcoders.training import CLTTrainConfig, train_clt

CONFIG = CLTTrainConfig(n_sentences=96, steps=12, batch_size=256)
STOP = 5  # the resumed run stops after this many steps, then continues from its checkpoint
LOSS_RTOL = 1e-6  # measured: at most 1.2e-7 (2.4e-7 with 16 steps)
L0_TOL = 1e-5  # measured: at most 7.7e-7 (a mean of 0/1 counts in float32; no feature flipped)
WEIGHT_RTOL = 1e-5  # measured: at most 1.7e-7 (3.2e-6 with 16 steps, a per-layer transcoder's thresholds)
KINDS = {"clt": True, "plt": False}


def shape(model, cross_layer: bool) -> CLTConfig:
    return CLTConfig(model.cfg.n_layers, model.cfg.d_model, d_features=64, cross_layer=cross_layer)


def _weights(clt) -> dict:
    return {k: v.detach().clone().contiguous() for k, v in clt.state_dict().items()}


def _two_processes(out: str) -> None:
    """What each of the two processes runs (module level, so that spawned processes can import it)."""
    world = distributed.world()
    model, facts = organisms.load("facts")
    shard = organism_activation_shard(model, facts, CONFIG.n_sentences, CONFIG.seed, world.rank, world.size)
    tensors, histories = {}, {}
    for kind, cross_layer in KINDS.items():
        histories[kind] = []
        clt = train_clt(shard, shape(model, cross_layer), CONFIG, progress=False, history=histories[kind], log_every=1)
        tensors.update({f"{kind}.{k}": v for k, v in _weights(clt).items()})
    checkpoint = f"{out}/state.safetensors"
    stopped = train_clt(shard, shape(model, True), CONFIG, progress=False, checkpoint=checkpoint, stop_after=STOP)
    tensors.update({f"stopped.{k}": v for k, v in _weights(stopped).items()})
    resumed = train_clt(shard, shape(model, True), CONFIG, progress=False, checkpoint=checkpoint)
    tensors.update({f"resumed.{k}": v for k, v in _weights(resumed).items()})
    save_file(tensors, f"{out}/rank{world.rank}.safetensors")
    if world.is_main:
        with open(f"{out}/histories.json", "w") as f:
            json.dump({**histories, "tokens": [len(shard), shard.start, shard.total]}, f)


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    start = time.perf_counter()
    distributed.launch(_two_processes, 2, str(out))
    print(f"\ntwo gloo processes: {time.perf_counter() - start:.1f} s wall (start-up, activations, 4 trainings)")
    ranks = [load_file(str(out / f"rank{rank}.safetensors")) for rank in range(2)]
    return ranks, json.loads((out / "histories.json").read_text())


@pytest.fixture(scope="module")
def one_process_run():
    model, facts = organisms.load("facts")
    activations = organism_activations(model, facts, CONFIG.n_sentences, CONFIG.seed)
    runs = {}
    for kind, cross_layer in KINDS.items():
        history = []
        clt = train_clt(activations, shape(model, cross_layer), CONFIG, progress=False, history=history, log_every=1)
        runs[kind] = (_weights(clt), history)
    return runs


@pytest.mark.parametrize("kind", KINDS)
def test_two_processes_train_the_one_process_transcoder(kind, two_process_run, one_process_run):
    (rank0, _), histories = two_process_run
    weights, history = one_process_run[kind]
    parallel = histories[kind]
    assert [h["step"] for h in parallel] == [h["step"] for h in history] == list(range(1, CONFIG.steps + 1))
    loss_error = max(abs(p[key] - h[key]) / abs(h[key]) for p, h in zip(parallel, history)
                     for key in ("reconstruction", "sparsity"))
    l0_error = max(abs(a - b) for p, h in zip(parallel, history) for a, b in zip(p["l0"], h["l0"]))
    weight_error = max(((rank0[f"{kind}.{k}"] - v).norm() / v.norm()).item() for k, v in weights.items())
    largest = max(((rank0[f"{kind}.{k}"] - v).abs().max() / v.abs().max()).item() for k, v in weights.items())
    print(f"\n{kind}: {CONFIG.steps} steps; max relative loss difference {loss_error:.1e}, max L0 difference "
          f"{l0_error:.1e}, max ‖Δw‖/‖w‖ {weight_error:.1e} (largest single weight difference {largest:.1e} "
          f"of its tensor's largest weight)")
    assert loss_error <= LOSS_RTOL
    assert l0_error <= L0_TOL
    assert weight_error <= WEIGHT_RTOL
    assert history[-1]["reconstruction"] < history[0]["reconstruction"]  # it did train


def test_every_process_holds_the_same_weights(two_process_run):
    (rank0, rank1), _ = two_process_run
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)


def test_the_processes_split_the_tokens(two_process_run):
    _, histories = two_process_run
    n, start, total = histories["tokens"]
    assert start == 0 and 0 < n < total  # rank 0 owns the first part, rank 1 the rest


def test_a_resumed_run_continues_where_it_stopped(two_process_run):
    (rank0, _), _ = two_process_run
    names = [k[len("clt."):] for k in rank0 if k.startswith("clt.")]
    assert all(torch.equal(rank0[f"resumed.{k}"], rank0[f"clt.{k}"]) for k in names)
    assert not all(torch.equal(rank0[f"stopped.{k}"], rank0[f"clt.{k}"]) for k in names)


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    x = torch.randn(64, 2, 8)
    activations, checkpoint = (x, 0.5 * x), tmp_path / "state.safetensors"
    train_clt(activations, CLTConfig(2, 8, 16), CLTTrainConfig(steps=4, batch_size=16), progress=False,
              checkpoint=checkpoint)
    with pytest.raises(ValueError, match="another run: its config differ"):
        train_clt(activations, CLTConfig(2, 8, 16), CLTTrainConfig(steps=5, batch_size=16), progress=False,
                  checkpoint=checkpoint)


def test_streamed_activations_are_the_computed_ones(tmp_path):
    """Written once to sharded safetensors files, read back by two processes: the same tokens, split the same way."""
    model, facts = organisms.load("facts")
    n = CONFIG.n_sentences
    directory = write_activation_shards(model, facts, n, 0, tmp_path, rows_per_file=32)
    inputs, outputs = organism_activations(model, facts, n, 0)
    parts = [read_activation_shard(directory, rank, 2, expect={"world": "facts", "n_sentences": n}) for rank in range(2)]
    assert [p.start for p in parts] == [0, len(parts[0])] and parts[0].total == inputs.shape[0]
    torch.testing.assert_close(torch.cat([p.inputs for p in parts]), inputs, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(torch.cat([p.outputs for p in parts]), outputs, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="another recipe"):
        read_activation_shard(directory, expect={"seed": 1})
    whole = read_activation_shard(write_activation_shards(model, facts, n, 0, tmp_path / "aligned"))  # 512-row files
    assert whole.is_whole and torch.equal(whole.inputs, inputs) and torch.equal(whole.outputs, outputs)
