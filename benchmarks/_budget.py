"""Callbacks for benchmarks that train each model for a fixed budget of time rather than epochs.

The budget is counted on a clock: wall seconds (``time.perf_counter``, the default) or the CPU
seconds this process used (``time.process_time``, all its threads together), which a benchmark
sharing its machine with other work still gives every model equally.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from classicnets.train import Callback
from classicnets.train.optim import one_cycle

Clock = Callable[[], float]
CLOCKS: dict[str, Clock] = {"wall": time.perf_counter, "cpu": time.process_time}


class TimeBudget(Callback):
    """Stop training at the first batch that ends after ``seconds`` of training on ``clock``,
    and count the batches trained, so fractional epochs can be reported."""

    def __init__(self, seconds: float | None, clock: Clock = time.perf_counter) -> None:
        self.seconds, self.clock = seconds, clock
        self.steps = 0
        self.began = 0.0

    def spent(self) -> float:
        return self.clock() - self.began

    def on_train_begin(self, logs) -> None:
        self.began = self.clock()

    def on_train_batch_end(self, step, logs) -> None:
        self.steps += 1
        if self.seconds is not None and self.spent() > self.seconds:
            self.model.stop_training = True


class OneCycleOverBudget(Callback):
    """The one-cycle learning rate of ``--schedule onecycle`` (0.04 -> 1 over the first quarter,
    then down to 0, times the recipe's rate), laid over the run's progress: the larger of the
    share of the epochs done and the share of the time budget used. A run cut by its time
    budget thus still ends its cycle at a rate near zero."""

    def __init__(
        self,
        seconds: float | None,
        total_steps: int,
        pct_start: float = 0.25,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.seconds, self.total_steps, self.pct_start = seconds, total_steps, pct_start
        self.clock = clock
        self.steps = 0
        self.began = 0.0

    def on_train_begin(self, logs) -> None:
        self.began = self.clock()

    def on_train_batch_begin(self, step) -> None:
        progress = self.steps / self.total_steps
        if self.seconds:
            progress = max(progress, (self.clock() - self.began) / self.seconds)
        factor = one_cycle(min(progress, 1.0), self.pct_start, 1.0)
        for group in self.model.optimizer.param_groups:
            group["lr"] = self.model.config.lr * factor
        self.steps += 1


class KeepBest(Callback):
    """Keep a copy of the weights of the best epoch so far by validation accuracy."""

    def __init__(self) -> None:
        self.best, self.state, self.epoch = -1.0, None, None

    def offer(self, accuracy: float, where) -> None:
        if accuracy > self.best:
            self.best, self.epoch = accuracy, where
            self.state = {k: v.detach().clone() for k, v in self.model.module.state_dict().items()}

    def on_epoch_end(self, epoch, logs) -> None:
        self.offer(logs["val_accuracy"], epoch + 1)
