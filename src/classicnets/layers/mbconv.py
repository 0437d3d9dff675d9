"""The blocks of EfficientNet: stochastic depth, the MBConv and the Fused-MBConv.

- :class:`StochasticDepth` (in :mod:`.residual`): drop a residual branch in training.
- :class:`MBConv` (Sandler et al. 2018's inverted residual with Hu et al. 2018's
  squeeze-and-excitation, as Tan & Le 2019 use it): a 1x1 expansion, a depthwise ``k x k``, SE,
  and a linear 1x1 projection, with a residual when the shape is kept: the
  :class:`~.inverted_residual.InvertedResidual` with EfficientNet's widths and stochastic depth.
- :class:`FusedMBConv` (Tan & Le 2021, "EfficientNetV2", Figure 2): one ``k x k`` convolution
  replaces the expansion and the depthwise one, which runs faster on accelerators in the early,
  wide-map stages.
"""

from __future__ import annotations

from torch import nn

from .conv import ActLayer, ConvBNAct, NormLayer
from .inverted_residual import InvertedResidual
from .mobile import make_divisible
from .residual import Residual, StochasticDepth

__all__ = ["StochasticDepth", "MBConv", "FusedMBConv"]


class MBConv(InvertedResidual):
    """The mobile inverted bottleneck with squeeze-and-excitation (Tan & Le 2019, Table 1).

    ``expand`` (1x1, skipped at ratio 1) - ``depthwise`` (``k x k``, strided) - ``se`` -
    ``project`` (1x1, no activation); the residual (with stochastic depth) when ``stride == 1``
    and ``in_channels == out_channels``. The SE bottleneck is ``max(1, in_channels * se_ratio)``
    wide, a fraction of the block's *input* channels as in torchvision and the TF release.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: the depthwise kernel (3 or 5).
        stride: the depthwise stride.
        expand_ratio: the expanded width is ``make_divisible(in_channels * expand_ratio, 8)``.
        se_ratio: the SE bottleneck's fraction of the input channels; 0 for no SE.
        stochastic_depth: the probability of dropping the residual branch in training.
        norm_layer: the normalisation after every convolution.
        act_layer: the activation (SiLU, "swish", in EfficientNet), also inside the SE.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: float = 6,
        *,
        se_ratio: float = 0.25,
        stochastic_depth: float = 0.0,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.SiLU,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            expanded_channels=make_divisible(in_channels * expand_ratio, 8),
            se=se_ratio > 0,
            se_channels=max(1, int(in_channels * se_ratio)),
            se_act=act_layer,
            se_gate=nn.Sigmoid,
            stochastic_depth=stochastic_depth,
            norm_layer=norm_layer,
            act_layer=act_layer,
        )


class FusedMBConv(Residual):
    """The Fused-MBConv of EfficientNetV2 (Tan & Le 2021, Figure 2).

    A ``k x k`` strided convolution expands to ``make_divisible(in_channels * expand_ratio, 8)``
    channels (``fused``), then a linear 1x1 ``project`` maps to ``out_channels``. At ratio 1 the
    block is the single ``k x k`` convolution with its activation. No squeeze-and-excitation, as
    in the paper's Table 4 and torchvision.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: the fused convolution's kernel.
        stride: its stride.
        expand_ratio: the expansion of the fused convolution; 1 for none.
        stochastic_depth: the probability of dropping the residual branch in training.
        norm_layer: the normalisation after every convolution.
        act_layer: the activation after the fused convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: float = 4,
        *,
        stochastic_depth: float = 0.0,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.SiLU,
    ) -> None:
        kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
        hidden = make_divisible(in_channels * expand_ratio, 8)
        block = nn.Sequential()
        if hidden != in_channels:
            block.add_module("fused", ConvBNAct(in_channels, hidden, kernel_size, stride, **kwargs))
            block.add_module(
                "project", ConvBNAct(hidden, out_channels, 1, norm_layer=norm_layer, act_layer=None)
            )
        else:
            block.add_module(
                "fused", ConvBNAct(in_channels, out_channels, kernel_size, stride, **kwargs)
            )
        super().__init__(block, in_channels, out_channels, stride, stochastic_depth)
