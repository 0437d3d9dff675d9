"""Fashion-MNIST with both LeNet-5 variants for 10 epochs: validation accuracy per epoch, then
the test accuracy of the final weights, scored once.

The validation split is a fixed, stratified 10 % of the training set (6,000 images; the models
train on the other 54,000); nothing is chosen on it here: the test score is of the last epoch.
Targets (issue 2): lenet5_relu >= 90 % and lenet5 (sigmoid, average pooling) >= 85 % within
10 epochs. Run: CLASSICNETS_DATA=../shared/data python benchmarks/fashion_lenet.py
Writes benchmarks/results/fashion_lenet.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

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
    train, val = cn.load_dataset("fashion-mnist", "train").validation_split(0.1)
    test = cn.load_dataset("fashion-mnist", "test")
    runs = []
    for name, optimizer, lr in RUNS:
        began = time.perf_counter()
        model = cn.Model(cn.create_model(name, seed=args.seed), device="cpu")
        model.compile(optimizer=optimizer, lr=lr, schedule=args.schedule)
        history = model.fit(
            train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=val,
            seed=args.seed,
        )
        test_accuracy = model.evaluate(test)["accuracy"]  # once, after the last epoch
        runs.append(
            {
                "model": name,
                "optimizer": optimizer,
                "lr": lr,
                "val_accuracy_per_epoch": history["val_accuracy"],
                "test_accuracy": test_accuracy,
                "seconds": time.perf_counter() - began,
            }
        )
        print(f"{name:12s} test {test_accuracy:.4f}  ({runs[-1]['seconds']:.0f} s)")
    result = {
        "benchmark": "fashion_lenet",
        "command": "python benchmarks/fashion_lenet.py",
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "splits": {"train": len(train), "validation": len(val), "test": len(test)},
        "machine": machine(),
        "runs": runs,
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
