"""Max and average pooling from first principles, with PyTorch's padding and ceil_mode rules.

Max pooling pads with -inf (a padded cell never wins); average pooling pads with zeros and, like
``torch.nn.AvgPool2d``, counts the padding in the divisor unless ``count_include_pad=False``.
With ``ceil_mode`` the last window may hang over the bottom/right edge; the overhanging cells are
never counted.

Padding can differ between sides, ``((top, bottom), (left, right))``, or be ``"same"`` (output
ceil(H / s) x ceil(W / s), an odd row or column of padding at the bottom/right, as in Keras). Keras'
"same" average pooling leaves the padding out of the divisor: pass ``count_include_pad=False``.
"""

from __future__ import annotations

import torch

from ..errors import ShapeError
from ._windows import pad2d, windows2d
from .shapes import IntOrPair, Padding, as_tuple, conv_output_size, padding_pairs

POOL_MODES = ("max", "avg")


def pool_windows(
    X: torch.Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: Padding = 0,
    mode: str = "max",
    ceil_mode: bool = False,
    *,
    dilation: IntOrPair = 1,
    count_include_pad: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The windows a pooling layer reduces, and for average pooling the divisor of each.

    Args: as :func:`pool2d`.

    Returns:
        ``(windows, divisor)``: windows (..., OH, OW, k_h, k_w) of the padded input; divisor
        (OH, OW) for ``mode="avg"``, None for ``mode="max"``.
    """
    if mode not in POOL_MODES:
        raise ShapeError(f"pool2d: mode must be 'max' or 'avg', got {mode!r}.")
    X = torch.as_tensor(X)
    if X.dim() < 2:
        raise ShapeError(
            f"pool2d: input must have at least 2 dimensions (H, W), got {X.dim()} (shape "
            f"{tuple(X.shape)}); pool a 1-D signal (L,) as a (1, L) matrix with a (1, k) window."
        )
    if mode == "avg" and not (X.is_floating_point() or X.is_complex()):
        X = X.to(torch.get_default_dtype())  # the mean of integers is not an integer
    ks = as_tuple(kernel_size, "kernel size", op="pool2d")
    ss = ks if stride is None else as_tuple(stride, "stride", op="pool2d")
    ds = as_tuple(dilation, "dilation", op="pool2d")
    h, w = X.shape[-2:]
    pairs = padding_pairs(padding, (h, w), ks, ss, ds, op="pool2d")
    oh, ow = conv_output_size((h, w), ks, pairs, ss, ds, ceil_mode, op="pool2d")
    if mode == "avg" and ds != (1, 1):
        raise ShapeError(f"pool2d: average pooling has no dilation, got {ds}; use dilation 1.")
    for pair, k in zip(pairs, ks, strict=True):
        for p in pair:
            # PyTorch's limit: more and a window could hold nothing but padding.
            if p > k // 2:
                raise ShapeError(
                    f"pool2d: padding {p} is more than half the kernel size {k}; "
                    f"use at most {k // 2}."
                )
    (top, bottom), (left, right) = pairs
    spans = tuple(d * (k - 1) + 1 for k, d in zip(ks, ds, strict=True))
    # ceil_mode: room for a last window that hangs over the bottom/right edge.
    extra_h = max(0, (oh - 1) * ss[0] + spans[0] - (top + h + bottom))
    extra_w = max(0, (ow - 1) * ss[1] + spans[1] - (left + w + right))
    pads = (top, bottom + extra_h, left, right + extra_w)
    if mode == "max":
        fill = -torch.inf if X.is_floating_point() else torch.iinfo(X.dtype).min
        return windows2d(pad2d(X, pads, fill), ks, ss, ds), None
    windows = windows2d(pad2d(X, pads, 0), ks, ss, ds)  # (..., OH, OW, k_h, k_w)
    # Divisor: how many cells of each window count: padding included or not, overhang never.
    counted = torch.ones(h, w, dtype=X.dtype)
    if count_include_pad:
        counted = pad2d(counted, (top, bottom, left, right), 1)
        counted = pad2d(counted, (0, extra_h, 0, extra_w), 0)
    else:
        counted = pad2d(counted, pads, 0)
    divisor = windows2d(counted, ks, ss, ds).sum(dim=(-2, -1))  # (OH, OW)
    return windows, divisor


def pool2d(
    X: torch.Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: Padding = 0,
    mode: str = "max",
    ceil_mode: bool = False,
    *,
    dilation: IntOrPair = 1,
    count_include_pad: bool = True,
) -> torch.Tensor:
    """2-D max or average pooling over the last two dimensions, as PyTorch's pooling layers.

    Args:
        X: input (..., H, W), e.g. (N, C, H, W) or a single (H, W) matrix.
        kernel_size: window size k or (k_h, k_w).
        stride: s or (s_h, s_w); defaults to the kernel size (non-overlapping windows).
        padding: p or (p_h, p_w) on each side, or ((top, bottom), (left, right)), or
            ``"valid"`` / ``"same"``; at most half the kernel on any side.
        mode: ``"max"`` or ``"avg"``.
        ceil_mode: round the output size up, letting a last partial window in.
        dilation: spacing of the window's cells (max pooling only).
        count_include_pad: average pooling divides by the padded window size (PyTorch's
            default) rather than by the number of real input cells.

    Returns:
        Pooled tensor (..., OH, OW); integer input stays integer for max pooling and becomes
        floating point for average pooling.

    Raises:
        ShapeError: for an unknown mode, too much padding or an empty output.
    """
    windows, divisor = pool_windows(
        X,
        kernel_size,
        stride,
        padding,
        mode,
        ceil_mode,
        dilation=dilation,
        count_include_pad=count_include_pad,
    )
    if divisor is None:
        # max over a flattened window: the gradient goes to the one winning cell, as in torch.
        return windows.flatten(-2).max(dim=-1).values  # (..., OH, OW)
    return windows.sum(dim=(-2, -1)) / divisor  # (..., OH, OW)
