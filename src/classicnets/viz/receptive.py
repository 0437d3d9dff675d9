"""Which input pixels one unit of a layer sees, drawn on the image.

:func:`receptive_region` turns a layer's receptive field, jump and start (from
:func:`classicnets.analysis.receptive_field`, see :mod:`classicnets.ops.receptive` for the
arithmetic) into the rectangle of input pixels seen by unit (row, col): centred on
``start + unit * jump``, one field wide. Near the border part of that rectangle lies in the
padding; the region is given both as computed and clipped to the image.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..analysis import receptive_field
from ..errors import ClassicnetsError, ShapeError, closest_names
from ..ops.receptive import LayerField
from ._figure import pyplot
from .features import display_image, save_png, show_image

Box = tuple[int, int, int, int]  # top, left, bottom, right: inclusive pixel indices


@dataclass(frozen=True)
class ReceptiveRegion:
    """The input pixels one unit sees.

    Attributes:
        layer: the layer's name.
        unit: (row, col) of the unit in the layer's output.
        output_size: (H, W) of the layer's output.
        size: the theoretical receptive field (height, width) in input pixels.
        jump: input pixels between neighbouring units.
        centre: input coordinates (row, col) of the region's centre.
        unclipped: (top, left, bottom, right), inclusive, possibly outside the image.
        clipped: the same, cut to the image.
    """

    layer: str
    unit: tuple[int, int]
    output_size: tuple[int, int]
    size: tuple[int, int]
    jump: tuple[int, int]
    centre: tuple[float, float]
    unclipped: Box
    clipped: Box

    @property
    def touches_border(self) -> bool:
        """Whether part of the region lies in the padding, outside the image."""
        return self.clipped != self.unclipped


def find_layer_field(fields: Sequence[LayerField], layer: str) -> LayerField:
    """The field of ``layer`` among the rows of :func:`~classicnets.analysis.receptive_field`.

    A leaf layer is its own row (its last call, if it runs more than once). A block
    (``"features.layer2"``, a residual or Inception block) is the widest field among its layers
    at the size of its last output: the block's output is the sum or concatenation of its
    branches, which see as far as the widest one.

    Raises:
        ClassicnetsError: for a name that is neither, suggesting the closest names.
    """
    exact = [row for row in fields if row.name == layer]
    if exact:
        return exact[-1]
    inside = [row for row in fields if row.name.startswith(layer + ".")]
    if not inside:
        known = {row.name for row in fields}
        known |= {
            name.rsplit(".", depth)[0] for name in known for depth in range(1, name.count(".") + 1)
        }
        close = closest_names(layer, known)
        hint = f" Did you mean {', '.join(repr(n) for n in close)}?" if close else ""
        raise ClassicnetsError(f"Unknown layer '{layer}' for a receptive field.{hint}")
    last = inside[-1]
    if last.receptive_field is None:
        return LayerField(layer, "block", last.output_shape, None, None, None)
    same_size = [
        row
        for row in inside
        if row.receptive_field is not None and row.output_shape[-2:] == last.output_shape[-2:]
    ]
    widest = max(same_size, key=lambda row: row.receptive_field[0] * row.receptive_field[1])
    return LayerField(
        layer, "block", last.output_shape, widest.receptive_field, widest.jump, widest.start
    )


def receptive_region(
    field: LayerField, unit: tuple[int, int], image_size: tuple[int, int]
) -> ReceptiveRegion:
    """The rectangle of input pixels that unit (row, col) of a layer sees.

    Args:
        field: the layer's row from :func:`~classicnets.analysis.receptive_field` (or
            :func:`find_layer_field`).
        unit: (row, col) in the layer's output.
        image_size: (H, W) of the input the field was computed for.

    Returns:
        The :class:`ReceptiveRegion`, unclipped and clipped to the image.

    Raises:
        ClassicnetsError: when the layer has no spatial layout (after ``Flatten``), the unit
            lies outside its output, or the region misses the image entirely.
    """
    if field.receptive_field is None or field.jump is None or field.start is None:
        raise ClassicnetsError(
            f"Layer '{field.name}' has no height and width (its output is "
            f"{'x'.join(map(str, field.output_shape))}), so it has no receptive field; choose a "
            "convolution, pooling layer or stage."
        )
    out_h, out_w = field.output_shape[-2:]
    row, col = (int(v) for v in unit)
    if not (0 <= row < out_h and 0 <= col < out_w):
        raise ClassicnetsError(
            f"Unit ({row}, {col}) is outside layer '{field.name}''s {out_h}x{out_w} output; give "
            f"a row from 0 to {out_h - 1} and a column from 0 to {out_w - 1}."
        )
    height, width = image_size
    centre = tuple(s + u * j for s, u, j in zip(field.start, (row, col), field.jump, strict=True))
    # start - (field - 1) / 2 is a whole pixel for every layer (ops.receptive's recurrences).
    top, left = (round(c - (r - 1) / 2) for c, r in zip(centre, field.receptive_field, strict=True))
    bottom, right = top + field.receptive_field[0] - 1, left + field.receptive_field[1] - 1
    clipped = (max(top, 0), max(left, 0), min(bottom, height - 1), min(right, width - 1))
    if clipped[0] > clipped[2] or clipped[1] > clipped[3]:
        raise ClassicnetsError(
            f"Unit ({row}, {col}) of layer '{field.name}' sees only padding, outside the "
            f"{height}x{width} image."
        )
    return ReceptiveRegion(
        layer=field.name,
        unit=(row, col),
        output_size=(out_h, out_w),
        size=tuple(field.receptive_field),
        jump=tuple(field.jump),
        centre=centre,
        unclipped=(top, left, bottom, right),
        clipped=clipped,
    )


def _box_patch(box: Box, **style):
    from matplotlib.patches import Rectangle

    top, left, bottom, right = box
    return Rectangle(
        (left - 0.5, top - 0.5), right - left + 1, bottom - top + 1, fill=False, **style
    )


def plot_receptive(
    module: nn.Module,
    raw: torch.Tensor,
    layer: str,
    unit: tuple[int, int] | None,
    path: str | os.PathLike,
    title: str,
    input_size: Sequence[int],
) -> Path:
    """Write a PNG of the image with the region one unit of ``layer`` sees, and its numbers.

    Args:
        module: the image model.
        raw: the image as uint8 (C, H, W), for display; drawn over the model's input size.
        layer: a layer or block name (``named_modules()``), e.g. ``"features.3"``.
        unit: (row, col) in the layer's output; None for the centre unit.
        path: where to write the PNG.
        title: the picture's title (model, data, split).
        input_size: (C, H, W) the model takes (the size it was trained at).

    Returns:
        The path written.

    Raises:
        ClassicnetsError: for an unknown layer, a unit outside its output, or a model whose
            field cannot be followed (see :func:`~classicnets.analysis.receptive_field`).
    """
    display_image(raw)  # a bad image fails before the walk
    size = tuple(int(v) for v in input_size)
    if len(size) != 3:
        raise ShapeError(f"plot_receptive: input_size must be (C, H, W), got {tuple(input_size)}.")
    field = find_layer_field(receptive_field(module, size), layer)
    if unit is None and field.output_shape and len(field.output_shape) >= 2:
        unit = (field.output_shape[-2] // 2, field.output_shape[-1] // 2)
    region = receptive_region(field, unit if unit is not None else (0, 0), size[1:])
    height, width = size[1:]

    fig, (ax, text) = pyplot().subplots(1, 2, figsize=(9.0, 4.2), width_ratios=[1.0, 1.1])
    show_image(ax, raw, (height, width))
    ax.add_patch(_box_patch(region.clipped, edgecolor="yellow", linewidth=2.0))
    if region.touches_border:
        ax.add_patch(
            _box_patch(region.unclipped, edgecolor="orange", linewidth=1.2, linestyle="--")
        )
    ax.plot(region.centre[1], region.centre[0], "+", color="red", markersize=10, mew=2)
    top, left, bottom, right = region.unclipped
    margin = 1.0
    ax.set_xlim(min(-0.5, left - 0.5) - margin, max(width - 0.5, right + 0.5) + margin)
    ax.set_ylim(max(height - 0.5, bottom + 0.5) + margin, min(-0.5, top - 0.5) - margin)
    ax.add_patch(_box_patch((0, 0, height - 1, width - 1), edgecolor="grey", linewidth=0.8))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{layer}, unit ({region.unit[0]}, {region.unit[1]})", fontsize=9)

    c_top, c_left, c_bottom, c_right = region.clipped
    lines = [
        f"layer: {layer} ({field.layer}), output {region.output_size[0]}x{region.output_size[1]}",
        f"unit: row {region.unit[0]}, column {region.unit[1]}",
        f"theoretical receptive field: {region.size[0]}x{region.size[1]} pixels",
        f"jump between units: {region.jump[0]}x{region.jump[1]} pixels",
        f"centre: input ({region.centre[0]:g}, {region.centre[1]:g})",
        f"rows {top} to {bottom}, columns {left} to {right}",
    ]
    if region.touches_border:
        lines.append(f"inside the {height}x{width} image: rows {c_top} to {c_bottom},")
        lines.append(f"columns {c_left} to {c_right} (dashed: the part in the padding)")
    else:
        lines.append(f"wholly inside the {height}x{width} image")
    text.set_axis_off()
    text.text(0.0, 0.5, "\n".join(lines), va="center", fontsize=9, family="monospace")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
