"""``Model``: a small Keras-shaped trainer (compile / fit / evaluate / predict) for in-memory data.

Batches are read by indexing tensors that stay on the training device with a per-epoch random
permutation: no per-example Python and no DataLoader workers, which is what makes small classic
networks train in seconds. ``train_step``, ``test_step`` and ``predict_step`` are the places to
override for custom behaviour.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from ..data.augment import Augment
from ..data.dataset import ImageDataset
from ..errors import ClassicnetsError
from .callbacks import Callback, TerminateOnNaN
from .checkpoint import save_checkpoint
from .history import History
from .losses import build_loss, build_metrics
from .optim import Schedule, build_optimizer
from .setup import CompileConfig, resolve_device


class _Means:
    """Example-weighted means of per-batch logs. The sums stay tensors, so no batch waits for
    the device; they become floats once, in ``result``."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, logs: dict[str, torch.Tensor], examples: int) -> None:
        self.count += examples
        for key, value in logs.items():
            weighted = value.detach().float() * examples
            self.sums[key] = self.sums[key] + weighted if key in self.sums else weighted

    def result(self) -> dict[str, float]:
        return {key: float(total) / self.count for key, total in self.sums.items()}


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % (2**63)


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
        self.device = resolve_device(device)
        self.module = module.to(self.device)
        self.spec: dict[str, Any] | None = getattr(module, "classicnets_spec", None)
        self.mean = tuple(mean) if mean is not None else None
        self.std = tuple(std) if std is not None else None
        self.classes = tuple(classes) if classes is not None else None
        self.input_shape: tuple[int, ...] | None = None
        self.config: CompileConfig | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.global_step = 0
        self.epochs_done = 0
        self.stop_training = False
        self._forward = self.module
        self._schedule: Schedule | None = None

    # ----------------------------------------------------------------- setup
    def compile(self, **options: Any) -> Model:
        """Choose optimizer, learning rate, loss, metrics and schedule (see CompileConfig)."""
        unknown = set(options) - set(CompileConfig.__dataclass_fields__)
        if unknown:
            raise ClassicnetsError(
                f"compile() got unknown options {sorted(unknown)}; it takes "
                f"{', '.join(CompileConfig.__dataclass_fields__)}."
            )
        if "metrics" in options:
            options["metrics"] = tuple(options["metrics"])
        self.config = CompileConfig(**options)
        c = self.config
        self.loss_fn = build_loss(c.loss, c.label_smoothing)
        self.metric_fns = build_metrics(c.metrics)
        if c.channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        self.optimizer = build_optimizer(
            c.optimizer, self.module.parameters(), c.lr, c.weight_decay, c.momentum
        )
        self._schedule = Schedule(c.schedule, total_steps=1, warmup_steps=c.warmup_steps)
        self._forward = torch.compile(self.module) if c.compile else self.module
        return self

    def _require_compiled(self) -> CompileConfig:
        if self.config is None:
            raise ClassicnetsError("Call compile() before fit() or evaluate().")
        return self.config

    def _autocast(self):
        if self.config is not None and self.config.bf16:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ data
    def _tensors(self, data: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        if isinstance(data, ImageDataset):
            if self.mean is None:
                self.mean, self.std = data.mean, data.std
            if self.classes is None:
                self.classes = data.classes
            x, y = data.images, data.labels
        elif isinstance(data, tuple | list) and len(data) == 2:
            x, y = data
        elif isinstance(data, torch.Tensor):
            x, y = data, None
        else:
            raise ClassicnetsError(
                f"Data must be an ImageDataset, an (inputs, targets) pair of tensors or a tensor, "
                f"got {type(data).__name__}."
            )
        if y is not None and len(x) != len(y):
            raise ClassicnetsError(f"Got {len(x)} inputs but {len(y)} targets.")
        if self.input_shape is None and x.dtype == torch.uint8:
            self.input_shape = tuple(x.shape[1:])
        x = x.to(self.device)
        return x, (y.to(self.device) if y is not None else None)

    def prepare_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images -> normalised float; other tensors pass through unchanged."""
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

    # ----------------------------------------------------------------- steps
    def compute_loss(self, outputs: Any, y: torch.Tensor) -> torch.Tensor:
        """The loss of ``outputs``; a tuple ``(main, *aux)`` (GoogLeNet's auxiliary classifiers)
        adds ``module.aux_loss_weight`` times each auxiliary loss."""
        if isinstance(outputs, tuple):
            main, *aux = outputs
            weight = getattr(self.module, "aux_loss_weight", 0.3)
            return self.loss_fn(main, y) + weight * sum(self.loss_fn(a, y) for a in aux)
        return self.loss_fn(outputs, y)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """One update on a batch; returns the batch's loss and metrics as tensors."""
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            outputs = self._forward(x)
            loss = self.compute_loss(outputs, y)
        loss.backward()
        if self.config.grad_clip:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.config.grad_clip)
        self.optimizer.step()
        main = (outputs[0] if isinstance(outputs, tuple) else outputs).detach()
        return {"loss": loss.detach(), **{k: f(main, y) for k, f in self.metric_fns.items()}}

    def test_step(
        self, x: torch.Tensor, y: torch.Tensor, tta: bool = False
    ) -> dict[str, torch.Tensor]:
        """Loss and metrics of a batch without updating; ``tta`` averages the scores of the
        image and its horizontal mirror."""
        outputs = self.predict_step(x)
        if tta:
            outputs = (outputs + self.predict_step(x.flip(-1))) / 2
        outputs = outputs.float()
        loss = self.compute_loss(outputs, y)
        return {"loss": loss, **{k: f(outputs, y) for k, f in self.metric_fns.items()}}

    def predict_step(self, x: torch.Tensor) -> torch.Tensor:
        """The network's outputs for a batch (in eval mode, no gradients)."""
        with self._autocast():
            return self._forward(x)

    # ------------------------------------------------------------------- fit
    def _set_learning_rate(self) -> float:
        factor = self._schedule(self.global_step)
        for group in self.optimizer.param_groups:
            group["lr"] = self.config.lr * factor
        return self.config.lr * factor

    def fit(
        self,
        train: Any,
        epochs: int = 1,
        batch_size: int = 128,
        *,
        validation_data: Any = None,
        callbacks: Sequence[Callback] = (),
        seed: int = 0,
        initial_epoch: int | None = None,
        terminate_on_nan: bool = True,
        augment: Augment | str | None = None,
    ) -> History:
        """Train for ``epochs`` epochs (counting from ``initial_epoch``, default: the epochs
        already done, so a loaded checkpoint continues where it stopped).

        ``augment`` (an :class:`~classicnets.data.augment.Augment` or a spec such as
        ``"crop,flip,cutout"``) transforms each training batch on the device before it is
        normalised.

        Returns:
            A :class:`History` with ``loss``, each metric, ``val_*`` when validation data is
            given, ``lr`` and ``seconds`` per epoch.
        """
        config = self._require_compiled()
        if epochs <= 0 or batch_size <= 0:
            raise ClassicnetsError(
                f"Epochs and batch size must be positive, got {epochs} and {batch_size}."
            )
        x, y = self._tensors(train)
        if y is None:
            raise ClassicnetsError(
                "fit() needs targets: pass a dataset or an (inputs, targets) pair."
            )
        if isinstance(augment, str):
            augment = Augment.parse(augment, image_size=x.shape[-1], mean=self.mean, seed=seed)
        n = len(x)
        steps = self.steps_per_epoch(n, batch_size)
        self._schedule = Schedule(
            config.schedule,
            total_steps=epochs * steps,
            steps_per_epoch=steps,
            warmup_steps=config.warmup_steps,
        )
        start = self.epochs_done if initial_epoch is None else initial_epoch
        callbacks = list(callbacks)
        if terminate_on_nan and not any(isinstance(c, TerminateOnNaN) for c in callbacks):
            callbacks.insert(0, TerminateOnNaN())
        for cb in callbacks:
            cb.set_model(self)
        history = History()
        self.stop_training = False
        for cb in callbacks:
            cb.on_train_begin({"epochs": epochs, "steps_per_epoch": steps, "samples": n})
        try:
            for epoch in range(start, epochs):
                began = time.perf_counter()
                for cb in callbacks:
                    cb.on_epoch_begin(epoch)
                logs = self._train_epoch(
                    x, y, batch_size, steps, _epoch_seed(seed, epoch), callbacks, epoch, augment
                )
                if validation_data is not None:
                    val = self.evaluate(validation_data, batch_size=max(batch_size, 1024))
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["lr"] = self.optimizer.param_groups[0]["lr"]
                logs["seconds"] = time.perf_counter() - began
                self.epochs_done = epoch + 1
                history.append(epoch, logs)
                for cb in callbacks:
                    cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            for cb in callbacks:
                cb.on_train_end({"history": history})
        return history

    def steps_per_epoch(self, n: int, batch_size: int) -> int:
        """How many batches :meth:`batches` yields for ``n`` examples."""
        return math.ceil(n / batch_size)

    def batches(
        self, x, y, batch_size: int, seed: int, epoch: int = 0, augment=None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The ``(inputs, targets)`` batches of one training epoch, ready for ``train_step``:
        the examples in a random order drawn from ``seed``, augmented and normalised. Override
        to batch differently (``SequenceModel`` reads text in order)."""
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        order = order.to(self.device)
        for start in range(0, len(x), batch_size):
            index = order[start : start + batch_size]
            # index_select copies whole images; x[index] indexes every byte, ~10x slower on CPU
            batch = x.index_select(0, index)
            if augment is not None:
                batch = augment(batch, epoch=epoch, indices=index)
            yield self.prepare_inputs(batch), y.index_select(0, index)

    def _train_epoch(
        self, x, y, batch_size, steps, seed, callbacks, epoch=0, augment=None
    ) -> dict[str, float]:
        self.module.train()
        torch.manual_seed(seed)  # dropout & co: repeatable, and the same after a resume
        means = _Means()
        for step, (inputs, targets) in enumerate(
            self.batches(x, y, batch_size, seed, epoch, augment)
        ):
            self._set_learning_rate()
            for cb in callbacks:  # after the schedule: a callback may set this batch's rate
                cb.on_train_batch_begin(step)
            logs = self.train_step(inputs, targets)
            self.global_step += 1
            means.add(logs, len(targets))
            for cb in callbacks:
                cb.on_train_batch_end(step, logs)
            if self.stop_training:  # a callback may end training mid-epoch (a time budget)
                break
        return means.result()

    # ------------------------------------------------------ evaluate/predict
    @torch.no_grad()
    def evaluate(self, data: Any, batch_size: int = 1024, *, tta: bool = False) -> dict[str, float]:
        """Mean loss and metrics over ``data`` (``tta``: also score mirrored images)."""
        self._require_compiled()
        x, y = self._tensors(data)
        if y is None:
            raise ClassicnetsError(
                "evaluate() needs targets: pass a dataset or an (inputs, targets) pair."
            )
        self.module.eval()
        means = _Means()
        for start in range(0, len(x), batch_size):
            xb = self.prepare_inputs(x[start : start + batch_size])
            means.add(self.test_step(xb, y[start : start + batch_size], tta=tta), len(xb))
        return means.result()

    @torch.no_grad()
    def predict(self, data: Any, batch_size: int = 1024) -> torch.Tensor:
        """The network's outputs (e.g. class scores) for every input, on the CPU."""
        x, _ = self._tensors(data)
        self.module.eval()
        outs = [
            self.predict_step(self.prepare_inputs(x[s : s + batch_size])).float().cpu()
            for s in range(0, len(x), batch_size)
        ]
        return torch.cat(outs)

    # ------------------------------------------------------------- save/load
    def save(self, path: str | os.PathLike, *, training_state: dict | None = None) -> None:
        """Write ``path.safetensors`` + ``path.json`` (weights, optimizer state, model name and
        arguments, normalisation, class names) atomically."""
        meta = {
            "model": self.spec["name"] if self.spec else None,
            "model_kwargs": self.spec["kwargs"] if self.spec else {},
            "mean": self.mean,
            "std": self.std,
            "classes": self.classes,
            "input_shape": self.input_shape,
            "compile": asdict(self.config) if self.config else None,
            "global_step": self.global_step,
            "epochs_done": self.epochs_done,
            "training_state": training_state or {},
            **self.checkpoint_extras(),
        }
        save_checkpoint(path, self.module, self.optimizer, meta)

    def checkpoint_extras(self) -> dict[str, Any]:
        """More JSON metadata for checkpoints (a subclass's vocabulary, say); ``load`` hands it
        back to :meth:`restore_extras`."""
        return {}

    def restore_extras(self, meta: dict[str, Any]) -> None:
        """Read back what :meth:`checkpoint_extras` stored."""
