"""Checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint ``STEM`` is two files: ``STEM.safetensors`` (model weights under ``model.``,
optimizer tensors under ``optimizer.``, and the JSON metadata embedded as well, so the file stands
alone) and ``STEM.json`` (the same metadata, for people and tools). Both are written to a
temporary file and renamed, so an interruption never leaves a half-written checkpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import ClassicnetsError, CorruptFileError

FORMAT = "classicnets-checkpoint"
VERSION = 1


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.state.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer.state."):
            index, key = name[len("optimizer.state.") :].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    for index, entries in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(entries)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    stem: str | os.PathLike,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    meta: dict[str, Any],
) -> Path:
    """Write ``STEM.safetensors`` and ``STEM.json`` atomically; returns the safetensors path."""
    stem = Path(stem)
    tensors = {
        f"model.{k}": v.detach().to("cpu").contiguous().clone()
        for k, v in module.state_dict().items()
    }
    meta = {"format": FORMAT, "version": VERSION, **meta}
    if optimizer is not None:
        opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
        tensors.update(
            {k: v.detach().to("cpu").contiguous().clone() for k, v in opt_tensors.items()}
        )
        meta["optimizer_state"] = opt_meta
    text = json.dumps(meta, indent=2, default=_jsonable)
    try:
        weights = stem.with_suffix(".safetensors")
        _atomic_write(weights, lambda tmp: save_file(tensors, tmp, metadata={"classicnets": text}))
        _atomic_write(stem.with_suffix(".json"), lambda tmp: Path(tmp).write_text(text + "\n"))
    except OSError as err:
        raise ClassicnetsError(f"Cannot write the checkpoint {stem}: {err.strerror}.") from None
    return weights


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """Find the ``.safetensors`` file meant by ``path``: the file itself, its ``.json`` twin,
    a stem, or a run directory (``best`` if present, else ``last``)."""
    path = Path(path)
    if path.is_dir():
        for stem in ("best", "last", "checkpoints/best", "checkpoints/last"):
            if (path / f"{stem}.safetensors").is_file():
                return path / f"{stem}.safetensors"
        raise ClassicnetsError(
            f"{path} holds no checkpoint (best.safetensors or last.safetensors)."
        )
    candidate = path if path.suffix == ".safetensors" else path.with_suffix(".safetensors")
    if not candidate.is_file():
        raise ClassicnetsError(f"No checkpoint at {path}.")
    return candidate


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint; returns (tensors, metadata). Damaged files raise CorruptFileError."""
    weights = resolve_checkpoint(path)
    try:
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            text = (f.metadata() or {}).get("classicnets")
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise CorruptFileError(f"{weights} is not a readable checkpoint ({err}).") from None
    if text is None:
        raise CorruptFileError(f"{weights} is a safetensors file but not a classicnets checkpoint.")
    meta = json.loads(text)
    if meta.get("format") != FORMAT:
        raise CorruptFileError(f"{weights} is not a classicnets checkpoint.")
    return tensors, meta


def split_state(
    tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], dict | None]:
    """Split loaded tensors into the model state dict and the optimizer state dict."""
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    opt_meta = meta.get("optimizer_state")
    return model_state, (_unflatten_optimizer(tensors, opt_meta) if opt_meta else None)
