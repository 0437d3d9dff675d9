"""Inception after GoogLeNet: BN-Inception (v2) and Inception-v3.

BN-Inception reuses GoogLeNet's Inception module with batch norm and two 3x3 convolutions in
place of the 5x5. Inception-v3's modules are written as their figures draw them: named branches
of convolutions, each a row ``(out, kernel[, stride[, padding]])`` for
:func:`~classicnets.layers.conv.conv_chain`.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from torch import nn

from ..layers.conv import Concat, ConvBNAct, Inception, conv_chain
from ._base import ImageClassifier, pooled_head
from ._registry import image_too_small, register_model

_BN_PAPER = (
    "Ioffe & Szegedy, Batch Normalization: Accelerating Deep Network Training by Reducing "
    "Internal Covariate Shift, 2015"
)
_V3_PAPER = "Szegedy et al., Rethinking the Inception Architecture for Computer Vision, 2015"

# Figure 5 of Ioffe & Szegedy 2015, from the stem's 192 channels on: (#1x1, #3x3 reduce, #3x3,
# double #3x3 reduce, double #3x3, pool, pool proj, stride). A stride-2 module has no 1x1 branch
# and passes the max-pooled input through (proj 0). The table prints 576 channels for 4c and 4d;
# its rows add up to 608, as in the released model.
BN_INCEPTION_ROWS = [
    ("inception3a", (64, 64, 64, 64, 96, "avg", 32, 1)),  # 28x28x256
    ("inception3b", (64, 64, 96, 64, 96, "avg", 64, 1)),  # 28x28x320
    ("inception3c", (0, 128, 160, 64, 96, "max", 0, 2)),  # 14x14x576
    ("inception4a", (224, 64, 96, 96, 128, "avg", 128, 1)),  # 14x14x576
    ("inception4b", (192, 96, 128, 96, 128, "avg", 128, 1)),  # 14x14x576
    ("inception4c", (160, 128, 160, 128, 160, "avg", 128, 1)),  # 14x14x608
    ("inception4d", (96, 128, 192, 160, 192, "avg", 128, 1)),  # 14x14x608
    ("inception4e", (0, 128, 192, 192, 256, "max", 0, 2)),  # 7x7x1056
    ("inception5a", (352, 192, 320, 160, 224, "avg", 128, 1)),  # 7x7x1024
    ("inception5b", (352, 192, 320, 192, 224, "max", 128, 1)),  # 7x7x1024
]


@register_model("inception_bn", family="GoogLeNet", year=2015, paper=_BN_PAPER)
def inception_bn(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """BN-Inception (Inception-v2): GoogLeNet with batch norm after every convolution, 5x5
    convolutions replaced by two 3x3, and no auxiliary classifiers. The first convolution is a
    plain 7x7/2 one (the paper's is depthwise-separable). Takes any image size."""
    del image_size  # every halving rounds up and the head pools globally: any size works
    pool = {"kernel_size": 3, "stride": 2, "padding": 1}  # GoogLeNet's, see googlenet.py
    stages: OrderedDict[str, nn.Module] = OrderedDict(
        stem=nn.Sequential(
            OrderedDict(
                conv1=ConvBNAct(in_channels, 64, 7, 2),  # (B, 64, 112, 112)
                pool1=nn.MaxPool2d(**pool),  # (B, 64, 56, 56)
                conv2_reduce=ConvBNAct(64, 64, 1),
                conv2=ConvBNAct(64, 192, 3),  # (B, 192, 56, 56)
                pool2=nn.MaxPool2d(**pool),  # (B, 192, 28, 28)
            )
        )
    )
    channels = 192
    for name, (*widths, pool_type, proj, stride) in BN_INCEPTION_ROWS:
        block = Inception(
            channels, *widths[:5], proj, double_3x3=True, pool=pool_type, stride=stride
        )
        stages[name] = block
        channels = block.out_channels
    head = pooled_head(channels, num_classes)
    return ImageClassifier(nn.Sequential(stages), head)


# Inception-v3, as released with the paper (TensorFlow's slim model, torchvision's
# inception_v3): batch norm with eps 0.001 after every bias-free convolution.
_conv = partial(ConvBNAct, norm_layer=partial(nn.BatchNorm2d, eps=1e-3))
V3_MIN_IMAGE_SIZE = 75  # the unpadded stem and reductions shrink 75 px to a 1x1 map


def _chain(in_channels: int, *specs: tuple) -> nn.Sequential:
    return conv_chain(in_channels, *specs, conv_block=_conv)


def _pool_proj(in_channels: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.AvgPool2d(3, 1, 1), _conv(in_channels, out, 1))


def _fork(in_channels: int, out: int) -> Concat:
    # Figure 7's expanded filter bank: 1x3 and 3x1 side by side on the same input.
    return Concat({"1x3": _conv(in_channels, out, (1, 3)), "3x1": _conv(in_channels, out, (3, 1))})


def inception_a(c: int, pool_features: int) -> Concat:
    """35x35 module (Figure 5, the 5x5 kept as in the released model): 224 + pool_features."""
    return Concat(
        {
            "b1x1": _chain(c, (64, 1)),
            "b5x5": _chain(c, (48, 1), (64, 5)),
            "b3x3dbl": _chain(c, (64, 1), (96, 3), (96, 3)),
            "pool": _pool_proj(c, pool_features),
        }
    )


def reduction_a(c: int) -> Concat:
    """35 -> 17 grid reduction (Figure 10): 384 + 96 + c channels."""
    return Concat(
        {
            "b3x3": _chain(c, (384, 3, 2, 0)),
            "b3x3dbl": _chain(c, (64, 1), (96, 3), (96, 3, 2, 0)),
            "pool": nn.MaxPool2d(3, 2),
        }
    )


def inception_c(c: int, c7: int) -> Concat:
    """17x17 module with factorised 7x7 convolutions (Figure 6): 768 channels."""
    return Concat(
        {
            "b1x1": _chain(c, (192, 1)),
            "b7x7": _chain(c, (c7, 1), (c7, (1, 7)), (192, (7, 1))),
            "b7x7dbl": _chain(c, (c7, 1), (c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)), (192, (1, 7))),
            "pool": _pool_proj(c, 192),
        }
    )


