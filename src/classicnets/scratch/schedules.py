"""Learning-rate schedules: pure functions of the step number ``t`` (0, 1, 2, ...).

A schedule is a small frozen object called with ``t``; the training loop sets the optimizer's
learning rate from it before each update (``opt.lr = schedule(t)``). Whether ``t`` counts updates
or epochs is the caller's choice; :func:`make_schedule` is told the total of whichever it counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ClassicnetsError, unknown_name


def _check_lr0(lr0: float) -> None:
    if not (isinstance(lr0, (int, float)) and math.isfinite(lr0) and lr0 > 0):
        raise ClassicnetsError(f"The initial learning rate must be a number > 0, got {lr0!r}.")


def _check_step(name: str, t: int) -> int:
    if isinstance(t, bool) or not isinstance(t, int) or t < 0:
        raise ClassicnetsError(f"Schedule '{name}' takes a step t = 0, 1, 2, ..., got {t!r}.")
    return t


@dataclass(frozen=True)
class Schedule:
    """Base of the schedules: ``schedule(t)`` is the learning rate of step ``t``."""

    lr0: float

    name = "schedule"

    def __post_init__(self) -> None:
        _check_lr0(self.lr0)

    def __call__(self, t: int) -> float:
        return self.lr(_check_step(self.name, t))

    def lr(self, t: int) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Schedule):
    """η_t = η₀."""

    name = "constant"

    def lr(self, t: int) -> float:
        return self.lr0


@dataclass(frozen=True)
class InverseSqrt(Schedule):
    """The course's 1/t decay: η_t = η₀ / √(t + 1), large steps first, ever smaller later."""

    name = "1/t"

    def lr(self, t: int) -> float:
        return self.lr0 / math.sqrt(t + 1)


@dataclass(frozen=True)
class StepDecay(Schedule):
    """Step decay: η_t = η₀ · γ^⌊t / step_size⌋ (multiply by γ every ``step_size`` steps)."""

    step_size: int = 1
    gamma: float = 0.1

    name = "step"

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.step_size, bool) or not isinstance(self.step_size, int):
            raise ClassicnetsError(f"step_size must be an integer >= 1, got {self.step_size!r}.")
        if self.step_size < 1:
            raise ClassicnetsError(f"step_size must be an integer >= 1, got {self.step_size}.")
        if not (isinstance(self.gamma, (int, float)) and 0 < self.gamma <= 1):
            raise ClassicnetsError(f"gamma must be in (0, 1], got {self.gamma!r}.")

    def lr(self, t: int) -> float:
        return self.lr0 * self.gamma ** (t // self.step_size)


@dataclass(frozen=True)
class Cosine(Schedule):
    """Cosine annealing (Loshchilov & Hutter 2017, without restarts):

    η_t = η_min + (η₀ − η_min) · (1 + cos(π t / T)) / 2 for t ≤ T, and η_min after T.
    """

    total_steps: int = 1
    min_lr: float = 0.0

    name = "cosine"

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.total_steps, bool) or not isinstance(self.total_steps, int):
            raise ClassicnetsError(
                f"total_steps must be an integer >= 1, got {self.total_steps!r}."
            )
        if self.total_steps < 1:
            raise ClassicnetsError(f"total_steps must be an integer >= 1, got {self.total_steps}.")
        if not (isinstance(self.min_lr, (int, float)) and 0 <= self.min_lr < self.lr0):
            raise ClassicnetsError(
                f"min_lr must be in [0, lr0) = [0, {self.lr0}), got {self.min_lr!r}."
            )

    def lr(self, t: int) -> float:
        # Hold the floor after T rather than climbing again as the bare formula would.
        t = min(t, self.total_steps)
        cos_term = (1 + math.cos(math.pi * t / self.total_steps)) / 2
        return self.min_lr + (self.lr0 - self.min_lr) * cos_term


def constant(lr0: float) -> Constant:
    """A constant learning rate η₀."""
    return Constant(lr0)


def inverse_sqrt(lr0: float) -> InverseSqrt:
    """The 1/t schedule η₀ / √(t + 1)."""
    return InverseSqrt(lr0)


def step_decay(lr0: float, step_size: int, gamma: float = 0.1) -> StepDecay:
    """η₀ multiplied by ``gamma`` every ``step_size`` steps."""
    return StepDecay(lr0, step_size, gamma)


def cosine(lr0: float, total_steps: int, min_lr: float = 0.0) -> Cosine:
    """Half a cosine from η₀ at t = 0 down to ``min_lr`` at t = ``total_steps``."""
    return Cosine(lr0, total_steps, min_lr)


SCHEDULES = {"constant": Constant, "1/t": InverseSqrt, "step": StepDecay, "cosine": Cosine}


def make_schedule(name: str, lr0: float, total_steps: int, **hp: float) -> Schedule:
    """Build a schedule by name for a run of ``total_steps`` steps.

    Args:
        name: ``"constant"``, ``"1/t"``, ``"step"`` or ``"cosine"``.
        lr0: the learning rate at t = 0.
        total_steps: how many steps (updates or epochs) the run takes.
        **hp: ``step``: ``step_size`` (default a third of the run, so the rate falls by
            ``gamma`` twice) and ``gamma`` (0.1); ``cosine``: ``min_lr`` (0).

    Returns:
        The schedule.
    """
    if name not in SCHEDULES:
        raise unknown_name("schedule", name, SCHEDULES)
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ClassicnetsError(f"total_steps must be an integer >= 1, got {total_steps!r}.")
    allowed = {"constant": (), "1/t": (), "step": ("step_size", "gamma"), "cosine": ("min_lr",)}
    for key in hp:
        if key not in allowed[name]:
            takes = ", ".join(allowed[name]) or "nothing besides lr0 and total_steps"
            raise ClassicnetsError(f"Schedule '{name}' has no setting '{key}'; it takes {takes}.")
    if name == "step":
        return StepDecay(lr0, hp.get("step_size", max(1, total_steps // 3)), hp.get("gamma", 0.1))
    if name == "cosine":
        return Cosine(lr0, total_steps, hp.get("min_lr", 0.0))
    return SCHEDULES[name](lr0)
