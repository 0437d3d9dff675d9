"""DenseNet-BC (Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional
Networks", 2016): dense blocks whose layers each add ``growth_rate`` channels to everything
before them, with 1x1 bottlenecks of ``4 * growth_rate`` and transitions that halve the channels
(compression 0.5) and the size. Table 1 of the paper, as ``(growth rate, stem width, layers per
block)``, is :data:`CONFIGS`.

Below 64 px the stem is the one of the paper's CIFAR networks: a 3x3/1 convolution without max
pooling; the three transitions then need images of 8 px or more.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..layers.conv import DenseBlock, Transition
from ._base import ImageClassifier, pooled_head
from ._registry import register_model

_PAPER = "Huang, Liu, van der Maaten & Weinberger, Densely Connected Convolutional Networks, 2016"

CONFIGS: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "densenet121": (32, 64, (6, 12, 24, 16)),
    "densenet169": (32, 64, (6, 12, 32, 32)),
    "densenet201": (32, 64, (6, 12, 48, 32)),
    "densenet161": (48, 96, (6, 12, 36, 24)),
}
SMALL_INPUT = 64  # images under this side get the CIFAR stem
MIN_IMAGE_SIZE = 8  # three 2x2/2 transitions after the CIFAR stem


def make_densenet(
    growth_rate: int,
    stem_width: int,
    block_layers: tuple[int, ...],
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    bn_size: int = 4,
    compression: float = 0.5,
) -> ImageClassifier:
    """Build a DenseNet-BC.

    Args:
        growth_rate: channels each dense layer adds (k).
        stem_width: channels of the stem convolution.
        block_layers: dense layers in each block.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the stem is the CIFAR one (3x3/1, no max pooling).
        bn_size: bottleneck width as a multiple of the growth rate.
        compression: the fraction of channels a transition keeps (theta).

    Returns:
        The network.
    """
    if image_size < SMALL_INPUT:
        stem = nn.Sequential(
            OrderedDict(conv=nn.Conv2d(in_channels, stem_width, 3, 1, 1, bias=False))
        )
    else:
        stem = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(in_channels, stem_width, 7, 2, 3, bias=False),  # (B, 2k, 112, 112)
                norm=nn.BatchNorm2d(stem_width),
                act=nn.ReLU(),
                pool=nn.MaxPool2d(3, 2, 1),  # (B, 2k, 56, 56)
            )
        )
    stages: OrderedDict[str, nn.Module] = OrderedDict(stem=stem)
    channels = stem_width
    for i, count in enumerate(block_layers, start=1):
        stages[f"block{i}"] = DenseBlock(count, channels, growth_rate, bn_size)  # (B, C + n k, ...)
        channels = stages[f"block{i}"].out_channels
        if i < len(block_layers):
            stages[f"transition{i}"] = Transition(channels, int(channels * compression))
            channels = stages[f"transition{i}"].out_channels  # size halved
    stages["norm"] = nn.BatchNorm2d(channels)
    stages["act"] = nn.ReLU()
    head = pooled_head(channels, num_classes)
    model = ImageClassifier(nn.Sequential(stages), head)
    for m in model.modules():  # He et al. 2015's initialisation, as the paper uses
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
    return model


def _densenet(name: str, num_classes: int, in_channels: int, image_size: int) -> ImageClassifier:
    growth_rate, stem_width, block_layers = CONFIGS[name]
    return make_densenet(
        growth_rate,
        stem_width,
        block_layers,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
    )


_META = {"family": "DenseNet", "year": 2016, "paper": _PAPER, "min_image_size": MIN_IMAGE_SIZE}


@register_model("densenet121", **_META, small_input_below=SMALL_INPUT)
def densenet121(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """DenseNet-121 (k=32, blocks of 6, 12, 24, 16): 7,978,856 parameters at 1,000 classes."""
    return _densenet("densenet121", num_classes, in_channels, image_size)


@register_model("densenet169", **_META, small_input_below=SMALL_INPUT)
def densenet169(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """DenseNet-169 (k=32, blocks of 6, 12, 32, 32): 14,149,480 parameters at 1,000 classes."""
    return _densenet("densenet169", num_classes, in_channels, image_size)


@register_model("densenet201", **_META, small_input_below=SMALL_INPUT)
def densenet201(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """DenseNet-201 (k=32, blocks of 6, 12, 48, 32): 20,013,928 parameters at 1,000 classes."""
    return _densenet("densenet201", num_classes, in_channels, image_size)


@register_model("densenet161", **_META, small_input_below=SMALL_INPUT)
def densenet161(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """DenseNet-161 (k=48, 96-wide stem, blocks of 6, 12, 36, 24): 28,681,000 parameters at
    1,000 classes."""
    return _densenet("densenet161", num_classes, in_channels, image_size)
