"""Datasets: one module per format, a registry, and in-memory tensors for fast training."""

from . import cifar, digits, folder, mnist, tinyimagenet  # noqa: F401  (registration side effect)
from ._registry import (
    DatasetInfo,
    dataset_info,
    list_datasets,
    load_dataset,
    locate_dataset,
    register_dataset,
)
from .dataset import ImageDataset

__all__ = [
    "DatasetInfo",
    "ImageDataset",
    "dataset_info",
    "list_datasets",
    "load_dataset",
    "locate_dataset",
    "register_dataset",
]
