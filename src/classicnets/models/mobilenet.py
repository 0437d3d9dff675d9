"""MobileNet v1, v2 and v3: networks of depthwise convolutions for phones.

- v1 (Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
  Applications", Table 1): a 3x3/2 convolution, then 13 depthwise-separable convolutions
  (:data:`V1_ROWS`), average pooling and one fully connected layer. The width multiplier
  ``alpha`` is ``width``; the resolution multiplier is simply ``image_size``.
- v2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks", Table 2):
  inverted residuals with linear bottlenecks, written as the paper's ``(t, c, n, s)`` rows
  (:data:`V2_ROWS`), a 1x1 convolution to 1280, dropout and a linear classifier.
- v3 (Howard et al. 2019, "Searching for MobileNetV3", Tables 1 and 2): inverted residuals
  with squeeze-and-excitation and Hardswish, found by architecture search (:data:`V3_ROWS`),
  and the "efficient last stage": a 1x1 convolution to 960 (576), pooling, a linear layer to
  1280 (1024) with Hardswish, dropout and the classifier.

Channels under a width multiplier go through :func:`make_divisible` (multiples of 8), as in
v2's and v3's releases and torchvision; at the paper's multipliers for v1 (0.25 to 1) that gives
exactly ``alpha * c``.

Below 64 px every version builds its small-input form (as the CIFAR versions of these nets do):
the stem and the first strided row of the table take stride 1, so the total stride is 8 instead
of 32 and a 32 px (or 28 px) image reaches the last stage as 4x4 instead of 1x1.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import partial

from torch import nn

from ..layers.conv import ActLayer, ConvBNAct, NormLayer
from ..layers.inverted_residual import InvertedResidual
from ..layers.mobile import DepthwiseSeparable, check_width, make_divisible
from ._base import ImageClassifier
from ._registry import register_model

_V1_PAPER = (
    "Howard et al., MobileNets: Efficient Convolutional Neural Networks for Mobile Vision "
    "Applications, 2017"
)
_V2_PAPER = "Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, 2018"
_V3_PAPER = "Howard et al., Searching for MobileNetV3, 2019"
SMALL_INPUT = 64  # images under this side get the small-input form (total stride 8)

# Howard et al. 2017, Table 1: each "Conv dw / s, Conv 1x1" pair as (pointwise out, dw stride).
V1_ROWS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),  # the paper prints s2 here, a typo: its input and output are both 7x7
)

# Sandler et al. 2018, Table 2: (expansion t, channels c, repeats n, stride s of the first).
V2_ROWS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

# Howard et al. 2019, Tables 1 (Large) and 2 (Small), the bneck rows:
# (kernel, expanded "exp size", out "#out", SE, activation "NL", stride).
RE, HS = nn.ReLU, nn.Hardswish
V3_ROWS: dict[str, tuple[tuple[int, int, int, bool, ActLayer, int], ...]] = {
    "large": (
        (3, 16, 16, False, RE, 1),
        (3, 64, 24, False, RE, 2),
        (3, 72, 24, False, RE, 1),
        (5, 72, 40, True, RE, 2),
        (5, 120, 40, True, RE, 1),
        (5, 120, 40, True, RE, 1),
        (3, 240, 80, False, HS, 2),
        (3, 200, 80, False, HS, 1),
        (3, 184, 80, False, HS, 1),
        (3, 184, 80, False, HS, 1),
        (3, 480, 112, True, HS, 1),
        (3, 672, 112, True, HS, 1),
        (5, 672, 160, True, HS, 2),
        (5, 960, 160, True, HS, 1),
        (5, 960, 160, True, HS, 1),
    ),
    "small": (
        (3, 16, 16, True, RE, 2),
        (3, 72, 24, False, RE, 2),
        (3, 88, 24, False, RE, 1),
        (5, 96, 40, True, HS, 2),
        (5, 240, 40, True, HS, 1),
        (5, 240, 40, True, HS, 1),
        (5, 120, 48, True, HS, 1),
        (5, 144, 48, True, HS, 1),
        (5, 288, 96, True, HS, 2),
        (5, 576, 96, True, HS, 1),
        (5, 576, 96, True, HS, 1),
    ),
}
V3_HIDDEN = {"large": 1280, "small": 1024}  # the last stage's "NBN" 1x1 (a linear layer here)

# The batch norm of v3's release and torchvision (it changes no parameter count).
V3_NORM: NormLayer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


def _strides(strides: Sequence[int], image_size: int) -> tuple[int, list[int]]:
    """The stem's stride and the rows' strides; the small-input form sets the stem's and the
    first strided row's to 1."""
    strides = list(strides)
    if image_size >= SMALL_INPUT:
        return 2, strides
    first = next(i for i, s in enumerate(strides) if s > 1)
    strides[first] = 1
    return 1, strides