def reduction_b(c: int) -> Concat:
    """17 -> 8 grid reduction: 320 + 192 + c channels."""
    return Concat(
        {
            "b3x3": _chain(c, (192, 1), (320, 3, 2, 0)),
            "b7x7x3": _chain(c, (192, 1), (192, (1, 7)), (192, (7, 1)), (192, 3, 2, 0)),
            "pool": nn.MaxPool2d(3, 2),
        }
    )


def inception_e(c: int) -> Concat:
    """8x8 module with expanded filter banks (Figure 7): 2,048 channels."""
    return Concat(
        {
            "b1x1": _chain(c, (320, 1)),
            "b3x3": nn.Sequential(_conv(c, 384, 1), _fork(384, 384)),
            "b3x3dbl": nn.Sequential(_conv(c, 448, 1), _conv(448, 384, 3), _fork(384, 384)),
            "pool": _pool_proj(c, 192),
        }
    )


class V3AuxClassifier(nn.Module):
    """The auxiliary classifier on the 17x17 grid (Section 4 and Figure 8): 5x5/3 average
    pooling, a 1x1 convolution to 128, a 5x5 convolution to 768, FC to the classes.

    The paper's pooling turns the 17x17 map of a 299 px image into 5x5; for other sizes it pools
    adaptively to 5x5, so the 5x5 convolution always sees the map it was made for.
    """

    def __init__(self, in_channels: int, num_classes: int, map_size: int) -> None:
        super().__init__()
        paper_fits = (map_size - 5) // 3 + 1 == 5
        self.pool = nn.AvgPool2d(5, 3) if paper_fits else nn.AdaptiveAvgPool2d(5)
        self.conv1 = _conv(in_channels, 128, 1)
        self.conv2 = _conv(128, 768, 5, padding=0)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.conv1(self.pool(x)))  # (B, 768, 1, 1)
        return self.fc(torch.flatten(x, 1))  # (B, classes)


