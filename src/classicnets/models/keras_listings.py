"""Two Keras listings the courses print, layer for layer, so their published runs can be
repeated here (``classicnets reproduce``).

- ``lenet5_keras``: the seed course's Keras LeNet-5. Valid padding everywhere, a ReLU after the
  first convolution only; the second convolution and the two hidden dense layers have no
  activation, exactly as the listing writes them (so everything after the first ReLU and the
  max pooling is linear up to the pooling of conv2).
- ``keras_cnn``: "CNN in Keras" from Hung-yi Lee's Machine Learning course (NTU): two 3x3
  convolutions of 25 and 50 filters, neither with an activation, each followed by 2x2 max
  pooling, then a dense layer of 100 with ReLU (the activation the course's Keras 2 version of
  the listing gives it; an older copy of the slide code has a sigmoid there).

Both listings end in ``Dense(10, activation="softmax")`` trained with categorical
cross-entropy. Here, like every model of the zoo, they return the logits: the trainer's
cross-entropy applies the softmax, which is the same function of the weights. Their layers start
from Keras's default initialisation (Glorot-uniform weights, zero biases), as the listings' runs
did, rather than PyTorch's.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..ops.shapes import conv_output_size
from ._base import ImageClassifier
from ._registry import register_model

_SEED_LISTING = (
    "the seed course's Keras listing of LeNet-5 (after LeCun et al., Gradient-Based Learning "
    "Applied to Document Recognition, 1998)"
)
_LEE_LISTING = (
    "Hung-yi Lee, Machine Learning (National Taiwan University), lecture Convolutional Neural "
    "Network, 'CNN in Keras', 2016"
)


def keras_init(module: nn.Module) -> nn.Module:
    """Initialise every convolution and dense layer of ``module`` as Keras does by default:
    Glorot-uniform weights (torch's Xavier-uniform: the same fans for convolutions) and zero
    biases. Returns ``module``."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module


def _valid_conv_then_pool(side: int, kernel: int) -> int:
    """The side after a valid ``kernel`` x ``kernel`` convolution and 2x2 max pooling (raises,
    naming the sizes, when nothing is left)."""
    return conv_output_size(conv_output_size(side, kernel), 2, stride=2)


@register_model(
    "lenet5_keras",
    family="LeNet",
    year=1998,
    paper=_SEED_LISTING,
    input_size=(1, 28, 28),
    num_classes=10,
    min_image_size=16,  # 16 -> conv1 12 -> pool 6 -> conv2 2 -> pool 1
)
def lenet5_keras(
    *, num_classes: int = 10, in_channels: int = 1, image_size: int = 28
) -> ImageClassifier:
    """The seed course's Keras LeNet-5: Conv2D(6, 5x5, valid, ReLU), MaxPool 2x2, Conv2D(16,
    5x5, valid, no activation), MaxPool 2x2, Flatten, Dense(120), Dense(84) (no activations),
    Dense(10); 44,426 parameters at 1x28x28 and 10 classes (Keras's ``count_params`` of the
    listing; the padded ``lenet5`` has 61,706, as its first convolution keeps 28x28).

    The listing's softmax belongs to the loss here: the model returns logits.
    """
    side = _valid_conv_then_pool(_valid_conv_then_pool(image_size, 5), 5)
    features = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(in_channels, 6, kernel_size=5),  # (B, 6, 24, 24)
            relu1=nn.ReLU(),
            pool1=nn.MaxPool2d(2, 2),  # (B, 6, 12, 12)
            conv2=nn.Conv2d(6, 16, kernel_size=5),  # (B, 16, 8, 8), no activation
            pool2=nn.MaxPool2d(2, 2),  # (B, 16, 4, 4)
        )
    )
    head = nn.Sequential(
        OrderedDict(
            flatten=nn.Flatten(),  # (B, 256): 16 x 4 x 4, not the padded LeNet's 400
            dense1=nn.Linear(16 * side * side, 120),  # no activation, as listed
            dense2=nn.Linear(120, 84),  # no activation, as listed
            dense3=nn.Linear(84, num_classes),  # logits; the loss applies the softmax
        )
    )
    return keras_init(ImageClassifier(features, head))


@register_model(
    "keras_cnn",
    family="Keras listing",
    year=2016,
    paper=_LEE_LISTING,
    input_size=(1, 28, 28),
    num_classes=10,
    min_image_size=10,  # 10 -> conv1 8 -> pool 4 -> conv2 2 -> pool 1
)
def keras_cnn(
    *, num_classes: int = 10, in_channels: int = 1, image_size: int = 28
) -> ImageClassifier:
    """ "CNN in Keras" (Hung-yi Lee's course): Conv2D(25, 3x3), MaxPool 2x2, Conv2D(50, 3x3),
    MaxPool 2x2 (no activation on either convolution), Flatten, Dense(100, ReLU), Dense(10);
    137,660 parameters at 1x28x28 and 10 classes.

    The listing's softmax belongs to the loss here: the model returns logits.
    """
    side = _valid_conv_then_pool(_valid_conv_then_pool(image_size, 3), 3)
    features = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(in_channels, 25, kernel_size=3),  # (B, 25, 26, 26), no activation
            pool1=nn.MaxPool2d(2, 2),  # (B, 25, 13, 13)
            conv2=nn.Conv2d(25, 50, kernel_size=3),  # (B, 50, 11, 11), no activation
            pool2=nn.MaxPool2d(2, 2),  # (B, 50, 5, 5)
        )
    )
    head = nn.Sequential(
        OrderedDict(
            flatten=nn.Flatten(),  # (B, 1250)
            dense1=nn.Linear(50 * side * side, 100),
            relu1=nn.ReLU(),
            dense2=nn.Linear(100, num_classes),  # logits; the loss applies the softmax
        )
    )
    return keras_init(ImageClassifier(features, head))
