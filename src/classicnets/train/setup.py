"""What ``Model.compile`` is told, and where training runs.

``compile`` takes names (``optimizer="adam"``, ``loss="cross_entropy"``, ``schedule="onecycle"``)
or torch objects (a ``torch.optim.Optimizer``, any loss callable such as ``nn.CrossEntropyLoss()``,
a ``torch.optim.lr_scheduler`` scheduler or a function that builds one from the optimizer). The
:class:`CompileConfig` saved in every checkpoint names what was used, so ``load`` can rebuild
it: torch's own optimizers, losses and schedulers by their class; anything else is recorded as
``custom:...`` and must be given to ``compile`` again before training.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import ClassicnetsError

CUSTOM = "custom:"


@dataclass(frozen=True)
class CompileConfig:
    """Everything ``compile`` was told; saved with every checkpoint.

    Attributes:
        optimizer: a name of :data:`~classicnets.train.optim.OPTIMIZERS`, or the class of a
            torch optimizer that was given (``"torch.optim.SGD"``).
        lr: the base learning rate (of the first parameter group for a given optimizer).
        weight_decay, momentum: for named optimizers.
        loss: ``"cross_entropy"``, ``"mse"``, a torch loss class or ``"custom:NAME"``.
        loss_options: keyword arguments that rebuild a torch loss.
        label_smoothing: for ``cross_entropy``.
        metrics: metric names.
        schedule: a name of :data:`~classicnets.train.optim.SCHEDULES`, or the class of a torch
            scheduler that was given.
        schedule_interval: when a torch scheduler steps: ``"epoch"`` (torch's usual) or
            ``"step"`` (after every update, as ``OneCycleLR`` expects).
        warmup_steps: linear warm-up for named schedules.
        grad_clip: clip the gradient norm to this.
        channels_last: the channels-last memory layout for images.
        precision: ``"fp32"``, ``"bf16"`` (bfloat16 autocast) or ``"fp16"`` (float16 autocast
            with a gradient scaler, CUDA only); :func:`~.precision.resolve_precision` picks
            one for the machine.
        compile: ``torch.compile`` the model.
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    loss: str = "cross_entropy"
    loss_options: dict | None = None
    label_smoothing: float = 0.0
    metrics: tuple[str, ...] = ("accuracy",)
    schedule: str = "constant"
    schedule_interval: str = "epoch"
    warmup_steps: int = 0
    grad_clip: float | None = None
    channels_last: bool = False
    precision: str = "fp32"
    compile: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.lr, int | float) or not self.lr > 0 or not math.isfinite(self.lr):
            raise ClassicnetsError(f"The learning rate must be a positive number, got {self.lr}.")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ClassicnetsError(
                f"Gradient clipping needs a positive norm, got {self.grad_clip}; leave it unset "
                "to train without clipping."
            )
        if not 0 <= self.momentum < 1:
            raise ClassicnetsError(f"Momentum must be in [0, 1), got {self.momentum}.")
        if self.schedule_interval not in ("epoch", "step"):
            raise ClassicnetsError(
                f"schedule_interval must be 'epoch' or 'step', got {self.schedule_interval!r}."
            )
        if self.precision not in ("fp32", "bf16", "fp16"):
            raise ClassicnetsError(
                f"precision must be fp32, bf16 or fp16, got {self.precision!r} (a run's 'auto' "
                "is resolved by classicnets.train.precision.resolve_precision)."
            )
        if not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ClassicnetsError(f"Warm-up must be 0 or more updates, got {self.warmup_steps}.")


def qualified_name(obj: Any) -> str:
    """``"torch.optim.SGD"`` for torch's public classes, else ``"custom:module.Name"``."""
    cls = obj if inspect.isclass(obj) else type(obj)
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return f"{CUSTOM}{obj.__module__}.{obj.__qualname__}"
    for public in ("torch.optim", "torch.optim.lr_scheduler", "torch.nn"):
        module = __import__(public, fromlist=["_"])
        if getattr(module, cls.__name__, None) is cls:
            return f"{public}.{cls.__name__}"
    return f"{CUSTOM}{cls.__module__}.{cls.__qualname__}"


def torch_class(name: str) -> type:
    """The torch class a :func:`qualified_name` names."""
    module, _, cls = name.rpartition(".")
    return getattr(__import__(module, fromlist=["_"]), cls)


def loss_options(loss: nn.Module) -> dict | None:
    """The constructor arguments that rebuild a torch loss, or None when one of them is not a
    plain value (a class-weight tensor, say): such a loss counts as custom."""
    options = {}
    for name in inspect.signature(type(loss).__init__).parameters:
        if name in ("self", "size_average", "reduce") or not hasattr(loss, name):
            continue
        value = getattr(loss, name)
        if value is None or isinstance(value, bool | int | float | str):
            options[name] = value
        else:
            return None
    return options


def check_optimizer(optimizer: torch.optim.Optimizer, module: nn.Module) -> None:
    """A given optimizer must update this model's parameters and no others."""
    own = {id(p) for p in module.parameters()}
    given = [p for group in optimizer.param_groups for p in group["params"]]
    if not given or any(id(p) not in own for p in given):
        raise ClassicnetsError(
            f"The {type(optimizer).__name__} optimizer given to compile() updates parameters "
            "that are not this model's; build it from model.module.parameters()."
        )


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; anything else must be available."""
    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ClassicnetsError(f"Unknown device '{device}'; use auto, cpu, cuda or mps.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ClassicnetsError("Device 'cuda' was asked for but no CUDA GPU is available.")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ClassicnetsError("Device 'mps' was asked for but Apple's MPS is not available.")
    return dev