class InceptionV3(ImageClassifier):
    """Inception-v3; in training mode with its auxiliary classifier, forward returns
    ``(logits, aux_logits)`` and the trainer adds ``aux_loss_weight`` times the auxiliary loss."""

    def __init__(self, features: nn.Sequential, head: nn.Module, aux: nn.Module | None) -> None:
        super().__init__(features, head)
        self.aux = aux
        self.aux_loss_weight = 0.3  # as for GoogLeNet; the paper does not give its weight

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if not (self.training and self.aux is not None):
            return self.forward_head(self.forward_features(x))
        for name, stage in self.features.named_children():
            x = stage(x)
            if name == "mixed6e":
                aux_logits = self.aux(x)  # (B, classes)
        return self.forward_head(x), aux_logits

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last layer of the head and of the auxiliary classifier."""
        super().reset_classifier(num_classes)
        if self.aux is not None:
            self.aux.fc = nn.Linear(self.aux.fc.in_features, num_classes)


@register_model(
    "inception_v3",
    family="GoogLeNet",
    year=2015,
    paper=_V3_PAPER,
    input_size=(3, 299, 299),
    min_image_size=V3_MIN_IMAGE_SIZE,
)
def inception_v3(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 299,
    aux_logits: bool = True,
    dropout: float = 0.5,
) -> InceptionV3:
    """Inception-v3 as released (299x299 input): 23,834,568 parameters without the auxiliary
    classifier, 27,161,264 with it. Needs images of 75 px or more."""
    if image_size < V3_MIN_IMAGE_SIZE:
        raise image_too_small("inception_v3", image_size, V3_MIN_IMAGE_SIZE)
    stem = nn.Sequential(
        OrderedDict(
            conv1a=_conv(in_channels, 32, 3, 2, 0),  # (B, 32, 149, 149)
            conv2a=_conv(32, 32, 3, 1, 0),  # (B, 32, 147, 147)
            conv2b=_conv(32, 64, 3),  # (B, 64, 147, 147)
            pool1=nn.MaxPool2d(3, 2),  # (B, 64, 73, 73)
            conv3b=_conv(64, 80, 1),  # (B, 80, 73, 73)
            conv4a=_conv(80, 192, 3, 1, 0),  # (B, 192, 71, 71)
            pool2=nn.MaxPool2d(3, 2),  # (B, 192, 35, 35)
        )
    )
    stages = OrderedDict(
        stem=stem,
        mixed5b=inception_a(192, 32),  # (B, 256, 35, 35)
        mixed5c=inception_a(256, 64),  # (B, 288, 35, 35)
        mixed5d=inception_a(288, 64),  # (B, 288, 35, 35)
        mixed6a=reduction_a(288),  # (B, 768, 17, 17)
        mixed6b=inception_c(768, 128),
        mixed6c=inception_c(768, 160),
        mixed6d=inception_c(768, 160),
        mixed6e=inception_c(768, 192),  # (B, 768, 17, 17)
        mixed7a=reduction_b(768),  # (B, 1280, 8, 8)
        mixed7b=inception_e(1280),  # (B, 2048, 8, 8)
        mixed7c=inception_e(2048),  # (B, 2048, 8, 8)
    )
    side = image_size
    for kernel, stride in ((3, 2), (3, 1), (3, 2), (3, 1), (3, 2), (3, 2)):  # stem and 6a
        side = (side - kernel) // stride + 1
    aux = V3AuxClassifier(768, num_classes, side) if aux_logits else None
    head = nn.Sequential(
        OrderedDict(
            pool=nn.AdaptiveAvgPool2d(1),  # (B, 2048, 1, 1)
            flatten=nn.Flatten(),
            drop=nn.Dropout(dropout),
            fc=nn.Linear(2048, num_classes),
        )
    )
    return InceptionV3(nn.Sequential(stages), head, aux)
