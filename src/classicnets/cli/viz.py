"""CLI commands ``viz`` (pictures of a run, or the vanishing-gradient comparison of fresh
models) and ``lr-find`` (the learning-rate range test)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ClassicnetsError
from ..models import model_info
from ..runs import ImageRunConfig, config_for_model
from ..runs.pictures import PICTURES, Options, draw
from ..runs.probes import compare_gradients, find_lr, png_path
from ..viz.activations import plot_activations
from .common import emit_json, note_printer, results_console, stderr


def _unit(text: str) -> tuple[int, int]:
    try:
        row, col = (int(v) for v in text.split(","))
    except ValueError:
        message = f"--unit takes ROW,COL (two whole numbers), got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    return row, col


def add_commands(sub: argparse._SubParsersAction) -> None:
    listing = "; ".join(f"{n}: {p.summary}" for n, p in PICTURES.items())
    p = sub.add_parser(
        "viz",
        help="pictures of what a trained run learned (filters, features, confusion, ...)",
        description="Draw a picture of a run as a PNG (default RUN/WHAT.png). Pictures: "
        f"{listing}. `viz activations` draws every activation function and its derivative. "
        "With --compare and no RUN: the gradient norm per layer of freshly "
        "initialised models, e.g. `viz --compare lenet5 lenet5_relu` (sigmoid against ReLU).",
    )
    p.add_argument("run", nargs="?", metavar="RUN", help="a run directory or a checkpoint")
    p.add_argument("what", nargs="?", metavar="WHAT", help="which picture (see above)")
    p.add_argument("--out", default=None, metavar="FILE", help="where the PNG goes")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--index", type=int, default=None, help="image N of the split (default 0)")
    where.add_argument("--image", default=None, metavar="PATH", help="an image file instead")
    p.add_argument("--split", default="test", choices=("test", "val", "train"))
    p.add_argument("--layer", default=None, help="a layer name (receptive, filters, saliency) "
                   "or a layer number (attention, gates)")  # fmt: skip
    p.add_argument("--unit", type=_unit, default=None, metavar="ROW,COL", help="receptive's unit")
    p.add_argument("--prompt", default=None, help="the text for attention and gates")
    p.add_argument("--steps", type=int, default=50, help="updates for gradients (default 50)")
    p.add_argument("--top", type=int, default=8, help="channels per stage for features")
    p.add_argument("--compare", nargs="+", default=None, metavar="MODEL")
    p.add_argument("--data", default="digits", help="data for --compare (default digits)")
    p.add_argument("--data-dir", default=None, metavar="DIR")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_viz)

    p = sub.add_parser(
        "lr-find",
        help="the learning-rate range test: loss against a growing rate, a rate suggested",
        description="Train a copy of a fresh model for --steps updates while the rate grows "
        "exponentially from --start to --end (Smith 2017), and draw loss against rate with "
        "the suggested rate (a tenth of the rate at the smoothed loss's minimum) marked. "
        "Optimizer and batch size are the model's recipe unless given.",
    )
    p.add_argument("model", metavar="MODEL", help="a registered image model")
    p.add_argument("--data", default="digits", help="dataset (default digits)")
    p.add_argument("--data-dir", default=None, metavar="DIR")
    p.add_argument("--optimizer", default=None, help="default: the recipe's")
    p.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    p.add_argument("--steps", type=int, default=100, help="updates (default 100)")
    p.add_argument("--start", type=float, default=1e-7, help="first rate (default 1e-7)")
    p.add_argument("--end", type=float, default=10.0, help="last rate (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, metavar="FILE", help="the PNG (default lr-find-*.png)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_lr_find)


def cmd_viz(args: argparse.Namespace) -> int:
    console = stderr()
    if args.compare:
        if args.run is not None:
            raise ClassicnetsError(
                "--compare draws freshly initialised models, not a run; give model names only."
            )
        out = args.out or "gradients-" + "-".join(args.compare) + ".png"
        path, results = compare_gradients(
            args.compare, data=args.data, data_dir=args.data_dir, steps=args.steps,
            seed=args.seed, out=out,
        )  # fmt: skip
        for label, result in results.items():
            first, last = result["norms"][0][0], result["norms"][0][-1]
            console.print(
                f"{label}: first layer {first:.3g}, last layer {last:.3g} at update 1 "
                f"(last/first {last / max(first, 1e-30):.3g})"
            )
        print(f"wrote {path}")
        return 0
    if args.run == "activations" and args.what is None and not Path(args.run).exists():
        path = plot_activations(path=png_path(args.out or "activations.png"))
        print(f"wrote {path}")  # the functions themselves: no run needed
        return 0
    if args.run is None or args.what is None:
        raise ClassicnetsError(
            "viz needs a run and a picture: `classicnets viz RUN WHAT` (pictures: "
            f"{', '.join(PICTURES)}), or `classicnets viz --compare MODEL ...`."
        )
    options = Options(
        index=args.index, image=args.image, split=args.split, layer=args.layer, unit=args.unit,
        prompt=args.prompt, steps=args.steps, top=args.top,
    )  # fmt: skip
    path = draw(args.run, args.what, out=args.out, options=options)
    print(f"wrote {path}")
    return 0


def cmd_lr_find(args: argparse.Namespace) -> int:
    info = model_info(args.model)  # an unknown name: one sentence with the close ones
    if "sequence" in info.tags:
        raise ClassicnetsError(
            f"lr-find runs on image models; {args.model} is {config_for_model(args.model).WHAT} "
            "(train it with a few --lr values instead)."
        )
    given = {"batch_size": args.batch_size, "optimizer": args.optimizer}
    config = ImageRunConfig(
        model=args.model, data=args.data, data_dir=args.data_dir, seed=args.seed,
        **{k: v for k, v in given.items() if v is not None},
    )  # fmt: skip
    path, result = find_lr(
        config, out=args.out, steps=args.steps, start=args.start, end=args.end,
        notify=note_printer(stderr()),
    )  # fmt: skip
    out = results_console(args.json)
    out.print(
        f"suggested rate {result['suggested']:.3g} (a tenth of {result['minimum']:.3g}, where "
        f"the smoothed loss is lowest); steepest fall at {result['steepest']:.3g}"
    )
    out.print(f"wrote {path}")
    if args.json:
        emit_json({"picture": str(path), **result})
    return 0
