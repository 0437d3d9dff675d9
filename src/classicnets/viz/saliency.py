"""One figure of where a classifier looks: the image, the occlusion map (Zeiler & Fergus 2014),
the gradient saliency (Simonyan et al. 2014) and Grad-CAM (Selvaraju et al. 2017) over it; the
computations are :mod:`classicnets.analysis.saliency`."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..analysis.activations import as_batch
from ..analysis.saliency import (
    IntOrPair,
    check_target,
    class_probabilities,
    default_cam_layer,
    grad_cam,
    gradient_saliency,
    occlusion,
    occlusion_geometry,
)
from ..errors import ClassicnetsError
from ._figure import pyplot
from .features import display_image, save_png, show_image


def _occlusion_extent(rows: int, cols: int, window: tuple[int, int], stride: tuple[int, int]):
    """Where the occlusion map's cells lie in image pixel coordinates (pixel p spans p - 0.5
    to p + 0.5): cell (i, j) is centred on its patch, at i * stride + (window - 1) / 2, and
    spans one stride, as ``imshow``'s (left, right, bottom, top)."""
    top, left = ((w - 1) / 2 - s / 2 for w, s in zip(window, stride, strict=True))
    return (left, left + cols * stride[1], top + rows * stride[0], top)


def plot_saliency(
    module: nn.Module,
    x: torch.Tensor,
    raw: torch.Tensor,
    target: int | None,
    classes: Sequence[str],
    path: str | os.PathLike,
    title: str,
    window: IntOrPair | None = None,
    stride: IntOrPair | None = None,
    layer: str | None = None,
) -> Path:
    """Write a PNG of four panels: the image; the occlusion map over it (red where hiding a
    patch lowers the target's probability, blue where it raises it); the gradient saliency; and
    Grad-CAM over the image.

    Args:
        module: the classifier.
        x: one normalised image, (C, H, W) or (1, C, H, W).
        raw: the same image as uint8 (C, H, W), for display.
        target: the class to explain; None for the predicted class.
        classes: the class names, one per index.
        path: where to write the PNG.
        title: the picture's title (model, data, split).
        window: the occlusion patch (see :func:`~classicnets.analysis.saliency.occlusion`).
        stride: the occlusion step.
        layer: the Grad-CAM layer; by default the deepest stage with more than one position.

    Returns:
        The path written.

    Raises:
        ClassicnetsError: for an out-of-range target, an unknown layer, too few class names, or
            an occlusion window larger than the image.
    """
    display_image(raw)  # a bad image fails before the model runs
    image = as_batch(x)
    probs = class_probabilities(module, image)
    if len(classes) < probs.numel():
        raise ClassicnetsError(
            f"plot_saliency: {len(classes)} class names for {probs.numel()} classes; give one "
            "name per class."
        )
    predicted = int(probs.argmax())
    target = predicted if target is None else check_target(target, probs.numel(), "plot_saliency")
    height, width = image.shape[-2:]
    win, step = occlusion_geometry((height, width), window, stride)
    occluded = occlusion(module, image, target, window=win, stride=step)
    gradients = gradient_saliency(module, image, target)
    cam, why = None, ""
    try:
        cam_layer = default_cam_layer(module, image) if layer is None else layer
    except ClassicnetsError as err:  # no feature maps (an MLP): the other panels still hold
        cam_layer, why = None, str(err)
    if cam_layer is not None:
        cam = grad_cam(module, image, target, layer=cam_layer)

    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(13.0, 3.9), squeeze=False)
    axes = axes[0]
    size = (height, width)
    show_image(axes[0], raw, size)
    axes[0].set_title(f"predicted {classes[predicted]} ({probs[predicted]:.2f})", fontsize=9)

    show_image(axes[1], raw, size)
    limit = float(occluded.abs().max()) or 1.0
    shown = axes[1].imshow(
        occluded.numpy(),
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        alpha=0.6,
        extent=_occlusion_extent(*occluded.shape, win, step),
        interpolation="nearest",
    )
    axes[1].set_xlim(-0.5, width - 0.5)
    axes[1].set_ylim(height - 0.5, -0.5)
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04, label="drop in probability")
    steps = f"{step[0]}" if step[0] == step[1] else f"{step[0]}x{step[1]}"
    axes[1].set_title(f"occlusion {win[0]}x{win[1]}, stride {steps}", fontsize=9)

    axes[2].imshow(gradients.numpy(), cmap="hot", interpolation="nearest")
    axes[2].set_title("gradient |d score / d pixel|", fontsize=9)

    if cam is None:
        reason = textwrap.fill(why.removeprefix("grad_cam: "), 34)
        axes[3].text(0.5, 0.5, reason, ha="center", va="center", fontsize=8)
        axes[3].set_frame_on(False)
        axes[3].set_title("Grad-CAM", fontsize=9)
    else:
        show_image(axes[3], raw, size)
        peak = float(cam.max())
        axes[3].imshow(
            (cam / peak if peak > 0 else cam).numpy(),
            cmap="jet",
            vmin=0,
            vmax=1,
            alpha=0.45,
            extent=(-0.5, width - 0.5, height - 0.5, -0.5),
        )
        axes[3].set_title(f"Grad-CAM at {cam_layer}", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{title}\nwhy {classes[target]} (p = {probs[target]:.2f})", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
