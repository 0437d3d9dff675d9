"""``Model``: a small Keras-shaped trainer (compile / fit / evaluate / predict).

One loop (:mod:`.loop`) serves every kind of model: batches from a batching strategy
(:mod:`.batching`) go to :meth:`Model.train_step`, which calls :meth:`~Model.compute_loss`,
:meth:`~Model.compute_metrics` and the one optimizer step (:meth:`~Model.apply_gradients`). A
subclass overrides a narrow hook, never the loop: :class:`~.sequence.SequenceModel` keeps only
its carried state and its batching. Every fit is repeatable and resumable at any update: its
random streams are forked and seeded per epoch (:mod:`.state`), and a checkpoint keeps all a
``fit(resume=True)`` needs to continue with the very same updates.
"""

from __future__ import annotations

import contextlib
import os
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
from .compiling import CompiledParts, compile_parts
from .contents import checkpoint_contents
from .data_forms import make_batches, make_eval_batches, split_validation
from .history import History
from .loop import FitLoop, check_resume_point, deferred_interrupt
from .losses import flat_scores
from .precision import DTYPES
from .setup import CompileConfig, resolve_device
from .state import RunningMeans, forked_rng


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
        placed = getattr(module, "devices", None)  # a model split over devices keeps them
        self.device = torch.device(placed[0]) if placed else resolve_device(device)
        self.module = module if placed else module.to(self.device)
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
        self.examples_this_epoch = 0  # the targets trained on since the epoch (or resume) began
        self.stop_training = False
        self.resume_point: dict[str, Any] | None = None
        self._loop: FitLoop | None = None  # the running fit, which can snapshot itself
        self.distributed = None  # a distributed.DataParallel: this is one rank of a run
        self._forward = self.module

    # ----------------------------------------------------------------- setup
    @property
    def unit(self) -> str:
        """What one target is, for speeds: an image, an example (a language model: a token)."""
        return "img" if self.input_shape is not None and len(self.input_shape) == 3 else "ex"

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
                ``label_smoothing``, ``grad_clip``, ``channels_last``, ``precision``, ``compile``:
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
        """The precision context of every forward pass (autocast unless compiled for fp32)."""
        if self.config is not None and self.config.precision != "fp32":
            return torch.autocast(self.device.type, dtype=DTYPES[self.config.precision])
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
        outputs, y = flat_scores(outputs.float(), y)
        return self.parts.loss(outputs, y)

    def compute_metrics(self, outputs: Any, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each metric of the batch, as tensors (nothing waits for the device)."""
        main = outputs[0] if isinstance(outputs, tuple) else outputs
        main, y = flat_scores(main.detach().float(), y)
        return {name: fn(main, y) for name, fn in self.parts.metrics.items()}

    def apply_gradients(self, loss: torch.Tensor) -> None:
        """The one optimizer step: gradients of ``loss`` (scaled under float16, so that small
        ones do not vanish), clipped if asked, then the update."""
        self.optimizer.zero_grad(set_to_none=True)
        scaler = self.parts.scaler
        if scaler is None:
            loss.backward()
        else:
            scaler.scale(loss).backward()
            scaler.unscale_(self.optimizer)  # clip the true gradients
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.config.grad_clip)
        if scaler is None:
            self.optimizer.step()
        else:
            scaler.step(self.optimizer)  # skipped where a gradient overflowed
            scaler.update()
        if self.parts.scheduler is not None and self.config.schedule_interval == "step":
            self.parts.scheduler.step()

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
            A :class:`History`: ``loss``, metrics, ``val_*``, ``lr``, ``seconds`` per epoch.
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
        if self.distributed is None:
            batches = self.make_batches(data, batch_size, seed=seed, augment=augment)
        else:  # batch_size per rank: shard the global batches of all ranks together
            world = self.distributed.world
            batches = self.make_batches(data, batch_size * world, seed=seed, augment=augment)
            batches = self.distributed.shard(batches)
        plan = {"seed": seed, "batch_size": batch_size, **batches.plan()}
        start_epoch, start_step, point = initial_epoch, 0, None
        if resume:
            point = check_resume_point(self.resume_point, plan)
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
        loop = FitLoop(self, batches, callbacks, {**plan, "epochs": epochs}, validation_data, point)
        self._loop = loop
        with forked_rng(self.device), deferred_interrupt() as interrupted:
            try:
                loop.run((start_epoch, start_step), history, interrupted)
            except TrainingDivergedError:
                loop.clean = False  # a diverged state is never a place to resume from
                raise
            finally:
                self.resume_point = loop.snapshot() if loop.clean else None
                self._loop = None
                callbacks.on_train_end({"history": history})
        return history

    def set_learning_rate(self, position: int, total: int) -> None:
        """Before update ``position`` of ``total``: a named schedule is a pure function of the
        position in the run, so a resumed run gets the rates it would have had."""
        if self.parts.schedule is not None:
            factor = self.parts.schedule(position, total, self.steps_per_epoch)
            for group, base in zip(self.optimizer.param_groups, self.parts.base_lrs, strict=True):
                group["lr"] = base * factor

    def end_epoch_schedule(self) -> None:
        """At an epoch's end: a torch scheduler that counts epochs steps."""
        if self.parts.scheduler is not None and self.config.schedule_interval == "epoch":
            self.parts.scheduler.step()

    def training_state(self) -> dict[str, Any] | None:
        """Where training stands: position, random streams, the epoch's means, the callbacks'
        state and carried tensors (live during ``fit``, else :attr:`resume_point`)."""
        return self._loop.snapshot() if self._loop is not None else self.resume_point

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
        meta, tensors = checkpoint_contents(self, metrics)
        module, optimizer = self.module, self.optimizer
        if hasattr(module, "checkpoint_layout"):  # split over devices: the registry's layout
            module, optimizer = module.checkpoint_layout(optimizer)
        save_checkpoint(path, module, optimizer, meta, tensors)

    def checkpoint_extras(self) -> dict[str, Any]:
        """More JSON metadata for checkpoints (a subclass's vocabulary, say); ``load`` hands it
        back to :meth:`restore_extras`."""
        return {}

    def restore_extras(self, meta: dict[str, Any]) -> None:
        """Read back what :meth:`checkpoint_extras` stored."""
