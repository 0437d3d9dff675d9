"""Learning-rate pictures: a run's rate at every update (its schedule), and the range test's
loss against the rate with the rate it suggests.

The numbers come from :func:`classicnets.runs.schedule.lr_per_step` and
:func:`classicnets.train.lr_find.lr_range_test`; this module only draws them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ClassicnetsError
from ._figure import pyplot, save_figure


def plot_lr_schedule(
    rates: Sequence[float], steps_per_epoch: int, path: str | os.PathLike, title: str = ""
) -> Path:
    """Draw the learning rate of every update against the epoch it falls in.

    Args:
        rates: the rate of each update, in order.
        steps_per_epoch: updates per epoch (update ``i`` is drawn at epoch ``i / steps``).
        path: the PNG to write (atomically).
        title: the picture's title: model, data, optimizer and schedule.

    Returns:
        The path written.

    Raises:
        ClassicnetsError: no rates, or ``steps_per_epoch`` below 1.
    """
    if not len(rates):
        raise ClassicnetsError("plot_lr_schedule needs the rate of at least one update.")
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int):
        raise ClassicnetsError(f"steps_per_epoch must be a whole number, got {steps_per_epoch!r}.")
    if steps_per_epoch < 1:
        raise ClassicnetsError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}.")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.4), constrained_layout=True)
    epochs = [i / steps_per_epoch for i in range(len(rates))]
    ax.plot(epochs, list(rates), "-", linewidth=1.6)
    peak = max(range(len(rates)), key=lambda i: rates[i])
    ax.annotate(
        f"peak {rates[peak]:.3g}",
        (epochs[peak], rates[peak]),
        textcoords="offset points",
        xytext=(4, 4),
        fontsize=8,
    )
    ax.set_xlim(0, max(len(rates) / steps_per_epoch, epochs[-1]))
    ax.set_ylim(bottom=0)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(f"epoch ({steps_per_epoch:,} updates each)")
    ax.set_ylabel("learning rate")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_lr_find(result: dict[str, Any], path: str | os.PathLike, title: str = "") -> Path:
    """Draw the range test's loss (each batch's, and smoothed) against the rate on a log axis,
    with the suggested rate, the steepest descent and the minimum marked.

    Args:
        result: what ``lr_range_test`` returned.
        path: the PNG to write (atomically).
        title: the picture's title: model, data and optimizer.

    Returns:
        The path written.

    Raises:
        ClassicnetsError: a result without rates and losses.
    """
    missing = [k for k in ("rates", "losses", "smoothed", "suggested") if k not in result]
    if missing or not result.get("rates"):
        raise ClassicnetsError(
            "plot_lr_find takes what classicnets.train.lr_find.lr_range_test returns (rates, "
            f"losses, smoothed, suggested); this result lacks {', '.join(missing) or 'rates'}."
        )
    rates, smoothed = result["rates"], result["smoothed"]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    ax.plot(rates, result["losses"], "-", color="0.75", linewidth=0.8, label="batch loss")
    ax.plot(rates, smoothed, "-", color="C0", linewidth=1.8, label="smoothed loss")
    marks = (
        ("suggested", "C2", "-", "suggested"),
        ("steepest", "C1", ":", "steepest descent"),
        ("minimum", "C3", "--", "lowest smoothed loss"),
    )
    for key, colour, style, name in marks:
        if result.get(key):
            label = f"{name}: {result[key]:.2g}"
            ax.axvline(result[key], color=colour, linestyle=style, linewidth=1.2, label=label)
    ax.set_xscale("log")
    finite = [(v, i) for i, v in enumerate(smoothed) if math.isfinite(v)]
    if finite:
        # The climb after the minimum leaves the picture: the falling stretch is what matters.
        low, lowest = min(finite)
        top = max(v for v, i in finite if i <= lowest)
        span = max(top - low, 1e-6 * max(abs(top), 1.0))
        ax.set_ylim(low - 0.15 * span, top + 0.35 * span)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
