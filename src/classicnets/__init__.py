"""classicnets: the classic neural networks of deep-learning courses, explained, reproduced and
trained in minutes."""

from .analysis import summary
from .data import ImageDataset, list_datasets, load_dataset
from .errors import ClassicnetsError
from .models import create_model, list_models, load_weights, register_model
from .train import Callback, History, Model, load

__version__ = "0.1.0"

__all__ = [
    "Callback",
    "ClassicnetsError",
    "History",
    "ImageDataset",
    "Model",
    "__version__",
    "create_model",
    "list_datasets",
    "list_models",
    "load",
    "load_dataset",
    "load_weights",
    "register_model",
    "summary",
]
