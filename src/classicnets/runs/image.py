"""Image runs: an image classifier on an image dataset, with three splits.

The dataset's training split gives up a fixed, stratified share of every class to validation
(``--val-split``, default 10 %); validation picks ``best`` and stops early; the test split is
scored once, at the end, on the checkpoint the run keeps.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import torch

from ..analysis import summary
from ..data import ImageDataset, dataset_info, load_dataset
from ..data.augment import Augment
from ..data.preprocess import RECIPE
from ..data.splits import SPLIT_SEED
from ..errors import ClassicnetsError, ShapeError
from ..models import create_model, model_info, small_input_note
from ..models.custom import build_custom
from ..train import Model
from .config import ImageRunConfig


@dataclass(frozen=True)
class ImageSplits:
    train: ImageDataset
    val: ImageDataset | None
    test: ImageDataset

    def map(self, change) -> ImageSplits:
        """The splits with ``change`` applied to each (a resize, a cut)."""
        return ImageSplits(
            *(None if p is None else change(p) for p in (self.train, self.val, self.test))
        )


def load_splits(config: ImageRunConfig, image_size: int | None = None) -> ImageSplits:
    """Training, validation and test data of ``config.data``: validation carved from the
    training split before ``--limit`` cuts each split to its first examples, then everything
    resized to ``image_size`` when given."""
    info = dataset_info(config.data)
    options = {"label": config.label} if config.label else {}
    # Only loaders that decode at a size (image folders) need it up front; the others resize
    # after the cut, so a quick look at a few examples never resizes the whole set.
    at_load = image_size if "image_size" in info.options else None
    train = load_dataset(config.data, "train", config.data_dir, image_size=at_load, **options)
    test = load_dataset(config.data, "test", config.data_dir, image_size=at_load, **options)
    val = None
    if config.val_split:
        train, val = train.validation_split(config.val_split, SPLIT_SEED)
    splits = ImageSplits(train, val, test)
    if config.limit is not None:
        splits = splits.map(lambda part: part.subset(slice(0, config.limit)))
    return splits.map(lambda part: part.resized(image_size)) if image_size else splits


def build_for_data(
    name: str,
    train: ImageDataset,
    image_size: int | None,
    model_kwargs: dict[str, Any],
    seed: int | None = None,
    module: str | None = None,
) -> tuple[torch.nn.Module, int, list[str]]:
    """Build model ``name`` for the dataset's channels and classes, its weights from ``seed``.

    Without an explicit ``image_size`` the data's own size is used; when the architecture
    cannot take it, the data is upsampled: to the paper's size when that is small (LeNet's 28),
    else to the smallest multiple of 32 the model takes (AlexNet: 96 rather than 224, which
    would make a CPU epoch dozens of times slower; ``--image-size 224`` gives the paper's).

    Returns:
        (module, image size, notes for the user).
    """
    channels, side = train.image_shape[0], train.image_shape[1]
    if module is not None:  # the user's own network: their factory, at the data's size
        size = image_size if image_size is not None else side
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            net = build_custom(
                module,
                num_classes=train.num_classes,
                in_channels=channels,
                image_size=size,
                search_path=[os.getcwd()],
            )
        return net, size, []
    kwargs = dict(num_classes=train.num_classes, in_channels=channels, **model_kwargs)
    notes: list[str] = []
    sizes = [image_size] if image_size is not None else [side]
    info = model_info(name)
    native = info.input_size[-1]
    fallback = native if native <= 64 else max(32, -(-info.min_image_size // 32) * 32)
    if image_size is None and fallback != side:
        sizes.append(fallback)
    for i, size in enumerate(sizes):
        try:
            with torch.device("meta"):  # shapes first: nothing is initialised twice
                create_model(name, image_size=size, **kwargs)
        except ShapeError as err:
            if i + 1 < len(sizes):
                notes.append(
                    f"{name} cannot take {side}x{side} inputs, so {train.name} is upsampled to "
                    f"{sizes[i + 1]}x{sizes[i + 1]} (the paper uses {native}; choose with "
                    f"--image-size)."
                )
                continue
            if size < info.min_image_size:
                raise ClassicnetsError(
                    f"Model '{name}' takes images of at least {info.min_image_size}x"
                    f"{info.min_image_size} pixels, got {size}x{size}; pass --image-size "
                    f"{info.min_image_size} or larger (its paper uses {native})."
                ) from None
            raise ClassicnetsError(
                f"Model '{name}' cannot take {channels}x{size}x{size} inputs ({err}); try "
                f"--image-size {native}."
            ) from None
        return create_model(name, image_size=size, seed=seed, **kwargs), size, notes
    raise AssertionError("unreachable")


class ImageTask:
    """The image half of the run pipeline (:mod:`classicnets.runs.pipeline`)."""

    kind = "image"

    @staticmethod
    def score_line(test: dict) -> str:
        """The run's one line about its test score."""
        return f"test accuracy {test['accuracy']:.4f} (loss {test['loss']:.4f})"

    def prepare(self, config: ImageRunConfig, notify) -> dict[str, Any]:
        """Data, a seeded model for it and its compiled trainer; nothing written to disk."""
        splits = load_splits(config)
        module, size, notes = build_for_data(
            config.model,
            splits.train,
            config.image_size,
            config.model_kwargs,
            config.seed,
            module=config.module,
        )
        note = None if config.module else small_input_note(config.model, size)
        notes += [note] if note else []
        if size != splits.train.image_shape[-1]:
            splits = splits.map(lambda part: part.resized(size))
        mirror_safe = dataset_info(config.data).mirror_safe
        if config.augment:  # the recipe's or the user's
            augment = Augment.parse(config.augment, image_size=size)  # sizes checked now
            if not mirror_safe and any(type(op).__name__.endswith("Flip") for op in augment.ops):
                notes.append(
                    f"{config.data}'s classes change when mirrored (a mirrored 3 is no 3); "
                    "flip augmentation will teach the model mirrored digits too."
                )
        for note in notes:
            notify(note)
        text = str(summary(module, input_size=splits.train.image_shape)) + "\n"  # the registry's
        if config.model_parallel > 1:
            from ..models.alexnet_split import split_model, tower_devices
            from ..train.setup import resolve_device

            devices = tower_devices(resolve_device(config.device))
            if devices[0] == devices[1]:
                notify(f"both towers of {config.model} run on {devices[0]} (one device here)")
            module = split_model(module, devices)
        model = Model(module, device=config.device)
        steps = -(-len(splits.train) // config.batch_size)  # batches per epoch
        model.compile(**config.compile_options(steps))
        model.input_shape = splits.train.image_shape
        model.preprocess = {"recipe": RECIPE, "size": size, "channels": model.input_shape[0]}
        resolved = dataclasses.replace(config, image_size=size)
        return {
            "model": model,
            "config": resolved,
            "train": splits.train,
            "val": splits.val,
            "test": splits.test,
            "summary": text,
            "name": config.data,
            "title": f"{config.module or config.model} on {config.data}",
            "describe": f"{config.data} ({len(splits.train):,} training, "
            f"{len(splits.val) if splits.val is not None else 0:,} validation and "
            f"{len(splits.test):,} test images)",
        }

    def finish(self, run_dir, model: Model, config: ImageRunConfig) -> None:
        """Nothing more to write for an image run."""

    def reopen(self, config: ImageRunConfig, model: Model) -> dict[str, Any]:
        """The data of a run to continue, as it was."""
        splits = load_splits(config, config.image_size)
        if model.classes is not None and tuple(splits.train.classes) != tuple(model.classes):
            raise ClassicnetsError(
                f"The classes of {config.data} have changed since the run began; it cannot "
                "continue on this data."
            )
        return {"train": splits.train, "val": splits.val, "test": splits.test}

    def score(
        self,
        model: Model,
        config: ImageRunConfig | None,
        split: str,
        *,
        data: str | None = None,
        data_dir: str | None = None,
        tta: bool = False,
    ) -> dict[str, Any]:
        """Loss and metrics of one split: ``test``, ``val`` or ``train`` of the run's data, or
        of another dataset (``data``) with the same image shape."""
        name = data or (config.data if config else model.data_name)
        if name is None:
            raise ClassicnetsError(
                "This checkpoint does not say which data it was trained on; pass --data."
            )
        info = dataset_info(name)
        if tta and not info.mirror_safe:
            raise ClassicnetsError(
                f"--tta averages each image with its mirror, which changes {name}'s classes "
                "(a mirrored 3 is no 3; MNIST falls from 0.977 to 0.903); use it on data whose "
                "classes survive a mirror, such as cifar10."
            )
        size = model.input_shape[-1] if model.input_shape else None
        own = config is not None and name == config.data
        if own:
            run = dataclasses.replace(config, data_dir=data_dir or config.data_dir)
        else:
            if split == "val":
                raise ClassicnetsError(
                    "--split val is the run's own validation data; not with --data."
                )
            run = ImageRunConfig(
                model=config.model if config else "mlp", data=name, data_dir=data_dir, val_split=0.0
            )
        splits = load_splits(run, size)
        part = {"train": splits.train, "val": splits.val, "test": splits.test}[split]
        if part is None:
            raise ClassicnetsError(
                "This run has no validation split (it trained with --val-split 0)."
            )
        if model.input_shape and part.image_shape != tuple(model.input_shape):
            raise ClassicnetsError(
                f"The run was trained on {'x'.join(map(str, model.input_shape))} images but "
                f"{name} has {'x'.join(map(str, part.image_shape))}."
            )
        return {
            "data": name,
            "split": split,
            "examples": len(part),
            **model.evaluate(part, tta=tta),
        }
