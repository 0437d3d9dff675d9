"""Fashion-MNIST with both LeNet-5 variants for 10 epochs: test accuracy per epoch.

Targets (issue 2): lenet5_relu >= 90 % and lenet5 (sigmoid, average pooling) >= 85 % within
10 epochs. Run: CLASSICNETS_DATA=../shared/data python benchmarks/fashion_lenet.py
Writes benchmarks/results/fashion_lenet.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from _machine import machine

import classicnets as cn

RESULTS = Path(__file__).parent / "results"
# (model, optimizer, learning rate): sigmoid LeNet needs a larger step than the ReLU one.
RUNS = (("lenet5_relu", "adam", 3e-3), ("lenet5", "adam", 1e-2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--schedule", default="onecycle")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "fashion_lenet.json"))
    args = parser.parse_args()
    train = cn.load_dataset("fashion-mnist", "train")
    test = cn.load_dataset("fashion-mnist", "test")
    runs = []
    for name, optimizer, lr in RUNS:
        began = time.perf_counter()
        torch.manual_seed(args.seed)
        model = cn.Model(cn.create_model(name), device="cpu")
        model.compile(optimizer=optimizer, lr=lr, schedule=args.schedule)
        history = model.fit(
            train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=test,
            seed=args.seed,
        )
        runs.append(
            {
                "model": name,
                "optimizer": optimizer,
                "lr": lr,
                "test_accuracy_per_epoch": history["val_accuracy"],
                "final_test_accuracy": history["val_accuracy"][-1],
                "seconds": time.perf_counter() - began,
            }
        )
        print(f"{name:12s} {history['val_accuracy'][-1]:.4f}  ({runs[-1]['seconds']:.0f} s)")
    result = {
        "benchmark": "fashion_lenet",
        "command": "python benchmarks/fashion_lenet.py",
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": machine(),
        "runs": runs,
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
