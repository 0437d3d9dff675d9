"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to document
recognition", Proc. IEEE 1998), in the form course notes teach it: padding 2 on the first
convolution so a 28x28 MNIST digit plays the role of the paper's 32x32 input, dense C3, and a
plain linear output instead of the paper's RBF units.
"""

from __future__ import annotations

from torch import nn

from ..ops.shapes import conv_output_size
from ._base import ImageClassifier
from ._registry import register_model

_PAPER = "LeCun et al., Gradient-Based Learning Applied to Document Recognition, 1998"


def _lenet(
    num_classes: int, in_channels: int, image_size: int, act: type[nn.Module], pool: type[nn.Module]
) -> ImageClassifier:
    # The same shape arithmetic the layers perform, done first so a too-small input fails clearly.
    side = conv_output_size(image_size, 5, padding=2)  # C1
    side = conv_output_size(side, 2, stride=2)  # S2
    side = conv_output_size(side, 5)  # C3
    side = conv_output_size(side, 2, stride=2)  # S4
    features = nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),  # (B, 6, 28, 28)
        act(),
        pool(kernel_size=2, stride=2),  # (B, 6, 14, 14)
        nn.Conv2d(6, 16, kernel_size=5),  # (B, 16, 10, 10)
        act(),
        pool(kernel_size=2, stride=2),  # (B, 16, 5, 5)
    )
    head = nn.Sequential(
        nn.Flatten(),  # (B, 400)
        nn.Linear(16 * side * side, 120),
        act(),
        nn.Linear(120, 84),
        act(),
        nn.Linear(84, num_classes),
    )
    return ImageClassifier(features, head)


@register_model(
    "lenet5",
    family="LeNet",
    year=1998,
    paper=_PAPER,
    input_size=(1, 28, 28),
    num_classes=10,
    min_image_size=12,  # 12 -> C1 12 -> S2 6 -> C3 2 -> S4 1
)
def lenet5(*, num_classes: int = 10, in_channels: int = 1, image_size: int = 28) -> ImageClassifier:
    """LeNet-5 as in course notes: sigmoid activations and average pooling (61,706 parameters
    at 1x28x28 and 10 classes)."""
    return _lenet(num_classes, in_channels, image_size, nn.Sigmoid, nn.AvgPool2d)


@register_model(
    "lenet5_relu",
    family="LeNet",
    year=1998,
    paper=_PAPER,
    input_size=(1, 28, 28),
    num_classes=10,
    min_image_size=12,
)
def lenet5_relu(
    *, num_classes: int = 10, in_channels: int = 1, image_size: int = 28
) -> ImageClassifier:
    """LeNet-5 modernised: ReLU activations and max pooling, same layer sizes."""
    return _lenet(num_classes, in_channels, image_size, nn.ReLU, nn.MaxPool2d)
