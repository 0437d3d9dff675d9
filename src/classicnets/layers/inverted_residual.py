"""The inverted residual with a linear bottleneck (Sandler et al. 2018, "MobileNetV2: Inverted
Residuals and Linear Bottlenecks", Table 1), the block of MobileNet v2 and v3.

A narrow input is expanded by a 1x1 convolution (by the factor ``t``), filtered per channel by a
depthwise ``k x k`` convolution, optionally re-weighted by squeeze-and-excitation (MobileNet v3,
Howard et al. 2019, Figure 4), and projected back to a narrow output by a 1x1 convolution with
no activation: a ReLU on the few channels of the bottleneck would destroy information (the
paper's Section 3.2). The residual joins the narrow ends, when the block keeps the shape.
"""

from __future__ import annotations

from torch import nn

from .conv import ActLayer, ConvBNAct, NormLayer
from .mobile import SqueezeExcite, make_divisible
from .residual import Residual

__all__ = ["InvertedResidual"]


class InvertedResidual(Residual):
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
        se_channels: its bottleneck width (default ``make_divisible(expanded // 4, 8)``;
            EfficientNet's is a quarter of the block's input channels).
        se_act: the activation inside it (ReLU; SiLU in EfficientNet).
        stochastic_depth: the probability of dropping the residual branch in training.
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
        se_channels: int | None = None,
        se_act: ActLayer = nn.ReLU,
        stochastic_depth: float = 0.0,
    ) -> None:
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
            squeeze = make_divisible(hidden // 4, 8) if se_channels is None else se_channels
            block.add_module(
                "se", SqueezeExcite(hidden, squeeze, act_layer=se_act, gate_layer=se_gate)
            )
        block.add_module(
            "project", ConvBNAct(hidden, out_channels, 1, norm_layer=norm_layer, act_layer=None)
        )
        super().__init__(block, in_channels, out_channels, stride, stochastic_depth)
        self.expanded_channels = hidden
