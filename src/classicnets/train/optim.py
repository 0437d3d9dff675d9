"""Optimizers and learning-rate schedules by name.

A schedule here is a pure function ``factor(step) -> float`` that multiplies the base learning
rate; the trainer sets each parameter group's ``lr`` before every update, so resuming a run needs
only the step count, not a scheduler object.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from ..errors import ClassicnetsError, unknown_name

OPTIMIZERS = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "nadam",
    "adamw",
)
SCHEDULES = ("constant", "step", "inverse_sqrt", "cosine", "onecycle")


def build_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """Create an optimizer by name.

    Args:
        name: one of ``OPTIMIZERS``. ``momentum`` is SGD with heavy-ball momentum, ``nesterov``
            SGD with Nesterov momentum; ``adamw`` decouples weight decay (Loshchilov & Hutter).
        params: the parameters to optimise.
        lr: base learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        momentum: momentum for ``momentum``/``nesterov`` (and ``rmsprop``'s is left at 0).
    """
    if lr <= 0 or not math.isfinite(lr):
        raise ClassicnetsError(f"The learning rate must be a positive number, got {lr}.")
    if weight_decay < 0:
        raise ClassicnetsError(f"Weight decay must not be negative, got {weight_decay}.")
    o = torch.optim
    makers: dict[str, Callable[[], torch.optim.Optimizer]] = {
        "sgd": lambda: o.SGD(params, lr=lr, weight_decay=weight_decay),
        "momentum": lambda: o.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay),
        "nesterov": lambda: o.SGD(
            params, lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay
        ),
        "adagrad": lambda: o.Adagrad(params, lr=lr, weight_decay=weight_decay),
        "rmsprop": lambda: o.RMSprop(params, lr=lr, alpha=0.9, weight_decay=weight_decay),
        "adadelta": lambda: o.Adadelta(params, lr=lr, weight_decay=weight_decay),
        "adam": lambda: o.Adam(params, lr=lr, weight_decay=weight_decay),
        "nadam": lambda: o.NAdam(params, lr=lr, weight_decay=weight_decay),
        "adamw": lambda: o.AdamW(params, lr=lr, weight_decay=weight_decay),
    }
    if name not in makers:
        raise unknown_name("optimizer", name, makers)
    return makers[name]()


def one_cycle(position: float, peak: float, end: float) -> float:
    """The triangular one-cycle multiplier (Smith 2018) at ``position``: 0.04 at the start,
    rising linearly to 1 at ``peak``, then falling linearly to 0 at ``end``. Positions are in
    any unit: update numbers, or fractions of a run (``peak=0.25, end=1.0``)."""
    if position < peak:
        return 0.04 + 0.96 * position / peak
    return max(0.0, 1.0 - (position - peak) / (end - peak))


@dataclass(frozen=True)
class Schedule:
    """A learning-rate multiplier over ``total_steps`` updates.

    Attributes:
        name: one of ``SCHEDULES``.
        total_steps: number of updates in the whole run.
        steps_per_epoch: updates per epoch (``inverse_sqrt`` and ``step`` count in epochs).
        warmup_steps: linear warm-up from 0 over this many updates (all but ``onecycle``,
            which has its own rise).
        step_epochs: for ``step``: multiply by ``gamma`` every this many epochs.
        gamma: decay factor of ``step``.
        pct_start: for ``onecycle``: fraction of the run spent rising.
    """

    name: str
    total_steps: int
    steps_per_epoch: int = 1
    warmup_steps: int = 0
    step_epochs: int = 0
    gamma: float = 0.1
    pct_start: float = 0.25

    def __post_init__(self) -> None:
        if self.name not in SCHEDULES:
            raise unknown_name("schedule", self.name, SCHEDULES)
        if self.warmup_steps < 0:
            raise ClassicnetsError(f"Warm-up must not be negative, got {self.warmup_steps}.")

    def __call__(self, step: int) -> float:
        """The multiplier for update number ``step`` (0-based)."""
        total = max(1, self.total_steps)
        if self.name == "onecycle":
            peak = max(1, round(total * self.pct_start))
            return one_cycle(step, peak, peak + max(1, total - peak))
        warm = 1.0
        if self.warmup_steps and step < self.warmup_steps:
            warm = (step + 1) / self.warmup_steps
        after = max(0, step - self.warmup_steps)
        epoch = after / max(1, self.steps_per_epoch)
        if self.name == "constant":
            factor = 1.0
        elif self.name == "step":
            every = self.step_epochs or max(1, round(total / max(1, self.steps_per_epoch) / 3))
            factor = self.gamma ** int(epoch // every)
        elif self.name == "inverse_sqrt":
            factor = 1.0 / math.sqrt(epoch + 1.0)  # eta / sqrt(t + 1), t in epochs
        else:  # cosine, to zero at the last update
            progress = min(1.0, after / max(1, total - self.warmup_steps))
            factor = 0.5 * (1.0 + math.cos(math.pi * progress))
        return warm * factor
