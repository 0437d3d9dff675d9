"""EfficientNet (Tan & Le 2019) and EfficientNetV2 (Tan & Le 2021).

EfficientNet-B0 is Table 1 of the 2019 paper, :data:`B0_STAGES`: a 3x3/2 stem of 32 channels,
seven stages of MBConv blocks, a 1x1 convolution to 1280 channels, global pooling, dropout and
a linear classifier. B1-B7 scale it by the compound rule of Section 3.3: with a coefficient φ,

    depth d = α^φ,  width w = β^φ,  resolution r = 224 · γ^φ,  α = 1.2, β = 1.1, γ = 1.15,

chosen so that α · β² · γ² ≈ 2 and each step of φ roughly doubles the FLOPs. φ = 0.5, 1, 2 give
(d, w, r) = (1.10, 1.05, 240), (1.20, 1.10, 258) and (1.44, 1.21, 296): B1, B2 and B3's
(1.1, 1.0, 240), (1.2, 1.1, 260) and (1.4, 1.2, 300) after rounding. The released B4-B7
coefficients, :data:`SCALING`, were rounded up further than the rule (φ = 6 gives
(2.99, 1.77, 518) where B7 has (3.1, 2.0, 600)); these are the ones the TF release, torchvision
and the published parameter counts use, so they are the ones here. Channels become
``make_divisible(c * width, 8)`` and each stage's repeats ``ceil(n * depth)``; dropout before
the classifier grows from 0.2 to 0.5, and stochastic depth rises linearly from 0 at the first
block to 0.2 (exclusive) at the last.

EfficientNetV2 (:data:`V2_STAGES`) starts with Fused-MBConv stages, which run faster on
accelerators where the maps are large, and ends with a 1x1 convolution to 1280 channels. V2-S is
Table 4 of the 2021 paper; V2-M and V2-L are not tabled there and come from the released
configurations, as torchvision builds them.

Following torchvision (the published counts): the squeeze-and-excitation bottleneck is a
quarter of each block's *input* channels and uses SiLU; B5-B7 use the TF batch-norm constants
(eps 1e-3, momentum 0.01) and V2 eps 1e-3, neither of which changes a count. The paper's
"FLOPS" are multiply-adds: B0 has 0.39 G of them at 224 px.

Below 64 px (the small-input form) the stem and the first stride-2 stage use stride 1, so the
network downsamples 8x instead of 32x and a 28 or 32 px image ends as a 4x4 map, not 1x1.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import partial

from torch import nn

from ..errors import ShapeError
from ..layers.conv import ActLayer, ConvBNAct, NormLayer
from ..layers.mbconv import FusedMBConv, MBConv
from ..layers.mobile import check_width, make_divisible
from ._base import ImageClassifier
from ._registry import register_model

_PAPER_V1 = (
    "Tan & Le, EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks, 2019"
)
_PAPER_V2 = "Tan & Le, EfficientNetV2: Smaller Models and Faster Training, 2021"
SMALL_INPUT = 64  # images under this side get the small-input form
MIN_IMAGE_SIZE = 3  # the stem is a 3x3 convolution

# One row per stage: (block, expand ratio, kernel, stride, output channels, layers).
Stage = tuple[type[MBConv | FusedMBConv], float, int, int, int, int]

# Tan & Le 2019, Table 1, stages 2-8 (stage 1 is the 3x3 stem, stage 9 the head).
B0_STAGES: tuple[Stage, ...] = (
    (MBConv, 1, 3, 1, 16, 1),  # 112 x 112
    (MBConv, 6, 3, 2, 24, 2),  # 56 x 56
    (MBConv, 6, 5, 2, 40, 2),  # 28 x 28
    (MBConv, 6, 3, 2, 80, 3),  # 14 x 14
    (MBConv, 6, 5, 1, 112, 3),  # 14 x 14
    (MBConv, 6, 5, 2, 192, 4),  # 7 x 7
    (MBConv, 6, 3, 1, 320, 1),  # 7 x 7
)

# Compound scaling: (width, depth, resolution, dropout) as released (see the module docstring).
SCALING: dict[str, tuple[float, float, int, float]] = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}

# EfficientNetV2: (stem channels, stages, evaluation resolution, dropout); head conv 1280.
# S is Tan & Le 2021, Table 4; M and L the released configurations.
V2_STAGES: dict[str, tuple[int, tuple[Stage, ...], int, float]] = {
    "s": (
        24,
        (
            (FusedMBConv, 1, 3, 1, 24, 2),
            (FusedMBConv, 4, 3, 2, 48, 4),
            (FusedMBConv, 4, 3, 2, 64, 4),
            (MBConv, 4, 3, 2, 128, 6),
            (MBConv, 6, 3, 1, 160, 9),
            (MBConv, 6, 3, 2, 256, 15),
        ),
        384,
        0.2,
    ),
    "m": (
        24,
        (
            (FusedMBConv, 1, 3, 1, 24, 3),
            (FusedMBConv, 4, 3, 2, 48, 5),
            (FusedMBConv, 4, 3, 2, 80, 5),
            (MBConv, 4, 3, 2, 160, 7),
            (MBConv, 6, 3, 1, 176, 14),
            (MBConv, 6, 3, 2, 304, 18),
            (MBConv, 6, 3, 1, 512, 5),
        ),
        480,
        0.3,
    ),
    "l": (
        32,
        (
            (FusedMBConv, 1, 3, 1, 32, 4),
            (FusedMBConv, 4, 3, 2, 64, 7),
            (FusedMBConv, 4, 3, 2, 96, 7),
            (MBConv, 4, 3, 2, 192, 10),
            (MBConv, 6, 3, 1, 224, 19),
            (MBConv, 6, 3, 2, 384, 25),
            (MBConv, 6, 3, 1, 640, 7),
        ),
        480,
        0.4,
    ),
}
V2_HEAD = 1280


def make_efficientnet(
    stages: tuple[Stage, ...],
    *,
    stem_channels: int,
    head_channels: int | None = None,
    width: float = 1.0,
    depth: float = 1.0,
    dropout: float = 0.2,
    stochastic_depth: float = 0.2,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.SiLU,
) -> ImageClassifier:
    """Build an EfficientNet (V1 or V2) from its stage table and scaling.

    Args:
        stages: ``(block, expand ratio, kernel, stride, channels, layers)`` per stage.
        stem_channels: channels of the 3x3/2 stem before width scaling.
        head_channels: channels of the last 1x1 convolution; None for 4x the last stage's
            (1280 in B0).
        width: the width multiplier; channels become ``make_divisible(c * width, 8)``.
        depth: the depth multiplier; a stage of n layers gets ``ceil(n * depth)``.
        dropout: dropout before the classifier.
        stochastic_depth: the drop probability the last block approaches; block i of N drops
            its branch with ``stochastic_depth * i / N``.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the small-input form (stride 1 in the stem and in
            the first stride-2 stage).
        norm_layer: the normalisation after each convolution.
        act_layer: the activation (SiLU).

    Returns:
        The network.

    Raises:
        ShapeError: for a width or depth multiplier that is not positive, or an image smaller
            than the 3x3 stem.
    """
    check_width(width, "width")
    check_width(depth, "depth")
    if image_size < MIN_IMAGE_SIZE:
        raise ShapeError(
            f"EfficientNet takes images of at least {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} pixels "
            f"(its stem is a 3x3 convolution), got {image_size}x{image_size}."
        )
    small = image_size < SMALL_INPUT
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    channels = make_divisible(stem_channels * width, 8)
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        stem=ConvBNAct(in_channels, channels, 3, 1 if small else 2, **kwargs)  # (B, 32, 112, 112)
    )
    total = sum(math.ceil(n * depth) for *_, n in stages)
    first_stride2 = next(i for i, row in enumerate(stages) if row[3] == 2)
    index = 0  # blocks built so far, for the stochastic depth schedule
    for i, (block, ratio, kernel, stride, out, n) in enumerate(stages):
        out = make_divisible(out * width, 8)
        stride = 1 if small and i == first_stride2 else stride
        blocks = []
        for j in range(math.ceil(n * depth)):
            drop = stochastic_depth * index / total
            first = stride if j == 0 else 1
            blocks.append(
                block(channels, out, kernel, first, ratio, stochastic_depth=drop, **kwargs)
            )
            channels, index = out, index + 1
        layers[f"stage{i + 1}"] = nn.Sequential(*blocks)  # (B, out, H / stride so far, ...)
    head_channels = 4 * channels if head_channels is None else head_channels
    layers["head_conv"] = ConvBNAct(channels, head_channels, 1, **kwargs)  # (B, 1280, 7, 7)
    head = nn.Sequential(
        OrderedDict(
            pool=nn.AdaptiveAvgPool2d(1),  # (B, 1280, 1, 1)
            flatten=nn.Flatten(),
            dropout=nn.Dropout(dropout),
            fc=nn.Linear(head_channels, num_classes),
        )
    )
    model = ImageClassifier(nn.Sequential(layers), head)
    _init_weights(model)
    return model


def _init_weights(model: nn.Module) -> None:
    # torchvision's (and the TF release's): He normal on fan-out for convolutions, a uniform
    # classifier of range 1 / sqrt(classes), zero biases.
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.out_features)
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)


def _v1(variant: str, **kwargs) -> ImageClassifier:
    width, depth, _, dropout = SCALING[variant]
    # B5-B7 were ported from TF with its batch-norm constants (torchvision does the same).
    tf_norm = variant in ("b5", "b6", "b7")
    norm = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01) if tf_norm else nn.BatchNorm2d
    return make_efficientnet(
        B0_STAGES,
        stem_channels=32,
        width=width,
        depth=depth,
        dropout=dropout,
        norm_layer=norm,
        **kwargs,
    )


def _v2(variant: str, **kwargs) -> ImageClassifier:
    stem, stages, _, dropout = V2_STAGES[variant]
    norm = partial(nn.BatchNorm2d, eps=1e-3)
    return make_efficientnet(
        stages,
        stem_channels=stem,
        head_channels=V2_HEAD,
        dropout=dropout,
        norm_layer=norm,
        **kwargs,
    )


_META = {
    "family": "EfficientNet",
    "min_image_size": MIN_IMAGE_SIZE,
    "small_input_below": SMALL_INPUT,
}
_V1_META = {**_META, "year": 2019, "paper": _PAPER_V1}
_V2_META = {**_META, "year": 2021, "paper": _PAPER_V2}


def _size(resolution: int) -> tuple[int, int, int]:
    return (3, resolution, resolution)


@register_model("efficientnet_b0", input_size=_size(224), **_V1_META)
def efficientnet_b0(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """EfficientNet-B0 (Table 1 as is), 224 px: 5,288,548 parameters at 1,000 classes."""
    return _v1("b0", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_b1", input_size=_size(240), **_V1_META)
def efficientnet_b1(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 240
) -> ImageClassifier:
    """EfficientNet-B1 (width 1.0, depth 1.1), 240 px: 7,794,184 parameters."""
    return _v1("b1", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_b2", input_size=_size(260), **_V1_META)
def efficientnet_b2(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 260
) -> ImageClassifier:
    """EfficientNet-B2 (width 1.1, depth 1.2), 260 px: 9,109,994 parameters."""
    return _v1("b2", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_b3", input_size=_size(300), **_V1_META)
def efficientnet_b3(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 300
) -> ImageClassifier:
    """EfficientNet-B3 (width 1.2, depth 1.4), 300 px: 12,233,232 parameters."""
    return _v1("b3", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_b4", input_size=_size(380), **_V1_META)
def efficientnet_b4(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 380
) -> ImageClassifier:
    """EfficientNet-B4 (width 1.4, depth 1.8), 380 px: 19,341,616 parameters."""
    return _v1("b4", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_b5", input_size=_size(456), **_V1_META)
def efficientnet_b5(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 456
) -> ImageClassifier:
    """EfficientNet-B5 (width 1.6, depth 2.2), 456 px: 30,389,784 parameters."""
    return _v1("b5", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_b6", input_size=_size(528), **_V1_META)
def efficientnet_b6(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 528
) -> ImageClassifier:
    """EfficientNet-B6 (width 1.8, depth 2.6), 528 px: 43,040,704 parameters."""
    return _v1("b6", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_b7", input_size=_size(600), **_V1_META)
def efficientnet_b7(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 600
) -> ImageClassifier:
    """EfficientNet-B7 (width 2.0, depth 3.1), 600 px: 66,347,960 parameters."""
    return _v1("b7", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_v2_s", input_size=_size(384), **_V2_META)
def efficientnet_v2_s(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 384
) -> ImageClassifier:
    """EfficientNetV2-S (Table 4 of the 2021 paper), 384 px: 21,458,488 parameters."""
    return _v2("s", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_v2_m", input_size=_size(480), **_V2_META)
def efficientnet_v2_m(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 480
) -> ImageClassifier:
    """EfficientNetV2-M (released configuration), 480 px: 54,139,356 parameters."""
    return _v2("m", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("efficientnet_v2_l", input_size=_size(480), **_V2_META)
def efficientnet_v2_l(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 480
) -> ImageClassifier:
    """EfficientNetV2-L (released configuration), 480 px: 118,515,272 parameters."""
    return _v2("l", num_classes=num_classes, in_channels=in_channels, image_size=image_size)
