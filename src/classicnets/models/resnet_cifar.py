"""The CIFAR-10 ResNets of He, Zhang, Ren & Sun ("Deep Residual Learning for Image Recognition",
2015, Section 4.2): a 3x3 convolution to 16 channels, three stages of ``n`` two-3x3 residual
blocks at widths 16, 32 and 64 (on 32, 16 and 8 px maps, the first block of the later stages
striding 2), global average pooling and one fully connected layer: ``6n + 2`` weighted layers.

The shortcuts are the paper's option A: the identity, and where a stage halves the size and
doubles the width, the input subsampled by 2 with the new channels filled with zeros, so the
shortcuts have no parameters and a plain net (the same table with the shortcuts off, the
paper's "plain-20" ... "plain-110") has exactly the parameters of its ResNet.

The section's table, as ``(width, stride of the first block)`` per stage, is :data:`STAGES`.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ShapeError
from ..layers.conv import ActLayer, BasicBlock, ConvBNAct, NormLayer
from ._base import ImageClassifier, pooled_head
from ._registry import register_model
from .resnet import _PAPER

STAGES: tuple[tuple[int, int], ...] = ((16, 1), (32, 2), (64, 2))  # 32x32, 16x16, 8x8 maps
STEM_WIDTH = 16


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: the input subsampled by ``stride``, its channels padded with zeros
    up to ``out_channels``; no parameters. The new channels come last (the paper does not say
    where; some reproductions pad both sides, which counts the same)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.extra = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (B, C, ceil(H / s), ceil(W / s))
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # (B, C + extra, ...)


class CifarBasicBlock(BasicBlock):
    """:class:`BasicBlock` with the option A shortcut, or with none (``residual=False``, the
    paper's plain nets): ``act(conv2(conv1(x)) [+ shortcut(x)])``."""

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        *,
        residual: bool = True,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__(in_channels, width, stride, norm_layer=norm_layer, act_layer=act_layer)
        # Replaces BasicBlock's option B projection.
        self.shortcut = ZeroPadShortcut(in_channels, width, stride) if residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))  # (B, width, H / stride, W / stride)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.act(out)


def blocks_per_stage(depth: int) -> int:
    """The ``n`` of a depth ``6n + 2``; any other depth raises :class:`ShapeError`."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ShapeError(
            f"ResNet-CIFAR depth must be 6n+2 (20, 32, 44, 56, 110, 1202, ...), got {depth!r}."
        )
    return (depth - 2) // 6


def cifar_resnet(
    depth: int,
    *,
    residual: bool = True,
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    zero_init_residual: bool = False,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU,
) -> ImageClassifier:
    """Build a CIFAR ResNet (or plain net) of depth ``6n + 2`` (He et al. 2015, Section 4.2).

    Args:
        depth: weighted layers, 6n + 2: 20, 32, 44, 56, 110, 1202, ...
        residual: False leaves the shortcuts out (the paper's plain nets).
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; the network is the same at every size (it ends in global
            average pooling), the argument is taken so every builder answers the same keywords.
        zero_init_residual: start the last batch norm of every residual branch at zero.
        norm_layer: the normalisation after each convolution.
        act_layer: the activation.

    Returns:
        The network.

    Raises:
        ShapeError: when ``depth`` is not 6n + 2.
    """
    n = blocks_per_stage(depth)
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    stages: OrderedDict[str, nn.Module] = OrderedDict(
        stem=ConvBNAct(in_channels, STEM_WIDTH, 3, 1, **kwargs)  # (B, 16, 32, 32)
    )
    channels = STEM_WIDTH
    for i, (width, stride) in enumerate(STAGES, start=1):
        blocks = []
        for j in range(n):
            blocks.append(
                CifarBasicBlock(
                    channels, width, stride if j == 0 else 1, residual=residual, **kwargs
                )
            )
            channels = width
        stages[f"layer{i}"] = nn.Sequential(*blocks)  # (B, 16 * 2**(i-1), 32 / 2**(i-1), ...)
    head = pooled_head(channels, num_classes)
    model = ImageClassifier(nn.Sequential(stages), head)
    for m in model.modules():  # He et al. 2015's initialisation, as the paper uses
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, CifarBasicBlock):
                nn.init.zeros_(m.last_norm().weight)
    return model


_META = {
    "family": "ResNet-CIFAR",
    "year": 2015,
    "paper": _PAPER,
    "input_size": (3, 32, 32),
    "num_classes": 10,
}


@register_model("resnet20", **_META)
def resnet20(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-20 (n = 3): 269,722 parameters at 10 classes."""
    return cifar_resnet(
        20,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model("resnet32", **_META)
def resnet32(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-32 (n = 5): 464,154 parameters at 10 classes."""
    return cifar_resnet(
        32,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model("resnet44", **_META)
def resnet44(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-44 (n = 7): 658,586 parameters at 10 classes."""
    return cifar_resnet(
        44,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model("resnet56", **_META)
def resnet56(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-56 (n = 9): 853,018 parameters at 10 classes."""
    return cifar_resnet(
        56,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model("resnet110", **_META)
def resnet110(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-110 (n = 18): 1,727,962 parameters at 10 classes."""
    return cifar_resnet(
        110,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model("resnet1202", **_META)
def resnet1202(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-1202 (n = 200): 19,421,274 parameters at 10 classes."""
    return cifar_resnet(
        1202,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model("plain20", **_META)
def plain20(
    *, num_classes: int = 10, in_channels: int = 3, image_size: int = 32
) -> ImageClassifier:
    """Plain-20: ResNet-20 without shortcuts (the same 269,722 parameters)."""
    return cifar_resnet(
        20, residual=False, num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )


@register_model("plain32", **_META)
def plain32(
    *, num_classes: int = 10, in_channels: int = 3, image_size: int = 32
) -> ImageClassifier:
    """Plain-32: ResNet-32 without shortcuts (the same 464,154 parameters)."""
    return cifar_resnet(
        32, residual=False, num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )


@register_model("plain44", **_META)
def plain44(
    *, num_classes: int = 10, in_channels: int = 3, image_size: int = 32
) -> ImageClassifier:
    """Plain-44: ResNet-44 without shortcuts (the same 658,586 parameters)."""
    return cifar_resnet(
        44, residual=False, num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )


@register_model("plain56", **_META)
def plain56(
    *, num_classes: int = 10, in_channels: int = 3, image_size: int = 32
) -> ImageClassifier:
    """Plain-56: ResNet-56 without shortcuts (the same 853,018 parameters)."""
    return cifar_resnet(
        56, residual=False, num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )


@register_model("plain110", **_META)
def plain110(
    *, num_classes: int = 10, in_channels: int = 3, image_size: int = 32
) -> ImageClassifier:
    """Plain-110: ResNet-110 without shortcuts (the same 1,727,962 parameters)."""
    return cifar_resnet(
        110, residual=False, num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )
