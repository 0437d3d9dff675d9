"""``ModelCheckpoint``: ``last`` and ``best`` in a directory while ``fit`` runs.

``last`` is rewritten at every epoch's end and, within epochs, every ``save_every`` updates or
seconds (by default every minute, or less often where writing would take more than 2 % of the
training time), so that even a run killed outright (SIGKILL, a power cut) loses little; each
write is atomic, so the previous ``last`` survives a kill during the write itself. ``best``
follows the monitored validation value at epoch ends.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from ..errors import ClassicnetsError
from .callbacks import Callback, _better, _mode

AUTO_SECONDS = 60.0  # the shortest interval of the automatic choice
AUTO_BUDGET = 0.02  # ... which spends at most this share of training time writing
WRITE_SPEED = 250e6  # bytes/s assumed for a first write, before one was timed


def parse_save_every(value: Any) -> tuple[str, float]:
    """``"auto"``, ``"epoch"``, a number of updates (``500``) or of seconds (``"90s"``) as
    ``(kind, amount)``.

    Raises:
        ClassicnetsError: anything else, zero or negative included.
    """
    text = str(value).strip().lower()
    if text in ("auto", "epoch"):
        return text, 0.0
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|sec|seconds?)?", text)
    if isinstance(value, bool) or not match or float(match.group(1)) <= 0:
        raise ClassicnetsError(
            f"--save-every takes a positive number of updates (500), of seconds (90s), 'epoch' "
            f"or 'auto', got {value!r}."
        )
    if match.group(2):
        return "seconds", float(match.group(1))
    if not match.group(1).isdigit():
        raise ClassicnetsError(f"--save-every {value}: a number of updates must be whole.")
    return "steps", float(match.group(1))


def link_atomically(source: Path, target: Path) -> None:
    """Make ``target`` a hard link to ``source`` (a copy where links are not possible), never
    leaving ``target`` half-made."""
    temporary = target.with_name(f".{target.name}.link")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)


class ModelCheckpoint(Callback):
    """Save ``last`` (see the module docstring) and ``best`` whenever ``monitor`` improves.

    ``best`` is a hard link to that epoch's ``last`` files (a copy where links are not
    possible): VGG's 500 MB are written once, and rewriting ``last`` later replaces its files
    without touching ``best``. Without the monitored value in the logs (no validation data)
    there is no ``best``.

    Args:
        directory: where ``last`` and ``best`` go.
        monitor: the epoch log that picks ``best``, e.g. ``"val_accuracy"``.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (min for losses).
        save_every: ``"auto"`` (every 60 s, or less often, so that writing takes at most 2 %
            of the training time), ``"epoch"`` (epoch ends only), a number of updates, or
            ``"Ns"`` seconds.
        clock: the time source (a test may pass its own).
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        monitor: str = "val_accuracy",
        mode: str = "auto",
        save_every: Any = "auto",
        clock=time.monotonic,
    ) -> None:
        self.directory = Path(directory)
        self.monitor = monitor
        self.mode = _mode(mode, monitor)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.every, self.amount = parse_save_every(save_every)
        self.clock = clock
        self.writes = 0
        self.write_seconds = 0.0  # the last write's
        self.writing = 0.0  # all writes'
        self._began = self._last_save = clock()

    def _expected_write(self) -> float:
        """The next write's seconds: the last one's, or before any, the checkpoint's size at
        a modest disk speed (weights and two optimizer buffers per parameter)."""
        if self.writes:
            return self.write_seconds
        module = getattr(self.model, "module", None)
        size = sum(p.numel() * p.element_size() for p in module.parameters()) if module else 0
        return 3 * size / WRITE_SPEED

    def _due(self) -> bool:
        """Whether to save now, within an epoch."""
        now = self.clock()
        if self.every == "seconds":
            return now - self._last_save >= self.amount
        # auto: at most every minute, and only while all writing, this one included, stays
        # within the budget of the time trained so far
        spent = self.writing + self._expected_write()
        return now - self._last_save >= AUTO_SECONDS and spent <= AUTO_BUDGET * (now - self._began)

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self._began = self._last_save = self.clock()

    def _save_last(self, metrics: dict | None = None) -> None:
        began = self.clock()
        self.model.save(self.directory / "last", metrics=metrics)
        self._last_save = self.clock()
        self.write_seconds = self._last_save - began
        self.writing += self.write_seconds
        self.writes += 1

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if self.every == "epoch" or step + 1 == self.model.steps_per_epoch:
            return  # the epoch's end saves anyway
        if self.every == "steps":
            due = self.model.global_step % int(self.amount) == 0
        else:
            due = self._due()
        if due:
            self._save_last()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get(self.monitor)
        improved = value is not None and _better(self.mode, value, self.best)
        if improved:
            self.best, self.best_epoch = value, epoch + 1
        self._save_last(metrics=dict(logs))  # after the best moved: last knows it
        if improved:
            for suffix in (".safetensors", ".json"):  # weights first, as save() writes them
                link_atomically(
                    (self.directory / "last").with_suffix(suffix),
                    (self.directory / "best").with_suffix(suffix),
                )

    def state_dict(self) -> dict[str, Any]:
        best = None if math.isinf(self.best) else self.best  # JSON has no infinity
        return {"best": best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("best") is not None:
            self.best, self.best_epoch = state["best"], state.get("best_epoch")
