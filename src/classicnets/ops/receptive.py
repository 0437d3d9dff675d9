"""Receptive field arithmetic: which input pixels each layer's output cell can see.

Walking the layers in order, with k_eff = d(k - 1) + 1 the span of a (dilated) kernel:

    jump  j_out = j_in · s                           distance between neighbouring cells, in pixels
    field r_out = r_in + (k_eff - 1) · j_in          side of the input patch one cell sees
    start c_out = c_in + ((k_eff - 1) / 2 - p) · j_in   input coordinate of the first cell's centre

(Dang Ha The Hien, "A guide to receptive field arithmetic for CNNs", 2017; Araujo, Norris & Sim,
"Computing receptive fields of convolutional neural networks", Distill 2019.) Coordinates here
are pixel indices, so the input's first pixel is centred at 0 and an output cell (i, j) looks at
the patch centred at (start_h + i·jump_h, start_w + j·jump_w).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from ..errors import ShapeError
from .shapes import as_tuple

Pair = tuple[int, int]


@dataclass(frozen=True)
class LayerField:
    """One layer of a :func:`receptive_field` walk.

    Attributes:
        name: the module's name in the model, e.g. ``"features.0"`` (``"input"`` for the input).
        layer: the module's class name, e.g. ``"Conv2d"``.
        output_shape: the output without the batch dimension, e.g. ``(6, 28, 28)``.
        receptive_field: (r_h, r_w) pixels of the input one output cell sees; None once the
            output has no spatial layout (after ``Flatten``).
        jump: (j_h, j_w) input pixels between neighbouring output cells; None likewise.
        start: (c_h, c_w) input coordinate of the centre of output cell (0, 0); None likewise.
    """

    name: str
    layer: str
    output_shape: tuple[int, ...]
    receptive_field: Pair | None
    jump: Pair | None
    start: tuple[float, float] | None


@dataclass(frozen=True)
class Field:
    """Where a walk stands after a layer: output size, receptive field, jump and start."""

    size: Pair
    rf: Pair
    jump: Pair
    start: tuple[float, float]

    def through(self, size: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair):
        spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
        return Field(
            size=size,
            rf=tuple(r + (e - 1) * j for r, e, j in zip(self.rf, spans, self.jump, strict=True)),
            jump=tuple(j * s for j, s in zip(self.jump, stride, strict=True)),
            start=tuple(
                c + ((e - 1) / 2 - p) * j
                for c, e, p, j in zip(self.start, spans, padding, self.jump, strict=True)
            ),
        )


def sliding_window(module: nn.Module, name: str, size_in: Pair, size_out: Pair):
    """(kernel, stride, padding, dilation, ceil_mode) of a sliding-window layer, else None.

    A module of one's own (LeNet-1998's partial C3, its trainable subsampling) is a sliding
    window when it says so with a ``sliding_window()`` method returning those five values."""
    own = getattr(module, "sliding_window", None)
    if callable(own):
        return own()
    if isinstance(module, nn.Conv2d):
        k, s, d = module.kernel_size, module.stride, module.dilation
        if isinstance(module.padding, str):  # "valid" or "same" (stride 1; extra pad goes right)
            same = module.padding == "same"
            p = tuple((di * (ki - 1)) // 2 if same else 0 for ki, di in zip(k, d, strict=True))
        else:
            p = module.padding
        return tuple(k), tuple(s), tuple(p), tuple(d), False
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        k = as_tuple(module.kernel_size, "kernel size")
        s = k if module.stride is None else as_tuple(module.stride, "stride")
        d = as_tuple(getattr(module, "dilation", 1), "dilation")
        return k, s, as_tuple(module.padding, "padding"), d, module.ceil_mode
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        if any(n % m for n, m in zip(size_in, size_out, strict=True)):
            raise ShapeError(
                f"receptive_field: {name} ({type(module).__name__}) pools {hw_text(size_in)} to "
                f"{hw_text(size_out)} with windows of unequal size; choose an input whose size "
                "is a multiple of the output's."
            )
        k = tuple(n // m for n, m in zip(size_in, size_out, strict=True))
        return k, k, (0, 0), (1, 1), False  # equal windows: kernel = stride = n / m
    return None


def hw_text(size: Sequence[int]) -> str:
    return "x".join(map(str, size))
