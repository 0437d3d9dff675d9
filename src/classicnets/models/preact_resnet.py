"""Pre-activation ResNets (He, Zhang, Ren & Sun, "Identity Mappings in Deep Residual Networks",
2016): residual units in the full pre-activation order of the paper's Figure 4(e),
BN-ReLU-conv-BN-ReLU-conv, whose sum with the shortcut is left unactivated, so the identity
path runs from the first unit to the last untouched; a final BN-ReLU before the pooling.

Two layouts, each a table row: ResNet-18's (:data:`classicnets.models.resnet.CONFIGS`, widths
64-512, with ResNet's CIFAR stem under 64 px) and the CIFAR layout of the 2015 paper's
Section 4.2 (:data:`classicnets.models.resnet_cifar.STAGES`, widths 16-32-64).

As in the authors' CIFAR code, a unit that changes the width projects its shortcut with a 1x1
convolution (no batch norm, no bias) and that projection reads the unit's pre-activated input;
the first unit also shares its pre-activation with the shortcut, the paper's "first activation
right after conv1 and before splitting into two paths" (Section 4.1). Differences: no
convolution has a bias (the authors' Torch code has them; a batch norm follows each, so they are
redundant), and on the ImageNet stem the max pooling comes before that first BN-ReLU
(fb.resnet.torch's preresnet normalises before the pooling; the parameters are the same).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..layers.conv import ActLayer, ConvBNAct, NormLayer
from ._base import ImageClassifier, pooled_head
from ._registry import register_model
from .resnet import CONFIGS, SMALL_INPUT, WIDTHS
from .resnet_cifar import STAGES, blocks_per_stage

_PAPER = "He, Zhang, Ren & Sun, Identity Mappings in Deep Residual Networks, 2016"


class PreActBlock(nn.Module):
    """The full pre-activation unit (He et al. 2016, Figure 4e) of two 3x3 convolutions.

    ``x + conv(relu(bn(conv(relu(bn(x))))))``; where the stride or the width changes, the
    shortcut is a 1x1 projection of ``relu(bn(x))``.

    Args:
        in_channels: input channels.
        width: output channels.
        stride: stride of the first convolution (and the projection).
        share_preact: feed the shortcut ``relu(bn(x))`` even when it is the identity (the
            network's first unit); a projection always gets it.
        norm_layer: the normalisation.
        act_layer: the activation.
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        *,
        share_preact: bool = False,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        self.norm1 = norm_layer(in_channels)
        self.act1 = act_layer()
        # conv-BN-ReLU then a bare conv: the unit's BN-ReLU-conv-BN-ReLU-conv after norm1, act1.
        self.conv1 = ConvBNAct(
            in_channels, width, 3, stride, norm_layer=norm_layer, act_layer=act_layer
        )
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        projects = stride != 1 or in_channels != width
        self.shortcut = (
            nn.Conv2d(in_channels, width, 1, stride, bias=False) if projects else nn.Identity()
        )
        self.share_preact = share_preact or projects
        self.out_channels = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.act1(self.norm1(x))  # (B, C, H, W)
        out = self.conv2(self.conv1(pre))  # (B, width, H / stride, W / stride)
        return out + self.shortcut(pre if self.share_preact else x)


def make_preact_resnet(
    widths: tuple[int, ...],
    layers: tuple[int, ...],
    *,
    large_stem: bool,
    num_classes: int = 1000,
    in_channels: int = 3,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU,
) -> ImageClassifier:
    """Build a pre-activation ResNet from its widths and units per stage.

    Args:
        widths: channels of each stage; every stage after the first halves the size.
        layers: units in each stage.
        large_stem: ImageNet's 7x7/2 convolution and 3x3/2 max pooling; else a 3x3/1
            convolution to ``widths[0]`` channels (the CIFAR stem).
        num_classes: outputs of the classifier.
        in_channels: image channels.
        norm_layer: the normalisation.
        act_layer: the activation.

    Returns:
        The network.
    """
    if large_stem:
        stem = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False),  # (B, 64, 112, 112)
                pool=nn.MaxPool2d(3, 2, 1),  # (B, 64, 56, 56)
            )
        )
    else:
        stem = nn.Sequential(
            OrderedDict(conv=nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False))
        )
    stages: OrderedDict[str, nn.Module] = OrderedDict(stem=stem)
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    channels = widths[0]
    for i, (width, count) in enumerate(zip(widths, layers, strict=True)):
        blocks = []
        for j in range(count):
            stride = 2 if i > 0 and j == 0 else 1
            first = i == 0 and j == 0
            blocks.append(PreActBlock(channels, width, stride, share_preact=first, **kwargs))
            channels = width
        stages[f"layer{i + 1}"] = nn.Sequential(*blocks)  # (B, width, H / 2**i, W / 2**i)
    stages["norm"] = norm_layer(channels)  # the last unit's extra activation (Section 4.1)
    stages["act"] = act_layer()
    head = pooled_head(channels, num_classes)
    model = ImageClassifier(nn.Sequential(stages), head)
    for m in model.modules():  # He et al. 2015's initialisation, as the paper uses
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


_META = {"family": "PreAct-ResNet", "year": 2016, "paper": _PAPER}


@register_model("preact_resnet18", **_META, small_input_below=SMALL_INPUT)
def preact_resnet18(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """Pre-activation ResNet-18 (widths 64-512, 2-2-2-2 units): 11,687,720 parameters at 1,000
    classes and 224 px; under 64 px the CIFAR stem (a 3x3/1 convolution, no max pooling)."""
    return make_preact_resnet(
        WIDTHS,
        CONFIGS["resnet18"][1],
        large_stem=image_size >= SMALL_INPUT,
        num_classes=num_classes,
        in_channels=in_channels,
    )


@register_model("preact_resnet110", **_META, input_size=(3, 32, 32), num_classes=10)
def preact_resnet110(
    *, num_classes: int = 10, in_channels: int = 3, image_size: int = 32
) -> ImageClassifier:
    """Pre-activation ResNet-110 (CIFAR layout, widths 16-32-64, 18 units per stage):
    1,730,522 parameters at 10 classes. ``image_size`` does not change the network (it ends in
    global pooling); it is taken so every builder answers the same keywords."""
    n = blocks_per_stage(110)
    widths = tuple(width for width, _ in STAGES)  # the strides are make_preact_resnet's
    return make_preact_resnet(
        widths,
        (n,) * len(widths),
        large_stem=False,
        num_classes=num_classes,
        in_channels=in_channels,
    )
