"""The efficiency frontier's accuracy: every registered image model trained on CIFAR-10 for the
same fixed CPU budget, then its test accuracy beside its parameters and MACs.

Every model trains at its CIFAR-10 form (3x32x32, or upsampled to the smallest side it takes:
AlexNet 65-67) with its default recipe (``classicnets recipes MODEL --data cifar10``: optimizer,
rate, batch) and the precision ``auto`` picks, on all 45,000 training images (validation carved
from train as ``classicnets train`` carves it). The rate follows one cycle laid over the budget,
so every run ends at a small rate however few steps it took.

The budget is ``--cpu-seconds`` of this process's CPU time (both torch threads together; ~half
as many wall seconds on an idle 2-core machine), so a model trained while something else ran
got the same compute. Training stops at the first batch past it; the table reports the
fractional epochs reached. That is the frontier *at this budget*: light nets train for
epochs, the largest see a few hundred images, and nothing is extrapolated. The kept weights
are the best on the first ``--val`` validation images among the epoch ends and the budget's
end; the test accuracy is theirs on the first ``--test`` test images, measured once.

Run (2-core CPU, about an hour for the 79 models):
    CLASSICNETS_DATA=../shared/data python benchmarks/frontier_accuracy.py
Smoke:
    CLASSICNETS_DATA=../shared/data python benchmarks/frontier_accuracy.py --cpu-seconds 2 \
        --models lenet5,mobilenet_v2 --out /tmp/frontier_smoke.json
Writes benchmarks/results/frontier_accuracy.json, .md and .png (accuracy against MACs, marker
area = parameters, the light-weight nets in colour). Rows of models not run this time are kept
(each row records its settings and machine); ``--fresh`` starts a new file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from _budget import CLOCKS, KeepBest, OneCycleOverBudget, TimeBudget
from _machine import machine

import classicnets as cn
from classicnets.models import list_models, model_info
from classicnets.runs import ImageRunConfig
from classicnets.runs.image import build_for_data, load_splits
from classicnets.train import Model

RESULTS = Path(__file__).parent / "results"
LIGHT = {"SqueezeNet", "MobileNet", "ShuffleNet", "GhostNet", "EfficientNet"}


def image_models() -> list[str]:
    return [n for n in list_models() if "sequence" not in model_info(n).tags]


def run_one(name: str, splits, args: argparse.Namespace) -> dict:
    """Train ``name`` for the budget on the loaded CIFAR-10 splits; returns the table row."""
    config, chosen = ImageRunConfig(model=name, data="cifar10", seed=args.seed).with_recipe()
    info = model_info(name)
    size = max(32, info.min_image_size)
    module, size, notes = build_for_data(name, splits.train, size, {}, config.seed)
    train, val, test = (part.resized(size) for part in (splits.train, splits.val, splits.test))
    model = Model(module)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    model.compile(**config.compile_options(steps_per_epoch))
    clock = CLOCKS[args.clock]
    budget, keep = TimeBudget(args.cpu_seconds, clock), KeepBest()
    cycle = OneCycleOverBudget(args.cpu_seconds, args.max_epochs * steps_per_epoch, clock=clock)
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(
        train,
        epochs=args.max_epochs,
        batch_size=config.batch_size,
        seed=config.seed,
        callbacks=[budget, keep, cycle],
        validation_data=val,
        augment=config.augment,
    )
    train_wall, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
    if model.position[1] or keep.state is None:  # stopped mid-epoch: the end is a candidate
        keep.offer(model.evaluate(val)["accuracy"], round(budget.steps / steps_per_epoch, 3))
    model.module.load_state_dict(keep.state)
    final = model.evaluate(test)  # once, on the weights validation chose
    shape = (3, size, size)
    counted = cn.summary(name, shape, num_classes=10)
    return {
        "model": name,
        "family": info.family,
        "year": info.year,
        "image_size": size,
        "params": counted.total_params,
        "macs": counted.total_macs,
        "test_accuracy": round(final["accuracy"], 4),
        "val_accuracy": round(keep.best, 4),
        "chosen_at_epoch": keep.epoch,
        "epochs": round(budget.steps / steps_per_epoch, 3),
        "images_trained": budget.steps * config.batch_size,
        "train_cpu_seconds": round(train_cpu, 1),
        "train_wall_seconds": round(train_wall, 1),
        "recipe": chosen.line(),
        "optimizer": config.optimizer,
        "lr": config.lr,
        "batch_size": config.batch_size,
        "precision": model.config.precision,
        "notes": notes,
        "settings": {
            "command": "python benchmarks/frontier_accuracy.py " + " ".join(sys.argv[1:]),
            "cpu_seconds": args.cpu_seconds,
            "clock": args.clock,
            "train_examples": len(train),
            "val_examples": len(val),
            "test_examples": len(test),
            "seed": args.seed,
            "torch_threads": torch.get_num_threads(),
        },
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def plot(rows: list[dict], path: Path, budget: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 6.5))
    for light in (False, True):
        part = [r for r in rows if (r["family"] in LIGHT) == light]
        ax.scatter(
            [r["macs"] / 1e6 for r in part],
            [r["test_accuracy"] for r in part],
            s=[max(8, r["params"] / 2e5) for r in part],
            alpha=0.55,
            color="tab:orange" if light else "tab:blue",
            label="light-weight nets" if light else "the others",
        )
        for r in part:
            xy = (r["macs"] / 1e6, r["test_accuracy"])
            ax.annotate(r["model"], xy, fontsize=6, alpha=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("MACs per image at the CIFAR-10 form (millions, log)")
    ax.set_ylabel("CIFAR-10 test accuracy after the budget")
    ax.set_title(f"Accuracy after {budget} of training on this CPU (marker area: parameters)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=None, help="comma-separated (default: all image)")
    parser.add_argument("--cpu-seconds", type=float, default=60.0, help="budget per model")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument("--max-epochs", type=int, default=30, help="the cycle's length cap")
    parser.add_argument("--val", type=int, default=1000, help="validation images scored")
    parser.add_argument("--test", type=int, default=2000, help="test images scored, once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "frontier_accuracy.json"))
    parser.add_argument("--fresh", action="store_true", help="drop the rows of earlier runs")
    args = parser.parse_args()
    names = args.models.split(",") if args.models else image_models()
    unknown = [n for n in names if n not in image_models()]
    if unknown:
        parser.error(f"not registered image models: {', '.join(unknown)}")
    from _report import frontier_accuracy as markdown

    base = load_splits(ImageRunConfig(model=names[0], data="cifar10"))
    splits = type(base)(
        base.train, base.val.subset(slice(0, args.val)), base.test.subset(slice(0, args.test))
    )
    out = Path(args.out)
    kept = {}
    if out.is_file() and not args.fresh:
        kept = {row["model"]: row for row in json.loads(out.read_text())["rows"]}
    budget = f"{args.cpu_seconds:g} {args.clock} seconds"
    for name in names:
        row = run_one(name, splits, args)
        kept[name] = row
        print(
            f"{name:22s} {row['test_accuracy']:.4f}  ({row['epochs']:g} epochs, "
            f"{row['train_wall_seconds']:.0f} s wall)",
            file=sys.stderr,
            flush=True,
        )
        rows = sorted(kept.values(), key=lambda r: r["model"])
        result = {"benchmark": "frontier_accuracy", "budget": budget, "rows": rows}
        out.write_text(json.dumps(result, indent=2) + "\n")  # after every model: a cut run keeps
        out.with_suffix(".md").write_text(markdown(result))
    plot(sorted(kept.values(), key=lambda r: r["model"]), out.with_suffix(".png"), budget)


if __name__ == "__main__":
    main()
