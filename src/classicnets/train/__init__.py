"""The trainer: Model (compile/fit/evaluate/predict), callbacks, optimizers, schedules,
batching strategies and checkpoints."""

from .batching import Batches, LoaderBatches, TensorBatches
from .callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    TerminateOnDivergence,
    TerminateOnNaN,
)
from .history import History
from .loading import load
from .model import Model
from .optim import OPTIMIZERS, SCHEDULES, Schedule, build_optimizer
from .progress import ProgressBar
from .saving import ModelCheckpoint
from .sequence import SequenceModel
from .setup import CompileConfig, resolve_device
from .tensorboard import TensorBoard

__all__ = [
    "TensorBoard",
    "Batches",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "CompileConfig",
    "EarlyStopping",
    "History",
    "LoaderBatches",
    "Model",
    "ModelCheckpoint",
    "OPTIMIZERS",
    "ProgressBar",
    "SCHEDULES",
    "Schedule",
    "SequenceModel",
    "TensorBatches",
    "TerminateOnDivergence",
    "TerminateOnNaN",
    "build_optimizer",
    "load",
    "resolve_device",
]
