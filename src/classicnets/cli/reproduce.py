"""CLI command ``reproduce``: every number the course documents beside ours, with ✓, ≈ or ✗."""

from __future__ import annotations

import argparse

from ..runs.reproduce import outcome_report, run_checks, summary_line, to_document, unexplained
from .common import emit_json, results_console


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="the course's numbers beside the project's own computation, each ✓, ≈ or ✗",
        description="Recompute every number the course documents (worked convolutions, "
        "output sizes, parameter and multiply-add counts, training results) and print it "
        "beside the course's: ✓ equal, ≈ close (with why), ✗ different (with why, when "
        "known). Exits 0 when every ✗ is explained, else 1.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        dest="mode",
        action="store_const",
        const="quick",
        help="train on a budget (the default)",
    )
    mode.add_argument(
        "--full", dest="mode", action="store_const", const="full", help="train as the course did"
    )
    p.add_argument(
        "--only",
        nargs="+",
        action="extend",
        default=None,
        metavar="NAME",
        help="run only these checks (e.g. conv alexnet); an unknown name lists the known ones",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document instead")
    p.set_defaults(func=cmd_reproduce, mode="quick")


def cmd_reproduce(args: argparse.Namespace) -> int:
    outcomes = run_checks(args.only, args.mode)
    console = results_console(args.json)
    if args.json:
        emit_json(to_document(outcomes, args.mode, args.only))
        console.print(summary_line(outcomes), highlight=False)
    else:
        console.print(outcome_report(outcomes, f"The course's numbers and ours ({args.mode} mode)"))
    return 1 if unexplained(outcomes) else 0
