"""CLI command ``serve``: the web explainer on this machine (:mod:`classicnets.serve`)."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="a local web explainer: draw a digit, see every layer, click a unit for its sum",
        description="Serve a trained image model in the browser: a drawing canvas with live "
        "class probabilities and feature maps, a convolution playground and the model's "
        "summary. Without RUN, LeNet-5 is trained on digits once (seconds) and cached in "
        "$CLASSICNETS_CACHE/serve (default ~/.cache/classicnets/serve).",
    )
    p.add_argument(
        "run", nargs="?", default=None, metavar="RUN", help="a run directory or a checkpoint"
    )
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; others warn)",
    )
    p.add_argument("--device", default="cpu", help="where the model runs (default: cpu)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..serve import serve  # starlette and uvicorn only when serving

    serve(args.run, host=args.host, port=args.port, device=args.device)
    return 0
