"""Xception (Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", 2017):
Inception modules taken to the limit, as depthwise-separable convolutions in residual blocks.
Figure 5 of the paper is three flows: the entry flow (two convolutions, then three blocks that
halve the size), the middle flow (eight identical 728-wide blocks) and the exit flow (one more
halving block, two separable convolutions, global pooling and the classifier).
22,855,952 parameters at 1,000 classes, as timm's ``legacy_xception``.

Each block is a row of :data:`ENTRY_FLOW`, :data:`MIDDLE_FLOW` or :data:`EXIT_FLOW`: the widths
of its separable convolutions, the stride of the 3x3 max pool closing it (1: none), and whether
it starts with a ReLU. A separable convolution here has no batch norm or ReLU between its
depthwise and pointwise halves (Section 4.7 of the paper finds them harmful), and batch norm
after it. A block whose width or size changes adds a 1x1 convolution (stride 2) with batch norm
as its shortcut; the middle flow's blocks add their input.

Below 64 px the two entry convolutions keep the size (stride 1, padding 1) instead of taking
299 px to 147 and 145, so a 32x32 image reaches the exit flow as 4x4 and ends 2x2 instead of
1x1. The parameters are the same.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..layers.conv import ActLayer, ConvBNAct, NormLayer
from ..layers.mobile import DepthwiseSeparable
from ._base import ImageClassifier, pooled_head
from ._registry import register_model

_PAPER = "Chollet, Xception: Deep Learning with Depthwise Separable Convolutions, 2017"
SMALL_INPUT = 64  # images under this side get the stride-1 entry convolutions

Block = tuple[tuple[int, ...], int, bool]  # (separable widths, pool stride, ReLU first)

# Figure 5. The first block follows a ReLU already (the entry convolutions end with one).
ENTRY_FLOW: tuple[Block, ...] = (
    ((128, 128), 2, False),  # 147 -> 74 at 299 px
    ((256, 256), 2, True),  # -> 37
    ((728, 728), 2, True),  # -> 19
)
MIDDLE_FLOW: tuple[Block, ...] = (((728, 728, 728), 1, True),) * 8  # "repeated 8 times"
EXIT_FLOW: tuple[Block, ...] = (((728, 1024), 2, True),)  # -> 10
EXIT_CONVS = (1536, 2048)  # separable convolutions, each with batch norm and ReLU


def separable(
    in_channels: int,
    out_channels: int,
    *,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer | None = None,
) -> DepthwiseSeparable:
    """Xception's 3x3 separable convolution: depthwise, pointwise, then batch norm (and
    ``act_layer`` if given), nothing between the two halves."""
    return DepthwiseSeparable(
        in_channels,
        out_channels,
        3,
        mid_norm=None,
        mid_act=None,
        norm_layer=norm_layer,
        act_layer=act_layer,
    )


class XceptionBlock(nn.Module):
    """One block of Figure 5: ``[ReLU, SepConv, BN] x len(widths)``, a 3x3 max pool of
    ``stride`` (when 2), plus a shortcut.

    Args:
        in_channels: input channels.
        widths: output channels of each separable convolution, e.g. ``(728, 1024)``.
        stride: 2 closes the block with a 3x3/2 max pool (padding 1), 1 keeps the size.
        relu_first: whether the block starts with a ReLU (not after the entry convolutions,
            which end with one).
        norm_layer: the normalisation after each separable convolution and the projection.
        act_layer: the activation before each separable convolution.
    """

    def __init__(
        self,
        in_channels: int,
        widths: tuple[int, ...],
        stride: int = 1,
        *,
        relu_first: bool = True,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [act_layer()] if relu_first else []
        channels = in_channels
        for i, width in enumerate(widths):
            last = i == len(widths) - 1  # the ReLU before the next one is its activation
            layers.append(
                separable(
                    channels, width, norm_layer=norm_layer, act_layer=None if last else act_layer
                )
            )
            channels = width
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.residual = nn.Sequential(*layers)
        if stride == 1 and channels == in_channels:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = ConvBNAct(
                in_channels, channels, 1, stride, norm_layer=norm_layer, act_layer=None
            )
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)  # (B, widths[-1], H / stride, W / stride)


def make_xception(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 299,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU,
) -> ImageClassifier:
    """Build Xception from :data:`ENTRY_FLOW`, :data:`MIDDLE_FLOW` and :data:`EXIT_FLOW`.

    Args:
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the entry convolutions keep the size.
        norm_layer: the normalisation after every convolution.
        act_layer: the activation.

    Returns:
        The network.
    """
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    stride, padding = (1, 1) if image_size < SMALL_INPUT else (2, 0)
    stages: OrderedDict[str, nn.Module] = OrderedDict(
        conv1=ConvBNAct(in_channels, 32, 3, stride, padding, **kwargs),  # (B, 32, 149, 149)
        conv2=ConvBNAct(32, 64, 3, 1, padding, **kwargs),  # (B, 64, 147, 147)
    )
    channels = 64
    flows = (("entry", ENTRY_FLOW), ("middle", MIDDLE_FLOW), ("exit", EXIT_FLOW))
    for flow, rows in flows:  # (B, 728, 19, 19) after the entry and middle flows
        for i, (widths, pool_stride, relu_first) in enumerate(rows):
            block = XceptionBlock(channels, widths, pool_stride, relu_first=relu_first, **kwargs)
            stages[f"{flow}{i + 1}"] = block
            channels = block.out_channels
    for i, width in enumerate(EXIT_CONVS):  # (B, 1536, 10, 10), (B, 2048, 10, 10)
        stages[f"exit_conv{i + 1}"] = separable(channels, width, **kwargs)
        channels = width
    head = pooled_head(channels, num_classes)
    model = ImageClassifier(nn.Sequential(stages), head)
    for m in model.modules():  # He initialisation, as timm's port
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


@register_model(
    "xception",
    family="Xception",
    year=2017,
    paper=_PAPER,
    input_size=(3, 299, 299),
    small_input_below=SMALL_INPUT,
)
def xception(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 299,
) -> ImageClassifier:
    """Xception (Figure 5): 22,855,952 parameters at 1,000 classes. Under 64 px the entry
    convolutions have stride 1 and padding 1 (same parameters)."""
    return make_xception(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
