"""Inception-v4 (Szegedy, Ioffe, Vanhoucke & Alemi, "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", 2016): a deeper stem (Figure 3), four Inception-A,
seven Inception-B and three Inception-C modules (Figures 4-6) with the reductions of Figures 7
and 8 (k, l, m, n = 192, 224, 256, 384). 42,679,816 parameters at 1,000 classes.

Modules are named branches of convolution rows ``(out, kernel[, stride[, padding]])``; padding 0
marks the figures' "V" (valid) convolutions.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

from torch import nn

from ..layers.conv import Concat, ConvBNAct, conv_chain
from ._base import ImageClassifier
from ._registry import image_too_small, register_model

_PAPER = (
    "Szegedy et al., Inception-v4, Inception-ResNet and the Impact of Residual Connections on "
    "Learning, 2016"
)
MIN_IMAGE_SIZE = 75  # the valid convolutions and three reductions shrink 75 px to a 1x1 map

_conv = partial(ConvBNAct, norm_layer=partial(nn.BatchNorm2d, eps=1e-3))


def _chain(in_channels: int, *specs: tuple) -> nn.Sequential:
    return conv_chain(in_channels, *specs, conv_block=_conv)


def _pool_proj(in_channels: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), _conv(in_channels, out, 1))


def stem(in_channels: int) -> nn.Sequential:
    """Figure 3: 299x299x3 -> 35x35x384, with three filter concatenations."""
    return nn.Sequential(
        OrderedDict(
            conv=_chain(in_channels, (32, 3, 2, 0), (32, 3, 1, 0), (64, 3)),  # (B, 64, 147, 147)
            mixed3a=Concat({"pool": nn.MaxPool2d(3, 2), "conv": _conv(64, 96, 3, 2, 0)}),
            mixed4a=Concat(  # (B, 192, 71, 71)
                {
                    "b3x3": _chain(160, (64, 1), (96, 3, 1, 0)),
                    "b7x7": _chain(160, (64, 1), (64, (1, 7)), (64, (7, 1)), (96, 3, 1, 0)),
                }
            ),
            mixed5a=Concat({"conv": _conv(192, 192, 3, 2, 0), "pool": nn.MaxPool2d(3, 2)}),
        )
    )  # (B, 384, 35, 35)


def inception_a(c: int = 384) -> Concat:
    """Figure 4, the 35x35 module: 384 channels."""
    return Concat(
        {
            "b1x1": _chain(c, (96, 1)),
            "b3x3": _chain(c, (64, 1), (96, 3)),
            "b3x3dbl": _chain(c, (64, 1), (96, 3), (96, 3)),
            "pool": _pool_proj(c, 96),
        }
    )


def reduction_a(c: int = 384, k: int = 192, l: int = 224, m: int = 256, n: int = 384) -> Concat:  # noqa: E741
    """Figure 7, 35 -> 17: n + m + c channels (1,024 with Table 1's Inception-v4 values)."""
    return Concat(
        {
            "b3x3": _chain(c, (n, 3, 2, 0)),
            "b3x3dbl": _chain(c, (k, 1), (l, 3), (m, 3, 2, 0)),
            "pool": nn.MaxPool2d(3, 2),
        }
    )


def inception_b(c: int = 1024) -> Concat:
    """Figure 5, the 17x17 module: 1,024 channels."""
    return Concat(
        {
            "b1x1": _chain(c, (384, 1)),
            "b7x7": _chain(c, (192, 1), (224, (1, 7)), (256, (7, 1))),
            "b7x7dbl": _chain(
                c, (192, 1), (192, (7, 1)), (224, (1, 7)), (224, (7, 1)), (256, (1, 7))
            ),
            "pool": _pool_proj(c, 128),
        }
    )


def reduction_b(c: int = 1024) -> Concat:
    """Figure 8, 17 -> 8: 192 + 320 + c channels."""
    return Concat(
        {
            "b3x3": _chain(c, (192, 1), (192, 3, 2, 0)),
            "b7x7": _chain(c, (256, 1), (256, (1, 7)), (320, (7, 1)), (320, 3, 2, 0)),
            "pool": nn.MaxPool2d(3, 2),
        }
    )


def _fork(c: int, out: int) -> Concat:
    return Concat({"1x3": _conv(c, out, (1, 3)), "3x1": _conv(c, out, (3, 1))})


def inception_c(c: int = 1536) -> Concat:
    """Figure 6, the 8x8 module: 1,536 channels."""
    return Concat(
        {
            "b1x1": _chain(c, (256, 1)),
            "b3x3": nn.Sequential(_conv(c, 384, 1), _fork(384, 256)),
            "b3x3dbl": nn.Sequential(
                _chain(c, (384, 1), (448, (3, 1)), (512, (1, 3))), _fork(512, 256)
            ),
            "pool": _pool_proj(c, 256),
        }
    )


@register_model(
    "inception_v4",
    family="GoogLeNet",
    year=2016,
    paper=_PAPER,
    input_size=(3, 299, 299),
    min_image_size=MIN_IMAGE_SIZE,
)
def inception_v4(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 299,
    dropout: float = 0.2,
) -> ImageClassifier:
    """Inception-v4 (Figure 9) with dropout 0.2 (keep 0.8) before the classifier. Needs images
    of 75 px or more."""
    if image_size < MIN_IMAGE_SIZE:
        raise image_too_small("inception_v4", image_size, MIN_IMAGE_SIZE)
    stages: OrderedDict[str, nn.Module] = OrderedDict(stem=stem(in_channels))
    for i in range(4):
        stages[f"inception_a{i + 1}"] = inception_a()  # (B, 384, 35, 35)
    stages["reduction_a"] = reduction_a()  # (B, 1024, 17, 17)
    for i in range(7):
        stages[f"inception_b{i + 1}"] = inception_b()  # (B, 1024, 17, 17)
    stages["reduction_b"] = reduction_b()  # (B, 1536, 8, 8)
    for i in range(3):
        stages[f"inception_c{i + 1}"] = inception_c()  # (B, 1536, 8, 8)
    head = nn.Sequential(
        OrderedDict(
            pool=nn.AdaptiveAvgPool2d(1),  # (B, 1536, 1, 1)
            flatten=nn.Flatten(),
            drop=nn.Dropout(dropout),
            fc=nn.Linear(1536, num_classes),
        )
    )
    return ImageClassifier(nn.Sequential(stages), head)
