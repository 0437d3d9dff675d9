"""The hand-written network of ``classicnets.scratch`` on MNIST: backpropagation written out
as the δ of every layer, the optimizer as its update equation, no autograd, no torch.optim.

Trains ``classicnets scratch train --data mnist`` with this script's settings (784-128-64-10
ReLU MLP, momentum SGD, batch 64), the epoch chosen on a 10 % validation split carved from
train, the test split scored once. Beside it, the same network trained by torch autograd and
``torch.optim.SGD`` from the same initial weights on the same batches, in the same process: the
two should make the same predictions up to float rounding, and the ratio of seconds says what
writing backward by hand costs. Target (issue 15): test accuracy >= 97 %.

Run: CLASSICNETS_DATA=../shared/data python benchmarks/scratch_mnist.py
Writes benchmarks/results/scratch_mnist.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from _machine import machine
from torch import nn

from classicnets.runs.scratch import ScratchConfig, run_scratch

RESULTS = Path(__file__).parent / "results"


def autograd_twin(config: ScratchConfig) -> dict:
    """The same MLP, initial weights, batches and updates through torch autograd."""
    from classicnets.data import load_dataset
    from classicnets.runs.scratch import build_network, flattened, standardise

    full = load_dataset(config.data, "train")
    test = load_dataset(config.data, "test")
    train, val = full.validation_split(config.val_split)
    (xt, yt), (xv, yv), (xs, ys) = map(flattened, (train, val, test))
    xt, xv, xs = standardise(xt, xv, xs)
    hand = build_network(config, xt.shape[1], full.num_classes)  # for its initial weights
    widths = [xt.shape[1], *config.widths(), full.num_classes]
    layers = []
    for i in range(len(widths) - 1):
        layers += [nn.Linear(widths[i], widths[i + 1]), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    linears = [m for m in net if isinstance(m, nn.Linear)]
    weights = [layer for layer in hand.layers if "W" in layer.params]
    with torch.no_grad():
        for torch_layer, own in zip(linears, weights, strict=True):
            torch_layer.weight.copy_(own.params["W"])
            torch_layer.bias.copy_(own.params["b"])
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr or 0.01, momentum=0.9)
    generator = torch.Generator().manual_seed(config.seed)
    best, best_state, started = -1.0, None, time.perf_counter()
    for _ in range(config.epochs):
        order = torch.randperm(len(xt), generator=generator)
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = nn.functional.cross_entropy(net(xt[batch]), yt[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            val_accuracy = float((net(xv).argmax(1) == yv).float().mean())
        if val_accuracy > best:
            best, best_state = val_accuracy, {k: v.clone() for k, v in net.state_dict().items()}
    seconds = time.perf_counter() - started
    net.load_state_dict(best_state)
    with torch.no_grad():
        test_accuracy = float((net(xs).argmax(1) == ys).float().mean())
    return {"val_accuracy": best, "test_accuracy": test_accuracy, "train_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", default="128,64")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--out", default=str(RESULTS / "scratch_mnist.json"))
    args = parser.parse_args()
    config = ScratchConfig(
        data="mnist", hidden=args.hidden, activation="relu", optimizer="momentum", lr=args.lr,
        epochs=args.epochs, batch_size=64,
    )  # fmt: skip
    hand = run_scratch(config, on_epoch=lambda r: print(
        f"hand-written epoch {r.epoch}: val {r.val_accuracy:.4f} ({r.seconds:.1f} s)"))  # fmt: skip
    twin = autograd_twin(config)
    result = {
        "benchmark": "scratch_mnist",
        "command": "python benchmarks/scratch_mnist.py",
        "machine": machine(),
        "hand_written": {
            k: hand[k]
            for k in (
                "config",
                "layers",
                "parameters",
                "best_epoch",
                "val_accuracy",
                "test_accuracy",
                "train_seconds",
                "updates",
                "history",
            )
        },  # fmt: skip
        "autograd": twin,
        "seconds_ratio_hand_over_autograd": round(hand["train_seconds"] / twin["train_seconds"], 3),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"hand-written: test {hand['test_accuracy']:.4f} in {hand['train_seconds']:.1f} s; "
        f"autograd twin: test {twin['test_accuracy']:.4f} in {twin['train_seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
