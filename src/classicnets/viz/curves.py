"""Training curves: loss and accuracy per epoch, training and validation, from a run's
metrics.csv (the test split is scored once, at the end, and never drawn per epoch)."""

from __future__ import annotations

import csv
import os
from pathlib import Path


def read_metrics(path: str | os.PathLike) -> dict[str, list[float]]:
    """Columns of a metrics.csv as lists of floats (empty cells skipped)."""
    columns: dict[str, list[float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if value not in ("", None):
                    columns.setdefault(key, []).append(float(value))
    return columns


def plot_curves(metrics: dict[str, list[float]], path: str | os.PathLike, title: str = "") -> Path:
    """Draw loss (left) and accuracy (right) per epoch for training and validation; write a
    PNG atomically and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = metrics.get("epoch") or list(range(1, len(metrics.get("loss", [])) + 1))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    for ax, key, label in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        for prefix, name, style in (("", "training", "-o"), ("val_", "validation", "-s")):
            values = metrics.get(prefix + key)
            if values:
                ax.plot(epochs[: len(values)], values, style, markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path
