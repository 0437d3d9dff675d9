"""Shape arithmetic of convolution and pooling layers, as pure functions.

The output size of a convolution over one dimension is

    floor((n + 2p - d(k - 1) - 1) / s) + 1

(Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016). Course notes
often write it with the *total* padding p_total = 2p instead: floor((n - k + p_total + s) / s).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from ..errors import ShapeError

IntOrPair = int | Sequence[int]


def _as_int(value: object) -> int | None:
    """``value`` as an int when it is an integer (numpy ints too, bools not), else None."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def as_tuple(value: IntOrPair, name: str, ndim: int = 2, op: str = "conv2d") -> tuple[int, ...]:
    """Normalise an int or a sequence of ``ndim`` ints to a tuple of ``ndim`` ints.

    Args:
        value: an int (repeated ``ndim`` times) or a sequence of ``ndim`` ints.
        name: what the value is, for the error message, e.g. ``"stride"``.
        ndim: how many spatial dimensions.
        op: the operation asking, for the error message.

    Returns:
        A tuple of ``ndim`` ints.

    Raises:
        ShapeError: when ``value`` is neither.
    """
    single = _as_int(value)
    if single is not None:
        return (single,) * ndim
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == ndim:
        values = tuple(_as_int(v) for v in value)
        if all(v is not None for v in values):
            return values  # type: ignore[return-value]
    raise ShapeError(
        f"{op}: {name} must be an integer or a tuple of {ndim} integers, got {value!r}."
    )


def _check_positive(values: tuple[int, ...], name: str, op: str, hint: str) -> None:
    for v in values:
        if v <= 0:
            raise ShapeError(f"{op}: {name} must be a positive integer, got {v}; {hint}.")


def _size_text(values: tuple[int, ...]) -> str:
    """``(5, 5)`` -> ``"5"``, ``(5, 3)`` -> ``"5x3"``: square sizes read as one number."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def conv_output_size(
    n: IntOrPair,
    kernel: IntOrPair,
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    *,
    padding_total: IntOrPair | None = None,
    op: str | None = None,
) -> int | tuple[int, ...]:
    """Output size of a convolution or pooling window sliding over ``n``.

    Args:
        n: input size, an int or a tuple (one entry per spatial dimension).
        kernel: kernel size k.
        padding: padding p added on *each* side.
        stride: stride s.
        dilation: dilation d (1 is a dense kernel).
        ceil_mode: round up instead of down, as pooling layers can (PyTorch's rule: the last
            window must start inside the input or the left padding).
        padding_total: the total padding over both sides (the course-notes form); when given,
            ``padding`` is ignored and the size is floor((n - k + p_total + s) / s).
        op: the operation's name for error messages; ``"conv2d"`` for 2-D sizes by default.

    Returns:
        An int when ``n`` is an int, else a tuple of the same length.

    Raises:
        ShapeError: when an argument is not a positive integer (padding: not negative) or the
            output would be empty, e.g. ``conv2d: input 3x3 with kernel 5 and padding 0 gives an
            empty output (3 - 5 + 0 + 1 = -1); ...``.
    """
    scalar = _as_int(n) is not None
    if not scalar and not (isinstance(n, Sequence) and not isinstance(n, str)):
        raise ShapeError(
            f"{op or 'conv'}: input size must be an integer or a tuple of integers, got {n!r}."
        )
    ndim = 1 if scalar else len(n)  # type: ignore[arg-type]
    op = op or ("conv2d" if ndim == 2 else "conv")
    ns = as_tuple(n, "input size", ndim, op)
    ks = as_tuple(kernel, "kernel size", ndim, op)
    ps = as_tuple(padding, "padding", ndim, op)
    ss = as_tuple(stride, "stride", ndim, op)
    ds = as_tuple(dilation, "dilation", ndim, op)
    pts = None if padding_total is None else as_tuple(padding_total, "padding_total", ndim, op)

    _check_positive(ns, "input size", op, "the input needs at least one pixel")
    _check_positive(ks, "kernel size", op, "use 1 or more")
    _check_positive(ss, "stride", op, "use 1 to move the window one step at a time")
    _check_positive(ds, "dilation", op, "use 1 for a dense kernel")
    for v in ps if pts is None else pts:
        if v < 0:
            raise ShapeError(f"{op}: padding must not be negative, got {v}; use 0 for none.")

    spans = tuple(d * (k - 1) + 1 for k, d in zip(ks, ds, strict=True))  # reach of one window
    pads = tuple(2 * p for p in ps) if pts is None else pts  # total padding per dimension
    out = []
    for i in range(ndim):
        room = ns[i] + pads[i] - spans[i]  # positions left after the first window
        # PyTorch lets a ceil_mode pooling window hang up to s - 1 cells over the edge.
        if room < 0 and not (ceil_mode and room + ss[i] - 1 >= 0):
            kernel_text = f"kernel {_size_text(ks)}"
            if any(d != 1 for d in ds):
                kernel_text += f" with dilation {_size_text(ds)} (span {_size_text(spans)})"
            pad_text = (
                f"padding {_size_text(ps)}" if pts is None else f"total padding {_size_text(pts)}"
            )
            raise ShapeError(
                f"{op}: input {'x'.join(map(str, ns))} with {kernel_text} and {pad_text} gives "
                f"an empty output ({ns[i]} - {spans[i]} + {pads[i]} + 1 = {room + 1}); "
                "use a smaller kernel or more padding."
            )
        size = (-(-room // ss[i]) if ceil_mode else room // ss[i]) + 1  # -(-a // b) = ceil
        if ceil_mode and pts is None and (size - 1) * ss[i] >= ns[i] + ps[i]:
            size -= 1  # that last window would start in the right padding
        out.append(size)
    return out[0] if scalar else tuple(out)
