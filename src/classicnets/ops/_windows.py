"""Padding and sliding windows: the two moves every convolution and pooling layer makes.

Both are plain tensor indexing, so autograd differentiates through them; conv2d, pool2d, corr2d
and the step-by-step explanations all share them, so the numbers an explanation shows are the
very windows the layer multiplies.
"""

from __future__ import annotations

import torch


def pad2d(x: torch.Tensor, pads: tuple[int, int, int, int], value: float) -> torch.Tensor:
    """Surround the last two dimensions of ``x`` with ``value``.

    Args:
        x: a tensor (..., H, W).
        pads: (top, bottom, left, right) rows and columns to add.
        value: what to fill them with (0 for convolution, -inf for max pooling).

    Returns:
        A tensor (..., top + H + bottom, left + W + right); ``x`` itself when nothing is added.
    """
    top, bottom, left, right = pads
    if not any(pads):
        return x
    h, w = x.shape[-2:]
    out = x.new_full((*x.shape[:-2], top + h + bottom, left + w + right), value)
    out[..., top : top + h, left : left + w] = x  # a copy autograd routes gradients through
    return out


def windows2d(
    x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> torch.Tensor:
    """Every window a (dilated) kernel sees as it slides over the last two dimensions of ``x``.

    Args:
        x: a tensor (..., H, W), already padded.
        kernel: (k_h, k_w).
        stride: (s_h, s_w).
        dilation: (d_h, d_w); a dilated window takes every d-th element of a span d(k-1)+1.

    Returns:
        A view (..., OH, OW, k_h, k_w) with OH = (H - span_h) // s_h + 1, likewise OW.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    win = x.unfold(-2, span_h, sh)  # (..., OH, W, span_h)
    win = win.unfold(-2, span_w, sw)  # (..., OH, OW, span_h, span_w)
    return win[..., ::dh, ::dw]  # (..., OH, OW, k_h, k_w)
