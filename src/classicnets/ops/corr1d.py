"""1-D cross-correlation and convolution of sequences: the narrow, wide and same convolutions.

A filter of m weights slides along a sequence of n values. Without padding it fits n − m + 1
times (the *narrow* convolution, numpy's "valid"); with m − 1 zeros at both ends it fits
n + m − 1 times (the *wide* one, numpy's "full"); with m − 1 zeros in all it gives n outputs (the
*same*, or equal-width, one). For an even m the m − 1 zeros of "same" cannot be split evenly: the
extra one goes at the end, as Keras, TensorFlow and PyTorch's ``padding="same"`` put it, and as
:func:`classicnets.ops.conv2d` puts the extra row or column at the bottom or right (numpy's
"same" keeps the other end of the full output).

:func:`corr1d` is the cross-correlation y[t] = Σ_j k[j]·x[t·s + j·d], what deep-learning layers
(``torch.nn.functional.conv1d``) compute; :func:`conv1d` is the signal-processing convolution,
the same with the kernel reversed (``numpy.convolve``). Both are thin doors onto
:func:`classicnets.ops.conv2d` with a height of one row, so the windowing is written once.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import ShapeError
from .conv import check_channels, conv2d
from .shapes import _as_int, as_tuple, conv_output_size, padding_pairs

MODES = ("narrow", "valid", "wide", "full", "same")  # "valid" = narrow, "full" = wide
Padding1d = int | Sequence[int] | str


def padding_1d(
    padding: Padding1d, n: int, m: int, stride: int = 1, dilation: int = 1, op: str = "conv1d"
) -> tuple[int, int]:
    """The (before, after) zeros a 1-D convolution adds, from a mode name or numbers.

    Args:
        padding: ``"narrow"``/``"valid"`` (none), ``"wide"``/``"full"`` (span − 1 at each
            end, span = d(m − 1) + 1), ``"same"`` (ceil(n / s) outputs, an odd zero at the
            end), an int p (p at each end) or a pair ``(before, after)``.
        n: length of the sequence.
        m: length of the kernel.
        stride: stride s.
        dilation: dilation d.
        op: the operation asking, for the error message.

    Returns:
        ``(before, after)``.

    Raises:
        ShapeError: for an unknown mode or a value that is neither an int nor a pair.
    """
    if isinstance(padding, str):
        if padding in ("narrow", "valid"):
            return (0, 0)
        if padding in ("wide", "full"):
            span = dilation * (m - 1) + 1
            return (span - 1, span - 1)
        if padding == "same":
            return padding_pairs("same", (n,), (m,), (stride,), (dilation,), op)[0]
        raise ShapeError(
            f"{op}: mode must be one of {', '.join(map(repr, MODES))}, got {padding!r}."
        )
    single = _as_int(padding)
    if single is not None:
        return (single, single)
    if isinstance(padding, Sequence) and len(padding) == 2:
        before, after = _as_int(padding[0]), _as_int(padding[1])
        if before is not None and after is not None:
            return (before, after)
    raise ShapeError(
        f"{op}: padding must be an integer p or a pair (before, after) of integers, "
        f"got {padding!r}."
    )


def conv1d_output_size(
    n: int, m: int, padding: Padding1d = "narrow", stride: int = 1, dilation: int = 1
) -> int:
    """Length of a 1-D convolution's output: floor((n + before + after − d(m − 1) − 1) / s) + 1.

    Args:
        n: length of the sequence.
        m: length of the kernel.
        padding: a mode or numbers, as :func:`padding_1d`.
        stride: stride s.
        dilation: dilation d.

    Returns:
        n − m + 1 (narrow), n + m − 1 (wide) or n (same) at stride 1.

    Raises:
        ShapeError: when an argument is not a positive integer or the output would be empty.

    Example:
        >>> [conv1d_output_size(7, 3, mode) for mode in ("narrow", "wide", "same")]
        [5, 9, 7]
    """
    s = as_tuple(stride, "stride", 1, "conv1d")[0]
    d = as_tuple(dilation, "dilation", 1, "conv1d")[0]
    sizes = [
        as_tuple(v, name, 1, "conv1d")[0] for v, name in ((n, "input size"), (m, "kernel size"))
    ]
    pair = padding_1d(padding, *sizes, s, d)
    return conv_output_size(sizes[0], sizes[1], (pair,), s, d, op="conv1d")  # type: ignore


def _as_tensor(value: object, name: str, op: str) -> torch.Tensor:
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ShapeError(f"{op}: {name} must be a tensor of numbers ({err}).") from None


def _batched(x: torch.Tensor, k: torch.Tensor, op: str) -> tuple[torch.Tensor, torch.Tensor, str]:
    """x as (N, C_in, L) and k as (C_out, C_in / groups, m), and which form came in."""
    if x.dim() == 1:
        if k.dim() != 1:
            raise ShapeError(
                f"{op}: a single signal x {tuple(x.shape)} takes a kernel (m,), got kernel "
                f"shape {tuple(k.shape)}; for channels give x as (C_in, L) and the weight as "
                "(C_out, C_in, m)."
            )
        return x[None, None], k[None, None], "signal"
    if x.dim() in (2, 3):
        if k.dim() != 3:
            hint = ""
            if x.dim() == 2 and k.dim() == 1:
                hint = "; one signal is x (L,) with a kernel (m,), a matrix goes to ops.corr2d"
            elif x.dim() == 2 and k.dim() == 2:
                hint = "; a matrix (H, W) with a 2-D kernel goes to ops.corr2d"
            raise ShapeError(
                f"{op}: an input {tuple(x.shape)} with channels, (C_in, L) or (N, C_in, L), "
                f"takes a weight (C_out, C_in / groups, m), got shape {tuple(k.shape)}{hint}."
            )
        return (x[None] if x.dim() == 2 else x), k, "single" if x.dim() == 2 else "batch"
    hint = "; a batch of images (N, C, H, W) goes to ops.conv2d" if x.dim() == 4 else ""
    raise ShapeError(
        f"{op}: input must be a signal (L,), (C_in, L) or (N, C_in, L), got shape "
        f"{tuple(x.shape)}{hint}."
    )


def _correlate(
    x: object,
    k: object,
    mode: str,
    padding: int | Sequence[int] | None,
    stride: int,
    dilation: int,
    groups: int,
    bias: object,
    op: str,
    flip: bool,
) -> torch.Tensor:
    X, K = _as_tensor(x, "x", op), _as_tensor(k, "k", op)
    X, K, form = _batched(X, K, op)
    if form == "signal" and bias is not None:
        raise ShapeError(
            f"{op}: a bias needs the channel form, x (C_in, L) and weight (C_out, C_in, m); "
            "for one signal add the number to the result."
        )
    if padding is not None and mode != "narrow":
        raise ShapeError(
            f"{op}: give either mode={mode!r} or padding={padding!r}, not both; padding sets "
            "the zeros at each end by number, mode by name."
        )
    bias = check_channels(X.shape[1], tuple(K.shape), groups, bias, op)
    s = as_tuple(stride, "stride", 1, op)[0]
    d = as_tuple(dilation, "dilation", 1, op)[0]
    n, m = X.shape[-1], K.shape[-1]
    pair = padding_1d(mode if padding is None else padding, n, m, s, d, op)
    conv_output_size(n, m, (pair,), s, d, op=op)  # the empty-output error in this op's name
    if flip:
        K = K.flip(-1)  # convolution = cross-correlation with the kernel reversed
    y = conv2d(
        X[:, :, None, :],  # (N, C_in, 1, L): a sequence is an image one row high
        K[:, :, None, :],  # (C_out, C_in / groups, 1, m)
        bias,
        stride=(1, s),
        padding=((0, 0), pair),
        dilation=(1, d),
        groups=groups,
    )[:, :, 0, :]  # (N, C_out, L_out)
    if form == "signal":
        return y[0, 0]  # (L_out,)
    return y[0] if form == "single" else y


def corr1d(
    x: torch.Tensor,
    k: torch.Tensor,
    *,
    mode: str = "narrow",
    padding: int | Sequence[int] | None = None,
    stride: int = 1,
    dilation: int = 1,
    groups: int = 1,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """1-D cross-correlation y[t] = Σ_j k[j]·x[t·s + j·d], as ``torch.nn.functional.conv1d``.

    Args:
        x: a signal (L,), or channels (C_in, L), or a batch (N, C_in, L); lists work too.
        k: a kernel (m,) for a signal, else a weight (C_out, C_in / groups, m).
        mode: ``"narrow"`` (= ``"valid"``, n − m + 1 outputs), ``"wide"`` (= ``"full"``,
            n + m − 1) or ``"same"`` (n; ceil(n / s) with a stride; an odd zero at the end).
        padding: zeros at each end as numbers instead of a mode: p, or ``(before, after)``.
        stride: s, the step between windows.
        dilation: d, the spacing of the kernel's taps.
        groups: channel groups, as in torch (channel forms only).
        bias: (C_out,), channel forms only.

    Returns:
        (L_out,), (C_out, L_out) or (N, C_out, L_out), following ``x``; integer inputs give
        integers.

    Raises:
        ShapeError: for shapes that do not fit (a matrix or a 4-D batch points at ops.corr2d
            or ops.conv2d), an unknown mode, or an empty output.

    Example:
        >>> corr1d([1, 2, 4, 7, 11], [-1, 0, 1]).tolist()  # x[t + 2] − x[t]
        [3, 5, 7]
    """
    return _correlate(x, k, mode, padding, stride, dilation, groups, bias, "corr1d", flip=False)


def conv1d(
    x: torch.Tensor,
    k: torch.Tensor,
    *,
    mode: str = "narrow",
    padding: int | Sequence[int] | None = None,
    stride: int = 1,
    dilation: int = 1,
    groups: int = 1,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """1-D convolution y[t] = Σ_j k[j]·x[t + m − 1 − j]: :func:`corr1d` with the kernel reversed.

    This is the textbook (signal-processing) convolution, ``numpy.convolve(x, k, "valid")`` for
    ``mode="narrow"`` and ``numpy.convolve(x, k, "full")`` for ``mode="wide"``. Note that
    :func:`classicnets.ops.conv2d`, like torch's ``conv1d``/``conv2d``, does *not* reverse its
    kernel; :func:`corr1d` is the 1-D twin of those.

    Args:
        x, k, mode, padding, stride, dilation, groups, bias: as :func:`corr1d`; the kernel's
            last axis is reversed.

    Returns:
        The same shape as :func:`corr1d` gives.

    Raises:
        ShapeError: as :func:`corr1d`.

    Example:
        >>> conv1d([1, 2, 4, 7, 11], [-1, 0, 1]).tolist()  # x[t] − x[t + 2]
        [-3, -5, -7]
    """
    return _correlate(x, k, mode, padding, stride, dilation, groups, bias, "conv1d", flip=True)
