"""The forms of data ``fit``, ``evaluate`` and ``predict`` take, each turned into a batching
strategy: an :class:`~classicnets.data.ImageDataset`, an ``(inputs, targets)`` pair of tensors,
a torch ``Dataset`` or a ``DataLoader``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Dataset

from ..data.augment import Augment
from ..data.dataset import ImageDataset
from ..data.splits import stratified_split
from ..errors import ClassicnetsError
from .batching import Batches, LoaderBatches, TensorBatches

if TYPE_CHECKING:
    from .model import Model

FORMS = "an ImageDataset, an (inputs, targets) pair of tensors, a torch Dataset or a DataLoader"


def tensors_of(model: Model, data: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Inputs and targets of in-memory data, or None for a Dataset/DataLoader. An
    ImageDataset also gives the model its normalisation, classes and input shape."""
    if isinstance(data, ImageDataset):
        if model.mean is None:
            model.mean, model.std = data.mean, data.std
        if model.classes is None:
            model.classes = data.classes
        model.data_name = model.data_name or data.name
        x, y = data.images, data.labels
    elif isinstance(data, tuple | list) and len(data) == 2:
        x, y = data
        if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
            raise ClassicnetsError(
                f"An (inputs, targets) pair must hold two tensors, got {type(x).__name__} and "
                f"{type(y).__name__}."
            )
    elif isinstance(data, Dataset | DataLoader):
        return None
    elif isinstance(data, torch.Tensor):
        raise ClassicnetsError(
            "These inputs come without targets: pass fit(inputs, targets), an (inputs, "
            "targets) pair or a dataset."
        )
    else:
        raise ClassicnetsError(f"Data must be {FORMS}, got {type(data).__name__}.")
    if len(x) != len(y):
        raise ClassicnetsError(f"Got {len(x)} inputs but {len(y)} targets.")
    if model.input_shape is None and x.dtype == torch.uint8:
        model.input_shape = tuple(x.shape[1:])
    return x, y


def make_batches(
    model: Model, data: Any, batch_size: int, *, seed: int, augment: Augment | str | None
) -> Batches:
    """The training strategy for ``data``: shuffled tensors or a loader."""
    pair = tensors_of(model, data)
    if isinstance(augment, str):
        if pair is None:
            raise ClassicnetsError(
                "A spec string for augment needs in-memory images; pass an Augment object "
                "for a Dataset or DataLoader."
            )
        augment = Augment.parse(augment, image_size=pair[0].shape[-1], mean=model.mean, seed=seed)
    if pair is None:
        return LoaderBatches(data, batch_size, seed=seed, augment=augment)
    return TensorBatches(
        *pair, batch_size, seed=seed, device=model.device, augment=augment, shuffle=True
    )


def make_eval_batches(model: Model, data: Any, batch_size: int) -> Batches:
    """The evaluation strategy for ``data``: in order, without augmentation."""
    pair = tensors_of(model, data)
    if pair is None:
        return LoaderBatches(data, batch_size, shuffle=False)
    return TensorBatches(*pair, batch_size, device=model.device, shuffle=False)


def split_validation(data: Any, fraction: float, seed: int) -> tuple[Any, Any]:
    """``(train, validation)`` of in-memory data, stratified by class."""
    if isinstance(data, ImageDataset):
        return data.validation_split(fraction, seed)
    if isinstance(data, tuple | list) and len(data) == 2 and not data[1].is_floating_point():
        x, y = data
        train, val = stratified_split(y, fraction, seed)
        return (x[train], y[train]), (x[val], y[val])
    raise ClassicnetsError(
        "validation_split needs an ImageDataset or (inputs, class labels); pass "
        "validation_data for other data."
    )
