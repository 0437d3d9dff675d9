"""Training for ``classicnets reproduce``: a network through the project's trainer, the epoch
the validation split likes best kept, the test split scored once."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data import ImageDataset
from ..train import Callback, Model


@dataclass(frozen=True)
class Trained:
    """The kept weights' scores after a run.

    Attributes:
        epoch_accuracy: the kept epoch's training accuracy as the fit logged it (the mean over
            that epoch's batches, the figure Keras's ``fit`` prints).
        train_accuracy: the kept weights scored on the training images (None when not asked).
        val_accuracy: on the validation split; it chose ``best_epoch``.
        test_accuracy: on the test split, scored once.
    """

    epoch_accuracy: float
    train_accuracy: float | None
    val_accuracy: float
    test_accuracy: float
    epochs: int
    best_epoch: int


class KeepBest(Callback):
    """Hold a copy of the weights (and the logs) of the epoch with the best validation
    accuracy."""

    def __init__(self) -> None:
        self.best, self.epoch, self.logs, self.state = -1.0, 0, {}, None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if logs["val_accuracy"] > self.best:
            self.best, self.epoch, self.logs = logs["val_accuracy"], epoch + 1, dict(logs)
            self.state = {k: v.detach().clone() for k, v in self.model.module.state_dict().items()}


def train_and_score(
    module: torch.nn.Module,
    train: ImageDataset,
    val: ImageDataset,
    test: ImageDataset,
    *,
    epochs: int,
    batch_size: int,
    compile_options: dict,
    augment: str | None = None,
    plain_inputs: bool = False,
    score_train: bool = False,
    seed: int = 0,
    device: str = "auto",
) -> Trained:
    """Train ``module`` on ``train``, keep the epoch ``val`` likes best, score ``test`` once.

    Args:
        module: a freshly initialised network.
        train, val, test: the three splits.
        epochs, batch_size: as ``Model.fit`` takes them.
        compile_options: what ``Model.compile`` is told (optimizer, lr, schedule, ...).
        augment: a batch augmentation spec, or None.
        plain_inputs: feed pixels / 255 as the Keras listings do, instead of normalising by
            the training images' mean and standard deviation.
        score_train: also score the kept weights on all of ``train``.
        seed: fixes the data order and augmentation.
        device: where to train.
    """
    channels = train.image_shape[0]
    plain = {"mean": [0.0] * channels, "std": [1.0] * channels} if plain_inputs else {}
    model = Model(module, device=device, **plain)
    model.compile(**compile_options)
    keep = KeepBest()
    model.fit(
        train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=val,
        callbacks=[keep],
        seed=seed,
        augment=augment,
    )
    model.module.load_state_dict(keep.state)
    return Trained(
        epoch_accuracy=keep.logs["accuracy"],
        train_accuracy=model.evaluate(train)["accuracy"] if score_train else None,
        val_accuracy=keep.best,
        test_accuracy=model.evaluate(test)["accuracy"],
        epochs=model.epochs_done,
        best_epoch=keep.epoch,
    )
