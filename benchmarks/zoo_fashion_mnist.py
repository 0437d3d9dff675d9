"""The classic CNNs on Fashion-MNIST, each with its default recipe, beside the test accuracies
Dive into Deep Learning (d2l) publishes after 10 epochs.

Every model trains as ``classicnets train MODEL --data fashion-mnist`` would: its recipe
(``classicnets recipes MODEL --data fashion-mnist``: optimizer, rate, batch, schedule, epochs),
the precision ``auto`` picks, and the data's own 28x28 pixels wherever the architecture takes
them (LeNet, NiN, GoogLeNet, ResNet and DenseNet use their small-input forms); the others are
upsampled to the smallest multiple of 32 they take (VGG 32, AlexNet 96). d2l instead resizes
to 224 (AlexNet, VGG, NiN) or 96 (GoogLeNet, ResNet, DenseNet) and trains slimmer variants (a
VGG-11 with a quarter of the channels, a four-block DenseNet) on a GPU; the ``d2l px`` column
says which.

On a CPU ten epochs of the large networks take hours, so ``--seconds`` gives each model a time
budget: training stops at the first batch past it, and the table reports the (fractional)
epochs actually trained. The models train on 54,000 training images; the weights kept are the
best on the fixed, stratified 6,000 of validation among the epoch ends and the budget's end, and
the test accuracy is theirs on the whole test set (unless ``--limit``), measured once.

``--onecycle`` replaces the constant rate by a one-cycle schedule laid over the epochs or, when
the budget ends training first, over the budget: a short run then still ends at a small rate.

Run (a GPU, the full 10 epochs):
    CLASSICNETS_DATA=../shared/data python benchmarks/zoo_fashion_mnist.py --onecycle
Run (a 2-core CPU, about 55 minutes: 7 minutes of training per model, then its test):
    CLASSICNETS_DATA=../shared/data python benchmarks/zoo_fashion_mnist.py --seconds 420 \
        --onecycle --fresh
Smoke (about a minute):
    CLASSICNETS_DATA=../shared/data python benchmarks/zoo_fashion_mnist.py --epochs 1 \
        --limit 256 --out /tmp/zoo_smoke.json
Writes benchmarks/results/zoo_fashion_mnist.json and .md. Results for models not run this time
are kept from the previous file (each row records its own settings and machine); ``--fresh``
starts a new file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from _budget import KeepBest, OneCycleOverBudget, TimeBudget
from _machine import machine

from classicnets.runs import ImageRunConfig
from classicnets.runs.image import build_for_data, load_splits
from classicnets.train import Callback, Model

RESULTS = Path(__file__).parent / "results"
# d2l (PyTorch edition, chapters 7-8): test accuracy after 10 epochs on Fashion-MNIST, and the
# image side it trains at. Keys are our registry names of the corresponding networks.
D2L = {
    "lenet5": ("LeNet", 0.800, 28),
    "alexnet": ("AlexNet", 0.882, 224),
    "vgg11": ("VGG-11", 0.921, 224),
    "nin": ("NiN", 0.867, 224),
    "googlenet": ("GoogLeNet", 0.887, 96),
    "resnet18": ("ResNet-18", 0.898, 96),
    "densenet121": ("DenseNet", 0.890, 96),
}

_ORDER = {name: i for i, name in enumerate(D2L)}  # the table's rows in d2l's order, then others


def run_one(name: str, args: argparse.Namespace) -> dict:
    """Train ``name`` on Fashion-MNIST as the options say; returns the table row."""
    given = {"batch_size": args.batch_size, "epochs": args.epochs}
    config, chosen = ImageRunConfig(
        model=name,
        data="fashion-mnist",
        image_size=args.image_size,
        limit=args.limit,
        seed=args.seed,
        precision=args.precision,
        **{k: v for k, v in given.items() if v is not None},
    ).with_recipe()
    splits = load_splits(config)  # 54,000 to train on, a fixed stratified 6,000 to validate
    module, size, notes = build_for_data(name, splits.train, config.image_size, {}, config.seed)
    splits = splits.map(lambda part: part.resized(size))
    train, val, test = splits.train, splits.val, splits.test
    model = Model(module, device=args.device)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    model.compile(**config.compile_options(steps_per_epoch))
    budget, keep = TimeBudget(args.seconds), KeepBest()
    callbacks: list[Callback] = [budget, keep]
    if args.onecycle:
        callbacks.append(OneCycleOverBudget(args.seconds, config.epochs * steps_per_epoch))
    began = time.perf_counter()
    model.fit(
        train,
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=config.seed,
        callbacks=callbacks,
        validation_data=val,
        augment=config.augment,
    )
    train_seconds = time.perf_counter() - began
    if model.position[1]:  # the budget ended training mid-epoch: its weights are a candidate
        keep.offer(model.evaluate(val)["accuracy"], round(budget.steps / steps_per_epoch, 3))
    model.module.load_state_dict(keep.state)
    final = model.evaluate(test)  # once, on the weights validation chose
    d2l_name, d2l_accuracy, d2l_size = D2L.get(name, (None, None, None))
    return {
        "model": name,
        "test_accuracy": round(final["accuracy"], 4),
        "val_accuracy": round(keep.best, 4),
        "chosen_at_epoch": keep.epoch,
        "epochs": round(budget.steps / steps_per_epoch, 3),
        "stopped_by_time_budget": budget.steps < config.epochs * steps_per_epoch,
        "train_seconds": round(train_seconds, 1),
        "seconds": round(time.perf_counter() - began, 1),  # training, validation and the test
        "image_size": size,
        "recipe": chosen.line(),
        "optimizer": config.optimizer,
        "lr": config.lr,
        "schedule": "onecycle over the budget" if args.onecycle else config.schedule,
        "batch_size": config.batch_size,
        "precision": model.config.precision,
        "train_examples": len(train),
        "val_examples": len(val),
        "test_examples": len(test),
        "params": sum(p.numel() for p in module.parameters()),
        "notes": notes,
        "d2l": {"name": d2l_name, "test_accuracy": d2l_accuracy, "image_size": d2l_size},
        "settings": {
            "command": "python benchmarks/zoo_fashion_mnist.py " + " ".join(sys.argv[1:]),
            "epochs": config.epochs,
            "seconds": args.seconds,
            "onecycle": args.onecycle,
            "limit": args.limit,
            "seed": args.seed,
            "device": str(model.device),
            "torch_threads": torch.get_num_threads(),
        },
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def markdown(rows: list[dict]) -> str:
    """The results as a Markdown table, one row per model, d2l's numbers beside ours."""
    lines = [
        "# Classic CNNs on Fashion-MNIST",
        "",
        "Written by `benchmarks/zoo_fashion_mnist.py` (settings in its docstring). `epochs`: the",
        "epochs actually trained (fractional when the time budget stopped training mid-epoch);",
        "d2l: 10 epochs at `d2l px` on a GPU, with slimmer VGG and DenseNet variants.",
        "",
        "| model | test acc | d2l (10 epochs) | validation (kept) | epochs | px | d2l px | "
        "optimizer, lr, batch | seconds | train/val/test images | device |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        d2l = r["d2l"]
        theirs = f"{d2l['test_accuracy']:.3f} ({d2l['name']})" if d2l["name"] else "—"
        budget = " (time budget)" if r["stopped_by_time_budget"] else ""
        kept = "—"
        if "val_accuracy" in r:
            kept = f"{r['val_accuracy']:.4f} (epoch {r['chosen_at_epoch']:g})"
        where = (
            r["machine"]["gpu"]
            or f"{r['machine']['cpu']}, {r['settings']['torch_threads']} threads"
        )
        lines.append(
            f"| {r['model']} | {r['test_accuracy']:.4f} | {theirs} | {kept} "
            f"| {r['epochs']:g}{budget} "
            f"| {r['image_size']} | {d2l['image_size'] or '—'} | {r['optimizer']} {r['lr']:g}"
            f"{' one-cycle' if r.get('schedule', 'constant') != 'constant' else ''}, "
            f"{r['batch_size']} "
            f"| {r['seconds']:.0f} | {r['train_examples']:,}/{r.get('val_examples', 0):,}/"
            f"{r['test_examples']:,} "
            f"| {where} |"
        )
    dates = sorted({r["date"] for r in rows})
    lines += ["", f"Run on {', '.join(dates)}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(D2L), help="comma-separated registry names")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--seconds", type=float, default=None, help="time budget per model")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--precision", default="auto", help="default: auto, as the CLI's")
    parser.add_argument("--image-size", type=int, default=None, help="default: 28 or upsampled")
    parser.add_argument("--limit", type=int, default=None, help="first N train/test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(RESULTS / "zoo_fashion_mnist.json"))
    parser.add_argument(
        "--onecycle",
        action="store_true",
        help="one-cycle learning rate over the epochs or the time budget (default: constant)",
    )
    parser.add_argument("--fresh", action="store_true", help="drop the rows of earlier runs")
    args = parser.parse_args()
    out = Path(args.out)
    kept = {}
    if out.is_file() and not args.fresh:
        kept = {row["model"]: row for row in json.loads(out.read_text())["runs"]}
    for name in args.models.split(","):
        row = run_one(name, args)
        kept[name] = row
        print(
            f"{name:12s} {row['test_accuracy']:.4f}  ({row['epochs']:g} epochs, "
            f"{row['seconds']:.0f} s, {row['image_size']} px)",
            file=sys.stderr,
            flush=True,
        )
        rows = sorted(kept.values(), key=lambda r: _ORDER.get(r["model"], len(_ORDER)))
        result = {"benchmark": "zoo_fashion_mnist", "runs": rows}
        # written after every model, so a long run interrupted keeps what it finished
        out.write_text(json.dumps(result, indent=2) + "\n")
        out.with_suffix(".md").write_text(markdown(rows))


if __name__ == "__main__":
    main()
