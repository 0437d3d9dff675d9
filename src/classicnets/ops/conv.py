"""A 2-D convolutional layer's forward pass from first principles: pad, cut windows, multiply.

Deep-learning "convolution" is cross-correlation: output[n, o, i, j] is the sum over input
channels c and kernel positions (u, v) of input[n, c, i·s + u·d, j·s + v·d] · weight[o, c, u, v],
plus bias[o]. With ``groups`` g the channels split into g independent halves, thirds, ... and
each output channel only sees the input channels of its own group.

Padding can differ between sides: ``((top, bottom), (left, right))``, or ``"same"``, which keeps
ceil(H / s) x ceil(W / s) and puts an odd row or column of zeros at the bottom or right (Keras and
PyTorch both do). A 1-D signal goes to :func:`classicnets.ops.corr1d` instead.
"""

from __future__ import annotations

import torch

from ..errors import ShapeError
from ._windows import pad2d, windows2d
from .shapes import IntOrPair, Padding, as_tuple, conv_output_size, padding_pairs


def _promote(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Cast tensors to one common dtype (an int image and a float kernel give floats)."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return tuple(t.to(dtype) for t in tensors)


def _other_op_hint(ndim: int) -> str:
    """Where an input of ``ndim`` dimensions belongs, when conv2d cannot take it."""
    if ndim == 1:
        return "; a 1-D signal (L,) goes to ops.corr1d (or ops.conv1d)"
    if ndim == 2:
        return (
            "; a single matrix (H, W) goes to ops.corr2d, a signal with channels (C, L) to "
            "ops.corr1d"
        )
    return ""


def check_channels(
    c_in: int,
    weight_shape: tuple[int, ...],
    groups: int,
    bias: torch.Tensor | None,
    op: str,
) -> torch.Tensor | None:
    """Check that a weight (C_out, C_in / groups, ...) and a bias fit ``c_in`` input channels.

    Args:
        c_in: channels of the input.
        weight_shape: the weight's shape, output channels first.
        groups: channel groups.
        bias: ``None`` or something ``torch.as_tensor`` takes.
        op: the operation asking, for the error message.

    Returns:
        The bias as a tensor (or ``None``).

    Raises:
        ShapeError: when groups is not a positive integer or the shapes do not fit.
    """
    c_out, c_group = weight_shape[:2]
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise ShapeError(f"{op}: groups must be a positive integer, got {groups!r}.")
    if c_in % groups or c_out % groups:
        raise ShapeError(
            f"{op}: groups={groups} must divide both the {c_in} input channels and the "
            f"{c_out} output channels; pick a common divisor."
        )
    if c_group * groups != c_in:
        raise ShapeError(
            f"{op}: the input has {c_in} channels but the weight {weight_shape} expects "
            f"{c_group * groups} (= {c_group} per group × {groups} groups); make them match."
        )
    if bias is None:
        return None
    bias = torch.as_tensor(bias)
    if bias.shape != (c_out,):
        raise ShapeError(
            f"{op}: bias must have shape ({c_out},), one per output channel, "
            f"got {tuple(bias.shape)}."
        )
    return bias


def conv2d(
    X: torch.Tensor,
    W: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """2-D convolution (cross-correlation) of a batch, as ``torch.nn.functional.conv2d`` computes.

    Zero padding, then every window of every channel is multiplied with the kernel and summed in
    one einsum; autograd differentiates through the indexing, so gradients come for free.

    Args:
        X: input (N, C_in, H, W), or (C_in, H, W) for a single image.
        W: weight (C_out, C_in / groups, k_h, k_w).
        bias: optional (C_out,).
        stride: s or (s_h, s_w).
        padding: zeros added on each side, p or (p_h, p_w); per side
            ((top, bottom), (left, right)); or ``"valid"`` (none) or ``"same"`` (output
            ceil(H / s) x ceil(W / s), the odd zero at the bottom/right).
        dilation: d or (d_h, d_w); the kernel reads every d-th pixel.
        groups: split the channels into this many independent groups.

    Returns:
        Output (N, C_out, OH, OW) (or (C_out, OH, OW) for a single image), with
        OH = floor((H + top + bottom - d_h(k_h - 1) - 1) / s_h) + 1 and likewise OW.

    Raises:
        ShapeError: when the shapes do not fit together or the output would be empty.
    """
    X, W = torch.as_tensor(X), torch.as_tensor(W)
    if X.dim() not in (3, 4):
        raise ShapeError(
            f"conv2d: input must be (N, C, H, W) or (C, H, W), got shape {tuple(X.shape)}"
            f"{_other_op_hint(X.dim())}."
        )
    if W.dim() != 4:
        raise ShapeError(f"conv2d: weight must be (C_out, C_in, k_h, k_w), got {tuple(W.shape)}.")
    single = X.dim() == 3
    if single:
        X = X.unsqueeze(0)
    n, c_in, h, w = X.shape
    c_out, c_group, kh, kw = W.shape
    bias = check_channels(c_in, tuple(W.shape), groups, bias, "conv2d")
    if bias is None:
        X, W = _promote(X, W)
    else:
        X, W, bias = _promote(X, W, bias)
    ss = as_tuple(stride, "stride")
    ds = as_tuple(dilation, "dilation")
    pairs = padding_pairs(padding, (h, w), (kh, kw), ss, ds)
    oh, ow = conv_output_size((h, w), (kh, kw), pairs, ss, ds)  # raises on an empty output

    (top, bottom), (left, right) = pairs
    x = pad2d(X, (top, bottom, left, right), 0)  # (N, C_in, top + H + bottom, left + W + right)
    win = windows2d(x, (kh, kw), ss, ds)  # (N, C_in, OH, OW, k_h, k_w)
    win = win.reshape(n, groups, c_group, oh, ow, kh, kw)
    weight = W.reshape(groups, c_out // groups, c_group, kh, kw)
    y = torch.einsum("ngchwuv,gocuv->ngohw", win, weight)  # (N, groups, C_out / groups, OH, OW)
    y = y.reshape(n, c_out, oh, ow)
    if bias is not None:
        y = y + bias.view(1, c_out, 1, 1)
    return y[0] if single else y
