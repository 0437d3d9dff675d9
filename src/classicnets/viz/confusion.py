"""Which classes a classifier mixes up: the confusion matrix (rows are the true classes,
columns the predicted ones) as counts and as fractions of each true class, and each class's
accuracy (the diagonal of the fractions) beside it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import ClassicnetsError, ShapeError
from ._figure import pyplot
from .features import save_png

ANNOTATE_UP_TO = 12  # classes; beyond this the numbers in the cells become unreadable
LABEL_UP_TO = 40  # classes; beyond this the tick labels overlap


def _class_indices(values: torch.Tensor, num_classes: int, what: str) -> torch.Tensor:
    if not isinstance(values, torch.Tensor) or values.dim() != 1:
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ShapeError(
            f"confusion_matrix: {what} must be a 1-D tensor of class indices, got {shape}."
        )
    if values.is_floating_point():
        raise ClassicnetsError(
            f"confusion_matrix: {what} must be integer class indices, got {values.dtype}; take "
            "the argmax of the scores first."
        )
    values = values.long().cpu()
    if values.numel() and (values.min() < 0 or values.max() >= num_classes):
        bad = values[(values < 0) | (values >= num_classes)][0].item()
        raise ClassicnetsError(
            f"confusion_matrix: {what} holds class {bad}, outside 0 to {num_classes - 1} for "
            f"{num_classes} classes."
        )
    return values


def confusion_matrix(
    predictions: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """Count how often each true class got each prediction.

    Args:
        predictions: (N,) predicted class indices.
        labels: (N,) true class indices.
        num_classes: the number of classes K.

    Returns:
        An int64 (K, K) matrix; entry (i, j) counts the images of class i predicted as j.

    Raises:
        ClassicnetsError: for unequal lengths, non-integer indices or indices out of range.
    """
    if num_classes < 1:
        raise ClassicnetsError(
            f"confusion_matrix: num_classes must be 1 or more, got {num_classes}."
        )
    predictions = _class_indices(predictions, num_classes, "predictions")
    labels = _class_indices(labels, num_classes, "labels")
    if predictions.numel() != labels.numel():
        raise ShapeError(
            f"confusion_matrix: {predictions.numel()} predictions for {labels.numel()} labels; "
            "give one prediction per label."
        )
    cells = labels * num_classes + predictions  # one index per (true, predicted) pair
    return torch.bincount(cells, minlength=num_classes**2).reshape(num_classes, num_classes)


def _heatmap(ax, values: np.ndarray, classes: Sequence[str], cmap: str, fmt: str, vmax: float):
    count = len(classes)
    ax.imshow(values, cmap=cmap, vmin=0, vmax=vmax)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if count <= LABEL_UP_TO:
        ax.set_xticks(range(count), classes, rotation=90, fontsize=7)
        ax.set_yticks(range(count), classes, fontsize=7)
    if count <= ANNOTATE_UP_TO:
        for i in range(count):
            for j in range(count):
                dark = values[i, j] > vmax / 2
                ax.text(
                    j,
                    i,
                    format(values[i, j], fmt),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )


def plot_confusion(
    predictions: torch.Tensor,
    labels: torch.Tensor,
    classes: Sequence[str],
    path: str | os.PathLike,
    title: str,
) -> Path:
    """Write a PNG: the counts, the row-normalised matrix and each class's accuracy.

    Args:
        predictions: (N,) predicted class indices.
        labels: (N,) true class indices.
        classes: the class names, one per index.
        path: where to write the PNG.
        title: the picture's title (model, data, split).

    Returns:
        The path written.

    Raises:
        ClassicnetsError: as :func:`confusion_matrix`, or for no class names.
    """
    classes = [str(c) for c in classes]
    if not classes:
        raise ClassicnetsError("plot_confusion: give the class names, one per class index.")
    counts = confusion_matrix(predictions, labels, len(classes)).numpy()
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    accuracy = np.diag(fractions)
    present = totals[:, 0] > 0
    overall = np.trace(counts) / max(1, counts.sum())
    count = len(classes)
    side = min(11.0, max(3.2, 0.32 * count + 1.6))
    fig, axes = pyplot().subplots(
        1, 3, figsize=(2 * side + 3.0, side + 0.9), width_ratios=[side, side, 3.0], squeeze=False
    )
    left, middle, right = axes[0]
    _heatmap(left, counts, classes, "Blues", "d", max(1, counts.max()))
    left.set_title("counts")
    _heatmap(middle, fractions, classes, "Blues", ".2f", 1.0)
    middle.set_title("fraction of each true class")
    rows = np.arange(count)
    right.barh(rows[present], accuracy[present], color="tab:blue")
    right.set_xlim(0, 1)
    right.set_ylim(count - 0.5, -0.5)  # row i beside row i of the matrices
    right.set_xlabel("accuracy")
    right.set_title("per class")
    right.grid(axis="x", alpha=0.3)
    if count <= LABEL_UP_TO:
        right.set_yticks(rows, classes, fontsize=7)
    if count <= ANNOTATE_UP_TO:
        for i in rows[present]:
            inside = accuracy[i] > 0.85  # no room right of the bar: write on it
            right.text(
                accuracy[i] - 0.02 if inside else accuracy[i] + 0.02,
                i,
                f"{accuracy[i]:.2f}",
                ha="right" if inside else "left",
                va="center",
                fontsize=7,
                color="white" if inside else "black",
            )
    fig.suptitle(
        f"{title}\naccuracy {overall:.4f} on {int(counts.sum()):,} images, {count} classes",
        fontsize=10,
    )
    fig.tight_layout()
    return save_png(fig, path)
