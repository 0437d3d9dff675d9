"""Export a run's kept model to ONNX, TorchScript or a ``torch.export`` ExportedProgram, and
prove the file computes what the model computes.

The exported graph is the network in float32 eval mode on the CPU. Its input is the *prepared*
tensor, as the model's first layer saw it in training: for images float32 ``(B, C, H, W)``,
``(uint8 / 255 - mean) / std`` per channel, at the run's image size; for language models int64
token ids ``(B, T)`` at a fixed length ``T`` from a zero state. Its output is the logits:
``(B, classes)``, or ``(B, T, vocabulary)``. How to get from a picture or a text to that input
travels inside the file as one JSON document (:func:`export_metadata`): in ONNX as
``metadata_props`` (every value JSON-encoded), in TorchScript as the ``_extra_files`` entry
``classicnets.json``, in an ExportedProgram as the ``extra_files`` entry ``classicnets.json``
of ``torch.export.save`` (one file, no sidecar to lose).

After writing, the file itself is loaded and run (onnxruntime, ``torch.jit.load``,
``torch.export.load``) on the first examples of the run's test split, prepared exactly as
training prepared them; the file replaces ``out`` only when its logits are within ``tolerance``
of eager PyTorch's, so a failed check leaves nothing behind.

ONNX goes through the ``torch.export`` exporter (``dynamo=True``): the TorchScript-based one
is deprecated and refuses every language model here (the fused recurrent layers run through
``torch.func.functional_call``, which tracing rejects; the Transformer's masked softmax uses
``isneginf``, which it cannot translate). For TorchScript, recurrent layers are traced
step by step (``fused=False``: the same parameters and numbers), unrolled over the fixed length.
"""

from __future__ import annotations

import copy
import math
import os
import time
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ClassicnetsError, unknown_name
from ..layers.unroll import Recurrent
from .export_formats import (  # noqa: F401  (the file formats' names, re-exported)
    FORMATS,
    INPUT_NAME,
    METADATA_FILE,
    OUTPUT_NAME,
    RUNNERS,
    compare,
    read_metadata,
    run_exported_program,
    run_onnx,
    run_torchscript,
    write_export,
)
from .kinds import KIND_WHAT
from .rundir import open_run
from .text import load_text
from .views import RunView, open_view


