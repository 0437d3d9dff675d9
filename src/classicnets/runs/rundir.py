"""Run directories: where a new one goes, opening an existing one safely, and fitting into one.

A run directory holds ``config.json`` (what the run was told, written once), ``metrics.csv``
(one row per epoch: training and validation values), ``curves.png``, ``summary.txt``, the
checkpoints ``last`` and ``best`` (``.safetensors`` + ``.json``; ``best`` only with a validation
split), ``results.json`` (the kept checkpoint's validation and test scores) and, for language
models, ``sample.txt``.

Every checkpoint embeds the run's config, so a damaged or swapped ``config.json`` is caught by
comparing the two, and every file read is checked: a damaged one ends in one sentence naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ClassicnetsError, CorruptFileError
from ..train.checkpoint import resolve_checkpoint
from .config import CONFIGS, RunConfig

RUN_FILES = ("config.json", "summary.txt", "metrics.csv", "curves.png", "results.json")


def default_run_dir(model: str, data: str) -> Path:
    """``runs/MODEL-DATA-YYYYmmdd-HHMMSS``, with ``-2``, ``-3``, ... if that exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{model}-{data}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def check_new_run_dir(out: str | os.PathLike | None, model: str, data: str) -> Path:
    """The directory a new run will write, checked without creating anything: not a file,
    not a folder with files in it (nothing the user had is overwritten), and under a folder
    that can be written."""
    path = Path(out) if out else default_run_dir(model, data)
    if path.exists() and not path.is_dir():
        raise ClassicnetsError(f"Output directory {path} is a file; choose another --out.")
    if path.is_dir() and any(path.iterdir()):
        raise ClassicnetsError(
            f"Output directory {path} is not empty; continue that run with --resume {path} or "
            f"choose another --out."
        )
    parent = path.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ClassicnetsError(
            f"Cannot write to output directory {path}: {parent} is not a writable folder; "
            "choose another --out."
        )
    return path


def create_run_dir(path: Path) -> None:
    """Make the directory :func:`check_new_run_dir` chose."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ClassicnetsError(
            f"Cannot write to output directory {path}: {err.strerror}; choose another --out."
        ) from None


def remove_unfinished(path: Path) -> None:
    """Remove a run directory no checkpoint was written to (a run that failed at once), so a
    failed command leaves nothing half-made behind."""
    if (path / "last.safetensors").exists():
        return
    if all(p.name in RUN_FILES or p.name.startswith(".") for p in path.iterdir()):
        shutil.rmtree(path, ignore_errors=True)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a reader never sees half."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    write_atomically(path, json.dumps(data, indent=2) + "\n")


def write_curves(run_dir: Path, title: str, token: str = "token") -> None:
    """Plot ``metrics.csv`` into ``curves.png`` (a text run's loss also in bits per
    ``token``)."""
    from ..viz.curves import plot_curves, read_metrics

    metrics = read_metrics(run_dir / "metrics.csv")
    plot_curves(metrics, run_dir / "curves.png", title=title, token=token)


def read_json(path: Path) -> Any:
    """A JSON file of a run; damage (truncation, junk, bad bytes) names the file."""
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise CorruptFileError(
            f"{path} is damaged (not valid JSON: {type(err).__name__}); restore it from a copy "
            "or retrain."
        ) from None
    except OSError as err:
        raise ClassicnetsError(f"Cannot read {path}: {err.strerror}.") from None


def read_config(run_dir: Path) -> RunConfig:
    """The run's ``config.json`` as its config class."""
    path = run_dir / "config.json"
    saved = read_json(path)
    if not isinstance(saved, dict) or saved.get("task") not in CONFIGS:
        raise CorruptFileError(f"{path} is damaged: it does not say what kind of run it is.")
    return CONFIGS[saved["task"]].from_dict(saved, str(path))


@dataclass(frozen=True)
class OpenedRun:
    """A checkpoint, and the run it belongs to (None for a checkpoint saved from Python)."""

    checkpoint: Path  # the .safetensors file
    run_dir: Path | None
    config: RunConfig | None


def is_run_dir(path: str | os.PathLike) -> bool:
    return (Path(path) / "config.json").is_file()


def open_run(path: str | os.PathLike, stem: str | None = None) -> OpenedRun:
    """A run directory (its ``stem`` checkpoint: by default ``best``, else ``last``), one of
    its checkpoints (``RUN/last``, ``RUN/last.safetensors``), or a lone checkpoint.

    Raises:
        ClassicnetsError: nothing there, or a damaged ``config.json`` (named).
    """
    path = Path(path)
    if stem is not None and not path.is_dir():
        raise ClassicnetsError(
            f"{path} is not a resumable run directory (it needs config.json and "
            f"{stem}.safetensors)."
        )
    if path.is_dir():
        run_dir = path
        if stem is not None:
            checkpoint = path / f"{stem}.safetensors"
            if not checkpoint.is_file() or not is_run_dir(path):
                raise ClassicnetsError(
                    f"{path} is not a resumable run directory (it needs config.json and "
                    f"{stem}.safetensors)."
                )
        elif not is_run_dir(path) and not any(path.glob("*.safetensors")):
            raise ClassicnetsError(f"{path} is not a run directory (it has no config.json).")
        else:
            checkpoint = resolve_checkpoint(path)
    else:
        checkpoint = resolve_checkpoint(path)
        run_dir = checkpoint.parent
    if not is_run_dir(run_dir):
        return OpenedRun(checkpoint, None, None)
    return OpenedRun(checkpoint, run_dir, read_config(run_dir))


def check_matches(opened: OpenedRun, embedded: dict[str, Any] | None) -> None:
    """``config.json`` must be the config the checkpoint was trained with."""
    if opened.config is None:
        return
    if embedded != opened.config.to_dict():
        raise CorruptFileError(
            f"{opened.run_dir / 'config.json'} does not match the run that {opened.checkpoint} "
            "holds (one of them was damaged, edited or copied from another run); restore the "
            "run directory from a copy or retrain."
        )
