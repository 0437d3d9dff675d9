"""What a checkpoint holds besides the weights and the optimizer: the JSON metadata of a
:class:`~.model.Model` (model name and arguments, normalisation, classes, how images are
prepared, the compile settings, the schedule and where training stands) and the tensors of its
training state (random streams, carried state)."""

from __future__ import annotations

from typing import Any

import torch

from .compiling import config_to_json


def checkpoint_contents(
    model: Any, metrics: dict[str, float] | None = None
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The metadata and the extra tensors :meth:`Model.save <.model.Model.save>` writes.

    Args:
        model: the trainer being saved.
        metrics: the values to record beside it (an epoch's logs).

    Returns:
        ``(meta, tensors)``: JSON-able metadata, and the training-state tensors by name.
    """
    state = model.training_state()
    tensors: dict[str, torch.Tensor] = {}
    if state is not None:
        state = dict(state)
        for key in ("rng", "rng_epoch", "state"):
            tensors.update({f"{key}.{k}": v for k, v in state.pop(key).items()})
    meta = {
        "model": model.spec["name"] if model.spec else None,
        "model_kwargs": model.spec["kwargs"] if model.spec else {},
        "mean": model.mean,
        "std": model.std,
        "classes": model.classes,
        "input_shape": model.input_shape,
        "preprocess": model.preprocess,
        "data": model.data_name,
        "compile": config_to_json(model.config) if model.config else None,
        "scheduler_state": model.parts.scheduler_state() if model.parts else None,
        "base_lrs": model.parts.base_lrs if model.parts else None,
        "scaler_state": model.parts.scaler.state_dict()
        if model.parts and model.parts.scaler
        else None,
        "global_step": model.global_step,
        "epochs_done": model.epochs_done,
        "training_state": state,
        "metrics": metrics,
        "run": model.run,
        **model.checkpoint_extras(),
    }
    return meta, tensors
