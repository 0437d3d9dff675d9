"""Shape arithmetic of convolution and pooling layers, as pure functions.

The output size of a convolution over one dimension is

    floor((n + 2p - d(k - 1) - 1) / s) + 1

(Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016). Course notes
often write it with the *total* padding p_total = 2p instead: floor((n - k + p_total + s) / s).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import ShapeError

IntOrPair = int | Sequence[int]


def _pair(value: IntOrPair, name: str, ndim: int = 2) -> tuple[int, ...]:
    if isinstance(value, bool):
        raise ShapeError(f"{name} must be an integer or a tuple of {ndim} integers, got {value!r}.")
    if isinstance(value, int):
        return (value,) * ndim
    values = tuple(value)
    if len(values) != ndim or not all(isinstance(v, int) for v in values):
        raise ShapeError(f"{name} must be an integer or a tuple of {ndim} integers, got {value!r}.")
    return values


def _one(
    n: int,
    k: int,
    p: int,
    s: int,
    d: int,
    ceil_mode: bool,
    p_total: int | None,
    op: str,
) -> int:
    if n <= 0:
        raise ShapeError(f"{op}: input size must be positive, got {n}.")
    if k <= 0:
        raise ShapeError(f"{op}: kernel size must be positive, got {k}.")
    if s <= 0:
        raise ShapeError(f"{op}: stride must be positive, got {s}.")
    if d <= 0:
        raise ShapeError(f"{op}: dilation must be positive, got {d}.")
    if p < 0 or (p_total is not None and p_total < 0):
        raise ShapeError(f"{op}: padding must not be negative, got {p if p_total is None else p_total}.")
    span = d * (k - 1) + 1  # how far one dilated kernel reaches
    pad = 2 * p if p_total is None else p_total
    room = n + pad - span  # positions left after the first window
    if room < 0:
        kernel = f"kernel {k}" + (f" with dilation {d} (span {span})" if d != 1 else "")
        padding = f"total padding {pad}" if p_total is not None else f"padding {p}"
        raise ShapeError(
            f"{op}: input {n} with {kernel} and {padding} gives an empty output "
            f"({n} - {span} + {pad} + 1 = {room + 1})."
        )
    steps = math.ceil(room / s) if ceil_mode else room // s
    out = steps + 1
    # PyTorch's rule: with ceil_mode the last window must start inside the input or left padding.
    if ceil_mode and p_total is None and (out - 1) * s >= n + p:
        out -= 1
    return out


def conv_output_size(
    n: IntOrPair,
    kernel: IntOrPair,
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    *,
    padding_total: IntOrPair | None = None,
) -> int | tuple[int, ...]:
    """Output size of a convolution or pooling window sliding over ``n``.

    Args:
        n: input size, an int or a tuple (one entry per spatial dimension).
        kernel: kernel size k.
        padding: padding p added on *each* side.
        stride: stride s.
        dilation: dilation d (1 is a dense kernel).
        ceil_mode: round up instead of down, as pooling layers can.
        padding_total: the total padding over both sides (the course-notes form); when given,
            ``padding`` is ignored and the size is floor((n - k + p_total + s) / s).

    Returns:
        An int when ``n`` is an int, else a tuple of the same length.

    Raises:
        ShapeError: when an argument is not positive or the output would be empty.
    """
    scalar = isinstance(n, int) and not isinstance(n, bool)
    ndim = 1 if scalar else len(tuple(n))
    ns = _pair(n, "input size", ndim)
    ks = _pair(kernel, "kernel", ndim)
    ps = _pair(padding, "padding", ndim)
    ss = _pair(stride, "stride", ndim)
    ds = _pair(dilation, "dilation", ndim)
    pts = (None,) * ndim if padding_total is None else _pair(padding_total, "padding_total", ndim)
    op = "pool" if ceil_mode else "conv2d" if ndim == 2 else "conv"
    out = tuple(
        _one(a, k, p, s, d, ceil_mode, pt, op)
        for a, k, p, s, d, pt in zip(ns, ks, ps, ss, ds, pts, strict=True)
    )
    return out[0] if scalar else out
