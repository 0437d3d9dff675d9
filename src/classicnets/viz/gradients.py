"""The vanishing-gradient picture: how large each layer's gradient is, from the input side to
the output, for one or more models side by side (LeNet-5's sigmoids against its ReLU form).

The numbers come from :func:`classicnets.train.gradients.gradient_norms`; this module only
draws them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from ..errors import ClassicnetsError
from ._figure import pyplot, save_figure


def _checked(results: dict[str, dict[str, Any]]) -> None:
    if not results:
        raise ClassicnetsError("plot_gradient_norms needs at least one model's gradient norms.")
    for label, result in results.items():
        missing = [k for k in ("layers", "norms") if k not in result]
        if missing:
            raise ClassicnetsError(
                f"The gradient norms of '{label}' lack {', '.join(missing)}; pass what "
                "classicnets.train.gradients.gradient_norms returns."
            )
        layers, norms = result["layers"], result["norms"]
        if not layers or not norms or any(len(row) != len(layers) for row in norms):
            raise ClassicnetsError(
                f"The gradient norms of '{label}' need one value per layer ({len(layers)}) for "
                "every recorded update, and at least one update."
            )


def _mean(norms: list[list[float]]) -> list[float]:
    return [sum(column) / len(column) for column in zip(*norms, strict=True)]


def _positive(values: list[float]) -> list[float]:
    """A log axis cannot show 0: an exact zero is drawn as a gap."""
    return [v if v > 0 and math.isfinite(v) else math.nan for v in values]


def plot_gradient_norms(
    results: dict[str, dict[str, Any]], path: str | os.PathLike, title: str = ""
) -> Path:
    """Draw per-layer gradient norms (log scale) against depth, at the first update and
    averaged over the recorded updates, one line per model; and the first and last layer's
    norm at every update.

    Args:
        results: a label (``"lenet5 (sigmoid)"``) -> what ``gradient_norms`` returned.
        path: the PNG to write (atomically).
        title: the picture's title: the models, data and split.

    Returns:
        The path written.

    Raises:
        ClassicnetsError: no results, or a result that is not gradient norms.
    """
    _checked(results)
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.6), constrained_layout=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    same_layers = len({tuple(r["layers"]) for r in results.values()}) == 1
    for index, (label, result) in enumerate(results.items()):
        colour = colours[index % len(colours)]
        norms = result["norms"]
        depth = range(1, len(result["layers"]) + 1)
        for ax, values in ((axes[0, 0], norms[0]), (axes[0, 1], _mean(norms))):
            ax.plot(depth, _positive(values), "-o", color=colour, markersize=4, label=label)
        updates = range(1, len(norms) + 1)
        for ax, column in ((axes[1, 0], 0), (axes[1, 1], -1)):
            name = result["layers"][column]
            series = [row[column] for row in norms]
            ax.plot(updates, _positive(series), "-", color=colour, label=f"{label}: {name}")
    first = next(iter(results.values()))
    for ax, what in ((axes[0, 0], "at the first update"), (axes[0, 1], "mean over the updates")):
        ax.set_title(f"gradient norm per layer, {what}", fontsize=10)
        ax.set_xlabel("layer (input side → output side)")
        if same_layers and len(first["layers"]) <= 24:  # names fit; else depth numbers
            ax.set_xticks(range(1, len(first["layers"]) + 1))
            ax.set_xticklabels(first["layers"], rotation=45, ha="right", fontsize=7)
    for ax, which in ((axes[1, 0], "first"), (axes[1, 1], "last")):
        ax.set_title(f"{which} layer's gradient norm at each update", fontsize=10)
        ax.set_xlabel("update")
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in axes.flat:
        ax.set_yscale("log")
        ax.set_ylabel("L2 norm of the gradient")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
