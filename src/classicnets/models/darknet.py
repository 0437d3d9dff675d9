"""Darknet, the classifiers behind YOLO: Darknet-19 (Redmon & Farhadi, "YOLO9000: Better,
Faster, Stronger", 2016, Table 6), Darknet-53 (Redmon & Farhadi, "YOLOv3: An Incremental
Improvement", 2018, Table 1) and CSPDarknet-53 (Wang et al., "CSPNet: A New Backbone that can
Enhance Learning Capability of CNN", 2020, as in timm's ``cspdarknet53``).

Every convolution but Darknet-19's classifier is followed by batch norm and LeakyReLU(0.1).

- Darknet-19 is a plain VGG-like table, :data:`DARKNET19`: 3x3 convolutions that double the
  width after each 2x2 max pooling, with 1x1 ones halving it in between, and a 1x1 convolution
  to the classes before global average pooling.
- Darknet-53 and CSPDarknet-53 share :data:`STAGES`: a 32-wide 3x3 stem, then five stages that
  each open with a stride-2 3x3 convolution and stack 1, 2, 8, 8 and 4 residual units
  (:class:`~classicnets.layers.darknet.DarknetResidual`); CSPDarknet-53 wraps each stage in a
  cross-stage split (:class:`~classicnets.layers.darknet.CSPStage`) with the part widths of
  :data:`CSP_PARTS`. Both end in global average pooling and one fully connected layer.

The two layouts differ (a plain table against residual stages), so each has its builder:
:func:`make_darknet19` and :func:`make_darknet`.

Below 64 px the first downsampling is removed (the stems already have stride 1): Darknet-19
loses its first max pooling and Darknet-53's first stage convolves at stride 1, so a 32 px image
(or a 28 px one) reaches the last layer as 2x2 instead of 1x1.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..layers.conv import ActLayer, ConvBNAct, NormLayer
from ..layers.darknet import CSPStage, DarknetResidual, leaky_relu
from ._base import ImageClassifier, pooled_head
from ._registry import register_model

_PAPER19 = "Redmon & Farhadi, YOLO9000: Better, Faster, Stronger, 2016"
_PAPER53 = "Redmon & Farhadi, YOLOv3: An Incremental Improvement, 2018"
_PAPER_CSP = (
    "Wang, Liao, Wu, Chen, Hsieh & Yeh, CSPNet: A New Backbone that can Enhance Learning "
    "Capability of CNN, 2020"
)
SMALL_INPUT = 64  # images under this side lose the first downsampling

# YOLO9000, Table 6, without the classifier: (filters, kernel) per convolution, "M" a 2x2/2 max
# pooling.
DARKNET19: tuple[tuple[int, int] | str, ...] = (
    (32, 3), "M",
    (64, 3), "M",
    (128, 3), (64, 1), (128, 3), "M",
    (256, 3), (128, 1), (256, 3), "M",
    (512, 3), (256, 1), (512, 3), (256, 1), (512, 3), "M",
    (1024, 3), (512, 1), (1024, 3), (512, 1), (1024, 3),
)  # fmt: skip

# YOLOv3, Table 1: (output channels, residual units) per stage, after a 32-wide 3x3 stem.
STAGES: tuple[tuple[int, int], ...] = ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4))
# timm's cspdarknet53: (part width, residual units' inner width) per stage. The first stage
# expands (each part as wide as the stage, units at half of it); the others split in halves.
CSP_PARTS: tuple[tuple[int, int], ...] = ((64, 32), (64, 64), (128, 128), (256, 256), (512, 512))


def make_darknet19(
    layers: tuple[tuple[int, int] | str, ...] = DARKNET19,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = leaky_relu,
) -> ImageClassifier:
    """Build Darknet-19 from its table.

    The max poolings round up (``ceil_mode``), as Darknet's own do: the same at 224 px, and a
    28 px image keeps 2x2 to the end of the small-input form.

    Args:
        layers: ``(filters, kernel)`` per convolution and ``"M"`` per max pooling.
        num_classes: outputs of the 1x1 classifier convolution.
        in_channels: image channels.
        image_size: image side; under 64 px the first max pooling is left out.
        norm_layer: the normalisation after each convolution.
        act_layer: the activation after each normalisation.

    Returns:
        The network.
    """
    if image_size < SMALL_INPUT:
        first_pool = layers.index("M")
        layers = layers[:first_pool] + layers[first_pool + 1 :]
    features: OrderedDict[str, nn.Module] = OrderedDict()
    channels, convs, pools = in_channels, 0, 0
    for spec in layers:
        if spec == "M":
            pools += 1
            features[f"pool{pools}"] = nn.MaxPool2d(2, 2, ceil_mode=True)  # (B, C, H / 2, W / 2)
        else:
            out, kernel = spec
            convs += 1
            features[f"conv{convs}"] = ConvBNAct(
                channels, out, kernel, norm_layer=norm_layer, act_layer=act_layer
            )
            channels = out
    head = nn.Sequential(
        OrderedDict(
            conv=nn.Conv2d(channels, num_classes, 1),  # (B, classes, 7, 7): no norm, linear
            pool=nn.AdaptiveAvgPool2d(1),  # (B, classes, 1, 1)
            flatten=nn.Flatten(),
        )
    )
    return _initialised(ImageClassifier(nn.Sequential(features), head))


def make_darknet(
    stages: tuple[tuple[int, int], ...] = STAGES,
    csp_parts: tuple[tuple[int, int], ...] | None = None,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    image_size: int = 224,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = leaky_relu,
) -> ImageClassifier:
    """Build Darknet-53, or with ``csp_parts`` CSPDarknet-53.

    Args:
        stages: ``(output channels, residual units)`` per stage.
        csp_parts: ``(part width, inner width)`` per stage for cross-stage partial stages;
            ``None`` for Darknet-53's plain ones (units of half the stage's width).
        num_classes: outputs of the classifier.
        in_channels: image channels.
        image_size: image side; under 64 px the first stage does not downsample.
        norm_layer: the normalisation after each convolution.
        act_layer: the activation after each normalisation.

    Returns:
        The network.
    """
    kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
    channels = 32
    blocks: OrderedDict[str, nn.Module] = OrderedDict(
        stem=ConvBNAct(in_channels, channels, 3, **kwargs)  # (B, 32, 224, 224)
    )
    for i, (width, units) in enumerate(stages):
        stride = 1 if i == 0 and image_size < SMALL_INPUT else 2
        if csp_parts is None:
            stage: nn.Module = nn.Sequential(
                OrderedDict(
                    down=ConvBNAct(channels, width, 3, stride, **kwargs),
                    blocks=nn.Sequential(
                        *(DarknetResidual(width, width // 2, **kwargs) for _ in range(units))
                    ),
                )
            )
        else:
            part, hidden = csp_parts[i]
            stage = CSPStage(
                channels,
                width,
                units,
                part_channels=part,
                hidden_channels=hidden,
                stride=stride,
                **kwargs,
            )
        blocks[f"stage{i + 1}"] = stage  # (B, width, 224 / 2**(i + 1), ...)
        channels = width
    head = pooled_head(channels, num_classes)
    return _initialised(ImageClassifier(nn.Sequential(blocks), head))


def _initialised(model: ImageClassifier) -> ImageClassifier:
    for m in model.modules():  # He et al. 2015's initialisation, for LeakyReLU(0.1)
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu", a=0.1)
    return model


@register_model(
    "darknet19", family="Darknet", year=2016, paper=_PAPER19, small_input_below=SMALL_INPUT
)
def darknet19(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """Darknet-19 (YOLO9000, Table 6): 20,842,376 parameters at 1,000 classes.

    The count follows from the table (:data:`DARKNET19`). The 18 convolutions before the
    classifier have no bias: their 3x3 weights are ``9 * (3*32 + 32*64 + 2*64*128 + 2*128*256
    + 3*256*512 + 3*512*1024)`` = 18,451,296 and their 1x1 weights ``128*64 + 256*128 +
    2*512*256 + 2*1024*512`` = 1,351,680, with a batch norm scale and shift for each of their
    7,200 filters (14,400). The 19th convolution, the 1x1 classifier, has no norm but Darknet's
    bias: ``1024*1000 + 1000`` = 1,025,000. The paper gives no count.
    """
    return make_darknet19(num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model(
    "darknet53", family="Darknet", year=2018, paper=_PAPER53, small_input_below=SMALL_INPUT
)
def darknet53(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """Darknet-53 (YOLOv3, Table 1): 41,609,928 parameters at 1,000 classes, as timm's
    ``darknet53``; 52 convolutions and the fully connected layer, which the paper's table draws
    as a 1000-wide "Connected" row after the average pooling."""
    return make_darknet(num_classes=num_classes, in_channels=in_channels, image_size=image_size)


@register_model(
    "cspdarknet53", family="Darknet", year=2020, paper=_PAPER_CSP, small_input_below=SMALL_INPUT
)
def cspdarknet53(
    *, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224
) -> ImageClassifier:
    """CSPDarknet-53: Darknet-53's stages made cross-stage partial, 27,642,184 parameters at
    1,000 classes as timm's ``cspdarknet53``.

    The paper gives no table of widths; they are timm's: the first stage expands (both parts
    as wide as the stage, its unit at half of that), later stages split into halves. timm's
    two parts come from one 1x1 convolution split in two, here two 1x1 convolutions (the same
    parameters and function). Activations are timm's LeakyReLU(0.1); YOLOv4's CSPDarknet-53
    backbone uses Mish instead.
    """
    return make_darknet(
        STAGES,
        CSP_PARTS,
        num_classes=num_classes,
        in_channels=in_channels,
        image_size=image_size,
    )
