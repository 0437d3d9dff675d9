"""Batching strategies: how the examples of one epoch are cut into batches (Keras' epoch
iterator, kept outside the trainer).

A strategy knows its number of batches per epoch and yields ``(step, batch)`` for one epoch
from any step on, so a resumed run continues mid-epoch with the batches it would have had:

- :class:`TensorBatches`: in-memory tensors on the training device, a random order per epoch
  drawn from ``(seed, epoch)``, batches by ``index_select`` and augmented on the device. No
  per-example Python and no worker processes: what makes small networks train in seconds.
- :class:`LoaderBatches`: a torch ``Dataset`` (batched here, in the same seeded order) or a
  ``DataLoader`` as it comes.

The language models' strategies (truncated-BPTT streams, scored pieces) are in
:mod:`classicnets.train.text_batches`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import ClassicnetsError
from .state import epoch_seed


class Batches:
    """The interface: ``examples``, ``steps`` per epoch, and :meth:`epoch`."""

    examples: int
    steps: int

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        """``(step, batch)`` for steps ``start, start + 1, ...`` of epoch ``epoch``. The skipped
        steps cost nothing where the strategy can jump (tensors), else they are read."""
        raise NotImplementedError

    def plan(self) -> dict[str, int]:
        """What must match for a checkpoint's position to mean the same step again."""
        return {"examples": self.examples, "steps": self.steps}


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ClassicnetsError(f"The batch size must be a positive integer, got {batch_size!r}.")
    return batch_size


class TensorBatches(Batches):
    """Shuffled (or ordered) batches of in-memory tensors.

    Args:
        x, y: inputs and targets, the same length; moved to ``device`` once.
        batch_size: examples per batch (the last batch takes the rest).
        seed: the run's seed; epoch ``e`` is ordered by a generator seeded from ``(seed, e)``.
        device: the training device.
        augment: ``augment(batch, epoch=, indices=)`` applied to each batch on the device.
        shuffle: False keeps the data's order (evaluation).
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        *,
        seed: int = 0,
        device: torch.device | str = "cpu",
        augment: Any = None,
        shuffle: bool = True,
    ) -> None:
        if len(x) != len(y):
            raise ClassicnetsError(f"Got {len(x)} inputs but {len(y)} targets.")
        if len(x) == 0:
            raise ClassicnetsError("There are no examples to train on.")
        self.x, self.y = x.to(device), y.to(device)
        self.batch_size = check_batch_size(batch_size)
        self.seed, self.augment, self.shuffle = seed, augment, shuffle
        self.examples = len(x)
        self.steps = math.ceil(self.examples / self.batch_size)

    def order(self, epoch: int) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.examples, device=self.x.device)
        generator = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        return torch.randperm(self.examples, generator=generator).to(self.x.device)

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        order = self.order(epoch)
        for step in range(start, self.steps):
            index = order[step * self.batch_size : (step + 1) * self.batch_size]
            yield step, self.take(epoch, index)

    def take(self, epoch: int, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch of the examples at ``index``, augmented as in epoch ``epoch``."""
        # index_select copies whole images; x[index] indexes every byte, ~10x slower on CPU
        batch = self.x.index_select(0, index)
        if self.augment is not None:
            batch = self.augment(batch, epoch=epoch, indices=index)
        return batch, self.y.index_select(0, index)


class LoaderBatches(Batches):
    """Batches from a torch ``Dataset`` or ``DataLoader``.

    A ``Dataset`` is read in a random order drawn from ``(seed, epoch)`` (``shuffle``) by a
    ``DataLoader`` built here, which resumes mid-epoch without reading the skipped examples. A
    given ``DataLoader`` is used as it is: its shuffling draws from the global stream, which the
    trainer seeds per epoch, and a resumed epoch reads and drops the batches before its step.
    """

    def __init__(
        self,
        data: Dataset | DataLoader,
        batch_size: int | None = None,
        *,
        seed: int = 0,
        shuffle: bool = True,
        augment: Any = None,
    ) -> None:
        self.seed, self.shuffle, self.augment = seed, shuffle, augment
        if isinstance(data, DataLoader):
            self.loader, self.dataset = data, None
            self.steps = len(data)
            self.examples = len(data.dataset) if hasattr(data.dataset, "__len__") else self.steps
        else:
            if not hasattr(data, "__len__"):
                raise ClassicnetsError(
                    "A Dataset without a length cannot be batched here; wrap it in a DataLoader."
                )
            self.loader, self.dataset = None, data
            self.batch_size = check_batch_size(batch_size)
            self.examples = len(data)
            self.steps = math.ceil(self.examples / self.batch_size)
        if self.steps == 0:
            raise ClassicnetsError("The data holds no batches to train on.")

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        if self.loader is not None:
            iterator = iter(self.loader)  # draws its order now, from the epoch's stream
            for _ in range(start):
                next(iterator)
        else:
            if self.shuffle:
                generator = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
                order = torch.randperm(self.examples, generator=generator).tolist()
            else:
                order = list(range(self.examples))
            sampler = order[start * self.batch_size :]
            iterator = iter(DataLoader(self.dataset, batch_size=self.batch_size, sampler=sampler))
        return self._numbered(iterator, epoch, start)

    def _numbered(self, iterator, epoch: int, start: int) -> Iterator[tuple[int, Any]]:
        for step, batch in zip(itertools.count(start), iterator, strict=False):
            if not isinstance(batch, list | tuple) or len(batch) < 2:
                raise ClassicnetsError(
                    "Every batch from the data must be an (inputs, targets) pair, got "
                    f"{type(batch).__name__}."
                )
            x, y = batch[0], batch[1]
            if self.augment is not None:
                x = self.augment(x, epoch=epoch)
            yield step, (x, y)
