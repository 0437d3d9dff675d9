"""The ``classicnets`` command line: a thin front end that parses flags and calls the library.

Each command group lives in its own module exposing ``add_commands(subparsers)``; a handler
takes the parsed ``argparse.Namespace`` and returns an exit code. Errors a user can cause are
:class:`~classicnets.errors.ClassicnetsError`: printed as one sentence, exit code 2 (130 for a
run stopped by Ctrl-C, the shell's convention).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import ClassicnetsError
from .common import stderr

COMMAND_MODULES = ("train", "evaluate", "data", "zoo", "ops", "text", "viz", "serve", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classicnets",
        description="The classic neural networks of deep-learning courses: explained, "
        "reproduced and trained in minutes.",
    )
    parser.add_argument("--version", action="version", version=f"classicnets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
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
        stderr().print(f"[bold red]error:[/] {err}")
        return err.exit_code
    except KeyboardInterrupt:
        stderr().print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
