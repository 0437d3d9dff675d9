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
from .mlm import MaskedLMModel, SequenceClassifierModel, load_encoder
from .model import Model
from .optim import OPTIMIZERS, SCHEDULES, Schedule, build_optimizer
from .progress import ProgressBar
from .saving import ModelCheckpoint
from .seq2seq import Seq2SeqModel
from .sequence import SequenceModel
from .setup import CompileConfig, resolve_device
from .tagging import TaggingModel
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
    "MaskedLMModel",
    "SequenceClassifierModel",
    "load_encoder",
    "Model",
    "ModelCheckpoint",
    "OPTIMIZERS",
    "ProgressBar",
    "SCHEDULES",
    "Schedule",
    "Seq2SeqModel",
    "SequenceModel",
    "TaggingModel",
    "TensorBatches",
    "TerminateOnDivergence",
    "TerminateOnNaN",
    "build_optimizer",
    "load",
    "resolve_device",
]
