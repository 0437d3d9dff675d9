"""Runs: a configured training run from data to a run directory, resumed at the step it
stopped, evaluated and used to predict (``classicnets train / evaluate / predict``)."""

from .config import ImageRunConfig, RunConfig, TextRunConfig, config_for_model
from .pipeline import RunResult, evaluate, load_run, resume, train

__all__ = [
    "ImageRunConfig",
    "RunConfig",
    "RunResult",
    "TextRunConfig",
    "config_for_model",
    "evaluate",
    "load_run",
    "resume",
    "train",
]
