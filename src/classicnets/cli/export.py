"""CLI command ``export``: a run's kept model as an ONNX, TorchScript or ExportedProgram file,
checked against eager PyTorch on the run's own test data before it is written."""

from __future__ import annotations

import argparse

from ..runs.export import FORMATS, export_run
from .common import emit_json, results_console


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write a run's model as ONNX, TorchScript or an ExportedProgram, parity-checked",
        description="Export a run's kept checkpoint (best, else last) in float32 eval mode on "
        "the CPU, its preprocessing (mean, std, input shape, classes, recipe) recorded in the "
        "file; then run the file on the first test examples of the run's data and compare its "
        "logits with eager PyTorch. The file is written only if they agree within --tolerance. "
        "The exported input is the prepared tensor: normalised float images, or token ids.",
    )
    p.add_argument("run", metavar="RUN", help="a run directory or a checkpoint")
    p.add_argument(
        "--format",
        default="onnx",
        metavar="FORMAT",
        help=f"{', '.join(FORMATS)} (default: onnx)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="the file to write, ending in .onnx, .pt or .pt2 (default: beside the checkpoint, "
        "e.g. RUN/best.onnx)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=1e-4,
        help="largest absolute difference of logits allowed (default: 1e-4)",
    )
    p.add_argument(
        "--images",
        type=int,
        default=64,
        metavar="N",
        help="test examples to check on; language models: sequences (default: 64)",
    )
    p.add_argument(
        "--seq-len",
        type=int,
        default=None,
        metavar="T",
        help="language models: the fixed sequence length (default: the run's window or "
        "seq_len, at most the model's context)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    result = export_run(
        args.run,
        args.format,
        args.out,
        tolerance=args.tolerance,
        images=args.images,
        seq_len=args.seq_len,
    )
    if args.json:
        emit_json(result)
        return 0
    out = results_console(False)
    opset = f", opset {result['opset']}" if result.get("opset") else ""
    out.print(
        f"exported {result['model']} ({result['metadata']['checkpoint']} checkpoint) to "
        f"{result['out']} ({args.format}{opset}, {result['bytes']:,} bytes)",
        soft_wrap=True,
    )
    out.print(
        f"checked on {result['checked_on']}: largest logit difference from eager PyTorch "
        f"{result['max_abs_diff']:.2g} (tolerance {result['tolerance']:g}); top-1 agrees on "
        f"{result['top1_agree']:,} of {result['top1_total']:,}",
        soft_wrap=True,
    )
    return 0
