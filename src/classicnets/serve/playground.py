"""The convolution playground of ``classicnets serve``: a cross-correlation (and pooling) of
small matrices the page sends, with the output-size formula filled in and every position of
the sliding window, computed by :mod:`classicnets.ops` (the arithmetic ``classicnets conv
--explain`` prints), and the course's worked examples as presets."""

from __future__ import annotations

import torch

from ..errors import ClassicnetsError
from ..ops import conv2d, explain_corr2d, explain_pool2d, pool2d
from ..ops._windows import windows2d
from ..ops.shapes import as_tuple, conv_output_size

_X = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
_K = [[0, 1], [2, 3]]
PRESETS = [
    {"title": "3×3 ⋆ 2×2", "input": _X, "kernel": _K, "padding": 0, "stride": 1},
    {"title": "padding 1", "input": _X, "kernel": _K, "padding": 1, "stride": 1},
    {"title": "padding 1, stride 3×2", "input": _X, "kernel": _K, "padding": 1, "stride": [3, 2]},
]
MAX_MATRIX, MAX_KERNEL, MAX_PADDING = 16, 7, 6  # small enough to draw and to animate
SIZE_FORMULA = "⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1"


def _matrix(value: object, name: str, most: int) -> torch.Tensor:
    """A JSON matrix of numbers: int64 when every number is whole, else float64."""
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise ClassicnetsError(f"The field '{name}' must be a matrix: a list of rows of numbers.")
    if len(value) > most or any(not r or len(r) > most for r in value):
        raise ClassicnetsError(
            f"The field '{name}' must be 1 to {most} rows of 1 to {most} numbers."
        )
    if any(len(r) != len(value[0]) for r in value):
        raise ClassicnetsError(f"The rows of '{name}' must all have {len(value[0])} numbers.")
    cells = [c for r in value for c in r]
    if any(isinstance(c, bool) or not isinstance(c, int | float) for c in cells):
        raise ClassicnetsError(f"The field '{name}' must hold numbers only.")
    if any(abs(c) > 1e6 for c in cells):
        raise ClassicnetsError(f"The numbers of '{name}' must lie within ±1,000,000.")
    whole = all(float(c).is_integer() for c in cells)
    return torch.tensor(value, dtype=torch.int64 if whole else torch.float64)


def _pair(data: dict, name: str, default: int) -> tuple[int, int]:
    value = data.get(name, default)
    if isinstance(value, list):
        value = tuple(value)
    pair = as_tuple(value, name, op="playground")  # one sentence for anything else
    if any(abs(v) > 64 for v in pair):
        raise ClassicnetsError(f"The field '{name}' must be within ±64, got {value!r}.")
    return pair


def _size_lines(shape, kernel, padding, stride, dilation, out) -> list[str]:
    """Each output dimension's size, the formula with this case's numbers filled in."""
    lines = []
    for axis, n, k, p, s, d, m in zip(
        ("height", "width"), shape, kernel, padding, stride, dilation, out, strict=True
    ):
        span = f"{k}" if d == 1 else f"{d}×({k} − 1) − 1"
        lines.append(f"{axis}: ⌊({n} + 2×{p} − {span}) / {s}⌋ + 1 = {m}")
    return lines


def _steps(shape, kernel, padding, stride, dilation, lines) -> list[dict]:
    """For every output cell: the cells of the padded input its window reads, as [row, col]
    (the same windows the layer multiplies), and its sum written out."""
    ph, pw = padding
    frame = (shape[0] + 2 * ph, shape[1] + 2 * pw)
    numbers = torch.arange(frame[0] * frame[1]).reshape(frame)
    cells = windows2d(numbers, kernel, stride, dilation).flatten(-2)  # (OH, OW, k_h k_w)
    flat = cells.flatten(0, 1).tolist()
    return [
        {"cells": [[v // frame[1], v % frame[1]] for v in read], "line": line}
        for read, line in zip(flat, lines, strict=True)
    ]


def playground(data: dict) -> dict:
    """A cross-correlation of ``input`` with ``kernel`` (``padding``, ``stride``,
    ``dilation``), optionally max or average pooled (``pool``: ``{"mode", "size",
    "stride"}``): the sizes with the formula filled in, the output and every window.

    Raises:
        ClassicnetsError: a malformed field, or sizes that leave an empty output (the shape
            functions' own sentence, with the arithmetic).
    """
    x = _matrix(data.get("input"), "input", MAX_MATRIX)
    k = _matrix(data.get("kernel"), "kernel", MAX_KERNEL)
    padding, stride = _pair(data, "padding", 0), _pair(data, "stride", 1)
    dilation = _pair(data, "dilation", 1)
    if any(p > MAX_PADDING for p in padding):
        raise ClassicnetsError(f"The padding must be at most {MAX_PADDING} here, got {padding}.")
    kernel = tuple(k.shape)
    out = conv_output_size(tuple(x.shape), kernel, padding, stride, dilation)  # honest errors
    y = conv2d(x[None, None], k[None, None], stride=stride, padding=padding, dilation=dilation)
    y = y[0, 0]
    if dilation == (1, 1):
        lines = explain_corr2d(x, k, padding=padding, stride=stride)
    else:
        # A dilated kernel is the dense one with d - 1 zeros between its taps: the sums then
        # show the skipped cells times 0 and equal the dilated sums.
        span = tuple(d * (n - 1) + 1 for n, d in zip(kernel, dilation, strict=True))
        dense = k.new_zeros(span)
        dense[:: dilation[0], :: dilation[1]] = k
        lines = explain_corr2d(x, dense, padding=padding, stride=stride)
    result = {
        "formula": SIZE_FORMULA,
        "input": x.tolist(),
        "kernel": k.tolist(),
        "padding": list(padding),
        "stride": list(stride),
        "dilation": list(dilation),
        "padded_shape": [x.shape[0] + 2 * padding[0], x.shape[1] + 2 * padding[1]],
        "sizes": _size_lines(tuple(x.shape), kernel, padding, stride, dilation, out),
        "output": y.tolist(),
        "output_shape": list(out),
        "steps": _steps(tuple(x.shape), kernel, padding, stride, dilation, lines),
        "pool": None,
    }
    pool = data.get("pool")
    if pool is not None:
        result["pool"] = _pool(y, pool)
    return result


def _pool(y: torch.Tensor, pool: object) -> dict:
    """Pooling of the convolution's output, window by window."""
    if not isinstance(pool, dict) or pool.get("mode") not in ("max", "avg"):
        raise ClassicnetsError('The field \'pool\' must be null or {"mode": "max" or "avg", ...}.')
    size = _pair(pool, "size", 2)
    stride = size if pool.get("stride") is None else _pair(pool, "stride", 2)
    out = conv_output_size(tuple(y.shape), size, 0, stride, op="pool2d")
    pooled = pool2d(y, size, stride, 0, pool["mode"])
    lines = explain_pool2d(y, size, stride, 0, pool["mode"])
    return {
        "mode": pool["mode"],
        "size": list(size),
        "stride": list(stride),
        "sizes": _size_lines(tuple(y.shape), size, (0, 0), stride, (1, 1), out),
        "output": pooled.tolist(),
        "output_shape": list(out),
        "steps": _steps(tuple(y.shape), size, (0, 0), stride, (1, 1), lines),
    }
