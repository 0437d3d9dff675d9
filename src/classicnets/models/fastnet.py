"""``cifar_fast``: a small, fast CIFAR-10 network of our own, for minutes-not-hours training.

Not a paper's architecture; its shape follows the fast-CIFAR line of work (Page, "How to train
your ResNet", 2018; Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU", 2024): a 3x3 stem,
then per stage conv -> 2x2 max-pool -> BN -> GELU -> conv -> BN -> GELU, global max pooling and a
linear classifier. No residual connections: at this depth they cost time and buy little.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..layers.conv import ConvBNAct
from ._base import ImageClassifier
from ._registry import register_model


class _Stage(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.MaxPool2d(2),  # pool before normalising: 4x fewer values to normalise
            nn.BatchNorm2d(out_channels),
            nn.GELU(),
            ConvBNAct(out_channels, out_channels, act_layer=nn.GELU),
        )


@register_model(
    "cifar_fast",
    family="FastNet",
    year=2026,
    paper="classicnets' own; after Page 2018 and Jordan 2024 (fast CIFAR-10 training)",
    input_size=(3, 32, 32),
    num_classes=10,
    min_image_size=8,
)
def cifar_fast(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    widths: Sequence[int] = (32, 64, 128),
) -> ImageClassifier:
    """A stem of ``widths[0] // 2`` channels, then one pooling stage per entry of ``widths``
    (32x32 -> 4x4 with three stages), global max pooling and a linear classifier."""
    if image_size < 2 ** len(widths):
        from ._registry import image_too_small

        raise image_too_small("cifar_fast", image_size, 2 ** len(widths))
    stem = max(8, widths[0] // 2)
    layers: list[nn.Module] = [ConvBNAct(in_channels, stem, act_layer=nn.GELU)]
    width = stem
    for out in widths:
        layers.append(_Stage(width, out))  # (B, out, H/2, W/2)
        width = out
    head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))
    return ImageClassifier(nn.Sequential(*layers), head)
