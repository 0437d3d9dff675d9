"""Network in Network (Lin, Chen & Yan, 2013): "mlpconv" blocks, i.e. a convolution
followed by two 1x1 convolutions (ReLU after each), and global average pooling over a last block
with one channel per class instead of fully connected layers.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..layers.conv import ConvBNAct, conv_chain
from ._base import ImageClassifier
from ._registry import register_model

_PAPER = "Lin, Chen & Yan, Network In Network, 2013"
_NUM_CLASSES = -1  # stands for num_classes in the tables below

# A block is (kernel, stride, padding, (width of the conv, of the first 1x1, of the second 1x1));
# "max" and "avg" are 3x3/2 poolings (rounding up, as the released Caffe models do), "drop" is
# dropout 0.5. The last block's last width is the number of classes.
# The ImageNet model released with the paper (as taught in Dive into Deep Learning, Section 8.3,
# whose last block is class-wide throughout).
IMAGENET = [
    (11, 4, 0, (96, 96, 96)), "max",
    (5, 1, 2, (256, 256, 256)), "max",
    (3, 1, 1, (384, 384, 384)), "max", "drop",
    (3, 1, 1, (_NUM_CLASSES, _NUM_CLASSES, _NUM_CLASSES)),
]  # fmt: skip
# The paper's CIFAR-10 network (Section 4.2), the small-input form used below 64 px.
CIFAR = [
    (5, 1, 2, (192, 160, 96)), "max", "drop",
    (5, 1, 2, (192, 192, 192)), "avg", "drop",
    (3, 1, 1, (192, 192, _NUM_CLASSES)),
]  # fmt: skip
SMALL_INPUT = 64  # images under this side use the CIFAR-10 network


def _conv_relu(in_channels: int, out: int, kernel, stride: int, padding) -> nn.Module:
    return ConvBNAct(in_channels, out, kernel, stride, padding, norm_layer=None)


def make_nin(table: list, *, num_classes: int, in_channels: int) -> ImageClassifier:
    """Build a NiN from a table; ``features`` holds every block but the last, ``head`` the
    class-wide block and the global average pooling."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, item in enumerate(table[:-1], start=1):
        if item in ("max", "avg"):
            pool = nn.MaxPool2d if item == "max" else nn.AvgPool2d
            layers[f"pool{i}"] = pool(3, 2, ceil_mode=True)
        elif item == "drop":
            layers[f"drop{i}"] = nn.Dropout(0.5)
        else:
            layers[f"block{i}"] = _block(in_channels, item, num_classes)
            in_channels = layers[f"block{i}"].out_channels
    head = nn.Sequential(
        OrderedDict(
            block=_block(in_channels, table[-1], num_classes),  # (B, classes, H, W)
            pool=nn.AdaptiveAvgPool2d(1),  # (B, classes, 1, 1)
            flatten=nn.Flatten(),  # (B, classes)
        )
    )
    model = ImageClassifier(nn.Sequential(layers), head)
    # Without batch norm, twelve ReLU convolutions at PyTorch's default (Kaiming-uniform with
    # a = sqrt(5)) start with vanishing signals; Xavier-uniform, as d2l's NiN is trained, learns
    # several times faster (digits, 4 epochs: 0.77 against 0.51).
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
    return model


def _block(in_channels: int, row: tuple, num_classes: int) -> nn.Sequential:
    kernel, stride, padding, widths = row
    w1, w2, w3 = (num_classes if w == _NUM_CLASSES else w for w in widths)
    return conv_chain(
        in_channels, (w1, kernel, stride, padding), (w2, 1), (w3, 1), conv_block=_conv_relu
    )


@register_model(
    "nin", family="NiN", year=2013, paper=_PAPER, min_image_size=4, small_input_below=SMALL_INPUT
)
def nin(*, num_classes: int = 1000, in_channels: int = 3, image_size: int = 224) -> ImageClassifier:
    """NiN: the ImageNet model (11x11/4 stem, 3x3/2 max pooling, a last block with one channel
    per class, global average pooling, no fully connected layer); below 64 px, the paper's
    CIFAR-10 network (three 192-wide mlpconv blocks), which takes images of 4 px or more."""
    table = CIFAR if image_size < SMALL_INPUT else IMAGENET
    return make_nin(table, num_classes=num_classes, in_channels=in_channels)
