"""The model zoo: every architecture registers itself when its module is imported here."""

from . import (  # noqa: F401  (registration side effect)
    alexnet,
    densenet,
    fastnet,
    googlenet,
    inception,
    inception_v4,
    lenet,
    mlp,
    nin,
    resnet,
    rnn,
    transformer,
    vgg,
)
from ._base import ImageClassifier
from ._registry import (
    ModelInfo,
    create_model,
    list_models,
    model_info,
    register_model,
    small_input_note,
)

__all__ = [
    "ImageClassifier",
    "ModelInfo",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
    "small_input_note",
]
