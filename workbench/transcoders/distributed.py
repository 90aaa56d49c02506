"""Data-parallel training across processes with PyTorch's own engine (``torch.distributed``).

``torchrun --nproc-per-node N`` starts N processes and tells each its ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE``; ``init()`` joins them into one process group (gloo on the CPU, NCCL on CUDA), and
``train_clt`` (``workbench.transcoders.training``) then trains one transcoder with
``DistributedDataParallel``. Without torchrun nothing here is called and training is the one-process
computation it always was.

How N processes compute the one-process gradient (up to float rounding): every process draws the
same global batch of B token indices from the same seeded generator; process r owns a contiguous
range of the tokens (``workbench.activations.shards``) and takes the b_r indices of the batch that
fall in it. The loss is a mean over the batch, so process r weights its own mean by b_r·N/B; DDP
averages the N gradients, which gives Σ_r (b_r/B) ∇(mean over r's tokens) = ∇(mean over the batch).
Statistics of the whole set (b_dec's initial value, each layer's output scale) are all-reduced sums.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's ``rank`` among ``size`` processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world() -> World:
    """The process group this process belongs to, or a world of one if none was started."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init(device: str | None = None) -> torch.device:
    """Join the process group torchrun described in the environment; return this process's device.

    Backend by device: NCCL when CUDA is used (process ``LOCAL_RANK`` takes GPU ``LOCAL_RANK``), gloo
    on the CPU. ``device`` ("cpu", "cuda") overrides the choice; by default CUDA if available.
    Does nothing but pick the device when not launched by torchrun or when already joined.
    """
    use_cuda = torch.cuda.is_available() if device is None else torch.device(device).type == "cuda"
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    chosen = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(chosen)
    if launched_by_torchrun() and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", device_id=chosen if use_cuda else None)
    return chosen


def close() -> None:
    """Leave the process group (after a last barrier so that no process leaves while others write)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if world().size > 1:
        dist.barrier()


def launch(fn, world_size: int, *args) -> None:
    """Run ``fn(*args)`` in ``world_size`` CPU processes joined by gloo: torchrun's job, from Python.

    This process is rank 0 (so it pays no second start-up); ``world_size − 1`` processes are spawned
    as ranks 1, 2, … For tests, benchmarks and notebooks: ``fn`` must be importable by name (a
    module-level function). Spawned processes take the thread count of ``workbench.runtime``.
    Rendezvous through a file in a temporary directory (no port to choose).
    """
    import torch.multiprocessing as mp

    if dist.is_initialized():
        raise RuntimeError("this process already belongs to a process group")
    with tempfile.TemporaryDirectory() as directory:
        init_method = f"file://{directory}/rendezvous"
        others = None
        if world_size > 1:
            others = mp.start_processes(_spawned, args=(world_size, init_method, fn, args),
                                        nprocs=world_size - 1, join=False, start_method="spawn")
        try:
            _joined(0, world_size, init_method, fn, args)
        except BaseException:
            for process in others.processes if others else []:
                process.terminate()
            raise
        while others is not None and not others.join():
            pass


def _spawned(index: int, world_size: int, init_method: str, fn, args) -> None:
    from workbench.runtime import set_threads

    set_threads()
    _joined(index + 1, world_size, init_method, fn, args)


def _joined(rank: int, world_size: int, init_method: str, fn, args) -> None:
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world_size)
    try:
        fn(*args)
    finally:
        close()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over every process (in place; itself in a world of one)."""
    if world().size > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


@torch.no_grad()
def output_statistics(outputs: torch.Tensor, total: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean MLP output (L, d) and each layer's mean squared distance from it (L,), over every process's tokens.

    ``outputs``: this process's (n, L, d); ``total``: the number of tokens of all processes together.
    Summed in float64 so that the result does not depend on how the tokens are split.
    """
    mean = all_reduce_sum(outputs.double().sum(0)) / total
    scale = all_reduce_sum((outputs.double() - mean).pow(2).sum(-1).sum(0)) / total
    return mean.to(outputs.dtype), scale.to(outputs.dtype)


def owned(batch: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Positions, within this process's tokens ``start … stop − 1``, of the batch indices that fall there."""
    return batch[(batch >= start) & (batch < stop)] - start


def batch_means(parts: dict, share: float, device=None) -> dict:
    """Loss parts of the whole batch from each process's parts (means over its ``share`` of the batch)."""
    flat = torch.tensor([parts["reconstruction"], parts["sparsity"], *parts["l0"]], dtype=torch.float64, device=device)
    flat = flat * share
    flat = all_reduce_sum(flat).tolist()
    return {"reconstruction": flat[0], "sparsity": flat[1], "l0": flat[2:]}
