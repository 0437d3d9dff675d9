"""The learning rate a run trains with at every update, without training it.

The rates come from the trainer's own parts: the optimizer and schedule that ``Model.compile``
builds from the run's :meth:`~.config.RunConfig.compile_options`, over one dummy weight, and
the trainer's own ``set_learning_rate`` before each update, so the picture cannot drift from
what a run does.
"""

from __future__ import annotations

import dataclasses

from torch import nn

from ..errors import ClassicnetsError
from ..train import Model
from .config import RunConfig


def lr_per_step(config: RunConfig, steps_per_epoch: int) -> list[float]:
    """The rate (of the first parameter group) at every update of a run, in order.

    Args:
        config: the run's config; settings it leaves out are taken from its recipe, as
            ``classicnets train`` takes them (a run directory's ``config.json`` has them all).
        steps_per_epoch: updates per epoch (the training examples over the batch size,
            rounded up; a text run's pieces per epoch).

    Returns:
        ``config.epochs * steps_per_epoch`` rates, the one update ``i`` trains with at ``[i]``.

    Raises:
        ClassicnetsError: ``steps_per_epoch`` is not a positive whole number.
    """
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int):
        raise ClassicnetsError(f"steps_per_epoch must be a whole number, got {steps_per_epoch!r}.")
    if steps_per_epoch < 1:
        raise ClassicnetsError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}.")
    config, _ = config.with_recipe()  # a setting already given (or resolved) stays as it is
    # The device, number format and memory layout change no rate; fp32 on the CPU builds on
    # any machine (a run trained on a GPU is drawn on a laptop).
    config = dataclasses.replace(config, device="cpu", precision="fp32", compile=False)
    options = config.compile_options(steps_per_epoch) | {"channels_last": False}
    model = Model(nn.Linear(1, 1, bias=False), device="cpu").compile(**options)
    model.steps_per_epoch = steps_per_epoch
    total = config.epochs * steps_per_epoch
    rates = []
    for epoch in range(config.epochs):
        for step in range(steps_per_epoch):
            model.set_learning_rate(epoch * steps_per_epoch + step, total)
            rates.append(model.optimizer.param_groups[0]["lr"])
            _step_without_gradient(model)
        model.end_epoch_schedule()
    return rates


def _step_without_gradient(model: Model) -> None:
    """What an update does to the optimizer's rate, without a gradient to apply: the step
    (which leaves a weight without a gradient as it is) and a per-update scheduler's step."""
    model.optimizer.step()
    if model.parts.scheduler is not None and model.config.schedule_interval == "step":
        model.parts.scheduler.step()
