"""CLI commands ``evaluate`` (a run's kept checkpoint on a split) and ``predict`` (the top
classes of image files)."""

from __future__ import annotations

import argparse

from rich.table import Table

from ..errors import ClassicnetsError
from ..runs import evaluate, load_run
from .common import emit_json, results_console


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a run (image or language model) on its test split, or another split or data",
        description="Score a run's kept checkpoint (best, else last) on the test split: the "
        "number `train` reported. RUN may also be one checkpoint (RUN/last) or a checkpoint "
        "saved from Python (give --data).",
    )
    p.add_argument("run", metavar="RUN", help="a run directory or a checkpoint")
    p.add_argument(
        "--split",
        default="test",
        choices=("test", "val", "train"),
        help="which part of the run's data (default: test)",
    )
    p.add_argument("--data", default=None, help="another dataset or text to score on")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="folder holding the data")
    p.add_argument("--tta", action="store_true", help="also score mirrored images (not for digits)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="the most likely classes of image files, with a run")
    p.add_argument("run", metavar="RUN", help="a run directory or a checkpoint")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=int, default=3, help="classes to show per image (default: 3)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_predict)


def cmd_evaluate(args: argparse.Namespace) -> int:
    results = evaluate(
        args.run,
        split=args.split,
        data=args.data,
        data_dir=args.data_dir,
        tta=args.tta,
        device=args.device,
    )
    if args.json:
        emit_json({"run": args.run, **results})
        return 0
    count = f"{results['tokens']:,} tokens" if "tokens" in results else (
        f"{results['examples']:,} images"
    )  # fmt: skip
    out = results_console(False)
    out.print(f"{results['data']} ({results['split']}, {count})", soft_wrap=True)
    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in results.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4f}")
    out.print(table)
    out.print(f"checkpoint: {results['checkpoint']}", soft_wrap=True)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from ..runs.kinds import KIND_WHAT, model_kind
    from ..runs.predict import predict_files

    if args.top < 1:
        raise ClassicnetsError(f"--top must be a whole number of at least 1, got {args.top}.")
    _, model = load_run(args.run, device=args.device)
    if model_kind(model) != "image":
        raise ClassicnetsError(
            f"{args.run} holds {KIND_WHAT[model_kind(model)]}; predict classifies images "
            "(use generate)."
        )
    results = predict_files(model, args.images, top=args.top)
    if args.json:
        emit_json(results)
        return 0
    out = results_console(False)
    for item in results:
        best = ", ".join(f"{c} {p:.1%}" for c, p in item["top"])
        out.print(f"{item['image']}: {best}", soft_wrap=True)
    return 0
