"""CLI command ``train``: a new run of any registered model, or ``--resume`` of one.

The flags come from the run configs' fields (:mod:`classicnets.runs.config`); image and
language models share one command, and a flag only the other kind takes is one sentence.
"""

from __future__ import annotations

import argparse

from ..errors import ClassicnetsError
from ..runs import ImageRunConfig, TextRunConfig, config_for_model, resume, train
from ..runs.rundir import open_run
from .common import emit_json, note_printer, results_console, stderr
from .flags import add_config_flags, given_settings

CONFIGS = [ImageRunConfig, TextRunConfig]
RESUME_FLAGS = {"epochs", "device"}


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on a dataset (no arguments: lenet5 on digits)",
        description="Train a registered model into a run directory: validation carved from "
        "the training data picks the best checkpoint, and the test split is scored once, at "
        "the end. Ctrl-C saves where training stands; --resume continues from that very step.",
    )
    p.add_argument(
        "model", nargs="?", default=None, help="registered model (default: lenet5); see models"
    )
    add_config_flags(p, CONFIGS)
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue a run from its last checkpoint (only --epochs and --device may change)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document of results")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    console = stderr()
    notes = note_printer(console)

    def announce(line: str) -> None:
        console.print(line)

    if args.resume:
        if args.model is not None:
            raise ClassicnetsError(
                "--resume continues a run with its own model; give no model name with it."
            )
        config = open_run(args.resume, stem="last").config
        if config is None:
            raise ClassicnetsError(f"{args.resume} is not a run directory (no config.json).")
        given = given_settings(args, type(config), CONFIGS)
        clash = sorted(set(given) - RESUME_FLAGS)
        if clash:
            raise ClassicnetsError(
                "--resume continues a run with its own settings; only --epochs and --device "
                f"may be given with it, not --{clash[0].replace('_', '-')}."
            )
        result = resume(
            args.resume,
            epochs=args.epochs,
            device=args.device or "auto",
            notify=notes,
            announce=announce,
        )
    else:
        cls = config_for_model(args.model)
        given = given_settings(args, cls, CONFIGS)
        if args.model is not None:
            given["model"] = args.model
        result = train(cls(**given), notify=notes, announce=announce)
    out = results_console(args.json)
    out.print(result.summary(), soft_wrap=True)
    out.print(f"run directory: {result.run_dir}", soft_wrap=True)
    if args.json:
        emit_json(result.to_json())
    return 0
