"""Measure a default recipe: train one model on one dataset with every candidate recipe of a
grid, through the same run pipeline as ``classicnets train``, and keep the one that reaches the
best validation accuracy soonest: the fastest of those within one standard error of the best
(the one-standard-error rule of Breiman et al.: closer than that, validation cannot tell two
recipes apart; sqrt(p (1 - p) / n) for an accuracy p on n validation images, 0.13 points for
99 % on MNIST's 6,000). For a language model, within ``--tolerance`` nats of the best loss.

Only the validation split chooses; each candidate's test accuracy is recorded beside it, but
never looked at to choose. The chosen row goes into ``src/classicnets/runs/recipes.py`` by
hand, with this command beside it.

Run, e.g.:
    CLASSICNETS_DATA=../shared/data python benchmarks/recipes.py --model lenet5_relu \\
        --data mnist --optimizers adam --lrs 1e-3,3e-3,1e-2 --batch-sizes 64,128,256 \\
        --epochs 2,3,4 --schedules onecycle
Writes benchmarks/results/recipes/MODEL-DATA.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

from _machine import machine

from classicnets.runs import ImageRunConfig, TextRunConfig, config_for_model, train

RESULTS = Path(__file__).parent / "results" / "recipes"


def numbers(text: str, kind=float) -> list:
    return [kind(v) for v in text.split(",") if v]


def candidates(args) -> list[dict]:
    if args.pairs:  # optimizer:rate pairs instead of every optimizer at every rate
        methods = [(o, float(lr)) for o, lr in (p.split(":") for p in args.pairs.split(","))]
    else:
        methods = list(itertools.product(args.optimizers.split(","), numbers(args.lrs)))
    grid = itertools.product(
        methods,
        numbers(args.batch_sizes, int),
        numbers(args.epochs, int),
        args.schedules.split(","),
    )
    return [
        {"optimizer": o, "lr": lr, "batch_size": b, "epochs": e, "schedule": s}
        for (o, lr), b, e, s in grid
    ]


def run(args, recipe: dict, folder: Path) -> dict:
    cls = config_for_model(args.model)
    extra = {}
    if cls is ImageRunConfig:
        extra = {"augment": args.augment, "label_smoothing": args.label_smoothing}
        if args.limit:
            extra["limit"] = args.limit
    config = cls(
        model=args.model,
        data=args.data,
        seed=args.seed,
        weight_decay=args.weight_decay,
        precision=args.precision,
        save_every="epoch",
        out=str(folder / f"run-{time.perf_counter_ns()}"),
        **recipe,
        **extra,
    )
    began = time.perf_counter()
    result = train(config, progress=False)
    seconds = time.perf_counter() - began
    monitor = "val_loss" if isinstance(config, TextRunConfig) else "val_accuracy"
    return {
        **recipe,
        "seconds": round(seconds, 2),
        "best_epoch": result.best_epoch,
        monitor: result.validation.get(monitor),
        "test": {k: v for k, v in result.test.items() if isinstance(v, float)},
    }


def tolerance_for(rows: list[dict], monitor: str, val_examples: int, fixed: float) -> float:
    """One standard error of the best validation accuracy (with the plus-four correction,
    (k + 2) / (n + 4), so that a perfect score on a small split still has one); ``fixed`` for
    a loss."""
    if monitor == "val_loss":
        return fixed
    best = max(r[monitor] for r in rows)
    p = (best * val_examples + 2) / (val_examples + 4)
    return (p * (1 - p) / val_examples) ** 0.5


def choose(rows: list[dict], monitor: str, tolerance: float) -> dict:
    """The fastest row within ``tolerance`` of the best validation value."""
    sign = -1 if monitor == "val_loss" else 1
    best = max(sign * r[monitor] for r in rows)
    good = [r for r in rows if sign * r[monitor] >= best - tolerance]
    return min(good, key=lambda r: r["seconds"])


def validation_examples(args) -> int:
    from classicnets.runs.image import load_splits

    if config_for_model(args.model) is TextRunConfig:
        return 0
    config = ImageRunConfig(model=args.model, data=args.data, limit=args.limit)
    return len(load_splits(config).val)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--optimizers", default="adam")
    parser.add_argument("--lrs", default="1e-3,3e-3")
    parser.add_argument(
        "--pairs", default=None, help="optimizer:rate pairs, e.g. adam:1e-3,momentum:0.05 "
        "(instead of --optimizers x --lrs)",
    )  # fmt: skip
    parser.add_argument("--batch-sizes", default="64,128")
    parser.add_argument("--epochs", default="3")
    parser.add_argument("--schedules", default="onecycle")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--augment", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--tolerance", type=float, default=0.01, help="nats, for text")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--again", action="store_true", help="choose again among the candidates already measured"
    )
    args = parser.parse_args()
    monitor = "val_loss" if config_for_model(args.model) is TextRunConfig else "val_accuracy"
    path = RESULTS / f"{args.model}-{args.data}.json"
    if args.again:
        rows = json.loads(path.read_text())["candidates"]
    else:
        rows = []
        with tempfile.TemporaryDirectory() as folder:
            for recipe in candidates(args):
                rows.append(run(args, recipe, Path(folder)))
                row = rows[-1]
                print(f"{recipe}  {monitor} {row[monitor]:.4f}  {row['seconds']:.1f} s", flush=True)
    examples = validation_examples(args)
    tolerance = tolerance_for(rows, monitor, examples, args.tolerance)
    chosen = choose(rows, monitor, tolerance)
    print(f"chosen: {chosen}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    flags = " ".join(
        f"--{k.replace('_', '-')} {v}"
        for k, v in vars(args).items()
        if v is not None
        and k not in ("again",)
        and not (args.pairs and k in ("optimizers", "lrs"))  # --pairs replaces them
    )
    result = {
        "benchmark": "recipes",
        "command": f"python benchmarks/recipes.py {flags}",
        "rule": f"the fastest candidate within {tolerance:.5f} of the best {monitor} (one "
        f"standard error on {examples:,} validation examples)"
        if monitor == "val_accuracy"
        else f"the fastest candidate within {tolerance} nats of the best {monitor}",
        "machine": machine(),
        "chosen": chosen,
        "candidates": rows,
        "date": time.strftime("%Y-%m-%d"),
    }
    path.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
