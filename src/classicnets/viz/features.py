"""What each stage of an image model makes of one image: the image, then for every stage the
channels that respond most to it (largest mean activation), each map on its own colour scale.

Also the two chores every picture of an input shares: turning the uint8 pixels into something
``imshow`` draws (:func:`display_image`, :func:`show_image`) and writing the PNG
(:func:`save_png`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..analysis.activations import as_batch, model_label, stage_outputs
from ..errors import ClassicnetsError, ShapeError
from ._figure import pyplot, save_figure


def display_image(raw: torch.Tensor) -> np.ndarray:
    """uint8 pixels, (C, H, W) with C = 1 or 3 (or (H, W)), as an array ``imshow`` draws:
    (H, W) for grey, (H, W, 3) for colour.

    Raises:
        ShapeError: for another layout or number of channels.
        ClassicnetsError: for pixels that are not uint8.
    """
    if not isinstance(raw, torch.Tensor) or raw.dtype != torch.uint8:
        kind = raw.dtype if isinstance(raw, torch.Tensor) else type(raw).__name__
        raise ClassicnetsError(
            f"The image to display must be a uint8 tensor (C, H, W), got {kind}; pass the "
            "pixels as they were loaded, before normalisation."
        )
    if raw.dim() == 2:
        raw = raw.unsqueeze(0)
    if raw.dim() != 3 or raw.shape[0] not in (1, 3):
        raise ShapeError(
            f"The image to display must be (C, H, W) with 1 or 3 channels, got shape "
            f"{tuple(raw.shape)}."
        )
    pixels = raw.detach().cpu().permute(1, 2, 0).numpy()  # (H, W, C)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def show_image(ax, raw: torch.Tensor, size: tuple[int, int] | None = None) -> None:
    """Draw ``raw`` on ``ax`` in the pixel coordinates of an input of ``size`` (H, W), so maps
    computed on the model's input line up with it even when the displayed image has another
    resolution; by default the image's own size."""
    pixels = display_image(raw)
    height, width = pixels.shape[:2] if size is None else size
    grey = {"cmap": "gray"} if pixels.ndim == 2 else {}
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    ax.imshow(pixels, vmin=0, vmax=255, extent=extent, interpolation="nearest", **grey)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)


def save_png(fig, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` atomically (missing folders are created) and close it.

    Raises:
        ClassicnetsError: when the path cannot be written.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return save_figure(fig, path)
    except (OSError, ValueError) as err:  # a read-only folder; a format matplotlib lacks
        pyplot().close(fig)
        reason = getattr(err, "strerror", None) or str(err).rstrip(".")
        raise ClassicnetsError(
            f"Cannot write '{path}': {reason}; give a writable .png path."
        ) from None


def top_channels(maps: torch.Tensor, k: int) -> torch.Tensor:
    """The indices of the ``k`` channels of ``maps`` (C, H, W) with the largest mean
    activation, largest first (fewer when there are fewer channels)."""
    means = maps.float().mean(dim=(1, 2))
    return torch.topk(means, min(k, means.numel())).indices


def _spread(count: int, keep: int) -> list[int]:
    """``keep`` indices spread evenly over ``range(count)``, first and last included."""
    if count <= keep:
        return list(range(count))
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, keep)})


def plot_features(
    module: nn.Module,
    x: torch.Tensor,
    raw: torch.Tensor,
    path: str | os.PathLike,
    title: str,
    top: int = 8,
    max_stages: int = 12,
) -> Path:
    """Write a PNG: the image, then one row per stage with its ``top`` strongest channels.

    Stages are those of :func:`~classicnets.analysis.activations.stage_outputs`; a model with
    more than ``max_stages`` of them shows that many, spread evenly from the first to the last.
    Each row starts with the mean over all the stage's channels.

    Args:
        module: the image model.
        x: one normalised image, (C, H, W) or (1, C, H, W).
        raw: the same image as uint8 (C, H, W), for display.
        path: where to write the PNG.
        title: the picture's title (model, data, split).
        top: how many channels per stage.
        max_stages: how many stages at most.

    Returns:
        The path written.

    Raises:
        ClassicnetsError: for a model without 4-D stages, or ``top``/``max_stages`` under 1.
    """
    if top < 1 or max_stages < 1:
        raise ClassicnetsError(
            f"plot_features: top and max_stages must be 1 or more, got {top} and {max_stages}."
        )
    x = as_batch(x)
    if x.shape[0] != 1:
        raise ShapeError(f"plot_features: give one image, got a batch of {x.shape[0]}.")
    display_image(raw)  # a bad image fails before the model runs
    stages = stage_outputs(module, x)
    if not stages:
        raise ClassicnetsError(
            f"plot_features: {model_label(module)} has no 4-D feature maps to show (its "
            "features are not images, as in an MLP)."
        )
    shown = [stages[i] for i in _spread(len(stages), max_stages)]
    plt = pyplot()
    cols = top + 1
    fig, axes = plt.subplots(
        len(shown) + 1, cols, figsize=(1.3 * cols, 1.35 * (len(shown) + 1)), squeeze=False
    )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
    show_image(axes[0, 0], raw, tuple(x.shape[-2:]))
    axes[0, 0].set_title("input", fontsize=8)
    note = (
        f"{len(shown)} of {len(stages)} stages, evenly spread"
        if len(shown) < len(stages)
        else f"{len(stages)} stages"
    )
    for row, (name, maps) in zip(axes[1:], shown, strict=True):
        maps = maps[0].float()  # (C, h, w)
        channels, height, width = maps.shape
        row[0].imshow(maps.mean(dim=0).numpy(), cmap="viridis")
        row[0].set_ylabel(f"{name}\n{channels}x{height}x{width}", fontsize=7)
        row[0].set_title("mean", fontsize=7)
        for ax, channel in zip(row[1:], top_channels(maps, top).tolist(), strict=False):
            ax.imshow(maps[channel].numpy(), cmap="viridis")
            ax.set_title(f"ch {channel}: {maps[channel].mean():.2g}", fontsize=7)
    fig.suptitle(
        f"{title}\n{note}; each row: the mean of all channels, then the {top} channels with the "
        "largest mean activation, each on its own scale",
        fontsize=9,
    )
    fig.tight_layout()
    return save_png(fig, path)
