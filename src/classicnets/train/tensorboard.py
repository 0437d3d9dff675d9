"""TensorBoard logging: every epoch's metrics, the learning rate and the first layer's filters.

``tensorboard --logdir RUN/tensorboard`` then shows the curves of a run while it trains. The
event files are written by torch's own ``SummaryWriter``, which needs the ``tensorboard``
package (the optional extra ``classicnets[tensorboard]``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ClassicnetsError
from .callbacks import Callback

FILTERS_TAG = "filters/first_conv"


def scalar_tag(name: str) -> str:
    """The TensorBoard tag of a logged value: ``val_loss`` -> ``val/loss``, ``lr`` ->
    ``learning_rate``, the rest (the training metrics, seconds) -> ``train/NAME``."""
    if name == "lr":
        return "learning_rate"
    if name.startswith("val_"):
        return f"val/{name.removeprefix('val_')}"
    return f"train/{name}"


def first_conv(module: nn.Module) -> nn.Conv2d | None:
    """The first ``nn.Conv2d`` in ``module``'s creation order, or None for a network without one."""
    return next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)


def filter_grid(weight: torch.Tensor, pad: int = 1) -> torch.Tensor:
    """The filters of a convolution as one (C, H, W) image in [0, 1], ``ceil(sqrt(n))`` a row.

    Each filter is scaled by its own range so that its pattern shows whatever its size. A layer
    with three input channels is shown in colour; any other is the mean over its inputs, in grey.

    Args:
        weight: a convolution's weight, ``(out_channels, in_channels, kh, kw)``.
        pad: pixels of black between the filters.
    """
    weight = weight.detach().float().cpu()
    filters = weight if weight.shape[1] == 3 else weight.mean(dim=1, keepdim=True)
    count, channels, height, width = filters.shape
    low = filters.amin(dim=(1, 2, 3), keepdim=True)
    span = (filters.amax(dim=(1, 2, 3), keepdim=True) - low).clamp_min(1e-12)
    filters = (filters - low) / span
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    cell_h, cell_w = height + pad, width + pad
    grid = torch.zeros(channels, rows * cell_h + pad, columns * cell_w + pad)
    for index in range(count):
        top, left = pad + (index // columns) * cell_h, pad + (index % columns) * cell_w
        grid[:, top : top + height, left : left + width] = filters[index]
    return grid


class TensorBoard(Callback):
    """Write TensorBoard event files into ``log_dir``.

    Per epoch (step = epochs done): every numeric value of the epoch's logs under
    :func:`scalar_tag` (training and validation metrics, the learning rate, seconds). Per
    update (step = updates done): ``step/loss`` and ``step/learning_rate``. The first
    convolution's filters as an image (:func:`filter_grid`) before training and after each
    epoch, so one can watch them form.

    Args:
        log_dir: the folder for the event files (a run uses ``RUN/tensorboard``).
        filters: log the filter images.
        every_update: log the per-update loss and learning rate.

    Raises:
        ClassicnetsError: when the ``tensorboard`` package is not installed.
    """

    def __init__(
        self, log_dir: str | os.PathLike, *, filters: bool = True, every_update: bool = True
    ) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise ClassicnetsError(
                "TensorBoard logging needs the tensorboard package, which is not installed; "
                "install it with: pip install 'classicnets[tensorboard]'."
            ) from error
        self._writer_class = SummaryWriter
        self.log_dir = Path(log_dir)
        self.filters = filters
        self.every_update = every_update
        self.writer = None

    def _open(self):
        if self.writer is None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self.writer = self._writer_class(log_dir=str(self.log_dir))
        return self.writer

    def _write_filters(self, step: int) -> None:
        conv = first_conv(self.model.module) if self.filters else None
        if conv is not None:
            self._open().add_image(FILTERS_TAG, filter_grid(conv.weight), step)

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self._write_filters(self.model.epochs_done)
        self._open().flush()

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if not self.every_update:
            return
        writer = self._open()
        writer.add_scalar("step/loss", float(logs["loss"]), self.model.global_step)
        rate = self.model.optimizer.param_groups[0]["lr"]
        writer.add_scalar("step/learning_rate", rate, self.model.global_step)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        writer = self._open()
        for name, value in logs.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                writer.add_scalar(scalar_tag(name), float(value), epoch + 1)
        self._write_filters(epoch + 1)
        writer.flush()  # a run watched live shows each epoch as it ends

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
