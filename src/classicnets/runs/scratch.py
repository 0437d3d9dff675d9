"""``classicnets scratch train``: the hand-written network of :mod:`classicnets.scratch` trained
on real data — validation carved from train for choosing the epoch, the test split scored once
on the weights kept. Nothing is written to disk; the result is returned (and printed by the
CLI)."""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..data import load_dataset
from ..errors import ClassicnetsError, unknown_name
from ..scratch.activations import ACTIVATIONS
from ..scratch.fit import EpochRecord, accuracy, fit
from ..scratch.network import Network, mlp
from ..scratch.optimizers import OPTIMIZERS, make_optimizer
from ..scratch.schedules import SCHEDULES, make_schedule
from .config import _number, _whole, setting

SCRATCH_DATA = ("digits", "mnist", "fashion-mnist")


@dataclass(frozen=True)
class ScratchConfig:
    """The settings of one hand-written training run (each is a ``--flag``)."""

    KIND = "scratch"

    data: str = setting("digits", f"the dataset: {', '.join(SCRATCH_DATA)}")
    hidden: str = setting("128,64", "hidden layer widths, comma-separated", metavar="W,W,...")
    activation: str = setting(
        "relu", f"the hidden layers' activation: {', '.join(ACTIVATIONS)}, maxout"
    )
    maxout_k: int = setting(2, "pieces per Maxout unit (with --activation maxout)")
    optimizer: str = setting("momentum", f"the update rule: {', '.join(OPTIMIZERS)}")
    lr: float | None = setting(None, "learning rate", default_text="the optimizer's own")
    schedule: str = setting("constant", f"learning rate per update: {', '.join(SCHEDULES)}")
    epochs: int = setting(10, "passes over the training split")
    batch_size: int = setting(64, "examples per update")
    dropout: float = setting(0.0, "dropout rate after every hidden layer (inverted dropout)")
    batch_norm: bool = setting(False, "batch norm after every hidden linear layer")
    weight_decay: float = setting(0.0, "L2 weight decay in the update")
    patience: int | None = setting(None, "stop after this many epochs without a better val")
    val_split: float = setting(0.1, "share of train held out for validation")
    seed: int = setting(0, "the weights' and the batches' seed")
    data_dir: str | None = setting(None, "where the dataset files are", metavar="DIR")

    def widths(self) -> list[int]:
        try:
            widths = [int(w) for w in self.hidden.split(",") if w.strip()]
        except ValueError:
            widths = [0]
        if not widths or min(widths) < 1:
            raise ClassicnetsError(
                f"--hidden takes positive widths separated by commas (e.g. 128,64), got "
                f"{self.hidden!r}."
            )
        return widths

    def check(self) -> None:
        """Every setting in range, before any data is read."""
        if self.data not in SCRATCH_DATA:
            raise unknown_name("dataset", self.data, SCRATCH_DATA)
        if self.activation not in ACTIVATIONS and self.activation != "maxout":
            raise unknown_name("activation", self.activation, [*ACTIVATIONS, "maxout"])
        if self.optimizer not in OPTIMIZERS:
            raise unknown_name("optimizer", self.optimizer, OPTIMIZERS)
        if self.schedule not in SCHEDULES:
            raise unknown_name("schedule", self.schedule, SCHEDULES)
        self.widths()
        for name in ("epochs", "batch_size"):
            _whole(name, getattr(self, name))
        _whole("maxout_k", self.maxout_k, least=2)
        _whole("patience", self.patience, optional=True)
        _number("lr", self.lr, 0.0, float("inf"), optional=True)
        if self.lr is not None and self.lr <= 0:
            raise ClassicnetsError(f"--lr must be above 0, got {self.lr!r}.")
        _number("dropout", self.dropout, 0.0, 1.0, closed=False)
        _number("weight_decay", self.weight_decay, 0.0, float("inf"))
        _number("val_split", self.val_split, 0.0, 1.0, closed=False)
        if self.val_split == 0:
            raise ClassicnetsError("--val-split must be above 0: the epoch is chosen on it.")


def flattened(data) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float32 rows in [0, 1] (N, C·H·W), labels as they are."""
    return data.images.flatten(1).float().div_(255.0), data.labels


def standardise(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Centre and scale every pixel by the training split's statistics (constant pixels,
    such as MNIST's border, are only centred)."""
    mean, std = train.mean(0), train.std(0)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    return [(x - mean) / std for x in (train, *others)]


def build_network(config: ScratchConfig, inputs: int, classes: int) -> Network:
    """The MLP ``inputs → hidden… → classes`` the config describes."""
    generator = torch.Generator().manual_seed(config.seed)
    return mlp(
        [inputs, *config.widths(), classes],
        config.activation,
        dropout=config.dropout,
        batch_norm=config.batch_norm,
        maxout_k=config.maxout_k,
        generator=generator,
    )


def run_scratch(
    config: ScratchConfig, on_epoch: Callable[[EpochRecord], None] | None = None
) -> dict[str, Any]:
    """Train the hand-written network, keep the epoch with the best validation accuracy, and
    score the test split once.

    Returns:
        The settings, the per-epoch history, the kept epoch's validation accuracy, the test
        accuracy, the seconds taken and the machine.
    """
    config.check()
    started = time.perf_counter()
    full = load_dataset(config.data, "train", root=config.data_dir)
    test = load_dataset(config.data, "test", root=config.data_dir)
    train, val = full.validation_split(config.val_split)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = map(flattened, (train, val, test))
    x_train, x_val, x_test = standardise(x_train, x_val, x_test)
    network = build_network(config, x_train.shape[1], full.num_classes)
    hp = {"weight_decay": config.weight_decay} if config.weight_decay else {}
    optimizer = make_optimizer(config.optimizer, network.params, lr=config.lr, **hp)
    steps = config.epochs * -(-len(x_train) // config.batch_size)
    schedule = make_schedule(config.schedule, optimizer.lr, steps)
    loaded = time.perf_counter()
    result = fit(
        network, optimizer, x_train, y_train, x_val, y_val,
        epochs=config.epochs, batch_size=config.batch_size, schedule=schedule,
        patience=config.patience, seed=config.seed, on_epoch=on_epoch,
    )  # fmt: skip
    return {
        "config": dataclasses.asdict(config),
        "layers": [layer.name for layer in network.layers],
        "parameters": sum(p.numel() for p in network.params),
        "train_images": len(x_train),
        "validation_images": len(x_val),
        "test_images": len(x_test),
        "history": [dataclasses.asdict(r) for r in result.history],
        "best_epoch": result.best_epoch,
        "val_accuracy": result.best_val_accuracy,
        "test_accuracy": accuracy(network, x_test, y_test),
        "updates": result.updates,
        "stopped_early": result.stopped_early,
        "train_seconds": round(result.seconds, 2),
        "load_seconds": round(loaded - started, 2),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
        },
    }
