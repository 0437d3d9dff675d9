"""VGG (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", 2014): the configurations of the paper's Table 1 as one table, one builder.

Every configuration is five stages of 3x3 convolutions (padding 1), each closed by 2x2/2 max
pooling, then three fully connected layers. The first of those is sized to what the convolutions
give: 512x7x7 at 224 px, 512x1x1 at 32 px (the small-input form). Five halvings need images of
32 px or more; every builder refuses smaller ones.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..layers.conv import ConvBNAct, local_response_norm
from ..ops.shapes import conv_output_size
from ._base import ImageClassifier
from ._registry import register_model

_PAPER = (
    "Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image Recognition, 2014"
)

# Table 1 of the paper: an int is a 3x3 convolution of that width ("conv3-64"), (256, 1) a 1x1
# one ("conv1-256", configuration C only), "LRN" local response normalisation, "M" max pooling.
# fmt: off
CONFIGS: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "LRN", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M",
          512, 512, (512, 1), "M", 512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
          512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
# fmt: on


def make_layers(
    config: list, in_channels: int = 3, *, batch_norm: bool = False
) -> tuple[nn.Sequential, int]:
    """The convolutional part of a VGG configuration.

    Args:
        config: a row of :data:`CONFIGS`.
        in_channels: image channels.
        batch_norm: put batch norm between each convolution and its ReLU (the ``_bn`` variants,
            which came after the paper).

    Returns:
        The layers and the number of channels they end with.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    stage, index = 1, 1
    for item in config:
        if item == "M":
            layers[f"pool{stage}"] = nn.MaxPool2d(2, 2)
            stage, index = stage + 1, 1
        elif item == "LRN":
            layers[f"lrn{stage}"] = local_response_norm()
        else:
            width, kernel = item if isinstance(item, tuple) else (item, 3)
            layers[f"conv{stage}_{index}"] = ConvBNAct(
                in_channels,
                width,
                kernel,
                bias=True,  # kept with batch norm too, as the released _bn models do
                norm_layer=nn.BatchNorm2d if batch_norm else None,
            )
            in_channels, index = width, index + 1
    return nn.Sequential(layers), in_channels


def _vgg(
    config: str,
    num_classes: int,
    in_channels: int,
    image_size: int,
    *,
    batch_norm: bool = False,
    dropout: float = 0.5,
) -> ImageClassifier:
    features, channels = make_layers(CONFIGS[config], in_channels, batch_norm=batch_norm)
    side = image_size
    for _ in range(CONFIGS[config].count("M")):
        side = conv_output_size(side, 2, stride=2)
    head = nn.Sequential(
        OrderedDict(
            flatten=nn.Flatten(),  # (B, 512 * side * side)
            fc6=nn.Linear(channels * side * side, 4096),
            relu6=nn.ReLU(),
            drop6=nn.Dropout(dropout),
            fc7=nn.Linear(4096, 4096),
            relu7=nn.ReLU(),
            drop7=nn.Dropout(dropout),
            fc8=nn.Linear(4096, num_classes),
        )
    )
    model = ImageClassifier(features, head)
    _init_weights(model)
    return model


def _init_weights(model: nn.Module) -> None:
    # He initialisation for the convolutions (the paper initialised its deeper nets from net A;
    # He et al. 2015 showed this random start trains them directly), N(0, 0.01) for the FCs.
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


_META = {"family": "VGG", "year": 2014, "paper": _PAPER, "min_image_size": 32}


@register_model("vgg11", **_META)
def vgg11(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-11, configuration A: 132,863,336 parameters at 1,000 classes."""
    return _vgg("A", num_classes, in_channels, image_size, batch_norm=False)


@register_model("vgg11_lrn", **_META)
def vgg11_lrn(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-11 with LRN after the first convolution (A-LRN)."""
    return _vgg("A-LRN", num_classes, in_channels, image_size, batch_norm=False)


@register_model("vgg13", **_META)
def vgg13(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-13, configuration B: 133,047,848 parameters at 1,000 classes."""
    return _vgg("B", num_classes, in_channels, image_size, batch_norm=False)


@register_model("vgg16_c", **_META)
def vgg16_c(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-16, configuration C: 1x1 convolutions close stages 3 to 5."""
    return _vgg("C", num_classes, in_channels, image_size, batch_norm=False)


@register_model("vgg16", **_META)
def vgg16(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-16, configuration D: 138,357,544 parameters at 1,000 classes."""
    return _vgg("D", num_classes, in_channels, image_size, batch_norm=False)


@register_model("vgg19", **_META)
def vgg19(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-19, configuration E: 143,667,240 parameters at 1,000 classes."""
    return _vgg("E", num_classes, in_channels, image_size, batch_norm=False)


@register_model("vgg11_bn", **_META)
def vgg11_bn(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-11 (A) with batch norm: 132,868,840 parameters."""
    return _vgg("A", num_classes, in_channels, image_size, batch_norm=True)


@register_model("vgg13_bn", **_META)
def vgg13_bn(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-13 (B) with batch norm."""
    return _vgg("B", num_classes, in_channels, image_size, batch_norm=True)


@register_model("vgg16_bn", **_META)
def vgg16_bn(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-16 (D) with batch norm: 138,365,992 parameters."""
    return _vgg("D", num_classes, in_channels, image_size, batch_norm=True)


@register_model("vgg19_bn", **_META)
def vgg19_bn(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """VGG-19 (E) with batch norm."""
    return _vgg("E", num_classes, in_channels, image_size, batch_norm=True)
