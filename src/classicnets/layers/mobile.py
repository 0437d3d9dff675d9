"""Blocks of the light-weight networks: channel rounding, squeeze-and-excitation and the
depthwise-separable convolution.

- :func:`make_divisible` rounds a width multiplier's channels to a multiple of 8 (MobileNet v2
  onwards, and every implementation since) without losing more than 10 %.
- :class:`SqueezeExcite` (Hu, Shen & Sun 2018): pool each channel to one number, squeeze them
  through a small bottleneck, and scale the channels by the gate of the result.
- :class:`DepthwiseSeparable` (Howard et al. 2017, Fig. 3): a ``k x k`` convolution per channel
  (``groups = channels``), then a ``1 x 1`` convolution mixing them. MobileNet v1 puts batch
  norm and ReLU after both; Xception none between them (``mid_norm=None, mid_act=None``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ShapeError
from .conv import ActLayer, ConvBNAct, NormLayer


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``min_value``,
    by default ``divisor``), and never more than 10 % below ``value``.

    Raises:
        ShapeError: when ``value`` is not positive (a width multiplier of 0 or less).
    """
    if value <= 0:
        raise ShapeError(f"A layer would get {value:g} channels; widths must be positive.")
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:  # rounding down must not drop more than 10 %
        rounded += divisor
    return rounded


def check_width(width: float, name: str = "width") -> float:
    """``width`` if it is a positive multiplier, else one sentence saying what is allowed."""
    if not width > 0:
        raise ShapeError(f"{name} must be a positive multiplier such as 0.5 or 1.0, got {width}.")
    return width


class SqueezeExcite(nn.Module):
    """Channel attention: ``x * gate(expand(act(reduce(mean(x)))))``.

    Args:
        channels: channels of the input (and output).
        squeeze_channels: width of the bottleneck.
        act_layer: activation after the reduction (ReLU in every paper here).
        gate_layer: the gate, ``nn.Sigmoid`` (SE-Net, EfficientNet) or ``nn.Hardsigmoid``
            (MobileNet v3, GhostNet).
    """

    keeps_receptive_field = True  # it scales channels; every position keeps its field

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        *,
        act_layer: ActLayer = nn.ReLU,
        gate_layer: ActLayer = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = act_layer()
        self.expand = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = gate_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)  # (B, C, 1, 1)
        return x * self.gate(self.expand(self.act(self.reduce(scale))))


class DepthwiseSeparable(nn.Sequential):
    """A depthwise ``kernel_size`` convolution, then a pointwise ``1 x 1`` one.

    Args:
        in_channels: input channels (one depthwise filter each).
        out_channels: output channels of the pointwise convolution.
        kernel_size: the depthwise kernel.
        stride: the depthwise stride.
        padding: the depthwise padding (``None``: keep the size at stride 1).
        dilation: the depthwise dilation.
        norm_layer, act_layer: after the pointwise convolution.
        mid_norm, mid_act: after the depthwise one (MobileNet v1: batch norm and ReLU;
            Xception: ``None`` and ``None``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | None = None,
        *,
        dilation: int = 1,
        norm_layer: NormLayer | None = nn.BatchNorm2d,
        act_layer: ActLayer | None = nn.ReLU,
        mid_norm: NormLayer | None = nn.BatchNorm2d,
        mid_act: ActLayer | None = nn.ReLU,
    ) -> None:
        super().__init__()
        self.add_module(
            "depthwise",
            ConvBNAct(
                in_channels,
                in_channels,
                kernel_size,
                stride,
                padding,
                groups=in_channels,
                dilation=dilation,
                bias=False,
                norm_layer=mid_norm,
                act_layer=mid_act,
            ),
        )
        self.add_module(
            "pointwise",
            ConvBNAct(
                in_channels,
                out_channels,
                1,
                bias=False,
                norm_layer=norm_layer,
                act_layer=act_layer,
            ),
        )
        self.out_channels = out_channels
