"""Where an encoder–decoder looks: its cross-attention, one heat map per decoder layer.

Each map has the output tokens down the side and the source tokens along the bottom; row ``t``
is how the decoder, writing output token ``t``, shares its attention over the source (it sums
to 1). A translation that reorders (a date's day, month and year) shows up as a permuted
diagonal.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import ClassicnetsError
from ._figure import pyplot
from .text import _font_size, _labels, _write


@torch.no_grad()
def cross_attention(module: nn.Module, src: Tensor, output: Tensor, bos: int = 1) -> Tensor:
    """The decoder's attention over the source while it reads its own output.

    Args:
        module: an encoder–decoder with ``attention_maps(src, tgt_in)``
            (:mod:`classicnets.models.seq2seq`).
        src: ``(S,)`` source ids of one example.
        output: ``(T,)`` ids the model wrote (without ``<bos>``); the decoder reads
            ``<bos>`` and all but the last, so row ``t`` is the step that wrote ``output[t]``.
        bos: the id of ``<bos>``.

    Returns:
        ``(layers, T, S)``: each decoder layer's weights, the mean over its heads.
    """
    if not callable(getattr(module, "attention_maps", None)):
        raise ClassicnetsError(
            f"{type(module).__name__} has no attention_maps(); pick an encoder-decoder."
        )
    device = next(module.parameters()).device
    tgt_in = torch.cat([torch.tensor([bos]), output[:-1].cpu()])[None].to(device)
    maps = module.attention_maps(src[None].to(device), tgt_in)["cross"]  # (L, 1, H, T, S)
    return maps[:, 0].mean(1)


def plot_cross_attention(
    weights: Tensor,
    source_text: Sequence[str],
    output_text: Sequence[str],
    path: str | os.PathLike,
    title: str,
) -> Path:
    """Heat maps of :func:`cross_attention`'s weights, one per decoder layer.

    Args:
        weights: ``(layers, T, S)``.
        source_text: the text of each of the ``S`` source tokens (a string of characters will
            do).
        output_text: the text of each of the ``T`` output tokens.
        path: the PNG to write; missing folders are created.
        title: what the picture shows: the model, the task and the split.

    Returns:
        The path written.

    Raises:
        ClassicnetsError: weights of the wrong shape, token texts that do not match them, an
            unwritable path.
    """
    if not isinstance(weights, Tensor) or weights.dim() != 3:
        shape = tuple(weights.shape) if isinstance(weights, Tensor) else type(weights).__name__
        raise ClassicnetsError(f"Cross-attention weights must be (layers, T, S), got {shape}.")
    layers, rows, cols = weights.shape
    ys = _labels(output_text, rows, "output rows of the attention")
    xs = _labels(source_text, cols, "source columns of the attention")
    plt = pyplot()
    width, height = min(0.28 * cols + 1.6, 9.0), min(0.28 * rows + 1.4, 7.0)
    fig, axes = plt.subplots(
        1, layers, figsize=(width * layers + 1.2, height + 1.0), squeeze=False,
        constrained_layout=True,
    )  # fmt: skip
    image = None
    values = weights.detach().float().cpu().numpy()
    for layer, ax in enumerate(axes.flat):
        image = ax.imshow(values[layer], cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(np.arange(cols), xs, fontsize=_font_size(cols))
        ax.set_yticks(np.arange(rows), ys, fontsize=_font_size(rows))
        ax.tick_params(length=0)
        ax.set_xlabel("source token", fontsize=8)
        ax.set_ylabel("output token being written", fontsize=8)
        ax.set_title(f"decoder layer {layer} (mean of heads)", fontsize=10)
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    fig.suptitle(f"{title}\ncross-attention: where each output token looks", fontsize=11)
    return _write(fig, path)
