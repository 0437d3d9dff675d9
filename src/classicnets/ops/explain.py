"""Every output cell of a convolution or pooling written out as the sum a student would write.

The numbers shown are the very windows :func:`~classicnets.ops.conv2d` and
:func:`~classicnets.ops.pool2d` reduce, and the results are theirs, so an explanation can never
disagree with the computation it explains.
"""

from __future__ import annotations

import math

import torch

from ._windows import pad2d, windows2d
from .corr import _tensor, corr2d
from .pool import pool2d, pool_windows
from .shapes import IntOrPair, as_tuple, padding_pairs


def format_number(value: float) -> str:
    """A number as a person writes it: ``3`` not ``3.0``, ``0.1111`` not ``0.111111111``."""
    value = float(value)
    if math.isinf(value):
        return "-∞" if value < 0 else "∞"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def _factor(value: float) -> str:
    text = format_number(value)
    return f"({text})" if text.startswith("-") else text


def explain_corr2d(
    X: torch.Tensor, K: torch.Tensor, padding: IntOrPair = 0, stride: IntOrPair = 1
) -> list[str]:
    """One line per output element of :func:`~classicnets.ops.corr2d`, showing its sum.

    Args:
        X: input matrix (h, w).
        K: kernel matrix (k_h, k_w).
        padding: zeros added around X, as :func:`~classicnets.ops.conv2d` takes it (p, (p_h, p_w),
            ((top, bottom), (left, right)) or "same"); padded cells appear as 0.
        stride: s or (s_h, s_w).

    Returns:
        Lines in row-major order, e.g. ``Y[0,0] = 0×0 + 1×1 + 3×2 + 4×3 = 19`` (input × kernel).
    """
    X = _tensor(X, "X", 2, "a matrix (h, w)", "corr2d")
    K = _tensor(K, "K", 2, "a matrix (k_h, k_w)", "corr2d")
    Y = corr2d(X, K, padding=padding, stride=stride)  # validates shapes, the results we show
    ss = as_tuple(stride, "stride")
    (top, bottom), (left, right) = padding_pairs(padding, X.shape, K.shape, ss, (1, 1))
    padded = pad2d(X, (top, bottom, left, right), 0)
    windows = windows2d(padded, tuple(K.shape), ss, (1, 1))  # (m_h, m_w, k_h, k_w)
    weights = K.flatten().tolist()
    lines = []
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            terms = zip(windows[i, j].flatten().tolist(), weights, strict=True)
            products = " + ".join(f"{_factor(x)}×{_factor(k)}" for x, k in terms)
            lines.append(f"Y[{i},{j}] = {products} = {format_number(Y[i, j])}")
    return lines


def explain_pool2d(
    X: torch.Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    mode: str = "max",
    ceil_mode: bool = False,
) -> list[str]:
    """One line per output element of :func:`~classicnets.ops.pool2d` on a matrix.

    Args:
        X: input matrix (h, w).
        kernel_size, stride, padding, mode, ceil_mode: as :func:`~classicnets.ops.pool2d`.

    Returns:
        Lines such as ``Y[0,0] = max(0, 1, 3, 4) = 4`` or ``Y[0,0] = (0 + 1 + 3 + 4) / 4 = 2``;
        max pooling's padding shows as -∞, cells past the edge (ceil_mode) are left out.
    """
    X = _tensor(X, "X", 2, "a matrix (h, w)", "pool2d")
    if not X.is_floating_point():
        X = X.to(torch.get_default_dtype())  # so max pooling's padding can be -∞
    windows, divisor = pool_windows(X, kernel_size, stride, padding, mode, ceil_mode)
    Y = pool2d(X, kernel_size, stride, padding, mode, ceil_mode)  # the results we show
    ks = as_tuple(kernel_size, "kernel size", op="pool2d")
    ss = ks if stride is None else as_tuple(stride, "stride", op="pool2d")
    (top, bottom), (left, right) = padding_pairs(padding, X.shape, ks, ss, (1, 1), op="pool2d")
    h, w = X.shape
    lines = []
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            # Only the cells inside input + padding; ceil_mode's overhang is not part of the window.
            rows = min(ks[0], top + h + bottom - i * ss[0])
            cols = min(ks[1], left + w + right - j * ss[1])
            cells = windows[i, j, :rows, :cols].flatten().tolist()
            if divisor is None:
                body = f"max({', '.join(map(format_number, cells))})"
            else:
                total = " + ".join(map(_factor, cells))
                body = f"({total}) / {format_number(divisor[i, j])}"
            lines.append(f"Y[{i},{j}] = {body} = {format_number(Y[i, j])}")
    return lines
