"""GoogLeNet (Szegedy et al., "Going Deeper with Convolutions", 2014), as in the paper: biased
convolutions without batch norm, LRN in the stem, nine Inception modules with the channel counts
of Table 1, true 5x5 convolutions, dropout 0.4, and two auxiliary classifiers on 4a and 4d that
only run in training. (torchvision's ``googlenet`` differs: batch norm, 3x3 in the "5x5" branch.)
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..layers.conv import ConvBNAct, Inception
from ._base import ImageClassifier
from ._registry import register_model

_PAPER = "Szegedy et al., Going Deeper with Convolutions, 2014"

# Table 1 of the paper, from the stem's 192 channels on: an Inception row is
# (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj); "M" is 3x3/2 max pooling.
INCEPTION_ROWS: list = [
    ("inception3a", (64, 96, 128, 16, 32, 32)),  # 28x28x256
    ("inception3b", (128, 128, 192, 32, 96, 64)),  # 28x28x480
    "M",
    ("inception4a", (192, 96, 208, 16, 48, 64)),  # 14x14x512
    ("inception4b", (160, 112, 224, 24, 64, 64)),  # 14x14x512
    ("inception4c", (128, 128, 256, 24, 64, 64)),  # 14x14x512
    ("inception4d", (112, 144, 288, 32, 64, 64)),  # 14x14x528
    ("inception4e", (256, 160, 320, 32, 128, 128)),  # 14x14x832
    "M",
    ("inception5a", (256, 160, 320, 32, 128, 128)),  # 7x7x832
    ("inception5b", (384, 192, 384, 48, 128, 128)),  # 7x7x1024
]
AUX_AFTER = ("inception4a", "inception4d")  # where the auxiliary classifiers branch off
AUX_LOSS_WEIGHT = 0.3  # Section 5: "their loss is added to the total loss with a weight of 0.3"


def _conv_relu(in_channels: int, out: int, kernel, stride: int = 1, padding=None) -> nn.Module:
    return ConvBNAct(in_channels, out, kernel, stride, padding, norm_layer=None)


def _lrn() -> nn.LocalResponseNorm:
    # The paper gives no constants; these are the released Caffe model's (alpha is per window).
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)


class AuxClassifier(nn.Module):
    """An auxiliary classifier (Section 5): 5x5/3 average pooling, a 1x1 convolution with 128
    filters, FC 1024, dropout 0.7, FC to the classes.

    The paper's pooling turns the 14x14 map of a 224 px image into 4x4; for other sizes it pools
    adaptively to 4x4 (as torchvision does everywhere), so the FC keeps its 2,048 inputs.
    """

    def __init__(self, in_channels: int, num_classes: int, map_size: int) -> None:
        super().__init__()
        paper_fits = (map_size - 5) // 3 + 1 == 4
        self.pool = nn.AvgPool2d(5, 3) if paper_fits else nn.AdaptiveAvgPool2d(4)
        self.conv = _conv_relu(in_channels, 128, 1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pool(x))  # (B, 128, 4, 4)
        x = self.drop(self.act(self.fc1(torch.flatten(x, 1))))  # (B, 1024)
        return self.fc2(x)  # (B, classes)


class GoogLeNet(ImageClassifier):
    """GoogLeNet whose forward returns ``(logits, aux1, aux2)`` in training mode (when built with
    auxiliary classifiers) and ``logits`` in eval mode.

    The trainer adds ``aux_loss_weight`` times each auxiliary loss to the main loss.
    """

    def __init__(self, features: nn.Sequential, head: nn.Module, aux: nn.ModuleDict) -> None:
        super().__init__(features, head)
        self.aux = aux
        self.aux_loss_weight = AUX_LOSS_WEIGHT

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if not (self.training and len(self.aux)):
            return self.forward_head(self.forward_features(x))
        aux_logits = []
        for name, stage in self.features.named_children():
            x = stage(x)
            if name in self.aux:
                aux_logits.append(self.aux[name](x))  # (B, classes)
        return (self.forward_head(x), *aux_logits)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the last layer of the head and of each auxiliary classifier."""
        super().reset_classifier(num_classes)
        for aux in self.aux.values():
            aux.fc2 = nn.Linear(aux.fc2.in_features, num_classes)


def _map_side(image_size: int, halvings: int) -> int:
    # The 7x7/2 convolution (padding 3) and the 3x3/2 poolings (padding 1) all give ceil(n / 2).
    side = image_size
    for _ in range(halvings):
        side = (side - 1) // 2 + 1
    return side


@register_model("googlenet", family="GoogLeNet", year=2014, paper=_PAPER)
def googlenet(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    aux_logits: bool = True,
    dropout: float = 0.4,
) -> GoogLeNet:
    """GoogLeNet as in the paper (Table 1), with auxiliary classifiers on 4a and 4d unless
    ``aux_logits=False``. It takes any image size: every halving rounds up, the head pools
    globally and the auxiliary classifiers pool to 4x4."""
    # Table 1 says "max pool 3x3/2"; padding 1 gives its sizes (56, 28, 14, 7) and, unlike
    # Caffe's rounding up, leaves a map of any size at least 1x1.
    pool = {"kernel_size": 3, "stride": 2, "padding": 1}
    stages: OrderedDict[str, nn.Module] = OrderedDict(
        stem=nn.Sequential(
            OrderedDict(
                conv1=_conv_relu(in_channels, 64, 7, 2, 3),  # (B, 64, 112, 112)
                pool1=nn.MaxPool2d(**pool),  # (B, 64, 56, 56)
                lrn1=_lrn(),
                conv2_reduce=_conv_relu(64, 64, 1),
                conv2=_conv_relu(64, 192, 3),  # (B, 192, 56, 56)
                lrn2=_lrn(),
                pool2=nn.MaxPool2d(**pool),  # (B, 192, 28, 28)
            )
        )
    )
    channels, pools = 192, 0
    for row in INCEPTION_ROWS:
        if row == "M":
            pools += 1
            stages[f"pool{pools + 2}"] = nn.MaxPool2d(**pool)
            continue
        name, columns = row
        stages[name] = Inception(channels, *columns, conv_block=_conv_relu)
        channels = stages[name].out_channels
    aux = nn.ModuleDict()
    if aux_logits:
        side = _map_side(image_size, 4)  # 4a and 4d see the map after four halvings
        for name in AUX_AFTER:
            aux[name] = AuxClassifier(stages[name].out_channels, num_classes, side)
    head = nn.Sequential(
        OrderedDict(
            pool=nn.AdaptiveAvgPool2d(1),  # the paper's 7x7 average pooling: (B, 1024, 1, 1)
            flatten=nn.Flatten(),  # (B, 1024)
            drop=nn.Dropout(dropout),
            fc=nn.Linear(channels, num_classes),
        )
    )
    return GoogLeNet(nn.Sequential(stages), head, aux)
