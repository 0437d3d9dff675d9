"""``load``: rebuild a trainer from a checkpoint or run directory."""

from __future__ import annotations

import os
from typing import Any

import torch

from ..errors import ClassicnetsError
from .checkpoint import load_checkpoint, split_state
from .model import Model


def _trainer_class(meta: dict[str, Any]) -> type[Model]:
    if meta.get("trainer") == "sequence":
        from .sequence import SequenceModel  # imported here: sequence.py builds on this module

        return SequenceModel
    return Model


def load(path: str | os.PathLike, *, device: str | torch.device | None = "auto") -> Model:
    """Rebuild a :class:`Model` from a checkpoint or run directory, ready to evaluate, predict
    or continue training."""
    from ..models import create_model

    tensors, meta = load_checkpoint(path)
    if not meta.get("model"):
        raise ClassicnetsError(
            f"Checkpoint {path} does not name a registered model; build the network yourself and "
            f"load its weights with safetensors."
        )
    module = create_model(meta["model"], **meta.get("model_kwargs", {}))
    model_state, optimizer_state = split_state(tensors, meta)
    try:
        module.load_state_dict(model_state)
    except RuntimeError as err:
        first = str(err).splitlines()[1].strip() if "\n" in str(err) else str(err)
        raise ClassicnetsError(
            f"Checkpoint {path} does not fit model '{meta['model']}': {first}"
        ) from None
    model = _trainer_class(meta)(
        module,
        device=device,
        mean=meta.get("mean"),
        std=meta.get("std"),
        classes=meta.get("classes"),
    )
    model.input_shape = tuple(meta["input_shape"]) if meta.get("input_shape") else None
    if meta.get("compile"):
        options = dict(meta["compile"])
        model.compile(**options)
        if optimizer_state is not None:
            model.optimizer.load_state_dict(optimizer_state)
    model.global_step = int(meta.get("global_step", 0))
    model.epochs_done = int(meta.get("epochs_done", 0))
    model.checkpoint_meta = meta
    model.restore_extras(meta)
    return model
