"""CLI command ``generate``: stream text sampled from a trained language model.

Language models train, resume and evaluate through the same ``train`` and ``evaluate`` commands
as image models (:mod:`classicnets.cli.train`, :mod:`classicnets.cli.evaluate`).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ClassicnetsError


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="stream text sampled from a trained language model")
    p.add_argument("run_dir", help="a run directory (or checkpoint) of a language model")
    p.add_argument("--prompt", default="", help="text to continue (default: a new line)")
    p.add_argument("--length", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="below 1: safer, more repetitive text; above 1: wilder (default 1)",
    )
    p.add_argument("--top-k", type=int, default=None, help="sample among the K likeliest only")
    p.add_argument("--seed", type=int, default=None, help="the same seed gives the same text")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    from ..runs import load_run
    from ..train import SequenceModel

    _, model = load_run(args.run_dir, device=args.device)
    if not isinstance(model, SequenceModel):
        raise ClassicnetsError(
            f"{args.run_dir} holds an image model; generate needs a language model's run."
        )
    pieces = model.generate(  # checks every argument before anything is printed
        args.prompt, args.length, temperature=args.temperature, top_k=args.top_k, seed=args.seed
    )
    sys.stdout.write(args.prompt)
    for piece in pieces:
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
