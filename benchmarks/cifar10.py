"""CIFAR-10 on this machine: our small fast network (``cifar_fast``) within a time budget,
accuracy against time, and the course report's runs (VGG-11 and ResNet-18, small-input forms,
4 epochs each) with accuracy per epoch.

The models train on 45,000 images; a fixed, stratified 10 % of the training set (5,000) is the
validation split scored after every epoch; the test split (10,000) is scored once, after the
last epoch (nothing is chosen on it).

Run: CLASSICNETS_DATA=../shared/data python benchmarks/cifar10.py [--epochs N] [--limit N]
writes benchmarks/results/cifar10.json (the fast network); with ``--course`` it runs only the
course report's VGG-11 and ResNet-18 and writes benchmarks/results/cifar10_course.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _machine import machine

import classicnets as cn
from classicnets.train import Callback

RESULTS = Path(__file__).parent / "results"


class Timeline(Callback):
    """Validation accuracy against wall-clock seconds since the start of training, per epoch."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.points: list[dict] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.points.append(
            {
                "epoch": epoch + 1,
                "seconds": round(time.perf_counter() - self.started, 1),
                "val_accuracy": logs.get("val_accuracy"),
                "train_loss": logs["loss"],
            }
        )
        print(
            f"  epoch {epoch + 1}: {logs.get('val_accuracy', 0):.4f}",
            f"at {self.points[-1]['seconds']} s",
        )


def run(
    name,
    train,
    val,
    test,
    *,
    epochs,
    batch_size,
    optimizer,
    lr,
    schedule,
    augment,
    label_smoothing=0.0,
    weight_decay=0.0,
    model_kwargs=None,
    tta=False,
    seed=0,
) -> dict:
    began = time.perf_counter()
    module = cn.create_model(
        name, num_classes=10, in_channels=3, image_size=32, seed=seed, **(model_kwargs or {})
    )
    model = cn.Model(module, device="auto")
    model.compile(
        optimizer=optimizer,
        lr=lr,
        schedule=schedule,
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
        channels_last=True,
    )
    timeline = Timeline(began)
    model.fit(
        train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=val,
        callbacks=[timeline],
        augment=augment,
        seed=seed,
    )
    final = model.evaluate(test, tta=tta)  # once, after the last epoch: nothing chosen on it
    return {
        "model": name,
        "model_kwargs": model_kwargs or {},
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": optimizer,
        "lr": lr,
        "schedule": schedule,
        "augment": augment,
        "label_smoothing": label_smoothing,
        "weight_decay": weight_decay,
        "test_accuracy": final["accuracy"],
        "tta": tta,
        "seconds": round(time.perf_counter() - began, 1),
        "per_epoch": timeline.points,
    }


def _flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The command-line flags that reproduce this run (defaults left out)."""
    flags = []
    for key, value in vars(args).items():
        if key == "out" or value == parser.get_default(key):
            continue
        if args.course and key in ("epochs", "widths"):  # the fast network's, unused
            continue
        flag = "--" + key.replace("_", "-")
        flags.append(flag if value is True else f"{flag} {value}")
    return flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12, help="epochs of the fast network")
    parser.add_argument("--widths", default="32,64,128")
    parser.add_argument("--course", action="store_true", help="run VGG-11 and ResNet-18 instead")
    parser.add_argument("--course-epochs", type=int, default=4)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    parser.add_argument("--out", default="", help="default: results/cifar10[_course].json")
    args = parser.parse_args()

    began = time.perf_counter()
    train, val = cn.load_dataset("cifar10", "train").validation_split(0.1)
    test = cn.load_dataset("cifar10", "test")
    load_seconds = time.perf_counter() - began
    if args.limit:
        train, val = train.subset(slice(0, args.limit)), val.subset(slice(0, args.limit))
    widths = tuple(int(w) for w in args.widths.split(","))
    runs = []
    if not args.course:
        print(f"cifar_fast {widths}, {args.epochs} epochs")
        runs.append(
            run(
                "cifar_fast",
                train,
                val,
                test,
                epochs=args.epochs,
                batch_size=256,
                optimizer="nesterov",
                lr=0.2,
                weight_decay=5e-4,
                schedule="onecycle",
                augment="crop,altflip",
                label_smoothing=0.2,
                model_kwargs={"widths": list(widths)},
                tta=True,
            )
        )
    else:
        for name in ("vgg11", "resnet18"):
            print(f"{name}, {args.course_epochs} epochs")
            runs.append(
                run(
                    name,
                    train,
                    val,
                    test,
                    epochs=args.course_epochs,
                    batch_size=128,
                    optimizer="momentum",
                    lr=0.05,
                    weight_decay=5e-4,
                    schedule="onecycle",
                    augment="crop,flip",
                )
            )
    result = {
        "benchmark": "cifar10",
        "command": " ".join(["python benchmarks/cifar10.py", *_flags(parser, args)]),
        "machine": machine(),
        "load_seconds": round(load_seconds, 1),
        "train_images": len(train),
        "validation_images": len(val),  # a fixed, stratified 10 % of the training set
        "test_images": len(test),
        "runs": runs,
        "date": time.strftime("%Y-%m-%d"),
    }
    out = Path(args.out or RESULTS / ("cifar10_course.json" if args.course else "cifar10.json"))
    out.write_text(json.dumps(result, indent=2) + "\n")
    for r in runs:
        print(f"{r['model']:12s} test {r['test_accuracy']:.4f} in {r['seconds']} s")


if __name__ == "__main__":
    main()
