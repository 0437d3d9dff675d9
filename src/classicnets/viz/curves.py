"""Training curves: loss, accuracy and the learning rate per epoch, training and validation,
from a run's metrics.csv (the test split is scored once, at the end, and never drawn per
epoch).

The other kinds of run add a panel for each score they log on validation beside loss and
accuracy: an encoder-decoder's exact match and BLEU, a tagger's F1.

A language model's run (its metrics have a ``perplexity`` column) logs its loss in nats per
token; its loss panel adds an axis in bits per token (loss / ln 2), the unit character models
are compared in.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from ._figure import pyplot, save_figure


def read_metrics(path: str | os.PathLike) -> dict[str, list[float]]:
    """Columns of a metrics.csv as lists of floats (empty cells skipped)."""
    columns: dict[str, list[float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if value not in ("", None):
                    columns.setdefault(key, []).append(float(value))
    return columns


def is_text_run(metrics: dict[str, list[float]]) -> bool:
    """A language model's metrics: they carry a perplexity (the exp of the loss in nats)."""
    return bool(metrics.get("perplexity") or metrics.get("val_perplexity"))


# what every run logs, or what is drawn elsewhere (perplexity is the loss's exp)
_NOT_SCORES = {"loss", "accuracy", "perplexity", "lr", "seconds", "examples_per_second"}


def task_scores(metrics: dict[str, list[float]]) -> list[str]:
    """The scores a run logs on validation beside loss and accuracy (``exact_match``,
    ``bleu``, ``f1``...), in the order of its columns."""
    names = [key.removeprefix("val_") for key in metrics if key.startswith("val_")]
    return [name for name in names if name not in _NOT_SCORES and metrics[f"val_{name}"]]


def _series(ax, epochs: list[float], metrics: dict[str, list[float]], key: str) -> None:
    for prefix, name, style in (("", "training", "-o"), ("val_", "validation", "-s")):
        values = metrics.get(prefix + key)
        if values:
            ax.plot(epochs[: len(values)], values, style, markersize=3, label=name)
    if ax.lines:
        ax.legend()


def plot_curves(
    metrics: dict[str, list[float]],
    path: str | os.PathLike,
    title: str = "",
    *,
    token: str = "token",
) -> Path:
    """Draw loss, accuracy (when logged) and the learning rate (when logged) per epoch, for
    training and validation; write a PNG atomically and return its path.

    Args:
        metrics: columns of a metrics.csv (:func:`read_metrics`): ``epoch``, ``loss``,
            ``accuracy``, ``val_*``, ``lr``, ...
        path: the PNG to write.
        title: the picture's title: model, data and split.
        token: what a language model predicts (``"character"``, ``"word"``): names its
            bits-per-token axis.

    Returns:
        The path written.
    """
    plt = pyplot()
    epochs = metrics.get("epoch") or list(range(1, len(metrics.get("loss", [])) + 1))
    text = is_text_run(metrics)
    panels = ["loss"]
    if metrics.get("accuracy") or metrics.get("val_accuracy"):
        panels.append("accuracy")
    panels += task_scores(metrics)
    if metrics.get("lr"):
        panels.append("lr")
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.6 * len(panels), 3.4), constrained_layout=True, squeeze=False
    )
    for ax, panel in zip(axes[0], panels, strict=True):
        if panel == "lr":
            rates = metrics["lr"]  # each epoch's last update's, what metrics.csv logs
            ax.plot(epochs[: len(rates)], rates, "-o", markersize=3, color="C2")
            ax.set_ylabel("learning rate (epoch's last update)")
            ax.set_ylim(bottom=0)
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        else:
            _series(ax, epochs, metrics, panel)
            name = "next-token accuracy" if text and panel == "accuracy" else panel
            name = {"exact_match": "exact match", "bleu": "BLEU", "f1": "F1"}.get(name, name)
            ax.set_ylabel(f"{name} (nats per {token})" if text and panel == "loss" else name)
        if text and panel == "loss":
            bits = ax.secondary_yaxis(
                "right", functions=(lambda n: n / math.log(2), lambda b: b * math.log(2))
            )
            bits.set_ylabel(f"bits per {token}")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
