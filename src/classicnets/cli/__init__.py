"""The ``classicnets`` command line: a thin front end that parses flags and calls the library.

Each command group lives in its own module exposing ``add_commands(subparsers)``; a handler
takes the parsed ``argparse.Namespace`` and returns an exit code. Errors a user can cause are
:class:`~classicnets.errors.ClassicnetsError`: printed as one sentence, exit code 2 (130 for a
run stopped by Ctrl-C, the shell's convention).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from ..errors import ClassicnetsError
from .common import stderr

COMMAND_MODULES = (
    "train", "evaluate", "data", "zoo", "ops", "text", "viz", "serve", "export", "scratch",
    "reproduce",
)  # fmt: skip


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


def run_as_script() -> None:
    """``python -m classicnets``: exit with :func:`main`'s code. A rank of a data-parallel run
    (under torchrun) leaves through ``os._exit`` once its output is flushed: its process group
    is already closed, and letting C++ static teardown run was seen to abort gloo's leftover
    threads now and then (SIGABRT, "terminate called without an active exception") after the
    run had finished and been written."""
    code = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())
