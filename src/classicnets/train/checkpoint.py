"""Checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint ``STEM`` is ``STEM.safetensors``: the model's weights under ``model.``, the
optimizer's tensors under ``optimizer.``, the training state's (random streams, a language
model's carried state) under ``training.``, and the JSON metadata in its header. The metadata
holds a SHA-256 checksum of everything else, so a truncated, bit-flipped or swapped file is
refused with a sentence naming it rather than loaded with silently wrong numbers.
``STEM.json`` is the same metadata for people and tools; nothing reads it back.

Both files are written to a temporary file and renamed, so an interruption, even a SIGKILL
during the write, leaves the previous checkpoint whole.
"""

from __future__ import annotations

import hashlib
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
VERSION = 2


def atomic_write(path: Path, write) -> None:
    """``write(temporary_path)``, then rename over ``path``; stale temporaries of an earlier
    interrupted write are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*"):
        stale.unlink(missing_ok=True)
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


def checksum(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, and the metadata."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy())
    digest.update(json.dumps(meta, sort_keys=True, default=_jsonable).encode())
    return digest.hexdigest()


def save_checkpoint(
    stem: str | os.PathLike,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer | dict[str, Any] | None,
    meta: dict[str, Any],
    extra_tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``STEM.safetensors`` and ``STEM.json`` atomically; returns the safetensors path.

    Args:
        stem: the path without suffix.
        module: whose ``state_dict`` is saved under ``model.``.
        optimizer: whose state (or the state itself) is saved under ``optimizer.``.
        meta: JSON-able metadata.
        extra_tensors: more tensors, saved under ``training.``.
    """
    stem = Path(stem)
    tensors = {f"model.{k}": v for k, v in module.state_dict().items()}
    meta = {"format": FORMAT, "version": VERSION, **meta}
    if optimizer is not None:
        state = optimizer if isinstance(optimizer, dict) else optimizer.state_dict()
        opt_tensors, opt_meta = _flatten_optimizer(state)
        tensors.update(opt_tensors)
        meta["optimizer_state"] = opt_meta
    tensors.update({f"training.{k}": v for k, v in (extra_tensors or {}).items()})
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    meta = json.loads(json.dumps(meta, default=_jsonable))  # as it will read back
    meta["checksum"] = checksum(tensors, meta)
    text = json.dumps(meta, indent=2)
    try:
        weights = stem.with_suffix(".safetensors")
        atomic_write(weights, lambda tmp: save_file(tensors, tmp, metadata={"classicnets": text}))
        atomic_write(stem.with_suffix(".json"), lambda tmp: Path(tmp).write_text(text + "\n"))
    except OSError as err:
        raise ClassicnetsError(f"Cannot write the checkpoint {stem}: {err.strerror}.") from None
    return weights


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    if isinstance(value, torch.dtype | torch.device):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """Find the ``.safetensors`` file meant by ``path``: the file itself, its ``.json`` twin,
    a stem, or a run directory (``best`` if present, else ``last``)."""
    path = Path(path)
    if path.is_dir():
        for stem in ("best", "last"):
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
    """Read a checkpoint and check it is whole; returns (tensors, metadata).

    Raises:
        CorruptFileError: the file is not a readable classicnets checkpoint, or its contents
            do not match its checksum; the message names the file.
    """
    weights = resolve_checkpoint(path)
    damaged = f"{weights} is damaged or not a classicnets checkpoint"
    try:
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            text = (f.metadata() or {}).get("classicnets")
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CorruptFileError(f"{damaged} ({reason}).") from None
    if text is None:
        raise CorruptFileError(f"{weights} is a safetensors file but not a classicnets checkpoint.")
    try:
        meta = json.loads(text)
    except ValueError:
        raise CorruptFileError(f"{damaged} (its metadata is not valid JSON).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CorruptFileError(f"{damaged}.")
    if meta.get("version") != VERSION:
        raise CorruptFileError(
            f"{weights} is a classicnets checkpoint of format version {meta.get('version')}; "
            f"this version reads {VERSION}: retrain, or load it with the version that wrote it."
        )
    stored = meta.pop("checksum", None)
    if stored != checksum(tensors, meta):
        raise CorruptFileError(
            f"{damaged}: its contents do not match their checksum (a truncated, altered or "
            "partly copied file); use another checkpoint or retrain."
        )
    return tensors, meta


def split_state(
    tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], dict | None, dict[str, torch.Tensor]]:
    """Split loaded tensors into the model state dict, the optimizer state dict and the
    training tensors."""
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    training = {k[len("training.") :]: v for k, v in tensors.items() if k.startswith("training.")}
    opt_meta = meta.get("optimizer_state")
    optimizer = _unflatten_optimizer(tensors, opt_meta) if opt_meta else None
    return model_state, optimizer, training
