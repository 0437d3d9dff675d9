"""Callbacks: small hooks the trainer calls around epochs and batches (Keras' protocol).

A callback may set ``model.stop_training = True`` to end ``fit`` after the current epoch.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ClassicnetsError, TrainingDivergedError

if TYPE_CHECKING:
    from .model import Model


class Callback:
    """Base class; override the hooks you need. ``self.model`` is set by ``fit``."""

    model: Model

    def set_model(self, model: Model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict[str, Any]) -> None: ...
    def on_epoch_begin(self, epoch: int) -> None: ...
    def on_train_batch_begin(self, step: int) -> None:
        """Before batch ``step`` of the epoch, once the schedule has set its learning rate."""

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...
    def on_train_end(self, logs: dict[str, Any]) -> None: ...


class ProgressBar(Callback):
    """A rich progress bar per epoch with the running loss, then one line of metrics and the
    time per epoch."""

    def __init__(self, console=None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
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

        self.epochs = logs["epochs"]
        self.steps = logs["steps_per_epoch"]
        self._progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[loss]}"),
            console=self.console,
            transient=True,
        )
        self._progress.start()

    def on_epoch_begin(self, epoch: int) -> None:
        self._start = time.perf_counter()
        self._task = self._progress.add_task(
            "", total=self.steps, epoch=f"{epoch + 1}/{self.epochs}", loss=""
        )
        self._last_refresh = 0.0

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        now = time.perf_counter()
        if now - self._last_refresh > 0.25 or step + 1 == self.steps:  # reading loss syncs
            self._last_refresh = now
            self._progress.update(
                self._task, completed=step + 1, loss=f"loss {float(logs['loss']):.4f}"
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._progress.remove_task(self._task)
        parts = [f"{k} {v:.4f}" for k, v in logs.items() if k not in ("epoch", "lr", "seconds")]
        seconds = time.perf_counter() - self._start
        self.console.print(
            f"epoch {epoch + 1}/{self.epochs}  " + "  ".join(parts) + f"  ({seconds:.1f} s)",
            highlight=False,
            soft_wrap=True,
        )

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress.stop()


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 3,
        min_delta: float = 0.0,
        mode: str = "auto",
    ) -> None:
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = mode if mode != "auto" else ("min" if "loss" in monitor else "max")
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.stopped_epoch: int | None = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ClassicnetsError(
                f"EarlyStopping monitors '{self.monitor}', which is not among the logged "
                f"values {sorted(logs)}."
            )
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True


class ModelCheckpoint(Callback):
    """Save ``last`` after every epoch and ``best`` whenever ``monitor`` improves, atomically
    (write to a temporary file, then rename), into ``directory``. ``best`` is a hard link to
    that epoch's ``last`` files (a copy where links are not possible): VGG's 500 MB are written
    once, and rewriting ``last`` later replaces its files without touching ``best``."""

    def __init__(self, directory: str | os.PathLike, monitor: str = "val_accuracy", mode="auto"):
        self.directory = Path(directory)
        self.monitor = monitor
        self.mode = mode if mode != "auto" else ("min" if "loss" in monitor else "max")
        self.best = math.inf if self.mode == "min" else -math.inf
        previous = self.directory / "best.json"
        if previous.is_file():  # a resumed run keeps its best so far
            import json

            value = json.loads(previous.read_text()).get("training_state", {}).get("metrics", {})
            self.best = value.get(monitor, self.best)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        state = {"epoch": epoch + 1, "metrics": dict(logs)}
        self.model.save(self.directory / "last", training_state=state)
        value = logs.get(self.monitor)
        if value is None:
            return
        if (self.mode == "min" and value < self.best) or (self.mode == "max" and value > self.best):
            self.best = value
            for suffix in (".safetensors", ".json"):  # weights first, as save() does
                _link_atomically(
                    (self.directory / "last").with_suffix(suffix),
                    (self.directory / "best").with_suffix(suffix),
                )


def _link_atomically(source: Path, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.link")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file (header written once)."""

    def __init__(self, path: str | os.PathLike, append: bool = False) -> None:
        self.path = Path(path)
        self.append = append

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        row = {"epoch": epoch + 1, **logs}
        new = not (self.append and self.path.exists()) and not getattr(self, "_started", False)
        with open(self.path, "w" if new else "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )
        self._started = True


class TerminateOnNaN(Callback):
    """Stop at the first batch whose loss is NaN or infinite, saying where."""

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"The loss became {loss} at epoch {self.epoch + 1}, step {step + 1} "
                f"(update {self.model.global_step}); training stopped — lower the learning rate."
            )
