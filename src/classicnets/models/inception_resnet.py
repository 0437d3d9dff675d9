"""Inception-ResNet v1 and v2 (Szegedy, Ioffe, Vanhoucke & Alemi, "Inception-v4,
Inception-ResNet and the Impact of Residual Connections on Learning", 2016): Inception modules
whose concatenated branches a linear 1x1 convolution projects back to the input's width, scaled
down and added to the input (Section 3.3: scaling by 0.1-0.3 keeps the wide nets from dying
early in training), then a ReLU.

The three residual block types (Figures 10-13 for v1, 16, 17 and 19 for v2) are one class,
:class:`InceptionResidual`, given its branches as convolution rows ``(out, kernel[, stride[,
padding]])``; a network is an :class:`InceptionResNetConfig`: its stem, the 35x35, 17x17 and
8x8 stages (branches, repeats, scale) and the widths of the two reductions (Table 1's k, l,
m, n for Reduction-A, Figure 7; Figures 12 and 18 for Reduction-B).

- ``inception_resnet_v2`` follows timm (and TF-slim, whose weights timm ports): its stem is
  not the paper's Figure 3 (the Inception-v4 stem, to 384 channels) but Inception-v3's first
  layers, 3x3 max pools instead of the filter concatenations, then a "Mixed_5b" Inception
  module to 320 channels; the last of the ten 8x8 blocks has no ReLU and no scaling (scale 1),
  and a 1x1 convolution to 1,536 channels (batch norm, ReLU) precedes the pooling.
  55,843,464 parameters at 1,000 classes, timm's count.
- ``inception_resnet_v1`` is the paper's Figures 14 (stem to 35x35x256), 10, 7 (k, l, m, n =
  192, 192, 256, 384), 11, 12 and 13: 5 + 10 + 5 residual blocks, 22,756,328 parameters with
  batch norm after each non-residual convolution (no count is published). The paper gives
  only the range of the scales; v1 takes v2's 0.17, 0.10 and 0.20, and keeps the ReLU of every
  block as Figures 10-13 draw it.

As in TF-slim, every convolution has batch norm (eps 0.001) and ReLU except the residual
projections, which are linear with a bias (Section 3.2: batch norm "only on top of the
traditional layers, but not on top of the summations"). Both nets need images of 75 px or
more (the valid convolutions and four halvings take 75 px to 1x1).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..layers.conv import Concat
from ._base import ImageClassifier
from ._registry import image_too_small, register_model
from .inception_v4 import _chain, _conv, _pool_proj, reduction_a

_PAPER = (
    "Szegedy et al., Inception-v4, Inception-ResNet and the Impact of Residual Connections on "
    "Learning, 2016"
)
MIN_IMAGE_SIZE = 75  # the valid convolutions and four halvings shrink 75 px to a 1x1 map

Branches = tuple[tuple[tuple, ...], ...]  # per branch, its convolution rows


class InceptionResidual(nn.Module):
    """``act(x + scale * up(concat(branches(x))))``: Figures 10-13 and 16-19.

    Args:
        in_channels: input (and output) channels.
        branches: per branch its convolution rows ``(out, kernel[, stride[, padding]])``, each
            a convolution with batch norm and ReLU, e.g. ``((32, 1), (32, 3))``.
        scale: the residual's scaling before the addition (Section 3.3).
        activate: end with a ReLU (timm's last 8x8 block of v2 has none).
    """

    def __init__(
        self, in_channels: int, branches: Branches, scale: float = 1.0, *, activate: bool = True
    ) -> None:
        super().__init__()
        chains = [_chain(in_channels, *rows) for rows in branches]
        self.branches = Concat({f"branch{i}": chain for i, chain in enumerate(chains)})
        width = sum(chain.out_channels for chain in chains)
        self.up = nn.Conv2d(width, in_channels, 1)  # the "1x1 Conv (Linear)" of the figures
        self.scale = scale
        self.act = nn.ReLU() if activate else nn.Identity()
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.up(self.branches(x))  # (B, C, H, W)
        return self.act(x + self.scale * residual)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


def reduction_b(in_channels: int, branches: Branches) -> Concat:
    """Reduction-B (Figure 12 for v1, 18 for v2), 17 -> 8: the convolution ``branches`` beside
    a 3x3/2 max pool; ``out_channels`` is their widths plus ``in_channels``."""
    chains = {f"branch{i}": _chain(in_channels, *rows) for i, rows in enumerate(branches)}
    block = Concat({**chains, "pool": nn.MaxPool2d(3, 2)})
    block.out_channels = in_channels + sum(chain.out_channels for chain in chains.values())
    return block


def stem_v1(in_channels: int) -> nn.Sequential:
    """Figure 14: 299x299x3 -> 35x35x256."""
    return nn.Sequential(
        OrderedDict(
            conv=_chain(in_channels, (32, 3, 2, 0), (32, 3, 1, 0), (64, 3)),  # (B, 64, 147, 147)
            pool=nn.MaxPool2d(3, 2),  # (B, 64, 73, 73)
            conv2=_chain(64, (80, 1), (192, 3, 1, 0), (256, 3, 2, 0)),  # (B, 256, 35, 35)
        )
    )


def stem_v2(in_channels: int) -> nn.Sequential:
    """timm's (TF-slim's) stem of v2: 299x299x3 -> 35x35x320, ending in "Mixed_5b"."""
    return nn.Sequential(
        OrderedDict(
            conv=_chain(in_channels, (32, 3, 2, 0), (32, 3, 1, 0), (64, 3)),  # (B, 64, 147, 147)
            pool=nn.MaxPool2d(3, 2),  # (B, 64, 73, 73)
            conv2=_chain(64, (80, 1), (192, 3, 1, 0)),  # (B, 192, 71, 71)
            pool2=nn.MaxPool2d(3, 2),  # (B, 192, 35, 35)
            mixed5b=Concat(  # (B, 96 + 64 + 96 + 64 = 320, 35, 35)
                {
                    "b1x1": _chain(192, (96, 1)),
                    "b5x5": _chain(192, (48, 1), (64, 5)),
                    "b3x3dbl": _chain(192, (64, 1), (96, 3), (96, 3)),
                    "pool": _pool_proj(192, 64),
                }
            ),
        )
    )


@dataclass(frozen=True)
class ResidualStage:
    """``repeats`` :class:`InceptionResidual` blocks of the same ``branches`` and ``scale``."""

    branches: Branches
    repeats: int
    scale: float


@dataclass(frozen=True)
class InceptionResNetConfig:
    """One Inception-ResNet, as the paper's figures and Table 1 give it."""

    stem: Callable[[int], nn.Module]
    stem_channels: int
    block_a: ResidualStage  # 35x35
    reduction_a: tuple[int, int, int, int]  # Table 1's (k, l, m, n)
    block_b: ResidualStage  # 17x17
    reduction_b: Branches
    block_c: ResidualStage  # 8x8
    last_linear: bool  # the last 8x8 block without ReLU or scaling (TF-slim's v2)
    final_conv: int | None  # a 1x1 convolution before the pooling (TF-slim's v2)


