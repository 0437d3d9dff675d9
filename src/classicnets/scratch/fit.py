"""Mini-batch training of a hand-written :class:`~classicnets.scratch.network.Network` by hand:
shuffle, forward, the δ of every layer, one optimizer update per batch; score the validation
split after every epoch, keep the best weights, stop early when it stops improving. No autograd
and no ``torch.optim``: every step is the one the course writes on the board.

The test split never enters here: the caller scores it once, on the weights this returns."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..errors import ClassicnetsError
from .network import Network
from .optimizers import Optimizer
from .schedules import Schedule


@dataclass
class EpochRecord:
    """What one epoch left: mean training loss, validation loss and accuracy, seconds so far."""

    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    seconds: float
    lr: float


@dataclass
class FitResult:
    """The history of a hand-written training run and the epoch whose weights were kept."""

    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_val_accuracy: float = 0.0
    updates: int = 0
    seconds: float = 0.0
    stopped_early: bool = False


def accuracy(network: Network, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2048) -> float:
    """Fraction of ``x`` that ``network`` (in inference mode) labels as ``y``."""
    right = 0
    for start in range(0, len(x), batch_size):
        logits = network.forward(x[start : start + batch_size], training=False)
        right += int((logits.argmax(dim=1) == y[start : start + batch_size]).sum())
    return right / max(len(x), 1)


def mean_loss(network: Network, x: torch.Tensor, y: torch.Tensor, batch_size: int = 2048) -> float:
    """The loss over all of ``x`` in inference mode (batch means weighted by batch size)."""
    total = 0.0
    for start in range(0, len(x), batch_size):
        part = slice(start, start + batch_size)
        total += network.loss(x[part], y[part], training=False) * len(x[part])
    return total / max(len(x), 1)


def fit(
    network: Network,
    optimizer: Optimizer,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    schedule: Schedule | None = None,
    patience: int | None = None,
    seed: int = 0,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_update: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Train ``network`` by hand-written backpropagation; leave it holding the best weights.

    Each epoch visits the training examples in a fresh order (a generator seeded with
    ``seed``, so two runs with one seed make the same updates); each batch is one forward pass,
    one :meth:`Network.backward` (Algorithm 4.1) and one ``optimizer.step``. After the epoch the
    validation split is scored; the weights of the best epoch are kept, and with ``patience``
    training stops after that many epochs without a better validation accuracy.

    Args:
        network: the hand-written network; trained in place.
        optimizer: an optimizer over ``network.params``.
        x_train, y_train: training inputs and integer labels.
        x_val, y_val: the validation split (selection and early stopping look only here).
        epochs: passes over the training data (at least 1).
        batch_size: examples per update; 1 is per-example SGD, ``len(x_train)`` full batch.
        schedule: the learning rate of each update (step ``t`` counts updates from 0).
        patience: epochs without improvement before stopping; None trains every epoch.
        seed: the order of the examples.
        on_epoch: called with every epoch's record.
        on_update: called with (update number, batch loss) after every update.

    Returns:
        The per-epoch history, the kept epoch and the number of updates.

    Raises:
        ClassicnetsError: epochs or batch size below 1, an empty validation split, or a loss
            that stops being finite.
    """
    if epochs < 1 or batch_size < 1:
        raise ClassicnetsError(
            f"Training needs at least one epoch and a batch of at least 1, got epochs {epochs} "
            f"and batch size {batch_size}."
        )
    if len(x_val) == 0:
        raise ClassicnetsError("Training by hand needs a validation split to keep the best epoch.")
    generator = torch.Generator().manual_seed(seed)
    result, best, waited, started = FitResult(), None, 0, time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(x_train), generator=generator)
        total, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            if schedule is not None:
                optimizer.lr = schedule(result.updates)
            loss = network.loss(x_train[batch], y_train[batch], training=True)
            if loss != loss or abs(loss) == float("inf"):
                raise ClassicnetsError(
                    f"The loss became {loss} at update {result.updates + 1}; lower the learning "
                    f"rate (it was {optimizer.lr:g})."
                )
            network.backward()
            optimizer.step(network.grads)
            result.updates += 1
            total, seen = total + loss * len(batch), seen + len(batch)
            if on_update is not None:
                on_update(result.updates, loss)
        record = EpochRecord(
            epoch=epoch,
            train_loss=total / seen,
            val_loss=mean_loss(network, x_val, y_val),
            val_accuracy=accuracy(network, x_val, y_val),
            seconds=time.perf_counter() - started,
            lr=float(optimizer.lr),
        )
        result.history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if best is None or record.val_accuracy > result.best_val_accuracy:
            best = [p.clone() for p in network.params] + network_buffers(network)
            result.best_epoch, result.best_val_accuracy, waited = epoch, record.val_accuracy, 0
        else:
            waited += 1
            if patience is not None and waited >= patience:
                result.stopped_early = True
                break
    restore(network, best)
    result.seconds = time.perf_counter() - started
    return result


def network_buffers(network: Network) -> list[torch.Tensor]:
    """Copies of the state that is not a parameter (batch norm's running statistics)."""
    return [b.clone() for layer in network.layers for b in layer.buffers.values()]


def restore(network: Network, saved: list[torch.Tensor]) -> None:
    """Put the copies :func:`fit` kept back into the network's own tensors."""
    own = list(network.params) + [b for layer in network.layers for b in layer.buffers.values()]
    for tensor, value in zip(own, saved, strict=True):
        tensor.copy_(value)
