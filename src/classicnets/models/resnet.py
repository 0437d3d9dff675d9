"""ResNet (He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", 2015): a stem,
four stages of residual blocks (64, 128, 256, 512 wide, the first of each later stage striding
2), global average pooling and one fully connected layer. Table 1 of the paper, as
``(block, blocks per stage)``, is :data:`CONFIGS`.

Below 64 px the stem is the one of the paper's CIFAR-10 networks (Section 4.2): a 3x3/1
convolution without max pooling, so a 32x32 image reaches the last stage as 4x4 instead of 1x1.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..layers.conv import BasicBlock, Bottleneck, ConvBNAct, NormLayer
from ._base import ImageClassifier, pooled_head
from ._registry import register_model

_PAPER = "He, Zhang, Ren & Sun, Deep Residual Learning for Image Recognition, 2015"

CONFIGS: dict[str, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet34": (BasicBlock, (3, 4, 6, 3)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
    "resnet101": (Bottleneck, (3, 4, 23, 3)),
    "resnet152": (Bottleneck, (3, 8, 36, 3)),
}
WIDTHS = (64, 128, 256, 512)
SMALL_INPUT = 64  # images under this side get the CIFAR stem


def make_resnet(
    block: type[BasicBlock | Bottleneck],
    layers: tuple[int, ...],
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    zero_init_residual: bool = False,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: type[nn.Module] = nn.ReLU,
) -> ImageClassifier:
    """Build a ResNet from its block type and the number of blocks per stage.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: blocks in each of the four stages, e.g. ``(3, 4, 6, 3)``.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the stem is the CIFAR one (3x3/1, no max pooling).
        zero_init_residual: start the last batch norm of every residual branch at zero, so each
            block begins as the identity (Goyal et al. 2017).
        norm_layer: the normalisation after each convolution.
        act_layer: the activation.

    Returns:
        The network.
    """
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    if image_size < SMALL_INPUT:
        stem = nn.Sequential(OrderedDict(conv=ConvBNAct(in_channels, 64, 3, 1, **kwargs)))
    else:
        stem = nn.Sequential(
            OrderedDict(
                conv=ConvBNAct(in_channels, 64, 7, 2, **kwargs),  # (B, 64, 112, 112)
                pool=nn.MaxPool2d(3, 2, 1),  # (B, 64, 56, 56)
            )
        )
    stages: OrderedDict[str, nn.Module] = OrderedDict(stem=stem)
    channels = 64
    for i, (width, count) in enumerate(zip(WIDTHS, layers, strict=True)):
        blocks = []
        for j in range(count):
            stride = 2 if i > 0 and j == 0 else 1
            blocks.append(block(channels, width, stride, **kwargs))
            channels = blocks[-1].out_channels
        stages[f"layer{i + 1}"] = nn.Sequential(*blocks)  # (B, width * expansion, H / 2**i, ...)
    head = pooled_head(channels, num_classes)
    model = ImageClassifier(nn.Sequential(stages), head)
    for m in model.modules():  # He et al. 2015's initialisation, as the paper uses
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, BasicBlock | Bottleneck):
                nn.init.zeros_(m.last_norm().weight)
    return model


def _resnet(name: str, **kwargs) -> ImageClassifier:
    block, layers = CONFIGS[name]
    return make_resnet(block, layers, **kwargs)


@register_model("resnet18", family="ResNet", year=2015, paper=_PAPER, small_input_below=SMALL_INPUT)
def resnet18(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-18 (BasicBlock, 2-2-2-2): 11,689,512 parameters at 1,000 classes."""
    return _resnet(
        "resnet18",
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model("resnet34", family="ResNet", year=2015, paper=_PAPER, small_input_below=SMALL_INPUT)
def resnet34(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-34 (BasicBlock, 3-4-6-3): 21,797,672 parameters at 1,000 classes."""
    return _resnet(
        "resnet34",
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model("resnet50", family="ResNet", year=2015, paper=_PAPER, small_input_below=SMALL_INPUT)
def resnet50(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-50 (Bottleneck, 3-4-6-3): 25,557,032 parameters at 1,000 classes."""
    return _resnet(
        "resnet50",
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model(
    "resnet101", family="ResNet", year=2015, paper=_PAPER, small_input_below=SMALL_INPUT
)
def resnet101(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-101 (Bottleneck, 3-4-23-3): 44,549,160 parameters at 1,000 classes."""
    return _resnet(
        "resnet101",
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )


@register_model(
    "resnet152", family="ResNet", year=2015, paper=_PAPER, small_input_below=SMALL_INPUT
)
def resnet152(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    zero_init_residual: bool = False,
) -> ImageClassifier:
    """ResNet-152 (Bottleneck, 3-8-36-3): 60,192,808 parameters at 1,000 classes."""
    return _resnet(
        "resnet152",
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
        zero_init_residual=zero_init_residual,
    )
