"""Blocks of the Darknet classifiers behind YOLO: the residual unit and the cross-stage stage.

- :func:`leaky_relu` is Darknet's activation, LeakyReLU with slope 0.1 (Redmon & Farhadi 2017
  onwards), the ``act_layer`` every block here takes by default.
- :class:`DarknetResidual` (Redmon & Farhadi, "YOLOv3", 2018, Table 1): a 1x1 convolution to
  half the width, a 3x3 one back, added to the input with no activation after the sum.
- :class:`CSPStage` (Wang, Liao, Wu, Chen, Hsieh & Yeh, "CSPNet: A New Backbone that can
  Enhance Learning Capability of CNN", 2020): a strided 3x3 convolution, then two 1x1
  convolutions split the result into a part that skips the stage and a part that runs through
  residual units and a 1x1 transition; the two are concatenated and merged by a last 1x1.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv import ActLayer, ConvBNAct, NormLayer


def leaky_relu() -> nn.Module:
    """Darknet's activation: LeakyReLU with negative slope 0.1."""
    return nn.LeakyReLU(0.1)


class DarknetResidual(nn.Module):
    """``x + conv3x3(conv1x1(x))``, each convolution followed by batch norm and the activation.

    Args:
        channels: input and output channels.
        hidden: channels between the two convolutions (``channels // 2`` in Darknet-53).
        norm_layer: the normalisation after each convolution.
        act_layer: the activation after each normalisation.
    """

    def __init__(
        self,
        channels: int,
        hidden: int,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = leaky_relu,
    ) -> None:
        super().__init__()
        kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
        self.conv1 = ConvBNAct(channels, hidden, 1, **kwargs)
        self.conv2 = ConvBNAct(hidden, channels, 3, **kwargs)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))  # (B, C, H, W)


class CSPStage(nn.Module):
    """One stage of CSPDarknet-53, laid out as timm's ``cspdarknet53`` (its ``CrossStage``).

    timm computes both parts with one 1x1 convolution of ``2 * part_channels`` outputs and
    splits it; two convolutions of ``part_channels`` each, as here and in the paper's Darknet
    configuration, have the same parameters and compute the same function.

    Args:
        in_channels: input channels.
        out_channels: channels of the downsampling convolution and of the stage's output.
        num_blocks: residual units in the main part.
        part_channels: width of each of the two parts.
        hidden_channels: the residual units' inner width.
        stride: stride of the 3x3 downsampling convolution (1 keeps the size).
        norm_layer: the normalisation after each convolution.
        act_layer: the activation after each normalisation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_blocks: int,
        *,
        part_channels: int | None = None,
        hidden_channels: int | None = None,
        stride: int = 2,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = leaky_relu,
    ) -> None:
        super().__init__()
        part = out_channels // 2 if part_channels is None else part_channels
        hidden = part if hidden_channels is None else hidden_channels
        kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
        self.down = ConvBNAct(in_channels, out_channels, 3, stride, **kwargs)
        self.split_skip = ConvBNAct(out_channels, part, 1, **kwargs)
        self.split_main = ConvBNAct(out_channels, part, 1, **kwargs)
        self.blocks = nn.Sequential(
            *(DarknetResidual(part, hidden, **kwargs) for _ in range(num_blocks))
        )
        self.transition = ConvBNAct(part, part, 1, **kwargs)
        self.merge = ConvBNAct(2 * part, out_channels, 1, **kwargs)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)  # (B, out, H / stride, W / stride)
        skip = self.split_skip(x)  # (B, part, H', W')
        main = self.transition(self.blocks(self.split_main(x)))  # (B, part, H', W')
        return self.merge(torch.cat([skip, main], dim=1))  # (B, out, H', W')