CONFIGS: dict[str, InceptionResNetConfig] = {
    "inception_resnet_v1": InceptionResNetConfig(
        stem=stem_v1,
        stem_channels=256,  # Figure 14
        block_a=ResidualStage(  # Figure 10
            (((32, 1),), ((32, 1), (32, 3)), ((32, 1), (32, 3), (32, 3))), 5, 0.17
        ),
        reduction_a=(192, 192, 256, 384),  # Figure 7 with Table 1's k, l, m, n
        # Figure 11
        block_b=ResidualStage((((128, 1),), ((128, 1), (128, (1, 7)), (128, (7, 1)))), 10, 0.10),
        reduction_b=(  # Figure 12
            ((256, 1), (384, 3, 2, 0)),
            ((256, 1), (256, 3, 2, 0)),
            ((256, 1), (256, 3), (256, 3, 2, 0)),
        ),
        # Figure 13
        block_c=ResidualStage((((192, 1),), ((192, 1), (192, (1, 3)), (192, (3, 1)))), 5, 0.20),
        last_linear=False,
        final_conv=None,
    ),
    "inception_resnet_v2": InceptionResNetConfig(
        stem=stem_v2,
        stem_channels=320,  # timm's stem, not Figure 3
        block_a=ResidualStage(  # Figure 16
            (((32, 1),), ((32, 1), (32, 3)), ((32, 1), (48, 3), (64, 3))), 10, 0.17
        ),
        reduction_a=(256, 256, 384, 384),  # Figure 7 with Table 1's k, l, m, n
        # Figure 17
        block_b=ResidualStage((((192, 1),), ((128, 1), (160, (1, 7)), (192, (7, 1)))), 20, 0.10),
        reduction_b=(  # Figure 18
            ((256, 1), (384, 3, 2, 0)),
            ((256, 1), (288, 3, 2, 0)),
            ((256, 1), (288, 3), (320, 3, 2, 0)),
        ),
        # Figure 19
        block_c=ResidualStage((((192, 1),), ((192, 1), (224, (1, 3)), (256, (3, 1)))), 10, 0.20),
        last_linear=True,
        final_conv=1536,
    ),
}


