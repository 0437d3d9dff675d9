"""The images a classifier got wrong while being most sure of itself: the quickest look at what
it confuses, and often at labels in the data that are themselves wrong."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import ClassicnetsError, ShapeError
from ._figure import pyplot
from .features import display_image, save_png


def _checked(
    probs: torch.Tensor, labels: torch.Tensor, what: str
) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(probs, torch.Tensor) or probs.dim() != 2:
        shape = tuple(probs.shape) if isinstance(probs, torch.Tensor) else type(probs).__name__
        raise ShapeError(f"{what}: probs must be (N, classes), got {shape}.")
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or labels.is_floating_point():
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ShapeError(f"{what}: labels must be (N,) integer class indices, got {shape}.")
    if labels.numel() != probs.shape[0]:
        raise ShapeError(
            f"{what}: {probs.shape[0]} rows of probabilities for {labels.numel()} labels; give "
            "one row per label."
        )
    if labels.numel() and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ClassicnetsError(
            f"{what}: labels must lie in 0 to {probs.shape[1] - 1} for {probs.shape[1]} classes, "
            f"got {int(labels.min())} to {int(labels.max())}."
        )
    return probs.detach().float().cpu(), labels.long().cpu()


def most_confident_mistakes(probs: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """The indices of the wrongly predicted images, most confident first.

    Args:
        probs: (N, K) class probabilities (scores work too: only their order per row and the
            predicted class's value are used).
        labels: (N,) true class indices.
        k: how many at most.

    Returns:
        int64 indices of at most ``k`` images whose top class is not their label, by the top
        class's probability, highest first (ties by index).

    Raises:
        ClassicnetsError: for ``k`` under 1 or mismatched shapes.
    """
    if k < 1:
        raise ClassicnetsError(f"most_confident_mistakes: k must be 1 or more, got {k}.")
    probs, labels = _checked(probs, labels, "most_confident_mistakes")
    confidence, predicted = probs.max(dim=1)
    wrong = torch.nonzero(predicted != labels).flatten()
    order = torch.sort(confidence[wrong], descending=True, stable=True).indices
    return wrong[order][:k]


def plot_mistakes(
    raw_images: torch.Tensor,
    labels: torch.Tensor,
    probs: torch.Tensor,
    classes: Sequence[str],
    path: str | os.PathLike,
    title: str,
    k: int = 16,
) -> Path:
    """Write a PNG grid of the ``k`` most confident mistakes, each with its true class, the
    predicted class and the probability given to it.

    Args:
        raw_images: (N, C, H, W) uint8 images, for display.
        labels: (N,) true class indices.
        probs: (N, K) class probabilities.
        classes: the class names, one per index.
        path: where to write the PNG.
        title: the picture's title (model, data, split).
        k: how many mistakes at most.

    Returns:
        The path written; without any mistake the picture says so.

    Raises:
        ClassicnetsError: for mismatched shapes, too few class names, or ``k`` under 1.
    """
    probs, labels = _checked(probs, labels, "plot_mistakes")
    chosen = most_confident_mistakes(probs, labels, k).tolist()
    if not isinstance(raw_images, torch.Tensor) or raw_images.dim() != 4:
        shape = tuple(raw_images.shape) if isinstance(raw_images, torch.Tensor) else "?"
        raise ShapeError(f"plot_mistakes: raw_images must be (N, C, H, W) uint8, got {shape}.")
    if raw_images.shape[0] != labels.numel():
        raise ShapeError(
            f"plot_mistakes: {raw_images.shape[0]} images for {labels.numel()} labels; give "
            "one label per image."
        )
    if len(classes) < probs.shape[1]:
        raise ClassicnetsError(
            f"plot_mistakes: {len(classes)} class names for {probs.shape[1]} classes; give one "
            "name per class."
        )
    total_wrong = int((probs.argmax(dim=1) != labels).sum())
    plt = pyplot()
    if not chosen:
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"no mistakes among {labels.numel():,} images", ha="center", va="center")
        fig.suptitle(title, fontsize=10)
        return save_png(fig, path)
    cols = min(4 if len(chosen) <= 8 else 8, len(chosen))
    rows = math.ceil(len(chosen) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.15 * rows + 0.7), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, index in zip(axes.flat, chosen, strict=False):
        pixels = display_image(raw_images[index])
        ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=255)
        predicted = int(probs[index].argmax())
        ax.set_title(
            f"#{index} true: {classes[int(labels[index])]}\n"
            f"pred: {classes[predicted]} {probs[index, predicted]:.2f}",
            fontsize=7,
        )
    fig.suptitle(
        f"{title}\nthe {len(chosen)} most confident of {total_wrong:,} mistakes among "
        f"{labels.numel():,} images",
        fontsize=10,
    )
    fig.tight_layout()
    return save_png(fig, path)
