"""CLI commands ``train``, ``evaluate``, ``predict`` and ``data``."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from ..errors import ClassicnetsError


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on a dataset (no arguments: lenet5 on digits)")
    p.add_argument("model", nargs="?", default=None, help="registered model (default lenet5)")
    p.add_argument(
        "--data",
        default=None,
        help="dataset name (default digits); for language models a corpus name or a UTF-8 text "
        "file (default tinyshakespeare)",
    )
    p.add_argument("--data-dir", default=None, help="folder holding the dataset files")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--optimizer", default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument(
        "--schedule", default=None, help="constant, step, inverse_sqrt, cosine, onecycle"
    )
    p.add_argument("--warmup-epochs", type=float, default=None)
    p.add_argument("--label-smoothing", type=float, default=None)
    p.add_argument("--image-size", type=int, default=None, help="resize images at load time")
    p.add_argument(
        "--augment",
        default=None,
        metavar="SPEC",
        help="batch augmentation on the device, e.g. crop,flip,cutout (also crop:PAD:reflect, "
        "altflip, cutout:SIZE)",
    )
    p.add_argument(
        "--label", default=None, choices=("fine", "coarse"), help="cifar100: 100 classes or 20"
    )
    # Language models (char_lstm, ...; --data a corpus name or a text file): see cli_text.py.
    p.add_argument("--seq-len", type=int, default=None, help="text: tokens per BPTT piece")
    p.add_argument("--window", type=int, default=None, help="text: N tokens in, the next out")
    p.add_argument("--hidden", type=int, default=None, help="text: width of the model")
    p.add_argument("--layers", type=int, default=None, help="text: layers stacked")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, mps")
    p.add_argument("--channels-last", action="store_true", default=None)
    p.add_argument("--bf16", action="store_true", default=None, help="bfloat16 autocast")
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    p.add_argument("--out", default=None, help="run directory (default runs/MODEL-DATA-TIME)")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="a quick look: train on the first N training images, test on the first N test images",
    )
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue an interrupted run")
    p.add_argument("--json", action="store_true", help="end with one JSON line of results")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate", help="test a trained run (image or language model) on its data (or other)"
    )
    p.add_argument("run_dir")
    p.add_argument("--data", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--tta", action="store_true", help="also score mirrored images")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="top-3 classes of image files with a trained run")
    p.add_argument("run_dir")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("data", help="which datasets are present, and where")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_data)


_FIELDS = (
    "model",
    "data",
    "data_dir",
    "epochs",
    "batch_size",
    "optimizer",
    "lr",
    "weight_decay",
    "schedule",
    "warmup_epochs",
    "label_smoothing",
    "image_size",
    "augment",
    "label",
    "seed",
    "device",
    "channels_last",
    "bf16",
    "compile",
    "out",
    "limit",
)


def cmd_train(args: argparse.Namespace) -> int:
    from ..runs.image import TrainConfig, resume_run, train_run
    from .text import cmd_train_text, is_text_training

    if is_text_training(args):
        return cmd_train_text(args)
    # Unset flags are dropped so the dataclass defaults (or a resumed run's config) apply.
    given = {k: getattr(args, k) for k in _FIELDS if getattr(args, k) is not None}
    if args.resume:
        check_resume_flags(given)
        result = resume_run(args.resume, epochs=args.epochs, device=args.device)
    else:
        config = TrainConfig(**given)
        console = announce(config.model, config.data, config.epochs)
        result = train_run(config, notify=note_printer(console))
    epochs = f"{result.epochs} epoch{'s' if result.epochs != 1 else ''}"
    return report_run(
        result,
        f"test accuracy {result.test_accuracy:.4f}  (loss {result.test_loss:.4f}, {epochs}, "
        f"{result.seconds:.1f} s)",
        args.json,
    )


def check_resume_flags(given: dict) -> None:
    """``--resume`` keeps the run's own settings: only --epochs and --device may change."""
    clash = sorted(set(given) - {"epochs", "device"})
    if clash:
        raise ClassicnetsError(
            f"--resume continues a run with its own settings; only --epochs and --device may "
            f"be given with it, not --{clash[0].replace('_', '-')}."
        )


def announce(model: str, data: str, epochs: int) -> Console:
    """Say on stderr what is about to be trained; returns that console for later notes."""
    console = Console(stderr=True)
    console.print(
        f"training [bold]{model}[/] on [bold]{data}[/] "
        f"for {epochs} epoch{'s' if epochs != 1 else ''}",
        highlight=False,
    )
    return console


def note_printer(console: Console):
    """A ``notify`` callback that prints each note as one line."""
    return lambda note: console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)


def report_run(result, summary: str, as_json: bool) -> int:
    """Print a finished run's one-line summary and directory, and its JSON line if asked."""
    out = Console()
    out.print(summary, highlight=False)
    out.print(f"run directory: {result.run_dir}", highlight=False, soft_wrap=True)
    if as_json:
        print(result.to_json())
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..data import load_dataset
    from ..runs.text import read_text_config
    from ..train import load

    if read_text_config(args.run_dir) is not None:
        from .text import cmd_evaluate_text  # cli_text builds on this module

        return cmd_evaluate_text(args)

    model = load(args.run_dir, device=args.device)
    config = _run_config(args.run_dir)
    data = args.data or config.get("data")
    size = model.input_shape[-1] if model.input_shape else None
    same_data = data == config.get("data")
    options = {"label": config["label"]} if same_data and config.get("label") else {}
    dataset = load_dataset(
        data, args.split, args.data_dir or config.get("data_dir"), image_size=size, **options
    )
    if model.input_shape and dataset.image_shape != tuple(model.input_shape):
        raise ClassicnetsError(
            f"The run was trained on {'x'.join(map(str, model.input_shape))} images but {data} "
            f"has {'x'.join(map(str, dataset.image_shape))}."
        )
    results = model.evaluate(dataset, tta=args.tta)
    if args.json:
        print(json.dumps({"run_dir": args.run_dir, "data": data, "split": args.split, **results}))
        return 0
    table = Table(title=f"{config.get('model')} on {data} ({args.split}, {len(dataset):,} images)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in results.items():
        table.add_row(key, f"{value:.4f}")
    Console().print(table)
    return 0


def _run_config(run_dir: str) -> dict:
    from pathlib import Path

    path = Path(run_dir) / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def cmd_predict(args: argparse.Namespace) -> int:
    from ..runs.predict import predict_files
    from ..train import load

    model = load(args.run_dir, device=args.device)
    results = predict_files(model, args.images, top=args.top)
    if args.json:
        print(json.dumps(results))
        return 0
    console = Console()
    for item in results:
        best = ", ".join(f"{c} {p:.1%}" for c, p in item["top"])
        console.print(f"{item['image']}: {best}", highlight=False, soft_wrap=True)
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from ..data import dataset_info, list_datasets, locate_dataset

    rows = []
    for name in list_datasets():
        info = dataset_info(name)
        where = locate_dataset(name, args.data_dir)
        rows.append(
            {
                "name": name,
                "present": where is not None,
                "where": str(where) if where else None,
                "description": info.description,
            }
        )
    if args.json:
        print(json.dumps(rows))
        return 0
    table = Table(title="datasets")
    for column in ("name", "present", "where", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        info = dataset_info(row["name"])
        table.add_row(
            row["name"],
            "yes" if row["present"] else "[red]no[/]",
            row["where"] or ("(downloads on first use)" if info.files else "(needs --data-dir)"),
            row["description"],
        )
    Console().print(table)
    return 0
