"""The one training loop: what a single call of ``Model.fit`` does between its checks and its
History.

A :class:`FitLoop` walks the epochs of a plan from a start position, asks the batching strategy
for each epoch's batches, hands every batch to the model's ``train_step`` and tells the
callbacks around it. It keeps what a checkpoint needs to continue from any update: the
position, the epoch's running means, the random streams as the epoch began, and whether the
model is between two updates (only then is its state a place to resume from).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import ClassicnetsError
from .batching import Batches
from .callbacks import CallbackList
from .history import History
from .state import RunningMeans, epoch_seed, rng_state, seed_streams, set_rng_state

if TYPE_CHECKING:
    from .model import Model


class FitLoop:
    """The epochs of one ``fit``.

    Args:
        model: the trainer.
        batches: the training batching strategy.
        callbacks: the fit's callbacks, guard included.
        plan: what the run is: ``seed``, ``batch_size``, ``epochs``, ``examples``, ``steps``.
        validation_data: scored after every epoch, or None.
        point: the resume point to start from, or None.
    """

    def __init__(
        self,
        model: Model,
        batches: Batches,
        callbacks: CallbackList,
        plan: dict[str, Any],
        validation_data: Any = None,
        point: dict[str, Any] | None = None,
    ) -> None:
        self.model, self.batches, self.callbacks = model, batches, callbacks
        self.plan, self.validation_data, self.point = plan, validation_data, point
        self.means = RunningMeans()
        self.rng_epoch: dict | None = None
        self.clean = True  # between two updates: a consistent place to resume from

    def snapshot(self) -> dict[str, Any]:
        """Where training stands now (see :meth:`Model.training_state`)."""
        model = self.model
        return {
            "position": model.position,
            "plan": self.plan,
            "means": self.means.state(),
            "callbacks": self.callbacks.state_dict(),
            "rng": rng_state(model.device),
            "rng_epoch": self.rng_epoch or rng_state(model.device),
            "state": model.state_tensors(),
        }

    def _begin_epoch(self, epoch: int, first: int):
        """The epoch's batch iterator, with the random streams and running means as they were
        at its step ``first``: fresh at a step 0, the resume point's otherwise."""
        model, point = self.model, self.point
        if first and point is not None:  # the streams as the epoch began, then as it stood
            self.rng_epoch = point["rng_epoch"]
            set_rng_state(self.rng_epoch, model.device)
            self.means = RunningMeans.from_state(point["means"], model.device)
            model.load_state_tensors(point["state"])
            iterator = self.batches.epoch(epoch, first)  # a DataLoader draws its order here
            set_rng_state(point["rng"], model.device)
            model.examples_this_epoch = 0
            return iterator
        seed_streams(epoch_seed(self.plan["seed"], epoch), model.device)
        self.rng_epoch = rng_state(model.device)
        self.means = RunningMeans()
        model.reset_state()
        model.examples_this_epoch = 0
        return self.batches.epoch(epoch, first)

    def run(self, start: tuple[int, int], history: History, interrupted) -> None:
        """Train from ``start`` = (epoch, step) to the plan's last epoch, or until a callback
        stops it; ``interrupted()`` says Ctrl-C was pressed (checked between updates)."""
        model, callbacks = self.model, self.callbacks
        epochs, steps = self.plan["epochs"], self.batches.steps
        callbacks.on_train_begin(
            {"epochs": epochs, "steps_per_epoch": steps, "samples": self.batches.examples}
        )
        model.position = start
        for epoch in range(start[0], epochs):
            began = time.perf_counter()
            iterator = self._begin_epoch(epoch, start[1] if epoch == start[0] else 0)
            model.module.train()
            callbacks.on_epoch_begin(epoch)
            for step, batch in iterator:
                model.set_learning_rate(epoch * steps + step, epochs * steps)
                callbacks.on_train_batch_begin(step)
                self.clean = False  # an update is under way
                logs = model.train_step(model.prepare_batch(batch))
                model.global_step += 1
                model.position = (epoch, step + 1)
                self.clean = True
                examples = batch[1].numel()
                if model.distributed is not None:  # every rank logs the global batch's means
                    logs, examples = model.distributed.reduce_logs(logs, examples)
                self.means.add(logs, examples)
                model.examples_this_epoch += examples
                callbacks.on_train_batch_end(step, logs)
                if self._stop(interrupted):  # a callback may end training mid-epoch (a budget)
                    return
            logs = model.finish_logs(self.means.result())
            trained = max(time.perf_counter() - began, 1e-9)
            if self.validation_data is not None:
                size = max(self.plan["batch_size"], 1024)
                val = model.evaluate(self.validation_data, batch_size=size)
                logs.update({f"val_{k}": v for k, v in val.items()})
                model.module.train()
            logs["lr"] = model.optimizer.param_groups[0]["lr"]  # the epoch's last update's
            model.end_epoch_schedule()
            logs["seconds"] = time.perf_counter() - began
            logs["examples_per_second"] = model.examples_this_epoch / trained
            model.epochs_done, model.position = epoch + 1, (epoch + 1, 0)
            history.append(epoch, logs)
            callbacks.on_epoch_end(epoch, logs)
            if self._stop(interrupted):
                return

    def _stop(self, interrupted) -> bool:
        """Whether to end the fit at this update boundary: Ctrl-C raises KeyboardInterrupt, a
        callback's ``stop_training`` returns True. Under data parallelism all ranks decide
        alike, on any rank's interruption or stop, so that none waits for the others forever."""
        model = self.model
        pressed, stop = interrupted(), model.stop_training
        if model.distributed is not None:
            pressed, stop = model.distributed.agree(pressed, stop)
            model.stop_training = stop
        if pressed:
            raise KeyboardInterrupt
        return stop


def check_resume_point(point: dict[str, Any] | None, plan: dict[str, Any]) -> dict[str, Any]:
    """The resume point, if it continues this plan: same data, batch size and seed."""
    if point is None:
        raise ClassicnetsError(
            "There is nothing to resume: fit(resume=True) continues a loaded checkpoint or an "
            "interrupted fit."
        )
    saved = point["plan"]
    for key, what in (("examples", "examples"), ("steps", "batches per epoch")):
        if saved[key] != plan[key]:
            raise ClassicnetsError(
                f"The checkpoint stopped at step {point['position'][1]} of epoch "
                f"{point['position'][0] + 1} with {saved[key]:,} {what}, but this data gives "
                f"{plan[key]:,}; resume on the same data with the same batch size."
            )
    for key in ("seed", "batch_size"):
        if saved[key] != plan[key]:
            raise ClassicnetsError(
                f"The checkpoint was trained with {key} {saved[key]}, not {plan[key]}; resume "
                f"with the same {key} for the run to continue as it was."
            )
    return point


@contextlib.contextmanager
def deferred_interrupt():
    """Take Ctrl-C between two updates: the first one is remembered and ``fit`` stops at the
    next boundary (every update whole); a second one interrupts at once. Outside the main
    thread signals cannot be caught, and nothing changes."""
    pressed = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # installed from outside Python
        previous = signal.SIG_DFL

    def handler(signum, frame):
        pressed.append(signum)
        signal.signal(signal.SIGINT, previous)  # a second Ctrl-C is not deferred

    signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous)
