"""SqueezeNet (Iandola, Han, Moskewicz, Ashraf, Dally & Keutzer, "SqueezeNet: AlexNet-level
accuracy with 50x fewer parameters and <0.5MB model size", 2016): a convolution, eight Fire
modules with max pooling between them, and a 1x1 convolution to the classes (conv10) whose
global average is the output, so there is no fully connected layer.

:data:`CONFIGS` holds the rows: v1.0 is the paper's Table 1 (conv1 96 7x7/2, pools after conv1,
fire4 and fire8); v1.1 is the version released with the paper's code (conv1 64 3x3/2, pools
after conv1, fire3 and fire5), with the same accuracy at 2.4x less computation. Both follow
torchvision's squeezenet1_0/1_1 (from which the parameter counts come): the max pools round up
(ceil mode, as Caffe), conv1 is unpadded, and dropout 0.5 precedes conv10 as in the paper.

Below 64 px the stem keeps the size (conv1 at stride 1, padded) and the first max pool is left
out, so a 32 px image ends as 8x8 and a 28 px one as 7x7 instead of 1x1.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..layers.conv import ConvBNAct
from ..layers.fire import Fire
from ._base import ImageClassifier
from ._registry import register_model

_PAPER = (
    "Iandola, Han, Moskewicz, Ashraf, Dally & Keutzer, SqueezeNet: AlexNet-level accuracy "
    "with 50x fewer parameters and <0.5MB model size, 2016"
)

# (conv1 width, conv1 kernel), then the layers after conv1: "M" is a 3x3/2 max pool, a tuple a
# Fire module (s1x1, e1x1, e3x3), in the order of the paper's Table 1 (fire2 ... fire9).
CONFIGS: dict[str, tuple[tuple[int, int], tuple]] = {
    "squeezenet1_0": (
        (96, 7),
        (
            "M",
            (16, 64, 64),
            (16, 64, 64),
            (32, 128, 128),
            "M",
            (32, 128, 128),
            (48, 192, 192),
            (48, 192, 192),
            (64, 256, 256),
            "M",
            (64, 256, 256),
        ),
    ),
    "squeezenet1_1": (
        (64, 3),
        (
            "M",
            (16, 64, 64),
            (16, 64, 64),
            "M",
            (32, 128, 128),
            (32, 128, 128),
            "M",
            (48, 192, 192),
            (48, 192, 192),
            (64, 256, 256),
            (64, 256, 256),
        ),
    ),
}
SMALL_INPUT = 64  # images under this side get the stride-1 stem without the first pool
MIN_IMAGE_SIZE = 4  # the small form's two ceil-mode 3x3/2 pools need 4 px (4 -> 2 -> 1)


def make_squeezenet(
    stem: tuple[int, int],
    layers: tuple,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    dropout: float = 0.5,
) -> ImageClassifier:
    """Build a SqueezeNet from its rows.

    Args:
        stem: (width, kernel) of conv1.
        layers: ``"M"`` for a max pool, ``(s1x1, e1x1, e3x3)`` for a Fire module.
        num_classes: outputs of conv10, the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px conv1 has stride 1 and keeps the size, and the
            max pool after it is left out.
        dropout: dropout before conv10.

    Returns:
        The network.
    """
    width, kernel = stem
    small = image_size < SMALL_INPUT
    if small:
        conv1 = ConvBNAct(in_channels, width, kernel, 1, norm_layer=None)  # (B, w, H, W)
        layers = layers[1:] if layers[0] == "M" else layers
    else:  # unpadded: 224 px gives (B, w, 109, 109) at 7x7, (B, w, 111, 111) at 3x3
        conv1 = ConvBNAct(in_channels, width, kernel, 2, 0, norm_layer=None)
    stages: OrderedDict[str, nn.Module] = OrderedDict(conv1=conv1)
    channels, index = width, 1  # index: the paper's layer number (conv1 = 1, fire2 = 2, ...)
    for row in layers:
        if row == "M":  # named after the layer it follows, as the paper's "maxpool4"
            stages[f"pool{index}"] = nn.MaxPool2d(3, 2, ceil_mode=True)  # (B, C, H / 2, ...)
        else:
            index += 1
            stages[f"fire{index}"] = Fire(channels, *row)  # (B, e1x1 + e3x3, H, W)
            channels = stages[f"fire{index}"].out_channels
    head = nn.Sequential(
        OrderedDict(
            dropout=nn.Dropout(dropout),
            conv10=nn.Conv2d(channels, num_classes, 1),  # (B, classes, H, W): the classifier
            act=nn.ReLU(),
            pool=nn.AdaptiveAvgPool2d(1),  # (B, classes, 1, 1)
            flatten=nn.Flatten(),
        )
    )
    model = ImageClassifier(nn.Sequential(stages), head)
    for m in model.modules():  # torchvision's initialisation
        if isinstance(m, nn.Conv2d):
            if m is head.conv10:
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
            else:
                nn.init.kaiming_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def _squeezenet(name: str, **kwargs) -> ImageClassifier:
    stem, layers = CONFIGS[name]
    return make_squeezenet(stem, layers, **kwargs)


_META = {
    "family": "SqueezeNet",
    "year": 2016,
    "paper": _PAPER,
    "min_image_size": MIN_IMAGE_SIZE,
    "small_input_below": SMALL_INPUT,
}


@register_model("squeezenet1_0", **_META)
def squeezenet1_0(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """SqueezeNet v1.0 (Table 1): 1,248,424 parameters at 1,000 classes."""
    return _squeezenet(
        "squeezenet1_0", num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )


@register_model("squeezenet1_1", **_META)
def squeezenet1_1(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """SqueezeNet v1.1 (the released v1.1: conv1 64 3x3/2, pools earlier): 1,235,496
    parameters at 1,000 classes."""
    return _squeezenet(
        "squeezenet1_1", num_classes=num_classes, in_channels=in_channels, image_size=image_size
    )
