"""AlexNet and ZFNet: five convolutions, three max poolings, three fully connected layers.

Each network is a table of its convolutions; one builder turns a table into layers and sizes the
first fully connected layer to what the convolutions give, so a too-small image fails with the
layer that empties it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from torch import nn

from ..layers.conv import local_response_norm
from ..ops.shapes import conv_output_size
from ._base import ImageClassifier
from ._registry import register_model

_ALEXNET_PAPER = (
    "Krizhevsky, Sutskever & Hinton, ImageNet Classification with Deep Convolutional "
    "Neural Networks, 2012"
)
_ZFNET_PAPER = "Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, 2013"


class _Conv(NamedTuple):
    """One convolution row: ReLU always follows, then optionally LRN, then optionally 3x3/2 max
    pooling."""

    out: int
    kernel: int
    stride: int = 1
    padding: int = 0
    groups: int = 1
    lrn: bool = False
    pool: bool = False


# Krizhevsky et al. 2012, Section 3.5 and Figure 2: the two GPU towers are groups=2 on the layers
# that only see their own tower's maps (conv2, conv4, conv5); conv3 sees both.
ALEXNET_ORIGINAL = (
    _Conv(96, 11, 4, 0, lrn=True, pool=True),  # 227 -> 55 -> 27
    _Conv(256, 5, 1, 2, groups=2, lrn=True, pool=True),  # 27 -> 13
    _Conv(384, 3, 1, 1),
    _Conv(384, 3, 1, 1, groups=2),
    _Conv(256, 3, 1, 1, groups=2, pool=True),  # 13 -> 6
)
# The one-tower form of Dive into Deep Learning (Section 8.1): no groups, no LRN, padding 1 on
# conv1 so a 224x224 image ends in 256x5x5 = 6,400 features.
ALEXNET = (
    _Conv(96, 11, 4, 1, pool=True),  # 224 -> 54 -> 26
    _Conv(256, 5, 1, 2, pool=True),  # 26 -> 12
    _Conv(384, 3, 1, 1),
    _Conv(384, 3, 1, 1),
    _Conv(256, 3, 1, 1, pool=True),  # 12 -> 5
)
# Zeiler & Fergus 2013, Figure 3: smaller, denser first filters; "contrast normalisation" after
# layers 1 and 2 (taken as AlexNet's LRN); pooling rounds up to give its 55, 13 and 6.
ZFNET = (
    _Conv(96, 7, 2, 1, lrn=True, pool=True),  # 224 -> 110 -> 55
    _Conv(256, 5, 2, 0, lrn=True, pool=True),  # 55 -> 26 -> 13
    _Conv(384, 3, 1, 1),
    _Conv(384, 3, 1, 1),
    _Conv(256, 3, 1, 1, pool=True),  # 13 -> 6
)


def make_alexnet(
    table: tuple[_Conv, ...],
    *,
    num_classes: int,
    in_channels: int,
    image_size: int,
    ceil_mode: bool = False,
    hidden: int = 4096,
    dropout: float = 0.5,
    towers: int = 1,
) -> ImageClassifier:
    """Build an AlexNet-shaped network from a table of convolutions.

    Args:
        table: the convolution rows, e.g. :data:`ALEXNET_ORIGINAL`.
        num_classes: outputs of the last layer.
        in_channels: image channels.
        image_size: image side; the first fully connected layer is sized to what it gives.
        ceil_mode: round the max pooling's output size up (ZFNet) instead of down.
        hidden: width of the two hidden fully connected layers.
        dropout: dropout probability after each hidden fully connected layer.
        towers: the paper's GPUs: local response normalisation stays within each tower's maps.

    Returns:
        The network; ``features`` ends with the last pooling, ``head`` flattens and classifies.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    channels, side = in_channels, image_size
    for i, row in enumerate(table, start=1):
        side = conv_output_size(side, row.kernel, row.padding, row.stride)
        layers[f"conv{i}"] = nn.Conv2d(
            channels, row.out, row.kernel, row.stride, row.padding, groups=row.groups
        )
        layers[f"relu{i}"] = nn.ReLU()
        if row.lrn:
            layers[f"lrn{i}"] = local_response_norm(
                size=5, alpha=1e-4, beta=0.75, k=2.0, towers=towers
            )
        if row.pool:
            side = conv_output_size(side, 3, stride=2, ceil_mode=ceil_mode)
            layers[f"pool{i}"] = nn.MaxPool2d(3, 2, ceil_mode=ceil_mode)
        channels = row.out
    head = nn.Sequential(
        OrderedDict(
            flatten=nn.Flatten(),  # (B, C * side * side)
            fc6=nn.Linear(channels * side * side, hidden),
            relu6=nn.ReLU(),
            drop6=nn.Dropout(dropout),
            fc7=nn.Linear(hidden, hidden),
            relu7=nn.ReLU(),
            drop7=nn.Dropout(dropout),
            fc8=nn.Linear(hidden, num_classes),
        )
    )
    return ImageClassifier(nn.Sequential(layers), head)


@register_model(
    "alexnet_original",
    family="AlexNet",
    year=2012,
    paper=_ALEXNET_PAPER,
    input_size=(3, 227, 227),
    min_image_size=67,
)
def alexnet_original(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 227
) -> ImageClassifier:
    """AlexNet as in the paper: two towers as grouped convolutions, ReLU, LRN (k=2, n=5,
    alpha=1e-4, beta=0.75) after conv1 and conv2, overlapping 3x3/2 max pooling, dropout 0.5 in
    FC6 and FC7; 60,965,224 parameters at 1,000 classes. Each LRN normalises within its own
    tower's maps, as each GPU did. Needs images of 67 px or more. Split over two devices as in
    the paper's Figure 2: :func:`~classicnets.models.alexnet_split.split_alexnet`."""
    return make_alexnet(
        ALEXNET_ORIGINAL,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        towers=2,
    )


@register_model("alexnet", family="AlexNet", year=2012, paper=_ALEXNET_PAPER, min_image_size=65)
def alexnet(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """AlexNet in one tower (96, 256, 384, 384, 256 channels, no LRN, 224x224 input):
    50,844,008 parameters at 1,000 classes. Needs images of 65 px or more."""
    return make_alexnet(
        ALEXNET, num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )


@register_model("zfnet", family="AlexNet", year=2013, paper=_ZFNET_PAPER, min_image_size=47)
def zfnet(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """ZFNet: AlexNet with a 7x7/2 first and a 5x5/2 second convolution, in one tower.
    Needs images of 47 px or more."""
    return make_alexnet(
        ZFNET,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        ceil_mode=True,
    )