def make_inception_resnet(
    config: InceptionResNetConfig,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    dropout: float = 0.2,
) -> ImageClassifier:
    """Build an Inception-ResNet (Figure 15) from its configuration.

    Args:
        config: a row of :data:`CONFIGS`.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        dropout: before the classifier (Figure 15: keep 0.8).

    Returns:
        The network.
    """
    stages: OrderedDict[str, nn.Module] = OrderedDict(stem=config.stem(in_channels))
    channels = config.stem_channels  # (B, 256 or 320, 35, 35)

    def add_stage(name: str, stage: ResidualStage, last_linear: bool = False) -> None:
        for i in range(stage.repeats):
            final = last_linear and i == stage.repeats - 1
            stages[f"{name}{i + 1}"] = InceptionResidual(
                channels, stage.branches, 1.0 if final else stage.scale, activate=not final
            )

    add_stage("block_a", config.block_a)
    k, l, m, n = config.reduction_a  # noqa: E741  (the paper's letters)
    stages["reduction_a"] = reduction_a(channels, k, l, m, n)
    channels += m + n  # (B, 896 or 1088, 17, 17)
    add_stage("block_b", config.block_b)
    stages["reduction_b"] = reduction_b(channels, config.reduction_b)
    channels = stages["reduction_b"].out_channels  # (B, 1792 or 2080, 8, 8)
    add_stage("block_c", config.block_c, config.last_linear)
    if config.final_conv:
        stages["final_conv"] = _conv(channels, config.final_conv, 1)  # (B, 1536, 8, 8)
        channels = config.final_conv
    head = nn.Sequential(
        OrderedDict(
            pool=nn.AdaptiveAvgPool2d(1),  # (B, 1792 or 1536, 1, 1)
            flatten=nn.Flatten(),
            drop=nn.Dropout(dropout),
            fc=nn.Linear(channels, num_classes),
        )
    )
    return ImageClassifier(nn.Sequential(stages), head)


def _build(name: str, image_size: int, **kwargs) -> ImageClassifier:
    if image_size < MIN_IMAGE_SIZE:
        raise image_too_small(name, image_size, MIN_IMAGE_SIZE)
    return make_inception_resnet(CONFIGS[name], **kwargs)


@register_model(
    "inception_resnet_v1",
    family="Inception-ResNet",
    year=2016,
    paper=_PAPER,
    input_size=(3, 299, 299),
    min_image_size=MIN_IMAGE_SIZE,
)
def inception_resnet_v1(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 299,
    dropout: float = 0.2,
) -> ImageClassifier:
    """Inception-ResNet-v1 (Figures 14, 10-13 and 15): 22,756,328 parameters at 1,000
    classes, computed from the figures. Needs images of 75 px or more."""
    return _build(
        "inception_resnet_v1",
        image_size,
        num_classes=num_classes,
        in_channels=in_channels,
        dropout=dropout,
    )


@register_model(
    "inception_resnet_v2",
    family="Inception-ResNet",
    year=2016,
    paper=_PAPER,
    input_size=(3, 299, 299),
    min_image_size=MIN_IMAGE_SIZE,
)
def inception_resnet_v2(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 299,
    dropout: float = 0.2,
) -> ImageClassifier:
    """Inception-ResNet-v2 as timm and TF-slim build it (Figures 16-19 with their stem):
    55,843,464 parameters at 1,000 classes. Needs images of 75 px or more."""
    return _build(
        "inception_resnet_v2",
        image_size,
        num_classes=num_classes,
        in_channels=in_channels,
        dropout=dropout,
    )
