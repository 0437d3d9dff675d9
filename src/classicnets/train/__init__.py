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
from .model import CompileConfig, Model, load, resolve_device
from .optim import OPTIMIZERS, SCHEDULES, Schedule, build_optimizer
from .sequence import SequenceModel

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
