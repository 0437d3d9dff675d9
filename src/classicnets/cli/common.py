"""What every command shares: where human lines go, the one JSON document, notes.

Output contract: with ``--json`` a command writes exactly one JSON document to stdout and
everything meant for people (notes, progress, tables) to stderr, so ``| python -m json.tool``
always works; without it, results go to stdout and notes and progress to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def results_console(as_json: bool) -> Console:
    """Where a command's human-readable results go: stdout, or stderr beside ``--json``."""
    return Console(stderr=as_json, highlight=False)


def emit_json(document: Any) -> None:
    """The one JSON document of a ``--json`` command, on stdout."""
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def note_printer(console: Console):
    """A ``notify`` callback that prints each note as one line."""
    return lambda note: console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
