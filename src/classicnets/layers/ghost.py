"""Blocks of GhostNet (Han, Wang, Tian, Guo, Xu & Xu, "GhostNet: More Features from Cheap
Operations", 2020), laid out as timm's ``ghostnet_100``.

- :class:`GhostModule` (Figure 2b): a 1x1 convolution makes ``ceil(out / ratio)`` "intrinsic"
  feature maps and a cheap depthwise convolution makes the "ghost" ones from them; the two are
  concatenated and cut to ``out`` channels.
- :class:`GhostBottleneck` (Figure 3): a ghost module expands, a depthwise convolution strides
  when the block downsamples, optional squeeze-and-excitation, and a ghost module without ReLU
  projects; the shortcut is the identity, or a depthwise and a pointwise convolution where the
  size or the width changes.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .conv import ActLayer, ConvBNAct, NormLayer
from .mobile import DepthwiseSeparable, SqueezeExcite, make_divisible


class GhostModule(nn.Module):
    """``cat(primary(x), cheap(primary(x)))[:, :out]``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        ratio: the paper's ``s``: one map in ``ratio`` comes from the 1x1 convolution, the rest
            from the cheap operation.
        dw_size: the cheap depthwise convolution's kernel (the paper's ``d``).
        relu: whether both convolutions end in the activation (not in a block's projection).
        norm_layer: the normalisation after each convolution.
        act_layer: the activation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        ratio: int = 2,
        dw_size: int = 3,
        relu: bool = True,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        primary = math.ceil(out_channels / ratio)
        act = act_layer if relu else None
        self.primary = ConvBNAct(
            in_channels, primary, 1, norm_layer=norm_layer, act_layer=act, bias=False
        )
        self.cheap = ConvBNAct(
            primary,
            primary * (ratio - 1),
            dw_size,
            groups=primary,
            bias=False,
            norm_layer=norm_layer,
            act_layer=act,
        )
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        intrinsic = self.primary(x)  # (B, ceil(out / ratio), H, W)
        ghosts = self.cheap(intrinsic)  # (B, ceil(out / ratio) * (ratio - 1), H, W)
        return torch.cat([intrinsic, ghosts], dim=1)[:, : self.out_channels]  # (B, out, H, W)


class GhostBottleneck(nn.Module):
    """GhostNet's bottleneck: ghost expand, (strided depthwise), (SE), ghost project, + shortcut.

    Args:
        in_channels: input channels.
        mid_channels: the expansion's width (Table 1's "#exp").
        out_channels: output channels (Table 1's "#out").
        kernel_size: the depthwise kernel, of the strided convolution and of the shortcut.
        stride: 2 downsamples with a depthwise convolution between the ghost modules.
        se_ratio: squeeze-and-excitation on the expansion with a bottleneck of
            ``make_divisible(mid_channels * se_ratio, 4)`` and a hard-sigmoid gate, as timm;
            0 for none.
        norm_layer: the normalisation after each convolution.
        act_layer: the activation of the expanding ghost module and of the SE bottleneck.
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        se_ratio: float = 0.0,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
        self.expand = GhostModule(in_channels, mid_channels, relu=True, **kwargs)
        self.depthwise = (
            ConvBNAct(
                mid_channels,
                mid_channels,
                kernel_size,
                stride,
                groups=mid_channels,
                bias=False,
                norm_layer=norm_layer,
                act_layer=None,
            )
            if stride > 1
            else nn.Identity()
        )
        self.se = (
            SqueezeExcite(
                mid_channels,
                make_divisible(mid_channels * se_ratio, 4),
                act_layer=act_layer,
                gate_layer=nn.Hardsigmoid,
            )
            if se_ratio > 0
            else nn.Identity()
        )
        self.project = GhostModule(mid_channels, out_channels, relu=False, **kwargs)
        if stride == 1 and in_channels == out_channels:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = DepthwiseSeparable(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                norm_layer=norm_layer,
                act_layer=None,
                mid_norm=norm_layer,
                mid_act=None,
            )
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.expand(x)  # (B, mid, H, W)
        out = self.se(self.depthwise(out))  # (B, mid, H / stride, W / stride)
        return self.project(out) + self.shortcut(x)  # (B, out, H / stride, W / stride)
