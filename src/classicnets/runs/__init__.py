"""Runs: a configured training run from data to a run directory, resumed at the step it
stopped, evaluated and used to predict (``classicnets train / evaluate / predict``).

Each kind of run is a config class and a task; image and text runs live in :mod:`.config`,
and the modules below register the others' configs (explicitly, like the model registry).
"""

from . import mlm, seq2seq, tagging  # noqa: F401  (registers their run configs)
from .config import CONFIGS, ImageRunConfig, RunConfig, TextRunConfig, config_for_model
from .mlm import MLMRunConfig
from .pipeline import RunResult, evaluate, load_run, resume, train
from .seq2seq import Seq2SeqRunConfig
from .tagging import TaggingRunConfig

__all__ = [
    "CONFIGS",
    "ImageRunConfig",
    "MLMRunConfig",
    "RunConfig",
    "RunResult",
    "Seq2SeqRunConfig",
    "TaggingRunConfig",
    "TextRunConfig",
    "config_for_model",
    "evaluate",
    "load_run",
    "resume",
    "train",
]
