"""The ``classicnets`` command line: a thin front end that parses flags and calls the library.

Each command family lives in its own ``cli_*.py`` module exposing ``add_commands(subparsers)``;
a handler takes the parsed ``argparse.Namespace`` and returns an exit code. Errors a user can
cause are :class:`~classicnets.errors.ClassicnetsError`: printed as one sentence, exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from .. import __version__
from ..errors import ClassicnetsError

COMMAND_MODULES = ("train", "ops", "zoo", "text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classicnets",
        description="The classic neural networks of deep-learning courses: explained, "
        "reproduced and trained in minutes.",
    )
    parser.add_argument("--version", action="version", version=f"classicnets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"classicnets.cli.{name}").add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if not argv else 2
    try:
        return int(args.func(args) or 0)
    except ClassicnetsError as err:
        Console(stderr=True).print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        Console(stderr=True).print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
