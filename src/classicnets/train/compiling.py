"""From what ``compile`` is told to the objects training uses, and back from a checkpoint.

Names build our own parts (:mod:`.optim`, :mod:`.losses`); torch objects are used as given and
recorded by class (:mod:`.setup`), so a checkpoint can rebuild torch's optimizers, losses and
schedulers. What cannot be rebuilt (a user's own loss function) is recorded as custom: a loaded
model then asks for it again before training or evaluating, instead of guessing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import ClassicnetsError
from .losses import METRICS, build_loss, build_metrics
from .optim import OPTIMIZERS, Schedule, build_optimizer
from .setup import CUSTOM, CompileConfig, check_optimizer, loss_options, qualified_name, torch_class

Scheduler = torch.optim.lr_scheduler.LRScheduler


@dataclass
class CompiledParts:
    """The live objects behind a :class:`CompileConfig`.

    Attributes:
        optimizer: the optimizer (None: a custom one a checkpoint could not rebuild).
        loss: ``(outputs, targets) -> loss`` (None likewise).
        metrics: name -> ``(outputs, targets) -> value``.
        schedule: ``factor(position, total, steps_per_epoch)`` for a named schedule, else None.
        scheduler: a torch LR scheduler, else None.
        base_lrs: each parameter group's base rate, which a named schedule multiplies.
    """

    optimizer: torch.optim.Optimizer | None
    loss: Callable | None
    metrics: dict[str, Callable]
    schedule: Callable[[int, int, int], float] | None = None
    scheduler: Scheduler | None = None
    base_lrs: list[float] = field(default_factory=list)
    unrebuilt_schedule: bool = False
    scaler: torch.amp.GradScaler | None = None  # float16 training's loss scaling

    def missing(self, training: bool) -> str | None:
        """The custom part that must be compiled again before training (or evaluating)."""
        if self.loss is None:
            return "loss"
        if training and self.optimizer is None:
            return "optimizer"
        if training and self.unrebuilt_schedule:
            return "schedule"
        return None

    def scheduler_state(self) -> dict | None:
        """A torch scheduler's state when JSON can hold all of it (a function it calls cannot
        be saved: such a scheduler must be compiled again after loading)."""
        if self.scheduler is None:
            return None
        state = self.scheduler.state_dict()
        plain = all(_plain(v) for v in state.values()) and "lr_lambdas" not in state
        return state if plain and "_schedulers" not in state else None


def _plain(value: Any) -> bool:
    if isinstance(value, bool | int | float | str) or value is None:
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


class _NamedSchedule:
    """A named schedule as a function of the position, rebuilt only when the run's length
    changes."""

    def __init__(self, name: str, warmup_steps: int) -> None:
        Schedule(name, total_steps=1, warmup_steps=warmup_steps)  # checks the name now
        self.name, self.warmup_steps = name, warmup_steps
        self._cached: tuple[tuple[int, int], Schedule] | None = None

    def __call__(self, position: int, total: int, steps_per_epoch: int) -> float:
        key = (total, steps_per_epoch)
        if self._cached is None or self._cached[0] != key:
            schedule = Schedule(
                self.name,
                total_steps=total,
                steps_per_epoch=steps_per_epoch,
                warmup_steps=self.warmup_steps,
            )
            self._cached = (key, schedule)
        return self._cached[1](position)


def _metric_functions(metrics: Any) -> tuple[tuple[str, ...], dict[str, Callable]]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    names, functions = [], {}
    for metric in metrics:
        if callable(metric):
            name = getattr(metric, "__name__", type(metric).__name__)
            names.append(f"{CUSTOM}{name}")
            functions[name] = metric
        else:
            names.append(metric)
            functions.update(build_metrics([metric]))
    return tuple(names), functions


def compile_parts(
    module: nn.Module, optimizer: Any, options: dict[str, Any]
) -> tuple[CompileConfig, CompiledParts]:
    """Validate ``compile``'s arguments and build what they name.

    Raises:
        ClassicnetsError: an unknown option or name, a value out of range, or an optimizer or
            scheduler built over something else than this model.
    """
    fields = {f.name for f in dataclasses.fields(CompileConfig)} - {"optimizer", "loss_options"}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ClassicnetsError(
            f"compile() got unknown options {unknown}; it takes optimizer, "
            f"{', '.join(sorted(fields))}."
        )
    options = dict(options)
    loss = options.pop("loss", "cross_entropy")
    schedule = options.pop("schedule", "constant")
    metric_names, metrics = _metric_functions(options.pop("metrics", ("accuracy",)))
    if isinstance(optimizer, torch.optim.Optimizer):
        check_optimizer(optimizer, module)
        options.setdefault("lr", optimizer.param_groups[0]["lr"])
        opt_name = qualified_name(optimizer)
    elif isinstance(optimizer, str):
        opt_name = optimizer
    else:
        raise ClassicnetsError(
            f"optimizer must be a name ({', '.join(OPTIMIZERS)}) or a torch.optim.Optimizer, "
            f"got {type(optimizer).__name__}."
        )
    config = CompileConfig(optimizer=opt_name, metrics=metric_names, **options)
    if isinstance(optimizer, str):
        optimizer = build_optimizer(
            optimizer, module.parameters(), config.lr, config.weight_decay, config.momentum
        )
    loss_name, loss_fn, kwargs = _loss(loss, config.label_smoothing)
    config = dataclasses.replace(config, loss=loss_name, loss_options=kwargs)
    parts = CompiledParts(optimizer, loss_fn, metrics, scaler=_scaler(config, module))
    parts.base_lrs = [group["lr"] for group in optimizer.param_groups]
    schedule_name = _schedule(parts, schedule, config)
    return dataclasses.replace(config, schedule=schedule_name), parts


def _scaler(config: CompileConfig, module: nn.Module) -> torch.amp.GradScaler | None:
    if config.precision != "fp16":
        return None
    device = next(module.parameters()).device
    if device.type != "cuda":
        raise ClassicnetsError(
            f"float16 training needs a CUDA GPU, and the model is on the {device.type}; use "
            "precision='bf16' where the CPU has it, or 'fp32'."
        )
    return torch.amp.GradScaler("cuda")


def _loss(loss: Any, label_smoothing: float) -> tuple[str, Callable, dict | None]:
    if isinstance(loss, str):
        return loss, build_loss(loss, label_smoothing), None
    if not callable(loss):
        raise ClassicnetsError(
            f"loss must be a name (cross_entropy, mse) or a callable (outputs, targets) -> loss, "
            f"got {type(loss).__name__}."
        )
    name = qualified_name(loss)
    options = loss_options(loss) if isinstance(loss, nn.Module) else None
    if options is None and not name.startswith(CUSTOM):
        name = f"{CUSTOM}{name}"  # a torch loss with a tensor argument: cannot be rebuilt
    return name, loss, options


def _schedule(parts: CompiledParts, schedule: Any, config: CompileConfig) -> str:
    if isinstance(schedule, str):
        parts.schedule = _NamedSchedule(schedule, config.warmup_steps)
        return schedule
    if not isinstance(schedule, Scheduler) and callable(schedule):
        schedule = schedule(parts.optimizer)  # a function of the optimizer
    if not isinstance(schedule, Scheduler):
        raise ClassicnetsError(
            "schedule must be a name (constant, step, inverse_sqrt, cosine, onecycle), a torch "
            f"LR scheduler or a function building one from the optimizer, got "
            f"{type(schedule).__name__}."
        )
    if isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise ClassicnetsError(
            "ReduceLROnPlateau steps on a validation value, which compile() cannot give it; use "
            "a schedule of the run's position (a name, or a scheduler such as CosineAnnealingLR)."
        )
    if schedule.optimizer is not parts.optimizer:
        raise ClassicnetsError(
            "The LR scheduler given to compile() steps another optimizer than the model's; "
            "build it from the optimizer you pass to compile()."
        )
    parts.scheduler = schedule
    return qualified_name(schedule)


def config_to_json(config: CompileConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def rebuild_parts(
    module: nn.Module,
    saved: dict[str, Any],
    optimizer_state: dict | None,
    scheduler_state: dict | None,
    base_lrs: list[float] | None = None,
    scaler_state: dict | None = None,
) -> tuple[CompileConfig, CompiledParts]:
    """The config and parts a checkpoint recorded, rebuilt where they can be."""
    fields = {f.name for f in dataclasses.fields(CompileConfig)}
    saved = {k: v for k, v in saved.items() if k in fields}
    if saved.get("precision") == "fp16" and next(module.parameters()).device.type != "cuda":
        saved["precision"] = "fp32"  # a float16 run read on a machine without CUDA
    saved["metrics"] = tuple(saved.get("metrics", ()))
    config = CompileConfig(**saved)
    metrics = {
        name: METRICS[name] for name in config.metrics if not name.startswith(CUSTOM)
    }  # a custom metric is left out: the rest still score
    if config.optimizer.startswith(CUSTOM):
        optimizer = None
    elif config.optimizer in OPTIMIZERS:
        optimizer = build_optimizer(
            config.optimizer, module.parameters(), config.lr, config.weight_decay, config.momentum
        )
    else:
        optimizer = torch_class(config.optimizer)(module.parameters())
    if optimizer is not None and optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    if config.loss.startswith(CUSTOM):
        loss = None
    elif "." in config.loss:
        loss = torch_class(config.loss)(**(config.loss_options or {}))
    else:
        loss = build_loss(config.loss, config.label_smoothing)
    parts = CompiledParts(optimizer, loss, metrics, scaler=_scaler(config, module))
    if parts.scaler is not None and scaler_state:
        parts.scaler.load_state_dict(scaler_state)
    if optimizer is not None:
        parts.base_lrs = list(base_lrs or [config.lr] * len(optimizer.param_groups))
    if "." not in config.schedule:
        parts.schedule = _NamedSchedule(config.schedule, config.warmup_steps)
    elif config.schedule.startswith(CUSTOM) or optimizer is None or scheduler_state is None:
        parts.unrebuilt_schedule = True
    else:
        parts.scheduler = _restored_scheduler(config.schedule, optimizer, scheduler_state)
        parts.unrebuilt_schedule = parts.scheduler is None
    return config, parts


def _restored_scheduler(name: str, optimizer, state: dict) -> Scheduler:
    """A torch scheduler from its state: its state dict is its whole ``__dict__`` but for the
    optimizer (:meth:`CompiledParts.scheduler_state` saves only those JSON holds whole)."""
    cls = torch_class(name)
    scheduler = cls.__new__(cls)
    scheduler.optimizer = optimizer
    scheduler.load_state_dict(state)
    return scheduler
