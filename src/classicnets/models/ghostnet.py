"""GhostNet (Han, Wang, Tian, Guo, Xu & Xu, "GhostNet: More Features from Cheap Operations",
2020): MobileNet v3's layout with ghost bottlenecks, whose ghost modules make half their
feature maps by cheap depthwise convolutions. Table 1 of the paper, as rows of
``(kernel, #exp, #out, SE ratio, stride)`` grouped as timm's ``ghostnet_100`` groups them, is
:data:`STAGES`.

The network: a 16-wide 3x3/2 stem, the sixteen bottlenecks, a 1x1 convolution to 960, global
average pooling, a 1x1 convolution to 1280 with ReLU (no norm), dropout 0.2 and the fully
connected classifier. A width multiplier scales every width but the 1280 (rounded to multiples
of 4, as timm).

Below 64 px the stem has stride 1 and the first stride-2 bottleneck stride 1 (as the common
CIFAR versions of the MobileNets), so a 32 px image reaches the last layer as 4x4, not 1x1.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..layers.conv import ConvBNAct
from ..layers.ghost import GhostBottleneck
from ..layers.mobile import check_width, make_divisible
from ._base import ImageClassifier
from ._registry import register_model

_PAPER = "Han, Wang, Tian, Guo, Xu & Xu, GhostNet: More Features from Cheap Operations, 2020"
SMALL_INPUT = 64  # images under this side keep full resolution through the first stages

# Table 1: (kernel, #exp, #out, SE ratio, stride) per ghost bottleneck; the comments give the
# output size at 224 px.
STAGES: tuple[tuple[tuple[int, int, int, float, int], ...], ...] = (
    ((3, 16, 16, 0, 1),),  # 112x112
    ((3, 48, 24, 0, 2),),
    ((3, 72, 24, 0, 1),),  # 56x56
    ((5, 72, 40, 0.25, 2),),
    ((5, 120, 40, 0.25, 1),),  # 28x28
    ((3, 240, 80, 0, 2),),
    (
        (3, 200, 80, 0, 1),
        (3, 184, 80, 0, 1),
        (3, 184, 80, 0, 1),
        (3, 480, 112, 0.25, 1),
        (3, 672, 112, 0.25, 1),
    ),  # 14x14
    ((5, 672, 160, 0.25, 2),),
    (
        (5, 960, 160, 0, 1),
        (5, 960, 160, 0.25, 1),
        (5, 960, 160, 0, 1),
        (5, 960, 160, 0.25, 1),
    ),  # 7x7
)
STEM = 16
LAST_CONV = 960
HEAD = 1280  # not scaled by the width


def make_ghostnet(
    stages: tuple[tuple[tuple[int, int, int, float, int], ...], ...] = STAGES,
    *,
    width: float = 1.0,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    dropout: float = 0.2,
) -> ImageClassifier:
    """Build a GhostNet from its table.

    Args:
        stages: groups of ``(kernel, #exp, #out, SE ratio, stride)`` rows.
        width: the width multiplier (the paper's GhostNet 0.5x, 1.0x, 1.3x).
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the stem and the first downsampling bottleneck
            keep the size.
        dropout: dropout before the classifier.

    Returns:
        The network.

    Raises:
        ShapeError: for a width multiplier that is not positive.
    """
    check_width(width)
    small = image_size < SMALL_INPUT
    channels = make_divisible(STEM * width, 4)
    blocks: OrderedDict[str, nn.Module] = OrderedDict(
        stem=ConvBNAct(in_channels, channels, 3, 1 if small else 2, bias=False)  # (B, 16, 112, 112)
    )
    first_stride = small
    for i, rows in enumerate(stages):
        stage = []
        for kernel, expansion, out, se_ratio, stride in rows:
            if stride > 1 and first_stride:
                stride, first_stride = 1, False
            mid, out = make_divisible(expansion * width, 4), make_divisible(out * width, 4)
            stage.append(GhostBottleneck(channels, mid, out, kernel, stride, se_ratio))
            channels = out
        blocks[f"stage{i + 1}"] = nn.Sequential(*stage)
    last = make_divisible(LAST_CONV * width, 4)
    blocks["conv"] = ConvBNAct(channels, last, 1, bias=False)  # (B, 960, 7, 7)
    head = nn.Sequential(
        OrderedDict(
            pool=nn.AdaptiveAvgPool2d(1),  # (B, 960, 1, 1)
            conv=nn.Conv2d(last, HEAD, 1),  # (B, 1280, 1, 1)
            act=nn.ReLU(),
            flatten=nn.Flatten(),
            dropout=nn.Dropout(dropout),
            fc=nn.Linear(HEAD, num_classes),
        )
    )
    return ImageClassifier(nn.Sequential(blocks), head)


@register_model(
    "ghostnet", family="GhostNet", year=2020, paper=_PAPER, small_input_below=SMALL_INPUT
)
def ghostnet(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224, width: float = 1.0
) -> ImageClassifier:
    """GhostNet 1.0x: 5,182,508 parameters at 1,000 classes (timm's ``ghostnet_100``) and
    about 141 M multiply-adds at 224 px (the paper's Table 7).

    Args:
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the small-input form (see the module).
        width: the width multiplier; it must be positive.
    """
    return make_ghostnet(
        width=width, num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )
