"""A training run from start to finish: data -> model -> fit -> a run directory.

A run directory holds ``config.json`` (what was asked), ``metrics.csv`` (one row per epoch),
``curves.png``, ``summary.txt``, and the checkpoints ``last`` and ``best``
(``.safetensors`` + ``.json``). ``train_run(TrainConfig(...))`` is what ``classicnets train`` calls.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..data import ImageDataset, dataset_info, load_dataset
from ..data.augment import Augment
from ..errors import ClassicnetsError, ShapeError
from ..models import create_model, model_info
from .recipes import recipe_for
from .rundir import fit_into_run_dir, prepare_run_dir, reopen_run, write_atomically
from ..train import Model

DEFAULT_LR = {
    "sgd": 0.1,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adagrad": 0.01,
    "rmsprop": 1e-3,
    "adadelta": 1.0,
    "adam": 3e-3,
    "nadam": 3e-3,
    "adamw": 3e-3,
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; the CLI maps its flags onto these fields."""

    model: str = "lenet5"
    data: str = "digits"
    data_dir: str | None = None
    epochs: int = 10
    batch_size: int = 32
    optimizer: str | None = None  # None: the model's recipe (models/_recipes.py)
    lr: float | None = None  # None: the recipe's, or DEFAULT_LR[optimizer] for another optimizer
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    image_size: int | None = None
    augment: str | None = None  # e.g. "crop,flip,cutout" (see data.augment.Augment.parse)
    label: str | None = None  # cifar100: "fine" (default) or "coarse"
    seed: int = 0
    device: str = "auto"
    channels_last: bool = False
    bf16: bool = False
    compile: bool = False
    out: str | None = None
    limit: int | None = None  # train and test on the first N examples of each split only
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def optimizer_name(self) -> str:
        """The optimizer the run uses: the user's, else the model's recipe's."""
        return self.optimizer or recipe_for(self.model).optimizer

    @property
    def learning_rate(self) -> float:
        """The user's rate, else the recipe's when its optimizer is used, else the optimizer's
        general default."""
        if self.lr is not None:
            return self.lr
        recipe = recipe_for(self.model)
        if self.optimizer_name == recipe.optimizer:
            return recipe.lr
        return DEFAULT_LR.get(self.optimizer_name, 1e-3)


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    model: str
    data: str
    epochs: int
    test_accuracy: float
    test_loss: float
    seconds: float
    image_size: int
    notes: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "model": self.model,
                "data": self.data,
                "epochs": self.epochs,
                "test_accuracy": round(self.test_accuracy, 6),
                "seconds": round(self.seconds, 3),
                "run_dir": str(self.run_dir),
            }
        )


def build_for_data(
    name: str, train: ImageDataset, image_size: int | None, model_kwargs: dict[str, Any]
) -> tuple[torch.nn.Module, int, list[str]]:
    """Build model ``name`` for the dataset's channels and classes.

    Without an explicit ``image_size`` the data's own size is used; when the architecture
    cannot take it, the data is upsampled: to the paper's size when that is small (LeNet's 28),
    else to the smallest multiple of 32 the model takes (AlexNet: 96 rather than 224, which
    would make a CPU epoch dozens of times slower; ``--image-size 224`` gives the paper's).

    Returns:
        (module, image size, notes for the user).
    """
    channels, side = train.image_shape[0], train.image_shape[1]
    kwargs = dict(num_classes=train.num_classes, in_channels=channels, **model_kwargs)
    notes: list[str] = []
    sizes = [image_size] if image_size else [side]
    info = model_info(name)
    native = info.input_size[-1]
    fallback = native if native <= 64 else max(32, -(-info.min_image_size // 32) * 32)
    if not image_size and fallback != side:
        sizes.append(fallback)
    for i, size in enumerate(sizes):
        try:
            module = create_model(name, image_size=size, **kwargs)
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
        return module, size, notes
    raise AssertionError("unreachable")


def _write_summary(model: Model, path: Path, input_shape: tuple[int, int, int]) -> None:
    from ..analysis import summary

    write_atomically(path, str(summary(model.module, input_size=input_shape)) + "\n")


def load_data(
    config: TrainConfig, image_size: int | None = None
) -> tuple[ImageDataset, ImageDataset]:
    """The training and test splits of ``config.data``, cut to the first ``config.limit``
    examples each, and resized to ``image_size`` when given."""
    info = dataset_info(config.data)  # unknown names fail before anything else
    if config.augment:
        Augment.parse(config.augment)  # a bad spec fails before any data is read
    if config.limit is not None and config.limit < 1:
        raise ClassicnetsError(
            f"--limit must be a positive number of examples, got {config.limit}."
        )
    options = {"label": config.label} if config.label else {}
    # Cut before resizing, so a quick look at a few examples never resizes the whole set;
    # only loaders that decode at a size (image folders) need the size up front.
    at_load = image_size if "image_size" in info.options else None
    splits = []
    for split in ("train", "test"):
        data = load_dataset(config.data, split, config.data_dir, image_size=at_load, **options)
        if config.limit is not None:
            data = data.subset(slice(0, config.limit))
        splits.append(data.resized(image_size) if image_size else data)
    return splits[0], splits[1]


def train_run(
    config: TrainConfig,
    *,
    progress: bool = True,
    notify: Callable[[str], None] | None = None,
) -> RunResult:
    """Train ``config.model`` on ``config.data`` into a new run directory.

    Args:
        config: what to train and how.
        progress: show a progress bar on stderr.
        notify: called with each note worth telling the user (e.g. that data was upsampled)
            as soon as it is known.
    """
    began = time.perf_counter()
    # The recipe also checks the model's name before any data is read.
    optimizer, lr = config.optimizer_name, config.learning_rate
    torch.manual_seed(config.seed)
    train, test = load_data(config, config.image_size)
    module, image_size, notes = build_for_data(
        config.model, train, config.image_size, config.model_kwargs
    )
    for note in notes:
        if notify:
            notify(note)
    if image_size != train.image_shape[-1]:
        train, test = train.resized(image_size), test.resized(image_size)
    run_dir = prepare_run_dir(config.out, config.model, config.data)
    model = Model(module, device=config.device)
    steps_per_epoch = model.steps_per_epoch(len(train), config.batch_size)
    model.compile(
        optimizer=optimizer,
        lr=lr,
        weight_decay=config.weight_decay,
        label_smoothing=config.label_smoothing,
        schedule=config.schedule,
        warmup_steps=int(config.warmup_epochs * steps_per_epoch),
        channels_last=config.channels_last,
        bf16=config.bf16,
        compile=config.compile,
    )
    saved = {**dataclasses.asdict(config), "image_size": image_size, "out": str(run_dir)}
    saved.update(optimizer=optimizer, lr=lr)  # what the recipe chose, so a resume keeps it
    write_atomically(run_dir / "config.json", json.dumps(saved, indent=2) + "\n")
    model.input_shape = train.image_shape
    _write_summary(model, run_dir / "summary.txt", train.image_shape)
    return _fit_into(run_dir, model, config, train, test, began, notes, progress, resumed=False)


def resume_run(
    run_dir: str | os.PathLike,
    *,
    epochs: int | None = None,
    device: str = "auto",
    progress: bool = True,
) -> RunResult:
    """Continue a run from its ``last`` checkpoint with its own settings.

    Args:
        run_dir: the run directory to continue.
        epochs: the new total number of epochs (default: the run's own).
        device: where to continue.
        progress: show a progress bar on stderr.
    """
    began = time.perf_counter()
    run_dir = Path(run_dir)
    path = run_dir / "config.json"
    saved = json.loads(path.read_text()) if path.is_file() else {}
    saved = {k: v for k, v in saved.items() if k in TrainConfig.__dataclass_fields__}
    epochs = epochs or saved.get("epochs", 0)
    model = reopen_run(run_dir, epochs, device)  # checks config.json is there too
    config = TrainConfig(**{**saved, "epochs": epochs, "device": device})
    train, test = load_data(config, model.input_shape[-1] if model.input_shape else None)
    return _fit_into(run_dir, model, config, train, test, began, [], progress, resumed=True)


def _fit_into(run_dir, model, config, train, test, began, notes, progress, resumed) -> RunResult:
    fit_into_run_dir(
        run_dir,
        model,
        train,
        title=f"{config.model} on {config.data}",
        progress=progress,
        resumed=resumed,
        epochs=config.epochs,
        batch_size=config.batch_size,
        validation_data=test,
        seed=config.seed,
        augment=config.augment,
    )
    final = model.evaluate(test)
    return RunResult(
        run_dir=run_dir,
        model=config.model,
        data=config.data,
        epochs=model.epochs_done,
        test_accuracy=final.get("accuracy", float("nan")),
        test_loss=final["loss"],
        seconds=time.perf_counter() - began,
        image_size=train.image_shape[-1],
        notes=tuple(notes),
    )
