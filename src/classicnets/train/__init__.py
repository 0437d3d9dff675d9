"""The trainer: Model (compile/fit/evaluate/predict), callbacks, optimizers, schedules."""

from .callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    ModelCheckpoint,
    ProgressBar,
    TerminateOnNaN,
)
from .history import History
from .loading import load
from .model import Model
from .optim import OPTIMIZERS, SCHEDULES, Schedule, build_optimizer
from .sequence import SequenceModel
from .setup import CompileConfig, resolve_device

__all__ = [
    "CSVLogger",
    "Callback",
    "CompileConfig",
    "EarlyStopping",
    "History",
    "Model",
    "ModelCheckpoint",
    "OPTIMIZERS",
    "ProgressBar",
    "SCHEDULES",
    "Schedule",
    "SequenceModel",
    "TerminateOnNaN",
    "build_optimizer",
    "load",
    "resolve_device",
]
