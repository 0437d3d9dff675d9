"""Callbacks: small hooks the trainer calls around epochs and batches (Keras' protocol).

A callback may set ``model.stop_training = True`` to end ``fit`` after the current batch (in
``on_train_batch_end``) or epoch. What a callback must remember for a resumed run to behave as
an uninterrupted one (the best value so far, the epochs without improvement) it returns from
``state_dict``; checkpoints keep it and ``fit(resume=True)`` hands it back.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
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

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state a resumed run needs back (see :meth:`load_state_dict`)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class CallbackList(Callback):
    """Calls every callback in order; the divergence guard, when on, goes first so that no
    callback ever sees (or saves) a diverged step."""

    def __init__(self, callbacks: Sequence[Callback], model: Model, guard: bool = True) -> None:
        self.callbacks = list(callbacks)
        if guard and not any(isinstance(c, TerminateOnDivergence) for c in self.callbacks):
            self.callbacks.insert(0, TerminateOnDivergence())
        for callback in self.callbacks:
            callback.set_model(model)
        self.model = model

    def on_train_begin(self, logs):
        for c in self.callbacks:
            c.on_train_begin(logs)

    def on_epoch_begin(self, epoch):
        for c in self.callbacks:
            c.on_epoch_begin(epoch)

    def on_train_batch_begin(self, step):
        for c in self.callbacks:
            c.on_train_batch_begin(step)

    def on_train_batch_end(self, step, logs):
        for c in self.callbacks:
            c.on_train_batch_end(step, logs)

    def on_epoch_end(self, epoch, logs):
        for c in self.callbacks:
            c.on_epoch_end(epoch, logs)

    def on_train_end(self, logs):
        for c in self.callbacks:
            c.on_train_end(logs)

    def state_dict(self) -> dict[str, Any]:
        """Each callback's state under its class name (the first of each class)."""
        states: dict[str, Any] = {}
        for c in self.callbacks:
            states.setdefault(type(c).__name__, c.state_dict())
        return {k: v for k, v in states.items() if v}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        seen = set()
        for c in self.callbacks:
            name = type(c).__name__
            if name in state and name not in seen:
                c.load_state_dict(state[name])
                seen.add(name)


def _better(mode: str, value: float, best: float, min_delta: float = 0.0) -> bool:
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _mode(mode: str, monitor: str) -> str:
    if mode == "auto":
        return "min" if "loss" in monitor else "max"
    if mode not in ("min", "max"):
        raise ClassicnetsError(f"mode must be 'auto', 'min' or 'max', got {mode!r}.")
    return mode


def _monitored(monitor: str, logs: dict[str, float], who: str) -> float:
    if monitor not in logs:
        raise ClassicnetsError(
            f"{who} monitors '{monitor}', which is not among the logged values {sorted(logs)}; "
            "validation values (val_*) need validation data."
        )
    return logs[monitor]


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 3,
        min_delta: float = 0.0,
        mode: str = "auto",
    ) -> None:
        if not isinstance(patience, int) or patience < 1:
            raise ClassicnetsError(f"Patience must be a positive number of epochs, got {patience}.")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode(mode, monitor)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = _monitored(self.monitor, logs, "EarlyStopping")
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True

    def state_dict(self) -> dict[str, Any]:
        return {"best": None if math.isinf(self.best) else self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("best") is not None:
            self.best = state["best"]
        self.wait = state["wait"]


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


class TerminateOnDivergence(Callback):
    """Stop at the first batch whose loss is NaN, infinite, or more than ``factor`` times the
    run's usual loss (the first epoch's mean; the first batch's until that epoch ends, and at
    least 1), saying where and suggesting a lower rate. A loss of 1e36 is finite, but no run
    comes back from it."""

    def __init__(self, factor: float = 1e4) -> None:
        self.factor = factor
        self.reference: float | None = None
        self.settled = False  # the reference is a whole epoch's mean

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            why = "not a number" if math.isnan(loss) else "infinite"
        elif self.reference is not None and loss > self.factor * max(self.reference, 1.0):
            usual = "the first epoch's mean" if self.settled else "the first batch's"
            why = f"over {self.factor:,.0f} times {usual} ({self.reference:.4g})"
        else:
            if self.reference is None:
                self.reference = loss
            return
        rate = self.model.optimizer.param_groups[0]["lr"]
        raise TrainingDivergedError(
            f"The loss became {loss:.4g} at epoch {self.epoch + 1}, step {step + 1} (update "
            f"{self.model.global_step}), {why}; training stopped — lower the learning rate "
            f"(it was {rate:.3g})."
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if not self.settled and math.isfinite(logs.get("loss", math.nan)):
            self.reference, self.settled = logs["loss"], True

    def state_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "settled": self.settled}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.reference, self.settled = state["reference"], state["settled"]


TerminateOnNaN = TerminateOnDivergence  # the Keras name; this one also catches a blow-up
