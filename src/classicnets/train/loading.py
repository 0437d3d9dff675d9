"""``load``: rebuild a trainer from a checkpoint or run directory."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from ..errors import ClassicnetsError, CorruptFileError
from .checkpoint import load_checkpoint, resolve_checkpoint, split_state
from .compiling import rebuild_parts
from .model import Model


def _trainer_class(meta: dict[str, Any]) -> type[Model]:
    # imported here: each trainer module builds on this one's Model
    trainer = meta.get("trainer")
    if trainer == "sequence":
        from .sequence import SequenceModel

        return SequenceModel
    if trainer == "seq2seq":
        from .seq2seq import Seq2SeqModel

        return Seq2SeqModel
    if trainer == "tagging":
        from .tagging import TaggingModel

        return TaggingModel
    if trainer in ("mlm", "sequence_classifier"):
        from .mlm import MaskedLMModel, SequenceClassifierModel

        return MaskedLMModel if trainer == "mlm" else SequenceClassifierModel
    return Model


def _build(meta: dict[str, Any], where: str) -> nn.Module:
    from ..models import create_model

    spec = (meta.get("run") or {}).get("module")
    if not meta.get("model") and spec and meta.get("input_shape") and meta.get("classes"):
        from ..models.custom import build_custom  # a --module run: its factory, as trained

        shape = meta["input_shape"]
        return build_custom(
            spec,
            num_classes=len(meta["classes"]),
            in_channels=shape[0],
            image_size=shape[-1],
            search_path=[os.getcwd()],
        )
    if not meta.get("model"):
        raise ClassicnetsError(
            f"{where} holds the weights of a network that is not registered; build it and "
            "pass it: cn.load(path, module=YourNetwork())."
        )
    try:
        return create_model(meta["model"], **meta.get("model_kwargs", {}))
    except ClassicnetsError as err:
        raise CorruptFileError(f"{where} names a model this version cannot build: {err}") from None


def load(
    path: str | os.PathLike,
    *,
    module: nn.Module | None = None,
    device: str | torch.device | None = "auto",
) -> Model:
    """Rebuild a :class:`Model` from a checkpoint or run directory, ready to evaluate, predict
    or continue training (``fit(resume=True)`` continues exactly where it stopped).

    Args:
        path: a checkpoint (``STEM``, ``STEM.safetensors`` or ``STEM.json``) or a run
            directory (its ``best``, else its ``last``).
        module: a network of your own to load the weights into (the checkpoint's registered
            model is built otherwise).
        device: where to put it.

    Raises:
        ClassicnetsError: the checkpoint is damaged (named), or its weights do not fit.
    """
    weights = resolve_checkpoint(path)
    tensors, meta = load_checkpoint(weights)
    built = module if module is not None else _build(meta, str(weights))
    model_state, optimizer_state, training = split_state(tensors, meta)
    try:
        built.load_state_dict(model_state)
    except RuntimeError as err:
        first = str(err).splitlines()[1].strip() if "\n" in str(err) else str(err)
        name = meta.get("model") or "its network"
        target = type(built).__name__ if module is not None else f"model '{name}'"
        raise ClassicnetsError(f"The weights in {weights} do not fit {target}: {first}") from None
    if (meta.get("run") or {}).get("model_parallel", 1) > 1:  # saved grouped, trained split
        from ..models.alexnet_split import split_model, tower_devices
        from ..models.alexnet_split_state import split_optimizer_state
        from .setup import resolve_device

        built = split_model(built, tower_devices(resolve_device(device)))
        optimizer_state = optimizer_state and split_optimizer_state(built, optimizer_state)
    model = _trainer_class(meta)(
        built,
        device=device,
        mean=meta.get("mean"),
        std=meta.get("std"),
        classes=meta.get("classes"),
    )
    model.input_shape = tuple(meta["input_shape"]) if meta.get("input_shape") else None
    model.preprocess = meta.get("preprocess")
    model.data_name = meta.get("data")
    model.run = meta.get("run")
    if meta.get("compile"):
        if meta["compile"].get("channels_last"):
            model.module = model.module.to(memory_format=torch.channels_last)
        model.config, model.parts = rebuild_parts(
            model.module,
            meta["compile"],
            optimizer_state,
            meta.get("scheduler_state"),
            meta.get("base_lrs"),
            meta.get("scaler_state"),
        )
        model._forward = torch.compile(model.module) if model.config.compile else model.module
    model.global_step = int(meta.get("global_step", 0))
    model.epochs_done = int(meta.get("epochs_done", 0))
    state = meta.get("training_state")
    if state:
        model.position = tuple(state["position"])
        model.resume_point = {
            **state,
            "position": tuple(state["position"]),
            **_training_tensors(training),
        }
    model.checkpoint_meta = meta
    model.restore_extras(meta)
    return model


def _training_tensors(training: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """``rng.cpu``, ``rng_epoch.cpu``, ``state.carry...`` back into their groups."""
    groups: dict[str, dict[str, torch.Tensor]] = {"rng": {}, "rng_epoch": {}, "state": {}}
    for name, tensor in training.items():
        group, _, key = name.partition(".")
        groups.setdefault(group, {})[key] = tensor
    return groups
