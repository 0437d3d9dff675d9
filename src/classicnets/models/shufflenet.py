"""ShuffleNet v1 (Zhang, Zhou, Lin & Sun, "ShuffleNet: An Extremely Efficient Convolutional
Neural Network for Mobile Devices", 2017) and v2 (Ma, Zhang, Zheng & Sun, "ShuffleNet V2:
Practical Guidelines for Efficient CNN Architecture Design", 2018).

Both are a 3x3/2 convolution to 24 channels, a 3x3/2 max pool, three stages of 4, 8 and 4 units
(the first of each striding 2), global average pooling and one fully connected layer; v2 adds a
1x1 convolution (conv5) before the pooling.

- v1, :data:`V1_WIDTHS`: the stage widths of the paper's Table 1 (1x) per group count g; the
  bottleneck of every unit is a quarter of its output and the first 1x1 convolution of stage 2
  is not grouped, as the paper says. The paper gives no parameter counts and no reference
  implementation ships with it: the classifier here has a bias (megvii's later release has
  none, 1,000 parameters fewer), and the counts are those of the table. Their MACs at 224 px,
  143, 141, 137, 134 and 138 M for g = 1, 2, 3, 4, 8, are Table 1's "Complexity" row (143, 140,
  137, 133, 137 M) to within 1 %.
- v2, :data:`V2_WIDTHS`: the output channels of Table 5 per width (0.5x to 2x), as torchvision's
  shufflenet_v2_x*, whose parameter counts these match (MACs 40, 145, 296 and 583 M against the
  table's 41, 146, 299 and 591 M).

The convolutions start from He et al.'s initialisation (fan out), where torchvision's v2 keeps
PyTorch's default; neither paper says.

Below 64 px the stem convolution has stride 1 and the max pool is left out (the stages' three
stride-2 units remain), so a 32 px image reaches the last stage as 4x4 instead of 1x1.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..layers.conv import ActLayer, ConvBNAct, NormLayer
from ..layers.shuffle import ShuffleV1Unit, ShuffleV2Unit
from ._base import ImageClassifier, pooled_head
from ._registry import register_model

_PAPER_V1 = (
    "Zhang, Zhou, Lin & Sun, ShuffleNet: An Extremely Efficient Convolutional Neural Network "
    "for Mobile Devices, 2017"
)
_PAPER_V2 = (
    "Ma, Zhang, Zheng & Sun, ShuffleNet V2: Practical Guidelines for Efficient CNN "
    "Architecture Design, 2018"
)

STEM_WIDTH = 24  # Conv1 of both papers' tables
REPEATS = (4, 8, 4)  # units in stages 2, 3 and 4
# Zhang et al. 2017, Table 1 (1x): output channels of stages 2, 3 and 4 per group count g.
V1_WIDTHS: dict[int, tuple[int, int, int]] = {
    1: (144, 288, 576),
    2: (200, 400, 800),
    3: (240, 480, 960),
    4: (272, 544, 1088),
    8: (384, 768, 1536),
}
# Ma et al. 2018, Table 5: output channels of stages 2, 3, 4 and conv5 per width multiplier.
V2_WIDTHS: dict[str, tuple[int, int, int, int]] = {
    "x0_5": (48, 96, 192, 1024),
    "x1_0": (116, 232, 464, 1024),
    "x1_5": (176, 352, 704, 1024),
    "x2_0": (244, 488, 976, 2048),
}
SMALL_INPUT = 64  # images under this side get the stride-1 stem without max pooling


def _stem(in_channels: int, image_size: int, norm_layer: NormLayer, act_layer: ActLayer):
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    if image_size < SMALL_INPUT:
        conv = ConvBNAct(in_channels, STEM_WIDTH, 3, 1, **kwargs)  # (B, 24, H, W)
        return nn.Sequential(OrderedDict(conv=conv))
    return nn.Sequential(
        OrderedDict(
            conv=ConvBNAct(in_channels, STEM_WIDTH, 3, 2, **kwargs),  # (B, 24, 112, 112)
            pool=nn.MaxPool2d(3, 2, 1),  # (B, 24, 56, 56)
        )
    )


def _classifier(channels: int, num_classes: int) -> nn.Sequential:
    return pooled_head(channels, num_classes)


def _init(model: nn.Module) -> nn.Module:
    for m in model.modules():  # He et al. 2015's initialisation for the convolutions
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def make_shufflenet_v1(
    groups: int,
    widths: tuple[int, ...],
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU,
) -> ImageClassifier:
    """Build a ShuffleNet v1.

    Args:
        groups: g, the groups of the pointwise convolutions.
        widths: output channels of stages 2, 3 and 4.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the stem has stride 1 and no max pooling.
        norm_layer: the normalisation after each convolution.
        act_layer: the activation.

    Returns:
        The network.

    Raises:
        ShapeError: when ``groups`` does not divide a unit's channels (input, bottleneck or
            output), naming the group counts that would.
    """
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    stages: OrderedDict[str, nn.Module] = OrderedDict(stem=_stem(in_channels, image_size, **kwargs))
    channels = STEM_WIDTH
    for i, (width, count) in enumerate(zip(widths, REPEATS, strict=True)):
        units = []
        for j in range(count):
            units.append(
                ShuffleV1Unit(
                    channels,
                    width,
                    2 if j == 0 else 1,
                    groups=groups,
                    group_first=not (i == 0 and j == 0),  # 24 channels: too few to group
                    **kwargs,
                )
            )
            channels = width
        stages[f"stage{i + 2}"] = nn.Sequential(*units)  # (B, width, 28 / 2**i, ...)
    return _init(ImageClassifier(nn.Sequential(stages), _classifier(channels, num_classes)))


def make_shufflenet_v2(
    widths: tuple[int, ...],
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU,
) -> ImageClassifier:
    """Build a ShuffleNet v2.

    Args:
        widths: output channels of stages 2, 3, 4 and of conv5.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the stem has stride 1 and no max pooling.
        norm_layer: the normalisation after each convolution.
        act_layer: the activation.

    Returns:
        The network.
    """
    *stage_widths, last = widths
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    stages: OrderedDict[str, nn.Module] = OrderedDict(stem=_stem(in_channels, image_size, **kwargs))
    channels = STEM_WIDTH
    for i, (width, count) in enumerate(zip(stage_widths, REPEATS, strict=True)):
        units = []
        for j in range(count):
            units.append(ShuffleV2Unit(channels, width, 2 if j == 0 else 1, **kwargs))
            channels = width
        stages[f"stage{i + 2}"] = nn.Sequential(*units)  # (B, width, 28 / 2**i, ...)
    stages["conv5"] = ConvBNAct(channels, last, 1, **kwargs)  # (B, last, 7, 7)
    return _init(ImageClassifier(nn.Sequential(stages), _classifier(last, num_classes)))


def _v1(groups: int, **kwargs) -> ImageClassifier:
    return make_shufflenet_v1(groups, V1_WIDTHS[groups], **kwargs)


def _v2(width: str, **kwargs) -> ImageClassifier:
    return make_shufflenet_v2(V2_WIDTHS[width], **kwargs)


_V1 = {"family": "ShuffleNet", "year": 2017, "paper": _PAPER_V1, "small_input_below": SMALL_INPUT}
_V2 = {"family": "ShuffleNet", "year": 2018, "paper": _PAPER_V2, "small_input_below": SMALL_INPUT}


@register_model("shufflenet_v1_g1", **_V1)
def shufflenet_v1_g1(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ShuffleNet 1x, g = 1 (stages 144-288-576): 1,531,936 parameters at 1,000 classes."""
    return _v1(1, num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("shufflenet_v1_g2", **_V1)
def shufflenet_v1_g2(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ShuffleNet 1x, g = 2 (stages 200-400-800): 1,733,848 parameters at 1,000 classes."""
    return _v1(2, num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("shufflenet_v1_g3", **_V1)
def shufflenet_v1_g3(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ShuffleNet 1x, g = 3 (stages 240-480-960): 1,865,728 parameters at 1,000 classes."""
    return _v1(3, num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("shufflenet_v1_g4", **_V1)
def shufflenet_v1_g4(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ShuffleNet 1x, g = 4 (stages 272-544-1088): 1,968,344 parameters at 1,000 classes."""
    return _v1(4, num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("shufflenet_v1_g8", **_V1)
def shufflenet_v1_g8(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ShuffleNet 1x, g = 8 (stages 384-768-1536): 2,434,768 parameters at 1,000 classes."""
    return _v1(8, num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("shufflenet_v2_x0_5", **_V2)
def shufflenet_v2_x0_5(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ShuffleNet v2 0.5x (Table 5): 1,366,792 parameters at 1,000 classes."""
    return _v2("x0_5", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("shufflenet_v2_x1_0", **_V2)
def shufflenet_v2_x1_0(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ShuffleNet v2 1x (Table 5): 2,278,604 parameters at 1,000 classes."""
    return _v2("x1_0", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("shufflenet_v2_x1_5", **_V2)
def shufflenet_v2_x1_5(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ShuffleNet v2 1.5x (Table 5): 3,503,624 parameters at 1,000 classes."""
    return _v2("x1_5", num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model("shufflenet_v2_x2_0", **_V2)
def shufflenet_v2_x2_0(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ShuffleNet v2 2x (Table 5): 7,393,996 parameters at 1,000 classes."""
    return _v2("x2_0", num_classes=num_classes, in_channels=in_channels, image_size=image_size)
