"""Pictures of the hand-written network's two demos (:mod:`classicnets.runs.scratch_demos`
computes them): per-layer gradient norms for sigmoid, ReLU and Maxout, and the training loss of
per-example, mini-batch and full-batch SGD against updates and against seconds."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from ._figure import pyplot, save_figure


def _positive(values: list[float]) -> list[float]:
    return [v if v > 0 and math.isfinite(v) else math.nan for v in values]


def plot_vanishing(result: dict[str, Any], path: str | os.PathLike, title: str) -> Path:
    """Gradient norm of each layer's weights (log scale) against depth, one line per
    activation: solid at initialisation, dashed after training.

    Args:
        result: what :func:`classicnets.runs.scratch_demos.vanishing_gradient` returned.
        path: the PNG to write.
        title: the picture's title (network, data, split).
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for (stage, label), ax in zip((("init", "at initialisation"), ("trained", "after training")),
                                  axes, strict=True):  # fmt: skip
        for activation, row in result["rows"].items():
            norms = row[stage]
            ax.plot(range(1, len(norms) + 1), _positive(norms), marker="o",
                    label=f"{activation} (test {row['test_accuracy']:.3f})")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("layer (1 = next to the input)")
        ax.set_title(f"{label} (after {result['epochs']} epochs)" if stage == "trained" else label)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("‖∂L/∂W‖ of the layer, one batch of 512")
    axes[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_batch_sizes(result: dict[str, Any], path: str | os.PathLike, title: str) -> Path:
    """Loss on the whole training split against updates (log scale) and against training
    seconds, one line per batch size.

    Args:
        result: what :func:`classicnets.runs.scratch_demos.batch_sizes` returned.
        path: the PNG to write.
        title: the picture's title.
    """
    plt = pyplot()
    fig, (by_updates, by_seconds) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for name, row in result["rows"].items():
        points = row["points"]
        label = (f"batch {row['batch_size']}{' (full)' if name == 'full' else ''}, "
                 f"lr {row['lr']:g}, test {row['test_accuracy']:.3f}")  # fmt: skip
        losses = [p["train_loss"] for p in points]
        by_updates.plot([p["updates"] + 1 for p in points], losses, marker="o", label=label)
        by_seconds.plot([p["seconds"] for p in points], losses, marker="o", label=label)
    by_updates.set_xscale("log")
    by_updates.set_xlabel("updates + 1 (log; the first point is before any update)")
    by_seconds.set_xlabel("training seconds")
    by_updates.set_ylabel("cross-entropy on the training split")
    by_seconds.legend(fontsize=8)
    for ax in (by_updates, by_seconds):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)
