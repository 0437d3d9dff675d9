"""BatchNorm whose training statistics are those of the whole global batch, across processes.

torch's ``nn.SyncBatchNorm`` refuses CPU tensors (in torch 2.13 its forward raises "SyncBatchNorm
expected input tensor to be on GPU"), so gloo runs on CPUs could not synchronise at all. This
layer works on any device and backend: it all-reduces the per-channel count and sum, then the
sum of squared deviations from the global mean (two passes, as ``F.batch_norm`` computes a
variance, not ``E[x^2] - E[x]^2``, which cancels badly), and normalises with those.

Gradients flow through both all-reduces. The backward of each all-reduce weighs every rank's
gradient by its share of the global batch, so that, with the weighted gradient average of
:mod:`.distributed`, the update is exactly that of one process on the whole batch even when the
last batch splits unevenly.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


class _WeightedSum(torch.autograd.Function):
    """``all_reduce(SUM)`` forward; backward sums ``share * grad`` over ranks, then divides by
    this rank's share (which the weighted gradient average multiplies back)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, context: Any) -> torch.Tensor:
        ctx.context = context
        total = tensor.clone()
        context.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        share = ctx.context.share
        total = grad.mul(share)
        ctx.context.all_reduce(total)
        return total.div_(share), None


class SyncedBatchNorm(nn.modules.batchnorm._BatchNorm):
    """A BatchNorm layer (1-D, 2-D or 3-D) that trains on global-batch statistics.

    Built from an existing layer by :func:`convert_batchnorm`; it shares that layer's
    parameters and buffers, so optimizers and state dicts see the same tensors.

    Args:
        layer: the BatchNorm layer to take over.
        context: the :class:`~.distributed.DataParallel` context (its ``all_reduce`` and the
            rank's ``share`` of the current batch).
    """

    def __init__(self, layer: nn.modules.batchnorm._BatchNorm, context: Any) -> None:
        super().__init__(
            layer.num_features, layer.eps, layer.momentum, layer.affine, layer.track_running_stats
        )
        self.weight, self.bias = layer.weight, layer.bias
        self.running_mean, self.running_var = layer.running_mean, layer.running_var
        self.num_batches_tracked = layer.num_batches_tracked
        self.training = layer.training
        self.context = context

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training and self.track_running_stats:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
            )
        dims = [0, *range(2, x.dim())]
        shape = (1, -1) + (1,) * (x.dim() - 2)
        data = x.float()
        count = x.new_full((1,), x.numel() // x.shape[1], dtype=torch.float32)
        first = _WeightedSum.apply(torch.cat([count, data.sum(dims)]), self.context)
        total, mean = first[0], first[1:] / first[0]
        centred = data - mean.view(shape)
        var = _WeightedSum.apply(centred.pow(2).sum(dims), self.context) / total
        if self.track_running_stats:
            self._update_running(mean.detach(), var.detach(), total.item())
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, total: float) -> None:
        """The running statistics as BatchNorm keeps them: the unbiased variance, and a
        cumulative average when ``momentum`` is None."""
        self.num_batches_tracked.add_(1)
        factor = self.momentum
        if factor is None:
            factor = 1.0 / float(self.num_batches_tracked)
        unbiased = var * (total / max(total - 1, 1))
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
        self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)


def convert_batchnorm(module: nn.Module, context: Any) -> nn.Module:
    """Replace every BatchNorm layer inside ``module`` by a :class:`SyncedBatchNorm` sharing its
    tensors (in place; the module itself is returned, or the new layer if it is one)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
        module, SyncedBatchNorm
    ):
        return SyncedBatchNorm(module, context)
    for name, child in module.named_children():
        replaced = convert_batchnorm(child, context)
        if replaced is not child:
            setattr(module, name, replaced)
    return module


def has_batchnorm(module: nn.Module) -> bool:
    """Whether ``module`` holds a BatchNorm layer."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
