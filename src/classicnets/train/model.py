"""``Model``: a small Keras-shaped trainer (compile / fit / evaluate / predict).

One loop serves every kind of model. ``fit`` asks a batching strategy (:mod:`.batching`) for
each epoch's batches, hands each batch to :meth:`Model.train_step`, which calls
:meth:`~Model.compute_loss`, :meth:`~Model.compute_metrics` and the one optimizer step
(:meth:`~Model.apply_gradients`), and tells a :class:`~.callbacks.CallbackList` around it. A
subclass overrides one narrow hook, never the loop: the language models'
:class:`~.sequence.SequenceModel` keeps only its carried state and its batching.

Every fit is repeatable and resumable at any step: its random streams are forked from the
caller's and seeded per epoch (:mod:`.state`), the learning rate is a function of the position
in the run, and a checkpoint keeps the position, the streams, the epoch's running means and
the callbacks' state, so ``fit(resume=True)`` on a loaded checkpoint continues with the very
same updates. Ctrl-C is taken between two updates, never inside one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..data.augment import Augment
from ..data.dataset import ImageDataset
from ..errors import ClassicnetsError, TrainingDivergedError
from .batching import Batches, check_batch_size
from .callbacks import Callback, CallbackList
from .checkpoint import save_checkpoint
from .compiling import CompiledParts, compile_parts, config_to_json
from .data_forms import make_batches, make_eval_batches, split_validation
from .history import History
from .setup import CompileConfig, resolve_device
from .state import RunningMeans, epoch_seed, forked_rng, rng_state, seed_streams, set_rng_state


class Model:
    """Wrap an ``nn.Module`` to train it.

    Args:
        module: the network.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        mean, std: per-channel normalisation applied to uint8 images (taken from the training
            dataset by ``fit`` when not given).
        classes: class names, kept in checkpoints for ``predict``.
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        device: str | torch.device | None = "auto",
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        classes: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise ClassicnetsError(f"Model wraps an nn.Module, got {type(module).__name__}.")
        self.device = resolve_device(device)
        self.module = module.to(self.device)
        self.spec: dict[str, Any] | None = getattr(module, "classicnets_spec", None)
        self.mean = tuple(mean) if mean is not None else None
        self.std = tuple(std) if std is not None else None
        self.classes = tuple(classes) if classes is not None else None
        self.input_shape: tuple[int, ...] | None = None
        self.preprocess: dict[str, Any] | None = None  # how files become inputs (runs/predict)
        self.data_name: str | None = None  # the dataset fit last trained on
        self.run: dict[str, Any] | None = None  # a run pipeline's config, kept in checkpoints
        self.config: CompileConfig | None = None
        self.parts: CompiledParts | None = None
        self.global_step = 0
        self.epochs_done = 0
        self.position = (0, 0)  # (epoch, step): the next update of the run
        self.steps_per_epoch = 0
        self.stop_training = False
        self.resume_point: dict[str, Any] | None = None
        self._fit: dict[str, Any] | None = None  # what a running fit needs to snapshot itself
        self._forward = self.module

    # ----------------------------------------------------------------- setup
    @property
    def optimizer(self) -> torch.optim.Optimizer | None:
        return self.parts.optimizer if self.parts else None

    def compile(self, optimizer: Any = "adam", **options: Any) -> Model:
        """Choose optimizer, learning rate, loss, metrics and schedule.

        Args:
            optimizer: a name (``"adam"``, ``"sgd"``, ...) or a ``torch.optim.Optimizer`` built
                over this model's parameters.
            **options: ``lr``, ``loss`` (a name or any ``(outputs, targets) -> loss``
                callable, e.g. ``nn.CrossEntropyLoss()``), ``metrics``, ``schedule`` (a name,
                a torch LR scheduler, or a function building one from the optimizer),
                ``schedule_interval``, ``warmup_steps``, ``weight_decay``, ``momentum``,
                ``label_smoothing``, ``grad_clip``, ``channels_last``, ``bf16``, ``compile``:
                see :class:`~.setup.CompileConfig`.
        """
        if options.get("channels_last"):
            self.module = self.module.to(memory_format=torch.channels_last)
        self.config, self.parts = compile_parts(self.module, optimizer, options)
        self._forward = torch.compile(self.module) if self.config.compile else self.module
        return self

    def _require_compiled(self, training: bool = False) -> CompileConfig:
        if self.config is None or self.parts is None:
            raise ClassicnetsError("Call compile() before fit() or evaluate().")
        missing = self.parts.missing(training)
        if missing:
            raise ClassicnetsError(
                f"This model was compiled with a custom {missing}, which a checkpoint cannot "
                f"rebuild; call compile({missing}=...) again before "
                f"{'training' if training else 'evaluating'}."
            )
        return self.config

    def autocast(self):
        """The precision context of every forward pass (bfloat16 autocast when compiled so)."""
        if self.config is not None and self.config.bf16:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ data
    def make_batches(self, data: Any, batch_size: int, *, seed: int, augment=None) -> Batches:
        """The training batching strategy for ``data`` (override for other data)."""
        return make_batches(self, data, batch_size, seed=seed, augment=augment)

    def make_eval_batches(self, data: Any, batch_size: int) -> Batches:
        """The evaluation batching strategy for ``data``, in order."""
        return make_eval_batches(self, data, batch_size)

    def prepare_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images -> normalised float on the device; other tensors pass through."""
        x = x.to(self.device, non_blocking=True)
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
            if self.mean is not None:
                shape = (1, -1) + (1,) * (x.ndim - 2)
                mean = torch.tensor(self.mean, device=x.device).view(shape)
                std = torch.tensor(self.std, device=x.device).view(shape)
                x = x.sub_(mean).div_(std)
        if self.config is not None and self.config.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def prepare_batch(self, batch: tuple) -> tuple:
        """A batch as the steps take it: inputs prepared, targets on the device."""
        x, y, *rest = batch
        return (self.prepare_inputs(x), y.to(self.device, non_blocking=True), *rest)

    # ----------------------------------------------------------------- steps
    def forward(self, x: torch.Tensor) -> Any:
        """The network on a training batch (a subclass may carry state from batch to batch)."""
        return self._forward(x)

    def compute_loss(self, outputs: Any, y: torch.Tensor) -> torch.Tensor:
        """The loss of ``outputs``; a tuple ``(main, *aux)`` (GoogLeNet's auxiliary classifiers)
        adds ``module.aux_loss_weight`` times each auxiliary loss. Scores of shape
        ``(..., classes)`` with targets ``(...)`` (a language model's every position) are
        scored position by position."""
        if isinstance(outputs, tuple):
            main, *aux = outputs
            weight = getattr(self.module, "aux_loss_weight", 0.3)
            return self.compute_loss(main, y) + weight * sum(self.compute_loss(a, y) for a in aux)
        outputs, y = _flat(outputs.float(), y)
        return self.parts.loss(outputs, y)

    def compute_metrics(self, outputs: Any, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each metric of the batch, as tensors (nothing waits for the device)."""
        main = outputs[0] if isinstance(outputs, tuple) else outputs
        main, y = _flat(main.detach().float(), y)
        return {name: fn(main, y) for name, fn in self.parts.metrics.items()}

    def apply_gradients(self, loss: torch.Tensor) -> None:
        """The one optimizer step: gradients of ``loss``, clipped if asked, then the update."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.config.grad_clip)
        self.optimizer.step()

    def train_step(self, batch: tuple) -> dict[str, torch.Tensor]:
        """One update on a prepared batch ``(inputs, targets)``; the batch's loss and metrics."""
        x, y = batch[0], batch[1]
        with self.autocast():
            outputs = self.forward(x)
            loss = self.compute_loss(outputs, y)
        self.apply_gradients(loss)
        return {"loss": loss.detach(), **self.compute_metrics(outputs, y)}

    def test_step(self, batch: tuple, tta: bool = False) -> dict[str, torch.Tensor]:
        """Loss and metrics of a batch without updating; ``tta`` averages the scores of the
        image and its horizontal mirror."""
        x, y = batch[0], batch[1]
        outputs = self.predict_step(x)
        if tta:
            outputs = (outputs.float() + self.predict_step(x.flip(-1)).float()) / 2
        return {"loss": self.compute_loss(outputs, y), **self.compute_metrics(outputs, y)}

    def predict_step(self, x: torch.Tensor) -> torch.Tensor:
        """The network's outputs for a batch (in eval mode, no gradients)."""
        with self.autocast():
            return self._forward(x)

    def finish_logs(self, logs: dict[str, float]) -> dict[str, float]:
        """Values derived from an epoch's or an evaluation's means (perplexity, say)."""
        return logs

    def reset_state(self) -> None:
        """Forget what is carried from batch to batch; called as every epoch begins."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Tensors carried from batch to batch, for a checkpoint taken mid-epoch."""
        return {}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Put back what :meth:`state_tensors` gave."""

    # ------------------------------------------------------------------- fit
    def fit(
        self,
        x: Any,
        y: torch.Tensor | None = None,
        *,
        epochs: int = 1,
        batch_size: int = 128,
        validation_data: Any = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] = (),
        seed: int = 0,
        initial_epoch: int = 0,
        augment: Augment | str | None = None,
        resume: bool = False,
        guard: bool = True,
    ) -> History:
        """Train until epoch ``epochs`` (Keras semantics: a second call trains again, from
        ``initial_epoch``).

        Args:
            x: an :class:`~classicnets.data.ImageDataset`, input tensors (with ``y``), an
                ``(inputs, targets)`` pair, a torch ``Dataset`` or a ``DataLoader`` (which keeps
                its own batch size); a language model takes a 1-D tensor of token ids.
            y: targets, when ``x`` is a tensor of inputs.
            epochs: the epoch to train until.
            batch_size: examples per update.
            validation_data: scored after every epoch (``val_*`` in the logs).
            validation_split: carve this share of ``x`` off as validation data (stratified by
                class, fixed by ``seed``) instead.
            callbacks: :class:`Callback` objects.
            seed: fixes the data order, augmentation and dropout: the same seed on the same
                machine gives the same weights, bit for bit.
            initial_epoch: the epoch to start at.
            augment: an :class:`~classicnets.data.augment.Augment` or a spec such as
                ``"crop,flip"``, applied to each training batch on the device.
            resume: continue from :attr:`resume_point` (where a loaded checkpoint or an
                interrupted fit stopped, mid-epoch included) with the same data, batch size
                and seed.
            guard: stop with :class:`~classicnets.errors.TrainingDivergedError` when the loss
                is NaN, infinite or far beyond its first epoch's.

        Returns:
            A :class:`History` with ``loss``, each metric, ``val_*``, ``lr`` and ``seconds``
            per epoch trained.
        """
        self._require_compiled(training=True)
        for name, value, least in (("epochs", epochs, 1), ("initial_epoch", initial_epoch, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ClassicnetsError(
                    f"{name} must be an integer of at least {least}, got {value!r}."
                )
        check_batch_size(batch_size)
        data = x if y is None else (x, y)
        if validation_split:
            if validation_data is not None:
                raise ClassicnetsError("Give validation_data or validation_split, not both.")
            data, validation_data = split_validation(data, validation_split, seed)
        batches = self.make_batches(data, batch_size, seed=seed, augment=augment)
        plan = {"seed": seed, "batch_size": batch_size, **batches.plan()}
        start_epoch, start_step, point = initial_epoch, 0, None
        if resume:
            point = self._checked_resume_point(plan)
            start_epoch, start_step = point["position"]
        if start_epoch >= epochs:
            raise ClassicnetsError(
                f"{start_epoch} of the {epochs} epochs are trained already: nothing is left to "
                "train; pass a larger number of epochs."
            )
        callbacks = CallbackList(callbacks, self, guard)
        if point is not None:
            callbacks.load_state_dict(point["callbacks"])
        self.steps_per_epoch = batches.steps
        self.stop_training = False
        history = History()
        self._fit = {"plan": {**plan, "epochs": epochs}, "callbacks": callbacks, "clean": True}
        with forked_rng(self.device), _deferred_interrupt() as interrupted:
            try:
                self._fit_epochs(
                    batches, epochs, start_epoch, start_step, point, validation_data,
                    batch_size, callbacks, history, interrupted,
                )  # fmt: skip
            except TrainingDivergedError:
                self._fit["clean"] = False  # a diverged state is never a place to resume from
                raise
            finally:
                clean = self._fit.get("clean", False)
                self.resume_point = self.training_state() if clean else None
                self._fit = None
                callbacks.on_train_end({"history": history})
        return history

    def _fit_epochs(
        self, batches, epochs, start_epoch, start_step, point, validation_data, batch_size,
        callbacks, history, interrupted,
    ) -> None:  # fmt: skip
        steps = batches.steps
        callbacks.on_train_begin(
            {"epochs": epochs, "steps_per_epoch": steps, "samples": batches.examples}
        )
        self.position = (start_epoch, start_step)
        for epoch in range(start_epoch, epochs):
            began = time.perf_counter()
            first = start_step if epoch == start_epoch else 0
            if first and point is not None:  # the streams as the epoch began, then as it stood
                set_rng_state(point["rng_epoch"], self.device)
                self._fit["rng_epoch"] = point["rng_epoch"]
                means = RunningMeans.from_state(point["means"], self.device)
                self.load_state_tensors(point["state"])
                iterator = batches.epoch(epoch, first)
                set_rng_state(point["rng"], self.device)
            else:
                seed_streams(epoch_seed(self._fit["plan"]["seed"], epoch), self.device)
                self._fit["rng_epoch"] = rng_state(self.device)
                means = RunningMeans()
                self.reset_state()
                iterator = batches.epoch(epoch, first)
            self._fit["means"] = means
            self.module.train()
            callbacks.on_epoch_begin(epoch)
            for step, batch in iterator:
                self._set_learning_rate(epoch * steps + step, epochs * steps)
                callbacks.on_train_batch_begin(step)
                self._fit["clean"] = False  # an update is under way
                logs = self.train_step(self.prepare_batch(batch))
                self.global_step += 1
                self.position = (epoch, step + 1)
                self._fit["clean"] = True
                means.add(logs, batch[1].numel())
                callbacks.on_train_batch_end(step, logs)
                if interrupted():
                    raise KeyboardInterrupt
                if self.stop_training:  # a callback may end training mid-epoch (a time budget)
                    return
            logs = self.finish_logs(means.result())
            if validation_data is not None:
                val = self.evaluate(validation_data, batch_size=max(batch_size, 1024))
                logs.update({f"val_{k}": v for k, v in val.items()})
                self.module.train()
            logs["lr"] = self.optimizer.param_groups[0]["lr"]  # the epoch's last update's
            self._epoch_scheduler_step()
            logs["seconds"] = time.perf_counter() - began
            self.epochs_done, self.position = epoch + 1, (epoch + 1, 0)
            history.append(epoch, logs)
            callbacks.on_epoch_end(epoch, logs)
            if interrupted():
                raise KeyboardInterrupt
            if self.stop_training:
                return

    def _set_learning_rate(self, position: int, total: int) -> None:
        """Named schedules are pure functions of the position in the run."""
        if self.parts.schedule is not None:
            factor = self.parts.schedule(position, total, self.steps_per_epoch)
            for group, base in zip(self.optimizer.param_groups, self.parts.base_lrs, strict=True):
                group["lr"] = base * factor

    def _epoch_scheduler_step(self) -> None:
        if self.parts.scheduler is not None and self.config.schedule_interval == "epoch":
            self.parts.scheduler.step()

    def _checked_resume_point(self, plan: dict[str, Any]) -> dict[str, Any]:
        point = self.resume_point
        if point is None:
            raise ClassicnetsError(
                "There is nothing to resume: fit(resume=True) continues a loaded checkpoint or "
                "an interrupted fit."
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
                    f"The checkpoint was trained with {key} {saved[key]}, not {plan[key]}; "
                    f"resume with the same {key} for the run to continue as it was."
                )
        return point

    def training_state(self) -> dict[str, Any] | None:
        """Where training stands: position, random streams, the epoch's means, the callbacks'
        state and carried tensors (live during ``fit``, else :attr:`resume_point`)."""
        if self._fit is None:
            return self.resume_point
        return {
            "position": self.position,
            "plan": self._fit["plan"],
            "means": self._fit["means"].state(),
            "callbacks": self._fit["callbacks"].state_dict(),
            "rng": rng_state(self.device),
            "rng_epoch": self._fit["rng_epoch"],
            "state": self.state_tensors(),
        }

    # ------------------------------------------------------ evaluate/predict
    @torch.no_grad()
    def evaluate(self, data: Any, batch_size: int = 1024, *, tta: bool = False) -> dict[str, float]:
        """Mean loss and metrics over ``data`` (``tta``: also score mirrored images)."""
        self._require_compiled()
        batches = self.make_eval_batches(data, batch_size)
        was_training = self.module.training
        self.module.eval()
        means = RunningMeans()
        for _, batch in batches.epoch(0):
            batch = self.prepare_batch(batch)
            means.add(self.test_step(batch, tta=tta), batch[1].numel())
        self.module.train(was_training)
        return self.finish_logs(means.result())

    @torch.no_grad()
    def predict(self, data: Any, batch_size: int = 1024) -> torch.Tensor:
        """The network's outputs (e.g. class scores) for every input, on the CPU."""
        x = data.images if isinstance(data, ImageDataset) else data
        if not isinstance(x, torch.Tensor):
            raise ClassicnetsError(
                f"predict() takes a tensor of inputs or an ImageDataset, got {type(x).__name__}."
            )
        was_training = self.module.training
        self.module.eval()
        outs = [
            self.predict_step(self.prepare_inputs(x[s : s + batch_size])).float().cpu()
            for s in range(0, len(x), batch_size)
        ]
        self.module.train(was_training)
        return torch.cat(outs)

    # ------------------------------------------------------------- save/load
    def save(self, path: str | os.PathLike, *, metrics: dict[str, float] | None = None) -> None:
        """Write ``path.safetensors`` + ``path.json`` atomically: weights, optimizer state,
        model name and arguments, normalisation, class names and where training stands (so a
        loaded model can ``fit(resume=True)``)."""
        state = self.training_state()
        tensors: dict[str, torch.Tensor] = {}
        if state is not None:
            state = dict(state)
            for key in ("rng", "rng_epoch", "state"):
                tensors.update({f"{key}.{k}": v for k, v in state.pop(key).items()})
        meta = {
            "model": self.spec["name"] if self.spec else None,
            "model_kwargs": self.spec["kwargs"] if self.spec else {},
            "mean": self.mean,
            "std": self.std,
            "classes": self.classes,
            "input_shape": self.input_shape,
            "preprocess": self.preprocess,
            "data": self.data_name,
            "compile": config_to_json(self.config) if self.config else None,
            "scheduler_state": self.parts.scheduler_state() if self.parts else None,
            "base_lrs": self.parts.base_lrs if self.parts else None,
            "global_step": self.global_step,
            "epochs_done": self.epochs_done,
            "training_state": state,
            "metrics": metrics,
            "run": self.run,
            **self.checkpoint_extras(),
        }
        save_checkpoint(path, self.module, self.optimizer, meta, tensors)

    def checkpoint_extras(self) -> dict[str, Any]:
        """More JSON metadata for checkpoints (a subclass's vocabulary, say); ``load`` hands it
        back to :meth:`restore_extras`."""
        return {}

    def restore_extras(self, meta: dict[str, Any]) -> None:
        """Read back what :meth:`checkpoint_extras` stored."""


def _flat(outputs: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(..., C)`` scores and ``(...)`` class targets as ``(N, C)`` and ``(N,)``."""
    if outputs.ndim > 2 and y.ndim == outputs.ndim - 1 and not y.is_floating_point():
        return outputs.reshape(-1, outputs.shape[-1]), y.reshape(-1)
    return outputs, y


@contextlib.contextmanager
def _deferred_interrupt():
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
