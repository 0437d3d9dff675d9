"""Losses and metrics by name."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..errors import ClassicnetsError, unknown_name

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def build_loss(name: str, label_smoothing: float = 0.0) -> LossFn:
    """``cross_entropy`` (optionally label-smoothed, Szegedy et al. 2016) or ``mse`` (against
    one-hot targets when the targets are class indices)."""
    if not 0.0 <= label_smoothing < 1.0:
        raise ClassicnetsError(f"Label smoothing must be in [0, 1), got {label_smoothing}.")
    if name == "cross_entropy":
        return lambda out, y: F.cross_entropy(out, y, label_smoothing=label_smoothing)
    if name == "mse":

        def mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if y.dtype == torch.int64 and out.ndim == y.ndim + 1:
                y = F.one_hot(y, out.shape[-1]).to(out.dtype)
            return F.mse_loss(out, y)

        return mse
    raise unknown_name("loss", name, ("cross_entropy", "mse"))


def flat_scores(outputs: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(..., C)`` scores and ``(...)`` class targets (a language model's every position) as
    ``(N, C)`` and ``(N,)``, as the losses and metrics take them."""
    if outputs.ndim > 2 and y.ndim == outputs.ndim - 1 and not y.is_floating_point():
        return outputs.reshape(-1, outputs.shape[-1]), y.reshape(-1)
    return outputs, y


def _share(hits: torch.Tensor) -> torch.Tensor:
    """The share of True in ``hits``, in float64 where the device has it: 437 of 450 is
    0.971111..., not float32's 0.97111112."""
    dtype = torch.float32 if hits.device.type == "mps" else torch.float64
    return hits.sum().to(dtype) / hits.numel()


def accuracy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose highest score is the true class."""
    return _share(out.argmax(dim=-1) == y)


def top5(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose true class is among the five highest scores."""
    k = min(5, out.shape[-1])
    return _share((out.topk(k, dim=-1).indices == y.unsqueeze(-1)).any(dim=-1))


METRICS: dict[str, MetricFn] = {"accuracy": accuracy, "top5": top5}


def build_metrics(names) -> dict[str, MetricFn]:
    out = {}
    for name in names:
        if name not in METRICS:
            raise unknown_name("metric", name, METRICS)
        out[name] = METRICS[name]
    return out
