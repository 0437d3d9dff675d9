"""classicnets: the classic neural networks of deep-learning courses, explained, reproduced and
trained in minutes."""

from .errors import ClassicnetsError
from .models import create_model, list_models, register_model

__version__ = "0.1.0"

__all__ = [
    "ClassicnetsError",
    "__version__",
    "create_model",
    "list_models",
    "register_model",
]
