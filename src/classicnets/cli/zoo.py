"""CLI commands ``summary`` and ``models``: the model zoo's layers, parameters and MACs."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from ..analysis import human, summary
from ..errors import ClassicnetsError
from ..models import list_models, model_info, small_input_note
from .common import emit_json, stderr
from .ops import parse_input_size


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("summary", help="a model's layers: output shapes, parameters and MACs")
    p.add_argument("model", help="a registered model name (see `classicnets models`)")
    p.add_argument(
        "--input",
        default=None,
        metavar="CxHxW",
        help="default: the model's own; a language model takes a number of tokens, e.g. 256",
    )
    p.add_argument(
        "--num-classes", type=int, default=None, metavar="N", help="default: the model's own"
    )
    p.add_argument("--depth", type=int, default=None, metavar="N", help="default: every layer")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("models", help="the registered models with parameters and MACs")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "recipes",
        help="the default recipes: the whole table, or what a model gets on a dataset",
    )
    p.add_argument("model", nargs="?", default=None, help="a registered model (default: all)")
    p.add_argument("--data", default="digits", help="a dataset, or text (default: digits)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_recipes)


def cmd_summary(args: argparse.Namespace) -> int:
    info = model_info(args.model)
    if args.input is None:
        size = info.input_size
    elif "sequence" in info.tags and args.input.strip().isdigit():
        if int(args.input) < 1:
            raise ClassicnetsError(
                f"--input must be a positive number of tokens, got {args.input}."
            )
        size = (1, 1, int(args.input))  # T tokens
    else:
        size = parse_input_size(args.input)
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
    note = None if "sequence" in info.tags else small_input_note(args.model, size[-1])
    if args.json:
        print(json.dumps({**result.to_json(), "note": note}, indent=2))
        return 0
    Console(highlight=False).print(result)
    if note:
        stderr().print(f"[yellow]note:[/] {note}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    rows = []
    for name in list_models():
        info = model_info(name)
        params, macs = _native_counts(name)
        rows.append(
            {
                "name": name,
                "family": info.family,
                "year": info.year,
                "paper": info.paper,
                "input": list(info.input_size),
                "params": params,
                "macs": macs,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    cells = [
        [
            row["name"],
            row["family"],
            str(row["year"] or ""),
            f"{row['input'][-1]} tokens"
            if "sequence" in model_info(row["name"]).tags
            else "x".join(map(str, row["input"])),
            f"{row['params']:,}",
            human(row["macs"]),
            row["paper"],
        ]
        for row in rows
    ]
    headers = ("name", "family", "year", "input", "params", "MACs", "paper")
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    console = Console(highlight=False)
    # The paper gets what the other columns leave of the terminal (3 per column: padding and
    # border), cut with an ellipsis; on a narrow terminal it is left out (--json has it).
    widths[-1] = min(widths[-1], console.width - sum(w + 3 for w in widths[:-1]) - 4)
    shown = len(headers) if widths[-1] >= 20 else len(headers) - 1
    table = Table(title="classicnets models (params and MACs at the native input size)")
    for header, width in zip(headers[:shown], widths, strict=False):
        justify = "right" if header in ("params", "MACs") else "left"
        table.add_column(header, justify=justify, no_wrap=True, min_width=width, max_width=width)
    for row_cells in cells:
        paper = row_cells[-1]
        if len(paper) > widths[-1]:
            row_cells[-1] = paper[: widths[-1] - 1] + "…"
        table.add_row(*row_cells[:shown])
    console.print(table)
    return 0


def _native_counts(name: str) -> tuple[int, int]:
    """Parameters and MACs with the model's defaults, on the meta device (so even VGG-19 costs
    milliseconds); a language model is counted on its native sequence length."""
    result = summary(name, depth=1)
    return result.total_params, result.total_macs


def cmd_recipes(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..runs.recipe_table import RECIPES
    from ..runs.recipes import recipe_for

    if args.model is not None:
        chosen = recipe_for(args.model, args.data)
        if args.json:
            emit_json(
                {"row": list(chosen.row), "fallback": chosen.fallback, **asdict(chosen.recipe)}
            )
        else:
            Console(highlight=False).print(chosen.line(), soft_wrap=False)
            if chosen.recipe.measured:
                Console(highlight=False).print(f"measured by: {chosen.recipe.measured}")
        return 0
    if args.json:
        emit_json([{"row": list(key), **asdict(recipe)} for key, recipe in RECIPES.items()])
        return 0
    table = Table(title="default recipes (model or family, data family)")
    for column in ("row", "recipe", "measured"):
        table.add_column(column, overflow="fold")
    for (key, family), recipe in RECIPES.items():
        table.add_row(f"{key}/{family}", recipe.describe(), recipe.found or recipe.measured)
    Console(highlight=False).print(table)
    return 0
