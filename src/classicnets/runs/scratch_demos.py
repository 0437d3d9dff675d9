"""The two worked demos the course draws, computed with the hand-written network on digits:

- **the vanishing gradient**: the gradient norm of every layer's weights in a 10-layer MLP with
  sigmoid, ReLU or Maxout units, at initialisation and after training. σ′ ≤ 0.25, so every
  sigmoid layer the error passes back through shrinks it; ReLU (slope 1 where active) and Maxout
  (slope 1 on the winning piece) do not.
- **mini-batch vs full-batch vs per-example SGD**: the same epochs with batches of 1, of 32 and
  of the whole training split; the training loss against updates and against seconds."""

from __future__ import annotations

import time
from typing import Any

import torch

from ..data import load_dataset
from ..errors import ClassicnetsError
from ..scratch.fit import accuracy, fit, mean_loss
from ..scratch.network import Network, mlp
from ..scratch.optimizers import make_optimizer
from .scratch import flattened, standardise

VANISHING_ACTIVATIONS = ("sigmoid", "relu", "maxout")
DEPTH = 10  # hidden layers
WIDTH = 32
# Momentum SGD's rate for the vanishing-gradient demo: the largest of 0.01, 0.02, 0.05 at which
# the 10-layer ReLU and Maxout nets train on digits without the loss turning NaN (Maxout
# diverges at 0.02). At it the sigmoid net stays at chance: its gradients vanish.
VANISHING_LR = 0.01
# The learning rates of the batch-size demo, one per batch size: a batch of b averages b
# gradients, so its step can be larger; these are the largest of 0.003·2^k that trained
# smoothly on digits (per-example, 32, full batch).
BATCH_LRS = {1: 0.01, 32: 0.1, "full": 0.5}


def _digits(data_dir: str | None, seed: int = 0):
    full = load_dataset("digits", "train", root=data_dir)
    test = load_dataset("digits", "test", root=data_dir)
    train, val = full.validation_split(0.1, seed=seed)
    (xt, yt), (xv, yv), (xs, ys) = map(flattened, (train, val, test))
    xt, xv, xs = standardise(xt, xv, xs)
    return (xt, yt), (xv, yv), (xs, ys), full.num_classes


def weight_gradient_norms(network: Network, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """‖∂L/∂W‖ of every layer that has a weight matrix, input side first, for one batch."""
    network.loss(x, y, training=True)
    network.backward()
    return [
        float(layer.grads["W"].norm())
        for layer in network.layers
        if "W" in layer.grads and layer.grads["W"].dim() == 2
    ]


def vanishing_gradient(
    *, epochs: int = 20, seed: int = 0, data_dir: str | None = None
) -> dict[str, Any]:
    """Per-layer weight-gradient norms of a 10-layer MLP, for each activation, before and after
    ``epochs`` of momentum SGD on digits, and the test accuracy it reached.

    Raises:
        ClassicnetsError: epochs below 1.
    """
    if epochs < 1:
        raise ClassicnetsError(f"The vanishing-gradient demo needs at least 1 epoch, got {epochs}.")
    (xt, yt), (xv, yv), (xs, ys), classes = _digits(data_dir, seed)
    probe = slice(0, 512)  # one fixed batch of training images for every measurement
    rows = {}
    for activation in VANISHING_ACTIVATIONS:
        generator = torch.Generator().manual_seed(seed)
        sizes = [xt.shape[1], *[WIDTH] * DEPTH, classes]
        network = mlp(sizes, activation, generator=generator)
        initial = weight_gradient_norms(network, xt[probe], yt[probe])
        optimizer = make_optimizer("momentum", network.params, lr=VANISHING_LR)
        fit(network, optimizer, xt, yt, xv, yv, epochs=epochs, batch_size=32, seed=seed)
        rows[activation] = {
            "init": initial,
            # how many times larger the last layer's gradient is than the first's
            "init_last_over_first": float(f"{initial[-1] / max(initial[0], 1e-30):.4g}"),
            "trained": weight_gradient_norms(network, xt[probe], yt[probe]),
            "val_accuracy": accuracy(network, xv, yv),
            "test_accuracy": accuracy(network, xs, ys),
        }
    return {"depth": DEPTH, "width": WIDTH, "epochs": epochs, "data": "digits", "rows": rows}


class LossTrace:
    """An ``on_epoch`` callback: the loss on the whole training split after every epoch, with
    the updates and the training seconds so far (the time spent measuring is left out)."""

    def __init__(self, network: Network, x: torch.Tensor, y: torch.Tensor, per_epoch: int):
        self.network, self.x, self.y, self.per_epoch = network, x, y, per_epoch
        self.measuring = 0.0
        self.points = [{"updates": 0, "seconds": 0.0, "train_loss": mean_loss(network, x, y)}]
        self.started = time.perf_counter()

    def __call__(self, record) -> None:
        begin = time.perf_counter()
        self.points.append({
            "updates": len(self.points) * self.per_epoch,
            "seconds": begin - self.started - self.measuring,
            "train_loss": mean_loss(self.network, self.x, self.y),
        })  # fmt: skip
        self.measuring += time.perf_counter() - begin


def batch_sizes(*, epochs: int = 10, seed: int = 0, data_dir: str | None = None) -> dict[str, Any]:
    """The same network trained for ``epochs`` with per-example, mini-batch (32) and
    full-batch plain SGD: after every epoch, the loss on the whole training split, the number
    of updates so far and the training seconds so far (measuring the loss is not counted).

    Raises:
        ClassicnetsError: epochs below 1.
    """
    if epochs < 1:
        raise ClassicnetsError(f"The batch-size demo needs at least 1 epoch, got {epochs}.")
    (xt, yt), (xv, yv), (xs, ys), classes = _digits(data_dir, seed)
    rows = {}
    for size, lr in BATCH_LRS.items():
        batch = len(xt) if size == "full" else size
        generator = torch.Generator().manual_seed(seed)
        network = mlp([xt.shape[1], 64, classes], "relu", generator=generator)
        optimizer = make_optimizer("sgd", network.params, lr=lr)
        trace = LossTrace(network, xt, yt, -(-len(xt) // batch))
        fit(
            network, optimizer, xt, yt, xv, yv, epochs=epochs, batch_size=batch, seed=seed,
            on_epoch=trace,
        )  # fmt: skip
        rows[str(size)] = {
            "batch_size": batch,
            "lr": lr,
            "points": trace.points,
            "test_accuracy": accuracy(network, xs, ys),
        }
    return {"epochs": epochs, "data": "digits", "train_images": len(xt), "rows": rows}
