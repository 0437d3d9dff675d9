"""The model zoo: every architecture registers itself when its module is imported here."""

from . import (  # noqa: F401  (registration side effect)
    alexnet,
    bert,
    darknet,
    densenet,
    densenet_basic,
    efficientnet,
    fastnet,
    ghostnet,
    googlenet,
    inception,
    inception_resnet,
    inception_v4,
    keras_listings,
    lenet,
    lenet1998,
    mlp,
    mobilenet,
    nin,
    preact_resnet,
    resnet,
    resnet_cifar,
    rnn,
    seq2seq,
    seq2seq_lstm,
    shufflenet,
    squeezenet,
    tagger,
    transformer,
    vgg,
    vit,
    xception,
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
from .weights import load_weights, map_state_dict

__all__ = [
    "load_weights",
    "map_state_dict",
    "ImageClassifier",
    "ModelInfo",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
    "small_input_note",
]
