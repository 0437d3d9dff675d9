"""A multilayer perceptron on flattened images: the baseline every course starts from."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..errors import ClassicnetsError
from ._base import ImageClassifier
from ._registry import register_model

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}


@register_model(
    "mlp",
    family="MLP",
    year=1986,
    paper="Rumelhart, Hinton & Williams, Learning representations by back-propagating errors, 1986",
    input_size=(1, 28, 28),
    num_classes=10,
)
def mlp(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 28,
    hidden: Sequence[int] = (256, 128),
    activation: str = "relu",
    dropout: float = 0.0,
) -> ImageClassifier:
    """Flatten, then ``Linear + activation (+ dropout)`` for each size in ``hidden``, then a
    linear classifier."""
    if activation not in _ACTIVATIONS:
        known = ", ".join(_ACTIVATIONS)
        raise ClassicnetsError(f"Unknown activation '{activation}'; choose one of {known}.")
    if any(int(h) <= 0 for h in hidden):
        raise ClassicnetsError(f"Hidden sizes must be positive, got {list(hidden)}.")
    width = in_channels * image_size * image_size
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(width, int(size)), _ACTIVATIONS[activation]()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = int(size)
    layers.append(nn.Linear(width, num_classes))
    return ImageClassifier(nn.Flatten(), nn.Sequential(*layers))
