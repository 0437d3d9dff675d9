"""A picture of every activation function beside its derivative, one small panel each.

The curves are the hand-written formulas of :mod:`classicnets.scratch.activations` (no
autograd), so the picture shows what backpropagation multiplies by: the sigmoid's derivative
never above 1/4, ReLU's a step from 0 to 1, Maxout's the slope of whichever piece wins.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import unknown_name
from ..scratch.activations import ACTIVATIONS, maxout, maxout_mask
from ._figure import pyplot, save_figure

# The Maxout panel's two pieces over a 1-D input: z_i = w_i·x + b_i.
MAXOUT_SLOPES = (1.0, -0.5)
MAXOUT_OFFSETS = (0.0, -1.0)
PANEL_NAMES = (*ACTIVATIONS, "maxout")


def activation_curves(
    names: Sequence[str] | None = None, x: torch.Tensor | None = None
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The values f(x) and f'(x) the panels draw, by activation.

    Args:
        names: activations from :data:`PANEL_NAMES`; all of them when None.
        x: the points (1-D); 401 points over [−4, 4] when None.

    Returns:
        ``{name: (f(x), f'(x))}`` in the order asked. ``"maxout"`` is
        max(x, −0.5x − 1) (k = 2 pieces, :data:`MAXOUT_SLOPES`, :data:`MAXOUT_OFFSETS`), its
        derivative the slope of the winning piece.

    Raises:
        UnknownNameError: a name that is neither an activation nor ``"maxout"``.
    """
    names = list(PANEL_NAMES if names is None else names)
    for name in names:
        if name not in PANEL_NAMES:
            raise unknown_name("activation", name, PANEL_NAMES)
    x = torch.linspace(-4.0, 4.0, 401, dtype=torch.float64) if x is None else x
    curves = {}
    for name in names:
        if name == "maxout":
            slopes = torch.tensor(MAXOUT_SLOPES, dtype=x.dtype)
            pieces = x[:, None] * slopes + torch.tensor(MAXOUT_OFFSETS, dtype=x.dtype)  # (n, 2)
            value = maxout(pieces, 2)[:, 0]  # (n,)
            slope = maxout_mask(pieces, 2) @ slopes  # dh/dx = the winner's slope, (n,)
            curves[name] = (value, slope)
        else:
            act = ACTIVATIONS[name]
            curves[name] = (act.f(x, **act.hyper), act.df(x, **act.hyper))
    return curves


def plot_activations(
    names: list[str] | None = None,
    *,
    title: str = "Activation functions f(x) and their derivatives f′(x)",
    path: str | os.PathLike,
) -> Path:
    """Draw each activation (solid) and its derivative (dashed), one panel per activation.

    Args:
        names: which activations, from :data:`PANEL_NAMES`; all of them when None.
        title: the picture's title.
        path: the PNG to write (atomically).

    Returns:
        The path written.

    Raises:
        UnknownNameError: an unknown activation name.
    """
    x = torch.linspace(-4.0, 4.0, 401, dtype=torch.float64)
    curves = activation_curves(names, x)
    cols = min(3, len(curves))
    rows = math.ceil(len(curves) / cols)
    plt = pyplot()
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.3 * cols, 2.6 * rows + 0.5), squeeze=False, constrained_layout=True
    )
    for ax in axes.flat[len(curves) :]:
        ax.set_visible(False)
    for ax, (name, (value, slope)) in zip(axes.flat, curves.items(), strict=False):
        if name == "maxout":
            for w, b in zip(MAXOUT_SLOPES, MAXOUT_OFFSETS, strict=True):
                ax.plot(x, w * x + b, ":", color="grey", linewidth=1)
            subtitle = "maxout, k=2: max(x, −0.5x − 1)"
        else:
            hyper = ", ".join(f"{k} = {v:g}" for k, v in ACTIVATIONS[name].hyper.items())
            subtitle = f"{name}: {ACTIVATIONS[name].formula}" + (f" ({hyper})" if hyper else "")
        ax.plot(x, value, "-", color="C0", linewidth=1.8, label="f(x)")
        ax.plot(x, slope, "--", color="C3", linewidth=1.5, label="f′(x)")
        if name == "sigmoid":
            ax.axhline(0.25, color="C3", linewidth=0.8, alpha=0.6)
            ax.annotate(
                "max f′ = 1/4",
                (-4, 0.25),
                xytext=(0, 3),
                textcoords="offset points",
                fontsize=7,
                color="C3",
            )
        ax.axhline(0, color="black", linewidth=0.5)
        ax.axvline(0, color="black", linewidth=0.5)
        bounded = name in ("sigmoid", "tanh")  # these saturate: a tighter axis shows f′ better
        ax.set_ylim(*((-1.15, 1.15) if bounded else (-1.6, 4.2)))
        ax.set_title(subtitle, fontsize=8)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title)
    return save_figure(fig, path)