def _finish(features: OrderedDict, head: OrderedDict) -> ImageClassifier:
    """The classifier of ``features`` and ``head``, initialised as torchvision's MobileNets."""
    model = ImageClassifier(nn.Sequential(features), nn.Sequential(head))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
    return model


def make_mobilenet_v1(
    *,
    width: float = 1.0,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU,
) -> ImageClassifier:
    """Build MobileNet v1 (Howard et al. 2017, Table 1) with width multiplier ``width``.

    Batch norm and the activation follow every convolution, depthwise and pointwise, as in the
    paper's Figure 3 and timm's ``mobilenetv1_100``.

    Args:
        width: the width multiplier alpha (> 0).
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the small-input form (total stride 8).
        norm_layer: the normalisation after each convolution.
        act_layer: the activation.

    Returns:
        The network.

    Raises:
        ShapeError: for a width that is not positive.
    """
    check_width(width)
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    stem_stride, strides = _strides([s for _, s in V1_ROWS], image_size)
    channels = make_divisible(32 * width)
    features: OrderedDict[str, nn.Module] = OrderedDict(
        stem=ConvBNAct(in_channels, channels, 3, stem_stride, **kwargs)  # (B, 32, 112, 112)
    )
    for i, ((out, _), stride) in enumerate(zip(V1_ROWS, strides, strict=True)):
        out = make_divisible(out * width)
        features[f"block{i + 1}"] = DepthwiseSeparable(
            channels, out, 3, stride, mid_norm=norm_layer, mid_act=act_layer, **kwargs
        )
        channels = out  # (B, 1024, 7, 7) after the last
    head = OrderedDict(
        pool=nn.AdaptiveAvgPool2d(1),  # (B, 1024, 1, 1)
        flatten=nn.Flatten(),
        fc=nn.Linear(channels, num_classes),
    )
    return _finish(features, head)


def make_mobilenet_v2(
    *,
    width: float = 1.0,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    dropout: float = 0.2,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU6,
) -> ImageClassifier:
    """Build MobileNet v2 (Sandler et al. 2018, Table 2) with width multiplier ``width``.

    As torchvision: the last convolution keeps 1280 channels below width 1 (``1280 * max(1,
    width)``, the paper's Section 6.1), and dropout 0.2 precedes the classifier.

    Args:
        width: the width multiplier (> 0).
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the small-input form (total stride 8).
        dropout: the dropout probability before the classifier.
        norm_layer: the normalisation after each convolution.
        act_layer: the activation (ReLU6).

    Returns:
        The network.

    Raises:
        ShapeError: for a width that is not positive.
    """
    check_width(width)
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    stem_stride, strides = _strides([s for *_, s in V2_ROWS], image_size)
    channels = make_divisible(32 * width)
    features: OrderedDict[str, nn.Module] = OrderedDict(
        stem=ConvBNAct(in_channels, channels, 3, stem_stride, **kwargs)  # (B, 32, 112, 112)
    )
    for i, ((t, c, n, _), stride) in enumerate(zip(V2_ROWS, strides, strict=True)):
        out = make_divisible(c * width)
        blocks = []
        for j in range(n):
            blocks.append(InvertedResidual(channels, out, 3, stride if j == 0 else 1, t, **kwargs))
            channels = out
        features[f"stage{i + 1}"] = nn.Sequential(*blocks)  # (B, 320, 7, 7) after the last
    last = make_divisible(1280 * max(1.0, width))
    features["last_conv"] = ConvBNAct(channels, last, 1, **kwargs)  # (B, 1280, 7, 7)
    head = OrderedDict(
        pool=nn.AdaptiveAvgPool2d(1),  # (B, 1280, 1, 1)
        flatten=nn.Flatten(),
        dropout=nn.Dropout(dropout),
        fc=nn.Linear(last, num_classes),
    )
    return _finish(features, head)


