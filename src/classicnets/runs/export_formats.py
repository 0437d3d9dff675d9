"""The exported files of ``classicnets export``: writing a network as ONNX, TorchScript or an
ExportedProgram with its metadata inside, running the written file back (onnxruntime,
``torch.jit.load``, ``torch.export.load``), reading the metadata, and comparing with eager."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ClassicnetsError

FORMATS = {"onnx": ".onnx", "torchscript": ".pt", "exported-program": ".pt2"}
METADATA_FILE = "classicnets.json"  # the TorchScript / ExportedProgram entry holding it
INPUT_NAME, OUTPUT_NAME = "inputs", "logits"


@contextlib.contextmanager
def _quiet_exporter():
    """The exporters' notes (deprecations, torchvision's missing operators) are not the user's
    business: they are kept off the terminal while exporting."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def write_export(
    net: nn.Module,
    x: torch.Tensor,
    path: Path,
    format: str,
    metadata: dict[str, Any],
    name: str = "the model",
) -> dict[str, Any]:
    """Export ``net`` (eval, CPU) on the example input ``x`` to ``path`` with ``metadata``.

    Returns:
        Facts about the file (the ONNX opset); ``metadata["input_shape"]`` becomes the shape
        the file takes, ``"batch"`` where the batch size is free.

    Raises:
        ClassicnetsError: the exporter cannot trace ``net``; the layer it failed in is named
            when it can be found.
    """
    batch = {0: torch.export.Dim.AUTO}  # free where the model allows, fixed where it does not
    try:
        with _quiet_exporter(), torch.no_grad():
            if format == "onnx":
                torch.onnx.export(
                    net,
                    (x,),
                    str(path),
                    dynamo=True,
                    external_data=False,
                    verbose=False,
                    input_names=[INPUT_NAME],
                    output_names=[OUTPUT_NAME],
                    dynamic_shapes=(batch,),
                )
            elif format == "torchscript":
                traced = torch.jit.trace(net, (x,), check_trace=False)
                metadata["input_shape"] = list(x.shape)  # as traced
                torch.jit.save(traced, str(path), _extra_files=_extra(metadata))
            else:
                program = torch.export.export(net, (x,), dynamic_shapes=(batch,))
                (node,) = [n for n in program.graph.nodes if n.name == _user_input(program)]
                metadata["input_shape"] = _shape(node.meta["val"].shape)
                torch.export.save(program, str(path), extra_files=_extra(metadata))
    except OSError as err:
        raise ClassicnetsError(f"Cannot write {path}: {err.strerror or err}.") from None
    except Exception as err:  # any other exporter failure is the model's, in one sentence
        raise ClassicnetsError(_untraceable(err, net, name, format)) from None
    if format != "onnx":
        return {}
    import onnx

    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    metadata["input_shape"] = ["batch" if d.dim_param else d.dim_value for d in dims]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(model, str(path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return {"opset": opset}


def _user_input(program: torch.export.ExportedProgram) -> str:
    return program.graph_signature.user_inputs[0]


def _shape(sizes) -> list[int | str]:
    """Sizes as JSON: a free (symbolic) one as ``"batch"``."""
    return [size if isinstance(size, int) else "batch" for size in sizes]


def _extra(metadata: dict[str, Any]) -> dict[str, str]:
    return {METADATA_FILE: json.dumps(metadata)}


def _untraceable(err: BaseException, net: nn.Module, name: str, format: str) -> str:
    """``"lenet5 cannot be exported to onnx: its layer features.3 (Gate) fails: ..."``: the
    innermost layer of ``net`` running when the exporter failed, found in the tracebacks."""
    names = {id(m): n.removeprefix("net.") for n, m in net.named_modules() if n}
    layer = None
    seen: BaseException | None = err
    while seen is not None and layer is None:
        tb = seen.__traceback__
        while tb is not None:
            owner = tb.tb_frame.f_locals.get("self")
            if id(owner) in names:
                layer = owner  # keep going: the innermost one wins
            tb = tb.tb_next
        seen = seen.__cause__ or seen.__context__
    first = next((line.strip() for line in str(err).splitlines() if line.strip()), "")
    reason = f"{type(err).__name__}: {first[:200]}" if first else type(err).__name__
    where = f" in its layer {names[id(layer)]} ({type(layer).__name__})" if layer else ""
    return f"{name} cannot be exported to {format}: the exporter failed{where} ({reason})."


def run_onnx(path: Path, x: torch.Tensor) -> torch.Tensor:
    """The ONNX file's logits for ``x``, from onnxruntime on the CPU."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run([OUTPUT_NAME], {session.get_inputs()[0].name: x.numpy()})
    return torch.from_numpy(out)


def run_torchscript(path: Path, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the user chose TorchScript
        return torch.jit.load(str(path), map_location="cpu")(x)


def run_exported_program(path: Path, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.export.load(str(path)).module()(x)


RUNNERS = {
    "onnx": run_onnx,
    "torchscript": run_torchscript,
    "exported-program": run_exported_program,
}


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata :func:`export_run` stored in an exported file, by its suffix."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx

        model = onnx.load(str(path), load_external_data=False)
        return {p.key: json.loads(p.value) for p in model.metadata_props}
    files = {METADATA_FILE: ""}
    if path.suffix == ".pt":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.load(str(path), map_location="cpu", _extra_files=files)
    elif path.suffix == ".pt2":
        torch.export.load(str(path), extra_files=files)
    else:
        raise ClassicnetsError(f"{path} is not an exported file (.onnx, .pt or .pt2).")
    text = files[METADATA_FILE]
    return json.loads(text.decode() if isinstance(text, bytes) else text)


def compare(
    eager: torch.Tensor, exported: torch.Tensor, tolerance: float, what: str, data: str
) -> dict[str, Any]:
    """The largest absolute difference of two sets of logits and how often their top-1
    predictions agree; beyond ``tolerance`` (or a NaN on one side only) it is an error."""
    eager, exported = eager.detach().float(), exported.detach().float()
    if eager.shape != exported.shape:
        raise ClassicnetsError(
            f"{what} returns logits of shape {tuple(exported.shape)}, but the model returns "
            f"{tuple(eager.shape)}."
        )
    both_nan = eager.isnan() & exported.isnan()
    gap = (eager - exported).abs().masked_fill(both_nan, 0.0)
    diff = float(gap.max()) if gap.numel() else 0.0
    agree = int((eager.argmax(-1) == exported.argmax(-1)).sum())
    total = eager[..., 0].numel()
    if not diff <= tolerance:  # also catches NaN
        raise ClassicnetsError(
            f"{what} differs from eager PyTorch by up to {diff:.3g} on {data} (tolerance "
            f"{tolerance:g}; top-1 agrees on {agree:,} of {total:,}), so nothing was written."
        )
    return {"max_abs_diff": diff, "tolerance": tolerance, "top1_agree": agree, "top1_total": total}
