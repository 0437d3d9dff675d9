"""Data-parallel training on ``torch.distributed``: one model, trained by N processes at once.

Every process (a *rank*) holds the whole model and the whole in-memory data. Each epoch all
ranks draw the same seeded permutation; a global batch of ``N x batch_size`` examples is the
very batch a one-process run with that batch size would take, and rank ``r`` trains on its
``r``-th contiguous piece of it. ``DistributedDataParallel`` averages the gradients weighted by
each rank's share of the global batch (the last batch may split unevenly), so the update is that
of one process on the whole batch, up to the order floating-point sums are taken in.

What is kept in step across ranks:

- the weights: DDP broadcasts rank 0's at the start, then every update is the same everywhere;
- the logs: every update's loss and metrics are all-reduced into the global batch's means, so
  every rank logs, guards against divergence and stops early alike;
- the decision to stop: Ctrl-C on any rank, or a callback's ``stop_training``, is all-reduced
  at every update boundary, so all ranks stop after the same update (no rank waits forever);
- BatchNorm statistics, with ``sync_bn`` (:mod:`.sync_bn`); without it each rank normalises by
  its own piece of the batch and rank 0's running statistics are kept.

Rank 0 alone writes files and prints; :mod:`classicnets.runs.pipeline` arranges that. Process
groups come from the environment ``torchrun`` sets (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``): gloo on CPUs, NCCL on CUDA GPUs.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..errors import ClassicnetsError
from .batching import Batches, TensorBatches
from .setup import resolve_device
from .sync_bn import convert_batchnorm

if TYPE_CHECKING:
    from .model import Model

# "RANK:UPDATE": that rank exits at once (os._exit) after that many updates; the tests'
# stand-in for a process that crashes or is killed mid-run.
FAULT_ENV = "CLASSICNETS_FAULT"


# set for the processes ``classicnets train --nproc`` starts: the launcher itself says which
# rank failed, in one sentence, so the others need not say they lost it
LAUNCHED_ENV = "CLASSICNETS_LAUNCHED"


class LostPeerError(ClassicnetsError):
    """Another rank left the run (it crashed, was killed, or the network failed)."""

    exit_code = 3  # tells the launcher this rank did not fail first


def torchrun_world() -> int | None:
    """The number of processes torchrun started this one among, or None outside torchrun."""
    world = os.environ.get("WORLD_SIZE")
    return int(world) if world is not None else None


def rank_from_env() -> int:
    """This process's rank (0 outside torchrun)."""
    return int(os.environ.get("RANK", "0"))


def is_network_failure(err: BaseException) -> bool:
    """Whether ``err`` is a collective that failed because a peer went away."""
    if isinstance(err, dist.DistError):
        return True
    text = str(err)
    return any(word in text for word in ("gloo", "Gloo", "NCCL", "Connection closed", "peer"))


