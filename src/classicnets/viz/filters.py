"""The kernels a convolution learned, as pictures (the first layer of AlexNet in Krizhevsky et
al. 2012, Figure 3, is the classic one).

A kernel that reads three channels is one small colour image; one that reads a single channel
is a grey one; each is stretched to the full range on its own, since only its pattern matters.
A layer reading more channels (any deeper layer) becomes a grid of filters by input channels,
each row on its own scale around zero, red positive and blue negative.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

from ..analysis.activations import model_label
from ..analysis.saliency import find_module
from ..errors import ClassicnetsError, closest_names
from ._figure import pyplot
from .features import save_png


def find_conv(module: nn.Module, layer: str | None = None) -> tuple[str, nn.Conv2d]:
    """The convolution to draw: the first ``Conv2d`` of ``module`` by default, or the layer
    named ``layer`` (a block such as ``"features.conv1_1"`` stands for its first ``Conv2d``).

    Raises:
        ClassicnetsError: when the model has no ``Conv2d``, the name is unknown (with the
            closest names), or the named block holds no ``Conv2d``.
    """
    convs = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Conv2d)]
    if layer is None:
        if not convs:
            raise ClassicnetsError(
                f"plot_filters: {model_label(module)} has no Conv2d layer whose kernels could "
                "be drawn."
            )
        return convs[0]
    found = find_module(module, layer, "plot_filters")
    if isinstance(found, nn.Conv2d):
        return layer, found
    inside = [(n, m) for n, m in convs if n.startswith(layer + ".")]
    if inside:
        return inside[0]
    close = closest_names(layer, [n for n, _ in convs])
    hint = f" Convolutions near that name: {', '.join(close)}." if close else ""
    raise ClassicnetsError(
        f"plot_filters: layer '{layer}' ({type(found).__name__}) holds no Conv2d.{hint}"
    )


def normalise_filters(weight: torch.Tensor) -> torch.Tensor:
    """Each filter of ``weight`` (out, in, kh, kw) stretched on its own to [0, 1] (a constant
    filter becomes 0.5)."""
    flat = weight.detach().float().flatten(1)
    low = flat.min(dim=1, keepdim=True).values
    span = flat.max(dim=1, keepdim=True).values - low
    scaled = torch.where(span > 0, (flat - low) / span.clamp_min(1e-12), torch.full_like(flat, 0.5))
    return scaled.reshape(weight.shape)


def plot_filters(
    module: nn.Module,
    path: str | os.PathLike,
    title: str,
    layer: str | None = None,
    max_filters: int = 64,
    max_inputs: int = 16,
) -> Path:
    """Write a PNG of a convolution's kernels.

    Args:
        module: the model.
        path: where to write the PNG.
        title: the picture's title (model, data, split).
        layer: a module name (``named_modules()``); the first ``Conv2d`` by default.
        max_filters: at most this many filters (output channels), the first ones, as images;
            a per-channel grid shows at most 16 rows.
        max_inputs: at most this many input channels in a per-channel grid.

    Returns:
        The path written.

    Raises:
        ClassicnetsError: see :func:`find_conv`; also for limits under 1.
    """
    if max_filters < 1 or max_inputs < 1:
        raise ClassicnetsError(
            f"plot_filters: max_filters and max_inputs must be 1 or more, got {max_filters} "
            f"and {max_inputs}."
        )
    name, conv = find_conv(module, layer)
    weight = conv.weight.detach().float().cpu()  # (out, in / groups, kh, kw)
    out_ch, in_ch, kh, kw = weight.shape
    heading = f"{title}\n{name}: {out_ch} filters of {in_ch}x{kh}x{kw}"
    if in_ch in (1, 3):
        fig = _tiles(weight[:max_filters], heading, out_ch)
    else:
        fig = _channel_grid(weight[: min(max_filters, 16), :max_inputs], heading, out_ch, in_ch)
    return save_png(fig, path)


def _tiles(weight: torch.Tensor, heading: str, total: int):
    """One image per filter: colour for three input channels, grey for one."""
    count = weight.shape[0]
    cols = min(8, count)
    rows = math.ceil(count / cols)
    fig, axes = pyplot().subplots(
        rows, cols, figsize=(max(3.2, 1.0 * cols), 1.0 * rows + 0.9), squeeze=False
    )
    images = normalise_filters(weight).permute(0, 2, 3, 1).numpy()  # (out, kh, kw, in)
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index < count:
            image = images[index]
            if image.shape[-1] == 1:
                ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            else:
                ax.imshow(image, interpolation="nearest")
            ax.set_title(str(index), fontsize=7)
    shown = f" (first {count})" if count < total else ""
    fig.suptitle(f"{heading}{shown}, each stretched to its own range", fontsize=9)
    fig.tight_layout()
    return fig


def _channel_grid(weight: torch.Tensor, heading: str, total_out: int, total_in: int):
    """Filters by rows, input channels by columns, each row on one scale symmetric about 0."""
    rows, cols = weight.shape[:2]
    fig, axes = pyplot().subplots(
        rows, cols, figsize=(max(3.2, 0.75 * cols + 0.6), 0.75 * rows + 1.0), squeeze=False
    )
    for r in range(rows):
        limit = float(weight[r].abs().max()) or 1.0
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(
                weight[r, c].numpy(),
                cmap="RdBu_r",
                vmin=-limit,
                vmax=limit,
                interpolation="nearest",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(f"out {r}", fontsize=7)
            if r == 0:
                ax.set_title(f"in {c}", fontsize=7)
    fig.suptitle(
        f"{heading}; filters 0-{rows - 1} of {total_out} by input channels 0-{cols - 1} of "
        f"{total_in}\nred positive, blue negative, each row on its own scale",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
