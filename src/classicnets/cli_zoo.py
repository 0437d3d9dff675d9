"""CLI commands ``summary`` and ``models``: the model zoo's layers, parameters and MACs."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from .cli_ops import parse_input_size
from .errors import ClassicnetsError
from .models import list_models, model_info
from .summary import Summary, human, summary


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="a model's layers: output shapes, parameters and MACs")
    p.add_argument("model", help="a registered model name (see `classicnets models`)")
    p.add_argument("--input", default=None, metavar="CxHxW", help="default: the model's own")
    p.add_argument(
        "--num-classes", type=int, default=None, metavar="N", help="default: the model's own"
    )
    p.add_argument("--depth", type=int, default=None, metavar="N", help="default: every layer")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("models", help="the registered models with parameters and MACs")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_models)


def cmd_summary(args: argparse.Namespace) -> int:
    info = model_info(args.model)
    size = info.input_size if args.input is None else parse_input_size(args.input)
    kwargs = {}
    if args.num_classes is not None:
        if args.num_classes < 1:
            raise ClassicnetsError(
                f"--num-classes must be a positive integer, got {args.num_classes}."
            )
        kwargs["num_classes"] = args.num_classes
    if args.depth is not None and args.depth < 1:
        raise ClassicnetsError(f"--depth must be a positive integer, got {args.depth}.")
    result = summary(args.model, size, args.depth, **kwargs)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        Console(highlight=False).print(result)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    rows = []
    for name in list_models():
        info = model_info(name)
        stats = _native_summary(name)
        rows.append(
            {
                "name": name,
                "family": info.family,
                "year": info.year,
                "paper": info.paper,
                "input": list(info.input_size),
                "params": stats.total_params if stats else None,
                "macs": stats.total_macs if stats else None,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="classicnets models (params and MACs at the native input size)")
    for column in ("name", "family", "year", "input", "params", "MACs", "paper"):
        table.add_column(column, justify="right" if column in ("params", "MACs") else "left")
    for row in rows:
        table.add_row(
            row["name"],
            row["family"],
            str(row["year"] or ""),
            "x".join(map(str, row["input"])),
            "?" if row["params"] is None else f"{row['params']:,}",
            "?" if row["macs"] is None else human(row["macs"]),
            row["paper"],
        )
    Console(highlight=False).print(table)
    return 0


def _native_summary(name: str) -> Summary | None:
    # Built and run on the meta device, so even VGG-19 costs milliseconds. A model that cannot
    # run on an image of its registered input size (a sequence model) gets no numbers.
    try:
        return summary(name, depth=1)
    except (ClassicnetsError, RuntimeError, TypeError, ValueError):
        return None
