"""The basic DenseNet of Huang, Liu, van der Maaten & Weinberger ("Densely Connected
Convolutional Networks", 2016; CVPR 2017), the CIFAR network of the paper's Section 3 without
bottlenecks or compression: a 3x3 convolution to 16 channels, three dense blocks of
``(depth - 4) / 3`` layers (each BN-ReLU-Conv3x3 adding ``growth`` channels to everything
before it) on 32, 16 and 8 px maps, transitions that keep the channels (BN-ReLU-Conv1x1, 2x2
average pooling), a final BN-ReLU, global average pooling and one fully connected layer.

DenseNet (L=40, k=12) is the default: 1,019,722 parameters at 10 classes, the paper's "1.0M".
Not here: the dropout of 0.2 after each convolution that the paper uses on the data sets
without augmentation (C10, C100, SVHN).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..errors import ShapeError
from ..layers.conv import ActLayer, NormLayer, Transition
from ..layers.dense_plain import PlainDenseBlock
from ._base import ImageClassifier, pooled_head
from ._registry import register_model
from .densenet import _PAPER

NUM_BLOCKS = 3  # dense blocks of the CIFAR networks
STEM_WIDTH = 16  # "the first convolution has 16 output channels" (without bottlenecks)
MIN_IMAGE_SIZE = 4  # two 2x2/2 transitions


def layers_per_block(depth: int) -> int:
    """Dense layers per block of a basic DenseNet of ``depth`` = 3n + 4 weighted layers."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 7 or (depth - 4) % 3:
        raise ShapeError(
            f"A basic DenseNet's depth must be 3n+4 (40, 100, ...: three dense blocks of n "
            f"layers plus the first convolution, two transitions and the classifier), got "
            f"{depth!r}."
        )
    return (depth - 4) // NUM_BLOCKS


def make_densenet_basic(
    growth_rate: int = 12,
    depth: int = 40,
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU,
) -> ImageClassifier:
    """Build a basic DenseNet for CIFAR (no bottleneck, no compression).

    Args:
        growth_rate: channels each dense layer adds (k).
        depth: weighted layers L = 3n + 4.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        norm_layer: the normalisation.
        act_layer: the activation.

    Returns:
        The network.

    Raises:
        ShapeError: for a depth that is not 3n + 4 or a growth rate under 1.
    """
    n = layers_per_block(depth)
    if isinstance(growth_rate, bool) or not isinstance(growth_rate, int) or growth_rate < 1:
        raise ShapeError(
            f"A DenseNet's growth rate must be a positive integer (12, 24, ...), got "
            f"{growth_rate!r}."
        )
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    stages: OrderedDict[str, nn.Module] = OrderedDict(
        stem=nn.Conv2d(in_channels, STEM_WIDTH, 3, 1, 1, bias=False)  # (B, 16, 32, 32)
    )
    channels = STEM_WIDTH
    for i in range(1, NUM_BLOCKS + 1):
        stages[f"block{i}"] = PlainDenseBlock(n, channels, growth_rate, **kwargs)
        channels = stages[f"block{i}"].out_channels  # (B, C + n k, H, W)
        if i < NUM_BLOCKS:
            stages[f"transition{i}"] = Transition(channels, channels, **kwargs)  # size halved
    stages["norm"] = norm_layer(channels)
    stages["act"] = act_layer()
    head = pooled_head(channels, num_classes)
    model = ImageClassifier(nn.Sequential(stages), head)
    for m in model.modules():  # He et al. 2015's initialisation, as the paper uses
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
    return model


@register_model(
    "densenet_basic",
    family="DenseNet",
    year=2016,
    paper=_PAPER,
    input_size=(3, 32, 32),
    num_classes=10,
    min_image_size=MIN_IMAGE_SIZE,
)
def densenet_basic(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    growth: int = 12,
    depth: int = 40,
) -> ImageClassifier:
    """Basic DenseNet for CIFAR, (L=40, k=12) by default: 1,019,722 parameters at 10 classes.

    ``growth`` and ``depth`` give the paper's other rows, e.g. (L=100, k=12) or (L=100, k=24).
    ``image_size`` does not change the network (it ends in global pooling); it is taken so
    every builder answers the same keywords.
    """
    return make_densenet_basic(growth, depth, num_classes=num_classes, in_channels=in_channels)
