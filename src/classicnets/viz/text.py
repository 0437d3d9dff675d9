"""Pictures of a text model reading a prompt: where each attention head looks
(:func:`plot_attention`) and what an LSTM's or GRU's gates do along the text (:func:`plot_gates`).

The tokens label the axes; white space and control characters get visible stand-ins (a space
is ``␣``, a line break ``↵``), since a blank tick label cannot be read.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from torch import Tensor

from ..errors import ClassicnetsError
from ._figure import pyplot, save_figure

MAX_TOKENS = 256  # a longer text makes tick labels too small to read
GRID_TOKENS = 40  # up to this many tokens every layer fits on one picture
VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
# Panels of plot_gates, top to bottom: the sigmoid gates, then the candidate, then the cell.
GATE_PANELS = ("input", "forget", "output", "reset", "update", "candidate", "cell")


def visible_token(token: str) -> str:
    """A tick label for a token: white space and control characters made visible."""
    if token in VISIBLE:
        return VISIBLE[token]
    if token == "":
        return "∅"
    if len(token) == 1 and not token.isprintable():
        return repr(token)[1:-1]  # e.g. \x0b
    return "".join(VISIBLE.get(ch, ch) for ch in token)


def _labels(tokens_text: Sequence[str], length: int, what: str) -> list[str]:
    if isinstance(tokens_text, str):
        tokens_text = list(tokens_text)
    if len(tokens_text) != length:
        raise ClassicnetsError(
            f"The {what} cover {length} tokens but {len(tokens_text)} token texts were given; "
            "pass the text of each token shown."
        )
    if length > MAX_TOKENS:
        raise ClassicnetsError(
            f"A picture shows at most {MAX_TOKENS} tokens, got {length}; shorten the prompt."
        )
    return [visible_token(t) for t in tokens_text]


def _font_size(length: int) -> float:
    """Tick labels shrink with the text so that every token keeps its label."""
    return 9.0 if length <= 24 else 7.0 if length <= 48 else 5.0 if length <= 96 else 3.5


def _pick_layer(layer: int | None, count: int) -> int:
    if layer is None:
        return count - 1
    if isinstance(layer, bool) or not isinstance(layer, int) or not -count <= layer < count:
        raise ClassicnetsError(
            f"Layer {layer!r} does not exist; this model has layers 0 to {count - 1}."
        )
    return layer % count


def _write(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return save_figure(fig, path)
    except OSError as err:
        raise ClassicnetsError(
            f"Cannot write '{path}': {err.strerror or err}; give a writable .png path."
        ) from None


def plot_attention(
    maps: Tensor,
    tokens_text: Sequence[str],
    path: str | os.PathLike,
    title: str,
    layer: int | None = None,
) -> Path:
    """Heat maps of where each attention head looks, one per head.

    Each map has the position being read on the vertical axis and the position it attends to
    on the horizontal one; each row sums to 1. Positions a causal model cannot see (later ones)
    are grey, so a weight of 0 is told apart from a position out of sight.

    Args:
        maps: ``(layers, heads, T, T)`` from :func:`classicnets.analysis.attention_maps.
            attention_maps`.
        tokens_text: the text of each of the ``T`` tokens (a string of characters will do).
        path: the PNG to write; missing folders are created.
        title: what the picture shows, e.g. ``"char_transformer on tinyshakespeare"``.
        layer: show this layer's heads (0-based; negative counts from the top). None shows
            every layer as a grid of layers by heads when the text has at most
            :data:`GRID_TOKENS` tokens, else the top layer.

    Returns:
        The path written.

    Raises:
        ClassicnetsError: maps of the wrong shape, token texts that do not match them, more
            than :data:`MAX_TOKENS` tokens, a layer the model lacks, an unwritable path.
    """
    if not isinstance(maps, Tensor) or maps.dim() != 4 or maps.shape[-1] != maps.shape[-2]:
        shape = tuple(maps.shape) if isinstance(maps, Tensor) else type(maps).__name__
        raise ClassicnetsError(f"Attention maps must be (layers, heads, T, T), got {shape}.")
    count, heads, length, _ = maps.shape
    labels = _labels(tokens_text, length, "attention maps")
    if layer is None and length <= GRID_TOKENS:
        shown = list(range(count))
        rows, cols = count, heads
    else:
        shown = [_pick_layer(layer, count)]
        cols = min(heads, 4) if length <= GRID_TOKENS else math.ceil(math.sqrt(heads))
        rows = math.ceil(heads / cols)
    panels = [(index, head) for index in shown for head in range(heads)]
    side = min(max(2.4, 0.16 * length + 0.9), 9.0)
    plt = pyplot()
    fig, axes = plt.subplots(
        rows, cols, figsize=(side * cols + 1.2, side * rows + 0.9), squeeze=False,
        constrained_layout=True,
    )  # fmt: skip
    future = np.triu(np.ones((length, length), dtype=bool), k=1)
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.85")
    weights = maps.detach().float().cpu().numpy()
    image = None
    font = _font_size(length)
    for ax, (index, head) in zip(axes.flat, panels, strict=False):
        panel = weights[index, head]
        # Grey only where the weight is exactly 0 and the position lies ahead: a causal mask.
        hidden = future & (panel == 0)
        image = ax.imshow(
            np.ma.masked_array(panel, hidden), cmap=cmap, vmin=0.0, vmax=1.0,
            interpolation="nearest",
        )  # fmt: skip
        ticks = np.arange(length)
        ax.set_xticks(ticks, labels, fontsize=font, rotation=90 if _wide(labels) else 0)
        ax.set_yticks(ticks, labels, fontsize=font)
        ax.tick_params(length=0)
        ax.set_title(f"layer {index}, head {head}", fontsize=10)
        ax.set_xlabel("attends to", fontsize=8)
        ax.set_ylabel("reading", fontsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_axis_off()
    fig.colorbar(image, ax=axes, shrink=min(0.8, 3.0 / rows + 0.2), label="attention weight")
    which = "every layer" if len(shown) > 1 else f"layer {shown[0]} of {count}"
    fig.suptitle(f"{title}\nattention of each head, {which}", fontsize=11)
    return _write(fig, path)


def _wide(labels: Sequence[str]) -> bool:
    """Word tokens need their labels turned on the horizontal axis."""
    return any(len(label) > 1 for label in labels)


def active_units(gates: Mapping[str, Tensor], layer: int, units: int) -> list[int]:
    """The ``units`` units of ``layer`` whose hidden state moves most along the text (largest
    standard deviation over time), most active first: the ones with something to show."""
    hidden = gates["hidden"][layer].float()  # (T, H)
    spread = hidden.std(dim=0, unbiased=False) if hidden.shape[0] > 1 else hidden.abs()[0]
    order = sorted(range(hidden.shape[1]), key=lambda unit: (-float(spread[unit]), unit))
    return order[:units]


def plot_gates(
    gates: Mapping[str, Tensor],
    tokens_text: Sequence[str],
    path: str | os.PathLike,
    title: str,
    units: int = 16,
    *,
    layer: int | None = None,
) -> Path:
    """Heat maps of an LSTM's (or GRU's) gates along the text for its most active units.

    One panel per gate (input, forget, output; or reset, update), then the cell candidate and,
    for an LSTM, the cell state; the same units in every panel, most active on top (see
    :func:`active_units`), the tokens along the horizontal axis.

    Args:
        gates: from :func:`classicnets.analysis.gates.lstm_gates` (or ``gru_gates``), each
            ``(layers, T, hidden)``.
        tokens_text: the text of each of the ``T`` tokens (a string of characters will do).
        path: the PNG to write; missing folders are created.
        title: what the picture shows, e.g. ``"char_lstm on tinyshakespeare"``.
        units: how many units to show (at most the layer's width).
        layer: which layer (0-based, negative from the top); the top one by default.

    Returns:
        The path written.

    Raises:
        ClassicnetsError: gates of the wrong form, token texts that do not match them, more
            than :data:`MAX_TOKENS` tokens, a layer the model lacks, fewer than one unit, an
            unwritable path.
    """
    panels = [key for key in GATE_PANELS if key in gates]
    if "hidden" not in gates or not panels or gates["hidden"].dim() != 3:
        raise ClassicnetsError(
            f"Gates must be the dict lstm_gates or gru_gates returns, (layers, T, hidden) "
            f"tensors under 'hidden' and the gates' names; got keys {sorted(gates)}."
        )
    count, length, width = gates["hidden"].shape
    labels = _labels(tokens_text, length, "gates")
    index = _pick_layer(layer, count)
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise ClassicnetsError(f"units must be a positive integer, got {units!r}.")
    chosen = active_units(gates, index, min(units, width))
    plt = pyplot()
    fig_width = min(max(6.0, 1.8 + 0.13 * length), 36.0)
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(fig_width, len(panels) * (0.6 + 0.15 * len(chosen)) + 0.9),
        squeeze=False, constrained_layout=True,
    )  # fmt: skip
    font = _font_size(length)
    for ax, key in zip(axes[:, 0], panels, strict=True):
        values = gates[key][index][:, chosen].detach().float().cpu().numpy().T  # (units, T)
        if key in ("candidate", "cell"):
            limit = 1.0 if key == "candidate" else float(np.abs(values).max()) or 1.0
            style = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
        else:
            style = {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
        image = ax.imshow(values, aspect="auto", interpolation="nearest", **style)
        ax.set_xticks(np.arange(length), labels, fontsize=font, rotation=90 if _wide(labels) else 0)
        ax.set_yticks(np.arange(len(chosen)), [str(u) for u in chosen], fontsize=6)
        ax.tick_params(length=0)
        ax.set_ylabel("unit", fontsize=8)
        name = "cell candidate" if key == "candidate" else "cell state" if key == "cell" else key
        ax.set_title(f"{name} gate" if key not in ("candidate", "cell") else name, fontsize=10)
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03)
    fig.suptitle(
        f"{title}\nlayer {index} of {count}: the {len(chosen)} most active of {width} units",
        fontsize=11,
    )
    return _write(fig, path)