class DataParallel:
    """This process's place in a data-parallel run, and the collectives the trainer needs.

    Args:
        rank: this process's rank, 0 to ``world - 1``.
        world: the number of processes.
        device: the device this rank trains on.
    """

    def __init__(self, rank: int, world: int, device: torch.device) -> None:
        self.rank, self.world, self.device = rank, world, device
        self.share = 1.0  # this rank's fraction of the current global batch
        self.updates = 0
        fault = os.environ.get(FAULT_ENV, "")
        self.fault = tuple(int(part) for part in fault.split(":")) if fault else None

    @property
    def lead(self) -> bool:
        """Rank 0: the one that writes and prints."""
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str | torch.device | None = "auto") -> DataParallel | None:
        """Join the process group torchrun describes in the environment (None for a
        one-process run): gloo on CPUs, NCCL on CUDA GPUs, one GPU per local rank."""
        world = torchrun_world()
        if world is None or world < 2:
            return None
        rank, local = rank_from_env(), int(os.environ.get("LOCAL_RANK", "0"))
        chosen = resolve_device(device)
        if chosen.type == "cuda":
            if local >= torch.cuda.device_count():
                raise ClassicnetsError(
                    f"Local rank {local} needs GPU {local}, but this machine has "
                    f"{torch.cuda.device_count()}; start at most that many processes per node."
                )
            torch.cuda.set_device(local)
            chosen, backend = torch.device("cuda", local), "nccl"
        elif chosen.type == "cpu":
            backend = "gloo"
        else:
            raise ClassicnetsError(
                f"Data-parallel training runs on CPUs (gloo) or CUDA GPUs (NCCL), not on "
                f"{chosen.type}; pass --device cpu."
            )
        if not dist.is_initialized():
            dist.init_process_group(backend, rank=rank, world_size=world)
        return cls(rank, world, chosen)

    def close(self, together: bool = True) -> None:
        """Leave the process group; ``together``: once every rank is done (a rank that tore
        its group down and exited while rank 0 still scored the run was aborted by gloo's
        threads, SIGABRT). After a failure, leave at once: the others may be mid-collective."""
        if not dist.is_initialized():
            return
        if together:
            try:
                dist.barrier()
            except RuntimeError:  # a peer is gone already: leave anyway
                pass
        dist.destroy_process_group()

    # ----------------------------------------------------------- collectives
    def lost(self, err: BaseException) -> LostPeerError:
        """The sentence for a collective that failed because another rank went away."""
        other = f"rank {1 - self.rank}" if self.world == 2 else "another rank"
        lines = str(err).strip().splitlines() or [type(err).__name__]
        first = re.sub(r"\[[^\]]*\]:?\s*", "", lines[0]).split(". ")[0]  # gloo's [file:line]
        return LostPeerError(
            f"Rank {self.rank} of {self.world} stopped after update {self.updates}: {other} "
            f"left the run (it crashed, was killed or lost the network: {first[:160]})."
        )

    def all_reduce(self, tensor: torch.Tensor, op=dist.ReduceOp.SUM) -> torch.Tensor:
        """``tensor`` summed (or ``op``-ed) over all ranks, in place."""
        try:
            dist.all_reduce(tensor, op=op)
        except RuntimeError as err:
            if is_network_failure(err):
                raise self.lost(err) from None
            raise
        return tensor

    def reduce_logs(self, logs: dict[str, Any], examples: int) -> tuple[dict[str, Any], int]:
        """One update's logs as means over the global batch, and its number of examples."""
        self.updates += 1
        if self.fault is not None and self.fault == (self.rank, self.updates):
            os._exit(17)
        names = list(logs)
        count = torch.tensor([float(examples)], dtype=torch.float64, device=self.device)
        values = [torch.as_tensor(logs[k], device=self.device).detach().double() for k in names]
        packed = self.all_reduce(torch.cat([torch.stack(values) * examples, count]))
        total = packed[-1]
        means = (packed[:-1] / total).float()
        return {k: means[i] for i, k in enumerate(names)}, int(total.item())

    def agree(self, pressed: bool, stop: bool) -> tuple[bool, bool]:
        """Whether any rank was interrupted, and whether any rank's callbacks stopped."""
        flags = torch.tensor([int(pressed), int(stop)], device=self.device)
        self.all_reduce(flags, dist.ReduceOp.MAX)
        return bool(flags[0]), bool(flags[1])

    # ------------------------------------------------------------------ data
    def shard(self, batches: Batches) -> ShardedBatches:
        """This rank's pieces of the global batches of ``batches``."""
        if not isinstance(batches, TensorBatches):
            raise ClassicnetsError(
                "Data-parallel training takes in-memory data (an ImageDataset or an (inputs, "
                f"targets) pair of tensors), not {type(batches).__name__}; train it in one "
                "process."
            )
        return ShardedBatches(batches, self)

    # ----------------------------------------------------------------- model
    def wrap(self, model: Model, sync_bn: bool = False) -> None:
        """Make ``model`` train as this rank of the run: BatchNorm synchronised if asked, its
        forward through DDP with the share-weighted gradient average."""
        if sync_bn:
            convert_batchnorm(model.module, self)
        ids = [self.device.index] if self.device.type == "cuda" else None
        try:
            ddp = DistributedDataParallel(model.module, device_ids=ids)
        except RuntimeError as err:
            if is_network_failure(err):
                raise self.lost(err) from None
            raise
        ddp.register_comm_hook(self, _weighted_average)
        compiled = model.config is not None and model.config.compile
        model._forward = torch.compile(ddp) if compiled else ddp
        model.distributed = self


def _weighted_average(context: DataParallel, bucket):
    """DDP's gradient all-reduce, each rank's gradients weighted by its share of the batch
    (unannotated: DDP compares annotations with objects, and this module's are strings)."""
    tensor = bucket.buffer().mul_(context.share)
    work = dist.all_reduce(tensor, async_op=True)
    return work.get_future().then(lambda done: done.value()[0])


class ShardedBatches(Batches):
    """One rank's contiguous piece of each global batch of a :class:`TensorBatches` whose
    batch size is the global one.

    Raises:
        ClassicnetsError: a batch would leave a rank without examples.
    """

    def __init__(self, batches: TensorBatches, context: DataParallel) -> None:
        self.inner, self.context = batches, context
        self.examples, self.steps = batches.examples, batches.steps
        world, size = context.world, batches.batch_size
        last = self.examples - (self.steps - 1) * size
        if last < world:
            raise ClassicnetsError(
                f"{self.examples:,} examples in global batches of {size:,} ({world} processes "
                f"x {size // world:,}) leave {last} for the last batch, fewer than the {world} "
                "processes; use fewer processes or another batch size."
            )

    def plan(self) -> dict[str, int]:
        return {**self.inner.plan(), "processes": self.context.world}

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        inner, rank, world = self.inner, self.context.rank, self.context.world
        order, size = inner.order(epoch), inner.batch_size
        for step in range(start, inner.steps):
            index = order[step * size : (step + 1) * size]
            low, high = rank * len(index) // world, (rank + 1) * len(index) // world
            self.context.share = (high - low) / len(index)
            yield step, inner.take(epoch, index[low:high])


@contextlib.contextmanager
def data_parallel(device: str | torch.device | None = "auto") -> Iterator[DataParallel | None]:
    """The run's :class:`DataParallel` under torchrun (None otherwise), left at the end."""
    context = DataParallel.from_env(device)
    try:
        yield context
    except BaseException:
        if context is not None:
            context.close(together=False)
        raise
    if context is not None:
        context.close()
