"""What every run directory shares, image or text: where it goes, that it can be written,
fitting into it (metrics, checkpoints, curves; a divergence or Ctrl-C leaves a usable
directory) and reopening it to continue.

The layout is described in :mod:`classicnets.experiment`; :mod:`classicnets.text_experiment`
adds ``sample.txt``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ..errors import ClassicnetsError, TrainingDivergedError
from ..train import CSVLogger, Model, ModelCheckpoint, ProgressBar, load


def default_run_dir(model: str, data: str) -> Path:
    """``runs/MODEL-DATA-YYYYmmdd-HHMMSS``, with ``-2``, ``-3``, ... if that exists."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{model}-{data}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def prepare_run_dir(out: str | os.PathLike | None, model: str, data: str) -> Path:
    """Create the directory of a new run, ``out`` or else :func:`default_run_dir`: refuse a
    file or a non-empty folder (nothing the user had is overwritten) and check it can be
    written, before any training."""
    path = Path(out) if out else default_run_dir(model, data)
    if path.exists() and not path.is_dir():
        raise ClassicnetsError(f"Output directory {path} is a file; choose another --out.")
    if path.is_dir() and any(path.iterdir()):
        raise ClassicnetsError(
            f"Output directory {path} is not empty; continue that run with --resume {path} or "
            f"choose another --out."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ClassicnetsError(
            f"Cannot write to output directory {path}: {err.strerror}; choose another --out."
        ) from None
    return path


def write_curves(run_dir: Path, title: str) -> None:
    """Plot ``metrics.csv`` into ``curves.png``."""
    from ..viz.curves import plot_curves, read_metrics

    plot_curves(read_metrics(run_dir / "metrics.csv"), run_dir / "curves.png", title=title)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a reader never sees half."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def reopen_run(run_dir: Path, epochs: int, device: str) -> Model:
    """The trainer of ``run_dir``'s ``last`` checkpoint, checked to have epochs left to train.

    Args:
        run_dir: a run directory with ``config.json`` and ``last.safetensors``.
        epochs: the total number of epochs the continued run should reach.
        device: where to continue.
    """
    if not (run_dir / "config.json").is_file() or not (run_dir / "last.safetensors").is_file():
        raise ClassicnetsError(
            f"{run_dir} is not a resumable run directory (it needs config.json and "
            f"last.safetensors)."
        )
    model = load(run_dir / "last", device=device)
    if model.epochs_done >= epochs:
        raise ClassicnetsError(
            f"{run_dir} has already trained {model.epochs_done} of its {epochs} epochs; "
            f"pass a larger --epochs to train further."
        )
    return model


def fit_into_run_dir(
    run_dir: Path,
    model: Model,
    train: Any,
    *,
    title: str,
    monitor: str = "val_accuracy",
    progress: bool = True,
    resumed: bool = False,
    **fit_kwargs: Any,
) -> None:
    """``model.fit(train, **fit_kwargs)`` with the run directory's callbacks, then the curves.

    Every epoch appends to ``metrics.csv`` and saves ``last`` (and ``best`` by ``monitor``).
    A loss that turns NaN keeps the curves so far and says which checkpoint is good; Ctrl-C
    saves a resumable ``last`` and says how to continue. Both end in a one-sentence error.
    """
    callbacks = [
        CSVLogger(run_dir / "metrics.csv", append=resumed),
        ModelCheckpoint(run_dir, monitor=monitor),
    ]
    if progress:
        callbacks.append(ProgressBar())
    try:
        model.fit(train, callbacks=callbacks, **fit_kwargs)
    except TrainingDivergedError as err:
        kept = run_dir / "last.safetensors"
        where = f"the last good checkpoint is {kept}" if kept.exists() else "no epoch finished"
        if (run_dir / "metrics.csv").exists():
            write_curves(run_dir, title)
        raise TrainingDivergedError(f"{err} In {run_dir}: {where}.") from None
    except KeyboardInterrupt:
        model.save(run_dir / "last", training_state={"interrupted": True})
        raise ClassicnetsError(
            f"Interrupted during epoch {model.epochs_done + 1}; a resumable checkpoint is in "
            f"{run_dir}: continue with `classicnets train --resume {run_dir}`."
        ) from None
    write_curves(run_dir, title)
