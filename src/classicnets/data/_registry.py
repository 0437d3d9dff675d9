"""The dataset registry: each loader registers under a name; ``load_dataset`` is the door in."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ClassicnetsError, unknown_name
from .dataset import ImageDataset

Loader = Callable[..., ImageDataset]
SPLITS = ("train", "test")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    loader: Loader
    description: str
    image_shape: tuple[int, int, int]
    num_classes: int
    files: tuple[str, ...]  # what must be on disk; empty for embedded datasets
    extra_dirs: tuple[str, ...] = ()
    # keyword options the loader takes beyond (split, root), e.g. ("label",) for cifar100;
    # "image_size" means the loader decodes at that size itself (image folders)
    options: tuple[str, ...] = ()
    # finds the folder holding the data when it comes in several forms (archive or extracted)
    locate: Callable[[str | os.PathLike | None], Path | None] | None = None
    # whether a class survives a left-right mirror (not for digits: a mirrored 3 is no 3), so
    # flip augmentation and flip test-time augmentation make sense
    mirror_safe: bool = True


_DATASETS: dict[str, DatasetInfo] = {}


def register_dataset(
    name: str,
    *,
    description: str,
    image_shape: tuple[int, int, int],
    num_classes: int,
    files: tuple[str, ...],
    extra_dirs: tuple[str, ...] = (),
    options: tuple[str, ...] = (),
    locate: Callable[[str | os.PathLike | None], Path | None] | None = None,
    mirror_safe: bool = True,
) -> Callable[[Loader], Loader]:
    """Register ``loader(split, root=None, **options) -> ImageDataset`` under ``name`` (once
    only). ``options`` names the keywords it takes; ``locate(root)`` replaces the all-of-``files``
    check for datasets that come in several forms."""

    def decorator(loader: Loader) -> Loader:
        if name in _DATASETS:
            raise ValueError(f"Dataset '{name}' is already registered.")
        _DATASETS[name] = DatasetInfo(
            name,
            loader,
            description,
            image_shape,
            num_classes,
            files,
            extra_dirs,
            options,
            locate,
            mirror_safe,
        )
        return loader

    return decorator


def list_datasets() -> list[str]:
    """Names of the registered datasets, sorted."""
    return sorted(_DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    try:
        return _DATASETS[name]
    except KeyError:
        raise unknown_name("dataset", name, _DATASETS) from None


def load_dataset(
    name: str,
    split: str = "train",
    root: str | os.PathLike | None = None,
    *,
    image_size: int | None = None,
    **options,
) -> ImageDataset:
    """Load one split of a registered dataset into memory.

    Args:
        name: a name from :func:`list_datasets`, e.g. ``"mnist"``.
        split: ``"train"`` or ``"test"``.
        root: a folder holding the files (``--data-dir``); searched before the defaults.
        image_size: resize every image to this square size at load time.
        **options: dataset-specific choices, e.g. ``label="coarse"`` for cifar100.

    Returns:
        An :class:`ImageDataset` with uint8 images (N, C, H, W), int64 labels, class names and
        the dataset's normalisation mean/std.
    """
    info = dataset_info(name)
    if split not in SPLITS:
        raise ClassicnetsError(f"Unknown split '{split}'; choose 'train' or 'test'.")
    if image_size is not None and image_size <= 0:
        raise ClassicnetsError(
            f"--image-size must be a positive number of pixels, got {image_size}."
        )
    if root is not None and not Path(root).expanduser().is_dir():
        raise ClassicnetsError(f"Data directory {root} does not exist or is not a folder.")
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        takes = ", ".join(o for o in info.options if o != "image_size") or "no options"
        raise ClassicnetsError(
            f"Dataset '{name}' does not take the option '{unknown[0]}' (it takes {takes})."
        )
    if "image_size" in info.options:
        options["image_size"] = image_size
    dataset = info.loader(split, root=root, **options)
    return dataset.resized(image_size) if image_size else dataset


def locate_dataset(name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The folder a dataset would be read from, without downloading; None if not on disk.
    Embedded datasets return the folder of the package that ships them."""
    from .download import candidate_dirs

    info = dataset_info(name)
    if info.locate is not None:
        return info.locate(root)
    if not info.files:
        return Path(__file__).parent
    for folder in candidate_dirs(name, root, info.extra_dirs):
        if all((folder / f).is_file() for f in info.files):
            return folder
    return None