class Logits(nn.Module):
    """The network with one tensor out: a language model's ``(logits, state)`` from a zero
    state, or an image model's logits, as exporters and runtimes want them."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out[0] if isinstance(out, tuple) else out


def export_run(
    run: str | os.PathLike,
    format: str,
    out: str | os.PathLike | None = None,
    *,
    tolerance: float = 1e-4,
    images: int = 64,
    seq_len: int | None = None,
) -> dict[str, Any]:
    """Export a run's kept checkpoint (best, else last; or the checkpoint ``run`` names) and
    check the exported file against eager PyTorch on real test data.

    Args:
        run: a run directory or one of its checkpoints.
        format: ``"onnx"``, ``"torchscript"`` or ``"exported-program"``.
        out: the file to write (suffix ``.onnx``, ``.pt`` or ``.pt2``); by default beside the
            checkpoint, e.g. ``RUN/best.onnx``.
        tolerance: the largest absolute difference of logits allowed.
        images: how many test examples to check on (a language model: sequences of
            ``seq_len`` tokens).
        seq_len: a language model's fixed sequence length (default: the run's window or
            ``seq_len``, at most the model's context).

    Returns:
        What was written and how it compares: ``out``, ``bytes``, ``examples``,
        ``max_abs_diff``, ``top1_agree`` of ``top1_total``, the metadata stored, ...

    Raises:
        ClassicnetsError: a bad argument, a missing checkpoint, a model the exporter cannot
            trace (its layer named), or an export beyond ``tolerance`` (nothing is written).
    """
    began = time.perf_counter()
    path = _check_request(run, format, out, tolerance, images, seq_len)
    view = open_view(run, device="cpu")
    if view.kind not in ("image", "text"):
        raise ClassicnetsError(
            f"{run} holds {KIND_WHAT[view.kind]}; export writes image classifiers and language "
            "models only."
        )
    net = copy.deepcopy(view.model.module).float().to(memory_format=torch.contiguous_format)
    net.eval()
    x, what = _real_inputs(view, images, seq_len, net)
    if format == "torchscript":
        for layer in net.modules():  # tracing refuses the fused kernels' functional_call
            if isinstance(layer, Recurrent):
                layer.fused = False
    wrapped = Logits(net).eval()
    with torch.no_grad():
        eager = Logits(view.model.module.float().eval())(x)
    metadata = export_metadata(view, format, tuple(x.shape))
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")  # loaders look at the suffix
    try:
        info = write_export(wrapped, x, tmp, format, metadata, view.model_name)
        exported = RUNNERS[format](tmp, x)
        check = compare(eager, exported, tolerance, f"{view.model_name} as {format}", what)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return {
        "run": str(run),
        "checkpoint": str(view.opened.checkpoint),
        "model": view.model_name,
        "format": format,
        "out": str(path),
        "bytes": path.stat().st_size,
        "examples": int(x.shape[0]),
        "checked_on": what,
        **check,
        **info,
        "metadata": metadata,
        "seconds": round(time.perf_counter() - began, 3),
    }


def _check_request(run, format, out, tolerance, images, seq_len) -> Path:
    """Every argument checked before anything is read or written; the output path."""
    if format not in FORMATS:
        raise unknown_name("export format", str(format), FORMATS)
    bad = isinstance(tolerance, bool) or not isinstance(tolerance, int | float)
    if bad or not math.isfinite(tolerance) or tolerance < 0:
        raise ClassicnetsError(f"--tolerance must be a number of at least 0, got {tolerance!r}.")
    for name, value in (("images", images), ("seq_len", seq_len)):
        if value is None and name == "seq_len":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            flag = "--" + name.replace("_", "-")
            raise ClassicnetsError(f"{flag} must be a positive whole number, got {value!r}.")
    if format == "onnx":
        _require_onnx()
    suffix = FORMATS[format]
    path = Path(out) if out is not None else open_run(run).checkpoint.with_suffix(suffix)
    if path.is_dir():
        raise ClassicnetsError(f"--out {path} is a folder; give a file name ending in {suffix}.")
    if path.suffix != suffix:
        raise ClassicnetsError(
            f"--out {path} does not end in {suffix}, the suffix of {format} files; name it "
            f"{path.with_suffix(suffix).name}."
        )
    if not path.parent.is_dir():
        raise ClassicnetsError(
            f"The folder of --out {path} ({path.parent}) does not exist; create it first."
        )
    return path


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise ClassicnetsError(
            f"ONNX export needs onnx, onnxruntime and onnxscript ({err.name} is missing); "
            "install them with pip install 'classicnets[export]'."
        ) from None


def _real_inputs(view: RunView, count: int, seq_len: int | None, net: nn.Module):
    """The first ``count`` test examples, prepared as training prepared them, and their name."""
    if view.kind == "image":
        part = view.split("test")
        raw = part.images[:count]
        return view.prepare(raw), f"{len(raw):,} test images of {view.data_name}"
    config = view.opened.config
    if config is None:
        raise ClassicnetsError(
            f"{view.opened.checkpoint} is a lone checkpoint; its text is not recorded, so "
            "there is no test text to check the export on."
        )
    model = view.model
    length = seq_len or model.window or config.window or model.seq_len or config.seq_len
    context = getattr(net, "context", None)
    if seq_len is None and context is not None:
        length = min(length, context)
    if context is not None and length > context:
        raise ClassicnetsError(
            f"--seq-len {length} is longer than {view.model_name}'s context of {context}; "
            f"choose at most {context}."
        )
    ids = load_text(config).test
    if len(ids) < length:
        raise ClassicnetsError(
            f"The test text of {config.data} has {len(ids):,} tokens, fewer than one sequence "
            f"of {length}; lower --seq-len."
        )
    rows = min(count, len(ids) // length)
    x = ids[: rows * length].view(rows, length).to(torch.int64)  # consecutive pieces
    return x, f"{rows:,} test sequences of {length} tokens of {config.data}"


def export_metadata(view: RunView, format: str, shape: tuple[int, ...]) -> dict[str, Any]:
    """What a user of the exported file needs to prepare its input and read its output."""
    model = view.model
    meta: dict[str, Any] = {
        "exporter": f"classicnets {_version()} (torch {torch.__version__})",
        "format": format,
        "model": view.model_name,
        "model_kwargs": (model.spec or {}).get("kwargs", {}),
        "data": view.data_name,
        "checkpoint": view.opened.checkpoint.stem,
        "dtype": "float32",
        "mode": "eval",
        "output": OUTPUT_NAME,
    }
    if view.kind == "image":
        channels, height, width = model.input_shape or shape[1:]
        meta |= {
            "input": (
                "float32 (batch, channels, height, width), already normalised: "
                "(uint8 pixel / 255 - mean) / std per channel"
            ),
            "input_shape": ["batch", channels, height, width],
            "image_size": [height, width],
            "channels": channels,
            "mean": list(model.mean) if model.mean else None,
            "std": list(model.std) if model.std else None,
            "classes": list(view.class_names()),
            "preprocessing": model.preprocess,
            "output_shape": ["batch", len(view.class_names())],
        }
    else:
        vocabulary = model.vocabulary
        meta |= {
            "input": "int64 token ids (batch, seq_len) from a zero state",
            "input_shape": ["batch", shape[1]],
            "seq_len": shape[1],
            "vocabulary": vocabulary.to_dict() if vocabulary is not None else None,
            "output_shape": ["batch", shape[1], len(vocabulary) if vocabulary else None],
        }
    if format == "torchscript":
        meta["note"] = "traced at input_shape: other batch sizes run where the model allows"
    return meta


def _version() -> str:
    try:  # from the installed package: runs/ does not import the package root
        return package_metadata.version("classicnets")
    except package_metadata.PackageNotFoundError:
        return "(not installed)"
