"""CLI command ``train``: a new run of any registered model, or ``--resume`` of one.

The flags come from the fields of every registered run config (:mod:`classicnets.runs.config`):
image models, language models, encoder-decoders and taggers share one command, and a flag only
another kind takes is one sentence.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

from ..errors import ClassicnetsError
from ..runs import CONFIGS as KINDS
from ..runs import config_for_model, resume, train
from ..runs.launch import launch
from ..runs.rundir import open_run
from ..train.distributed import LAUNCHED_ENV, LostPeerError, rank_from_env, torchrun_world
from .common import emit_json, note_printer, results_console, stderr
from .flags import add_config_flags, given_settings

CONFIGS = list(KINDS.values())  # image, text, then the kinds runs/ registers
RESUME_FLAGS = {"epochs", "device", "nproc"}


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
        help="continue a run from its last checkpoint (only --epochs and --device may change; "
        "--nproc must be the run's)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document of results")
    p.set_defaults(func=cmd_train)


def _flags(settings: dict) -> list[str]:
    """The command line that gives ``settings`` (a worker's, without --nproc)."""
    argv = []
    for name, value in settings.items():
        if name not in ("model", "nproc"):
            flag = "--" + name.replace("_", "-")
            argv += [flag] if value is True else [flag, str(value)]
    return argv


def _launch_if_asked(nproc: int, argv: list[str], args: argparse.Namespace) -> int | None:
    """With ``--nproc`` above 1 outside torchrun: run ``argv`` in that many processes (None:
    this process trains, alone or as one rank torchrun started)."""
    world = torchrun_world()
    if world is not None:
        if nproc not in (1, world):
            raise ClassicnetsError(
                f"--nproc {nproc} starts its own processes, but this one is one of {world} "
                "torchrun started; give torchrun's --nproc-per-node alone."
            )
        return None
    if nproc == 1:
        return None
    return launch([*argv, *(["--json"] if args.json else [])], nproc)


def cmd_train(args: argparse.Namespace) -> int:
    follower = rank_from_env() != 0
    try:
        return _train(args)
    except ClassicnetsError as err:
        if follower and not isinstance(err, LostPeerError):
            return err.exit_code  # rank 0 met the same and says it
        if isinstance(err, LostPeerError) and os.environ.get(LAUNCHED_ENV):
            return err.exit_code  # the launcher names the rank that failed
        raise


def _train(args: argparse.Namespace) -> int:
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
        nproc = dataclasses.replace(config, nproc=args.nproc or config.nproc).nproc  # checked
        resumed = ["train", "--resume", str(args.resume), *_flags(given)]
        code = _launch_if_asked(nproc, resumed, args)
        if code is not None:
            return code
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
        config = cls(**given)  # every value checked before any process starts
        argv = ["train", *([args.model] if args.model else []), *_flags(given)]
        code = _launch_if_asked(config.nproc, argv, args)
        if code is not None:
            return code
        result = train(config, notify=notes, announce=announce)
    if result is None:  # a rank other than 0: rank 0 tells the results
        return 0
    out = results_console(args.json)
    out.print(result.summary(), soft_wrap=True)
    out.print(f"run directory: {result.run_dir}", soft_wrap=True)
    if args.json:
        emit_json(result.to_json())
    return 0
