"""The kinds of run: each kind's task (its half of the run pipeline: data, model, scores), the
kind a loaded model belongs to by its trainer, and what each kind is called in messages."""

from __future__ import annotations

from ..train import (
    MaskedLMModel,
    Model,
    Seq2SeqModel,
    SequenceClassifierModel,
    SequenceModel,
    TaggingModel,
)
from .image import ImageTask
from .mlm import MLMTask
from .seq2seq import Seq2SeqTask
from .tagging import TaggingTask
from .text import TextTask

TASKS = {
    "image": ImageTask(),
    "text": TextTask(),
    "seq2seq": Seq2SeqTask(),
    "tagging": TaggingTask(),
    "mlm": MLMTask(),
}
# the task of a bare checkpoint (saved from Python, no config.json), by its trainer
TRAINER_KINDS = (
    (SequenceModel, "text"),
    (Seq2SeqModel, "seq2seq"),
    (TaggingModel, "tagging"),
    (MaskedLMModel, "mlm"),
    (SequenceClassifierModel, "mlm"),
)

# what each kind of model is, for messages
KIND_WHAT = {
    "image": "an image model",
    "text": "a language model",
    "seq2seq": "an encoder-decoder",
    "tagging": "a tagger",
    "mlm": "a masked language model",
}


def model_kind(model: Model) -> str:
    """The kind of run a loaded model belongs to, by its trainer (``image`` for the plain one)."""
    kinds = [kind for cls, kind in TRAINER_KINDS if isinstance(model, cls)]
    return kinds[0] if kinds else "image"
