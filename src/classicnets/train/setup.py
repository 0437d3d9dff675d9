"""What ``Model.compile`` is told, and where training runs."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ClassicnetsError


@dataclass(frozen=True)
class CompileConfig:
    """Everything ``compile`` was told; saved with every checkpoint."""

    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    loss: str = "cross_entropy"
    label_smoothing: float = 0.0
    metrics: tuple[str, ...] = ("accuracy",)
    schedule: str = "constant"
    warmup_steps: int = 0
    grad_clip: float | None = None
    channels_last: bool = False
    bf16: bool = False
    compile: bool = False


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
    except RuntimeError:
        raise ClassicnetsError(f"Unknown device '{device}'; use auto, cpu, cuda or mps.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ClassicnetsError("Device 'cuda' was asked for but no CUDA GPU is available.")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ClassicnetsError("Device 'mps' was asked for but Apple's MPS is not available.")
    return dev
