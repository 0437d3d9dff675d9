"""CLI command group ``scratch``: the first lessons computed by hand — a fully connected network
trained by hand-written backpropagation, its gradients checked, and the course's two demos."""

from __future__ import annotations

import argparse

import torch

from ..errors import ClassicnetsError
from ..runs.probes import png_path
from ..runs.scratch import ScratchConfig, run_scratch
from ..runs.scratch_demos import batch_sizes, vanishing_gradient
from ..scratch.gradcheck import check_gradients
from ..scratch.network import mlp
from ..viz.activations import PANEL_NAMES, plot_activations
from ..viz.scratch_demos import plot_batch_sizes, plot_vanishing
from .common import emit_json, results_console, stderr
from .flags import add_config_flags, given_settings


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scratch",
        help="backpropagation and optimizers by hand: train, check gradients, the course demos",
        description="The hand-written network of classicnets.scratch (no autograd, no "
        "torch.optim): train it on real data, check its gradients numerically, or run the "
        "vanishing-gradient and batch-size demos.",
    )
    group = p.add_subparsers(dest="scratch_command", metavar="COMMAND")

    t = group.add_parser(
        "train",
        help="train the hand-written MLP and report test accuracy",
        description="Mini-batch training by hand-written backpropagation (Algorithm 4.1): "
        "validation carved from train chooses the epoch; the test split is scored once.",
    )
    add_config_flags(t, [ScratchConfig])
    t.add_argument("--json", action="store_true", help="print one JSON document")
    t.set_defaults(func=cmd_train)

    g = group.add_parser(
        "gradcheck",
        help="hand-written gradients against central differences on a random MLP",
    )
    g.add_argument("--hidden", default="16,8", metavar="W,W,...")
    g.add_argument("--activation", default="tanh")
    g.add_argument("--inputs", type=int, default=10)
    g.add_argument("--classes", type=int, default=4)
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(func=cmd_gradcheck)

    a = group.add_parser(
        "activations", help="draw each activation function and its derivative (a PNG)"
    )
    a.add_argument(
        "names", nargs="*", metavar="NAME", help=f"default: all ({', '.join(PANEL_NAMES)})"
    )
    a.add_argument("--out", default="activations.png", metavar="FILE", help="the PNG")
    a.set_defaults(func=cmd_activations)

    for name, helps, default_epochs in (
        ("vanishing", "per-layer gradient norms of a 10-layer sigmoid / ReLU / Maxout MLP", 20),
        ("batches", "per-example vs mini-batch vs full-batch SGD, same epochs", 10),
    ):
        d = group.add_parser(name, help=helps)
        d.add_argument("--epochs", type=int, default=default_epochs)
        d.add_argument("--seed", type=int, default=0)
        d.add_argument("--data-dir", default=None, metavar="DIR")
        d.add_argument("--out", default=f"scratch-{name}.png", metavar="FILE", help="the PNG")
        d.add_argument("--json", action="store_true", help="print one JSON document")
        d.set_defaults(func=cmd_vanishing if name == "vanishing" else cmd_batches)
    p.set_defaults(func=lambda args: _missing(p))


def _missing(parser: argparse.ArgumentParser) -> int:
    raise ClassicnetsError(
        "scratch needs a command: train, gradcheck, activations, vanishing or batches "
        "(`classicnets scratch train --help`)."
    )


def cmd_train(args: argparse.Namespace) -> int:
    config = ScratchConfig(**given_settings(args, ScratchConfig, [ScratchConfig]))
    config.check()
    console = stderr()

    def show(record) -> None:
        console.print(
            f"epoch {record.epoch}: train loss {record.train_loss:.4f}, val loss "
            f"{record.val_loss:.4f}, val accuracy {record.val_accuracy:.4f} "
            f"({record.seconds:.1f} s)"
        )

    result = run_scratch(config, on_epoch=show)
    out = results_console(args.json)
    out.print(
        f"{' → '.join(result['layers'])}: {result['parameters']:,} parameters; kept epoch "
        f"{result['best_epoch']} (val {result['val_accuracy']:.4f}); test accuracy "
        f"{result['test_accuracy']:.4f} after {result['train_seconds']:.1f} s of training"
    )
    if args.json:
        emit_json(result)
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    config = ScratchConfig(hidden=args.hidden, activation=args.activation, seed=args.seed)
    config.check()
    generator = torch.Generator().manual_seed(args.seed)
    network = mlp(
        [args.inputs, *config.widths(), args.classes], args.activation,
        generator=generator, dtype=torch.float64,
    )  # fmt: skip
    x = torch.randn(8, args.inputs, generator=generator, dtype=torch.float64)
    y = torch.randint(0, args.classes, (8,), generator=generator)
    error = check_gradients(network, x, y)
    print(
        f"largest relative difference between backpropagation and central differences: "
        f"{error:.2e} ({'agree' if error < 1e-5 else 'DISAGREE'})"
    )
    return 0 if error < 1e-5 else 1


def cmd_activations(args: argparse.Namespace) -> int:
    path = plot_activations(args.names or None, path=png_path(args.out))
    print(f"wrote {path}")
    return 0


def cmd_vanishing(args: argparse.Namespace) -> int:
    path = png_path(args.out)
    result = vanishing_gradient(epochs=args.epochs, seed=args.seed, data_dir=args.data_dir)
    out = results_console(args.json)
    for activation, row in result["rows"].items():
        first, last = row["init"][0], row["init"][-1]
        out.print(
            f"{activation}: at initialisation layer 1 {first:.3g}, layer {len(row['init'])} "
            f"{last:.3g} (first/last {first / max(last, 1e-30):.3g}); test accuracy after "
            f"{result['epochs']} epochs {row['test_accuracy']:.4f}"
        )
    title = f"10-layer MLP (width {result['width']}) on digits, training split"
    out.print(f"wrote {plot_vanishing(result, path, title)}")
    if args.json:
        emit_json(result | {"picture": str(path)})
    return 0


def cmd_batches(args: argparse.Namespace) -> int:
    path = png_path(args.out)
    result = batch_sizes(epochs=args.epochs, seed=args.seed, data_dir=args.data_dir)
    out = results_console(args.json)
    for row in result["rows"].values():
        last = row["points"][-1]
        out.print(
            f"batch {row['batch_size']}: {last['updates']} updates, {last['seconds']:.2f} s, "
            f"training loss {last['train_loss']:.4f}, test accuracy {row['test_accuracy']:.4f}"
        )
    title = f"MLP 64-64-10 on digits, {result['epochs']} epochs of plain SGD, training split"
    out.print(f"wrote {plot_batch_sizes(result, path, title)}")
    if args.json:
        emit_json(result | {"picture": str(path)})
    return 0
