"""``ProgressBar``: what a training run shows while it runs, on stderr.

On a terminal, a bar per epoch with the running loss, the speed (images, or a language model's
tokens, per second) and the learning rate; without one (CI, a pipe into a file), a line every
``heartbeat`` seconds during a long epoch instead. Either way, one line per epoch at its end:
every logged value, the speed, the rate and the epoch's seconds.
"""

from __future__ import annotations

import time
from typing import Any

from .callbacks import Callback

HIDDEN = ("epoch", "lr", "seconds", "examples_per_second")


def speed(per_second: float, unit: str) -> str:
    return f"{per_second:,.0f} {unit}/s"


class ProgressBar(Callback):
    """See the module docstring.

    Args:
        console: a rich console (default: stderr).
        heartbeat: seconds between the progress lines printed where there is no terminal.
        clock: the time source.
    """

    def __init__(self, console=None, heartbeat: float = 10.0, clock=time.perf_counter) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True, highlight=False)
        self.heartbeat, self.clock = heartbeat, clock
        self._progress = None

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.epochs, self.steps = logs["epochs"], logs["steps_per_epoch"]
        self.unit = getattr(self.model, "unit", "examples")
        if self.console.is_terminal:
            self._progress = Progress(
                TextColumn("epoch {task.fields[epoch]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                console=self.console,
                transient=True,
            )
            self._progress.start()

    def _info(self, logs: dict[str, Any]) -> str:
        seconds = max(self.clock() - self._start, 1e-9)
        rate = self.model.optimizer.param_groups[0]["lr"]
        done = speed(self.model.examples_this_epoch / seconds, self.unit)
        return f"loss {float(logs['loss']):.4f}  {done}  lr {rate:.3g}"

    def on_epoch_begin(self, epoch: int) -> None:
        self._start = self._last = self.clock()
        self._epoch = epoch
        if self._progress is not None:
            done = self.model.position[1] if self.model.position[0] == epoch else 0
            self._task = self._progress.add_task(
                "", total=self.steps, completed=done, epoch=f"{epoch + 1}/{self.epochs}", info=""
            )

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        now = self.clock()
        if self._progress is not None:
            if now - self._last > 0.25 or step + 1 == self.steps:  # reading the loss syncs
                self._last = now
                self._progress.update(self._task, completed=step + 1, info=self._info(logs))
        elif now - self._last >= self.heartbeat and step + 1 < self.steps:
            self._last = now
            self.console.print(
                f"epoch {self._epoch + 1}/{self.epochs}  step {step + 1:,}/{self.steps:,}  "
                + self._info(logs),
                soft_wrap=True,
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self._progress is not None:
            self._progress.remove_task(self._task)
        parts = [f"{k} {v:.4f}" for k, v in logs.items() if k not in HIDDEN]
        if "examples_per_second" in logs:
            parts.append(speed(logs["examples_per_second"], self.unit))
        parts.append(f"lr {logs['lr']:.3g}")
        self.console.print(
            f"epoch {epoch + 1}/{self.epochs}  "
            + "  ".join(parts)
            + f"  ({logs['seconds']:.1f} s)",
            soft_wrap=True,
        )

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress.stop()
