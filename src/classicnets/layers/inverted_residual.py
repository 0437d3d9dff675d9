"""The inverted residual with a linear bottleneck (Sandler et al. 2018, "MobileNetV2: Inverted
Residuals and Linear Bottlenecks", Table 1), the block of MobileNet v2 and v3.

A narrow input is expanded by a 1x1 convolution (by the factor ``t``), filtered per channel by a
depthwise ``k x k`` convolution, optionally re-weighted by squeeze-and-excitation (MobileNet v3,
Howard et al. 2019, Figure 4), and projected back to a narrow output by a 1x1 convolution with
no activation: a ReLU on the few channels of the bottleneck would destroy information (the
paper's Section 3.2). The residual joins the narrow ends, when the block keeps the shape.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv import ActLayer, ConvBNAct, NormLayer
from .mobile import SqueezeExcite, make_divisible

__all__ = ["InvertedResidual"]


class InvertedResidual(nn.Module):
    """``expand`` (1x1) - ``depthwise`` (``k x k``, strided) - ``se`` - ``project`` (1x1, linear),
    plus ``x`` when ``stride == 1`` and ``in_channels == out_channels``.

    The expansion is skipped when the expanded width equals the input's (``t == 1``, the first
    row of MobileNet v2's Table 2 and of v3-Large's Table 1). The squeeze-and-excitation bottleneck
    is ``make_divisible(expanded // 4, 8)`` wide with a ReLU inside, as in torchvision's
    MobileNet v3 (the paper's Figure 4 says a quarter of the expanded channels).

    Args:
        in_channels: input channels.
        out_channels: output channels of the linear projection.
        kernel_size: the depthwise kernel (3 or 5).
        stride: the depthwise stride.
        expand_ratio: the expansion factor ``t``; the expanded width is
            ``round(in_channels * t)`` (MobileNet v2).
        expanded_channels: the expanded width itself, overriding ``expand_ratio`` (MobileNet
            v3's tables give it as "exp size").
        se: whether to put squeeze-and-excitation after the depthwise convolution.
        norm_layer: the normalisation after every convolution.
        act_layer: the activation after the expansion and the depthwise convolution (ReLU6 in
            v2; ReLU or Hardswish per row in v3).
        se_gate: the gate of the squeeze-and-excitation (``nn.Hardsigmoid`` in v3).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: float = 6,
        *,
        expanded_channels: int | None = None,
        se: bool = False,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU6,
        se_gate: ActLayer = nn.Hardsigmoid,
    ) -> None:
        super().__init__()
        hidden = (
            int(round(in_channels * expand_ratio))
            if expanded_channels is None
            else expanded_channels
        )
        kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
        block = nn.Sequential()
        if hidden != in_channels:
            block.add_module("expand", ConvBNAct(in_channels, hidden, 1, **kwargs))
        block.add_module(
            "depthwise", ConvBNAct(hidden, hidden, kernel_size, stride, groups=hidden, **kwargs)
        )
        if se:
            squeeze = make_divisible(hidden // 4, 8)
            block.add_module(
                "se", SqueezeExcite(hidden, squeeze, act_layer=nn.ReLU, gate_layer=se_gate)
            )
        block.add_module(
            "project", ConvBNAct(hidden, out_channels, 1, norm_layer=norm_layer, act_layer=None)
        )
        self.block = block
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expanded_channels = hidden
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)  # (B, out, H / stride, W / stride)
        return x + out if self.use_residual else out