def make_mobilenet_v3(
    size: str,
    *,
    width: float = 1.0,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    dropout: float = 0.2,
    norm_layer: NormLayer = V3_NORM,
) -> ImageClassifier:
    """Build MobileNet v3 (Howard et al. 2019, Table 1 or 2) with width multiplier ``width``.

    As torchvision: the last 1x1 convolution is 6x the last block's channels (960 and 576 at
    width 1), the hidden linear layer is ``make_divisible(1280 * width)`` (1024 for Small), and
    the squeeze-and-excitation bottleneck is ``make_divisible(expanded // 4, 8)``. The paper's
    1x1 "NBN" convolutions on the pooled 1x1 map are linear layers here (the same parameters).

    Args:
        size: ``"large"`` or ``"small"``.
        width: the width multiplier (> 0).
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the small-input form (total stride 8).
        dropout: the dropout probability before the classifier.
        norm_layer: the normalisation after each convolution.

    Returns:
        The network.

    Raises:
        ShapeError: for a width that is not positive.
    """
    check_width(width)
    rows = V3_ROWS[size]
    stem_stride, strides = _strides([row[-1] for row in rows], image_size)
    channels = make_divisible(16 * width)
    features: OrderedDict[str, nn.Module] = OrderedDict(
        stem=ConvBNAct(  # (B, 16, 112, 112)
            in_channels, channels, 3, stem_stride, norm_layer=norm_layer, act_layer=nn.Hardswish
        )
    )
    for i, ((kernel, expanded, out, se, act, _), stride) in enumerate(
        zip(rows, strides, strict=True)
    ):
        out = make_divisible(out * width)
        features[f"block{i + 1}"] = InvertedResidual(
            channels,
            out,
            kernel,
            stride,
            expanded_channels=make_divisible(expanded * width),
            se=se,
            norm_layer=norm_layer,
            act_layer=act,
            se_gate=nn.Hardsigmoid,
        )
        channels = out  # (B, 160, 7, 7) after the last (Small: 96)
    last = 6 * channels
    features["last_conv"] = ConvBNAct(  # (B, 960, 7, 7) (Small: 576)
        channels, last, 1, norm_layer=norm_layer, act_layer=nn.Hardswish
    )
    hidden = make_divisible(V3_HIDDEN[size] * width)
    head = OrderedDict(
        pool=nn.AdaptiveAvgPool2d(1),  # (B, 960, 1, 1)
        flatten=nn.Flatten(),
        hidden=nn.Linear(last, hidden),  # (B, 1280) (Small: 1024)
        act=nn.Hardswish(),
        dropout=nn.Dropout(dropout),
        fc=nn.Linear(hidden, num_classes),
    )
    return _finish(features, head)


_MOBILENET = {"family": "MobileNet", "small_input_below": SMALL_INPUT}


@register_model("mobilenet_v1", year=2017, paper=_V1_PAPER, **_MOBILENET)
def mobilenet_v1(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224, width: float = 1.0
) -> ImageClassifier:
    """MobileNet v1 1.0-224: 4,231,976 parameters (timm ``mobilenetv1_100``) and 569 M MACs."""
    return make_mobilenet_v1(
        width=width, num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )


@register_model("mobilenet_v2", year=2018, paper=_V2_PAPER, **_MOBILENET)
def mobilenet_v2(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224, width: float = 1.0
) -> ImageClassifier:
    """MobileNet v2 1.0-224: 3,504,872 parameters (torchvision) and 300 M MACs."""
    return make_mobilenet_v2(
        width=width, num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )


@register_model("mobilenet_v3_large", year=2019, paper=_V3_PAPER, **_MOBILENET)
def mobilenet_v3_large(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224, width: float = 1.0
) -> ImageClassifier:
    """MobileNet v3-Large 1.0-224: 5,483,032 parameters (torchvision) and 219 M MACs."""
    return make_mobilenet_v3(
        "large",
        width=width,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
    )


@register_model("mobilenet_v3_small", year=2019, paper=_V3_PAPER, **_MOBILENET)
def mobilenet_v3_small(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224, width: float = 1.0
) -> ImageClassifier:
    """MobileNet v3-Small 1.0-224: 2,542,856 parameters (torchvision) and 56 M MACs."""
    return make_mobilenet_v3(
        "small",
        width=width,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
    )
