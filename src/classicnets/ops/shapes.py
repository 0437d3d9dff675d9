"""Shape arithmetic of convolution and pooling layers, as pure functions.

The output size of a convolution over one dimension is

    floor((n + 2p - d(k - 1) - 1) / s) + 1

(Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016). Course notes
often write it with the *total* padding p_total = 2p instead: floor((n - k + p_total + s) / s).

Padding may differ between the two sides of a dimension: ``((top, bottom), (left, right))``, one
``(before, after)`` pair per dimension (numpy.pad's and Keras ``ZeroPadding2D``'s layout). The
string ``"same"`` pads so the output has ceil(n / s) cells, Keras/TensorFlow's rule; when the total
padding is odd, the extra zero goes after (bottom, right), as in PyTorch's ``padding="same"``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from ..errors import ShapeError

IntOrPair = int | Sequence[int]
# An int, one int per dimension, one int or (before, after) pair per dimension, or a name.
Padding = int | str | Sequence[int | Sequence[int]]


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


def _check_sizes(
    ns: tuple[int, ...], ks: tuple[int, ...], ss: tuple[int, ...], ds: tuple[int, ...], op: str
) -> None:
    _check_positive(ns, "input size", op, "the input needs at least one pixel")
    _check_positive(ks, "kernel size", op, "use 1 or more")
    _check_positive(ss, "stride", op, "use 1 to move the window one step at a time")
    _check_positive(ds, "dilation", op, "use 1 for a dense kernel")


def _size_text(values: tuple[int, ...]) -> str:
    """``(5, 5)`` -> ``"5"``, ``(5, 3)`` -> ``"5x3"``: square sizes read as one number."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def same_padding(n: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """The (before, after) padding of a ``"same"`` convolution over one dimension.

    Keras/TensorFlow's rule: the output has ceil(n / s) cells, the total padding is what that
    needs, and an odd cell of padding goes after (bottom or right), as PyTorch's
    ``padding="same"`` also puts it (PyTorch allows it at stride 1 only).

    Args:
        n: input size, positive.
        kernel: kernel size k, positive.
        stride: stride s, positive.
        dilation: dilation d, positive.

    Returns:
        ``(floor(p / 2), ceil(p / 2))`` with p = max((ceil(n / s) - 1)·s + d(k - 1) + 1 - n, 0).

    Example:
        >>> same_padding(6, 2), same_padding(6, 3), same_padding(6, 3, stride=2)
        ((0, 1), (1, 1), (0, 1))
    """
    out = -(-n // stride)  # ceil(n / s)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def _padding_error(value: object, ndim: int, op: str) -> ShapeError:
    one = "(p_h, p_w)" if ndim == 2 else f"a tuple of {ndim} integers"
    pairs = "((top, bottom), (left, right))" if ndim == 2 else "(before, after) pairs"
    return ShapeError(
        f"{op}: padding must be an integer, {one}, {pairs}, 'valid' or 'same', got {value!r}."
    )


def padding_pairs(
    padding: Padding,
    n: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    op: str = "conv2d",
) -> tuple[tuple[int, int], ...]:
    """Normalise any form of padding to one ``(before, after)`` pair per dimension.

    Args:
        padding: an int (every side), one int per dimension (both its sides), one int or
            ``(before, after)`` pair per dimension (2-D: ``((top, bottom), (left, right))``),
            ``"valid"`` (none) or ``"same"`` (:func:`same_padding`).
        n: input size per dimension (only ``"same"`` reads it).
        kernel: kernel size per dimension.
        stride: stride per dimension.
        dilation: dilation per dimension.
        op: the operation asking, for the error message.

    Returns:
        A tuple of ``len(n)`` pairs of ints (not yet checked for being non-negative).

    Raises:
        ShapeError: for any other value, or for ``"same"`` with a size, kernel, stride or
            dilation that is not positive.
    """
    ndim = len(n)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * ndim
        if padding == "same":
            _check_sizes(tuple(n), tuple(kernel), tuple(stride), tuple(dilation), op)
            return tuple(map(same_padding, n, kernel, stride, dilation))
        raise _padding_error(padding, ndim, op)
    single = _as_int(padding)
    if single is not None:
        return ((single, single),) * ndim
    if not isinstance(padding, Sequence) or len(padding) != ndim:
        raise _padding_error(padding, ndim, op)
    pairs = []
    for entry in padding:
        side = _as_int(entry)
        if side is not None:
            pairs.append((side, side))
            continue
        if isinstance(entry, Sequence) and not isinstance(entry, str) and len(entry) == 2:
            before, after = _as_int(entry[0]), _as_int(entry[1])
            if before is not None and after is not None:
                pairs.append((before, after))
                continue
        raise _padding_error(padding, ndim, op)
    return tuple(pairs)


def _padding_text(pairs: tuple[tuple[int, int], ...]) -> str:
    """``padding 2`` or ``padding 2x1`` when both sides agree, else ``padding ((0, 1), (1, 1))``."""
    if all(before == after for before, after in pairs):
        return f"padding {_size_text(tuple(before for before, _ in pairs))}"
    return f"padding {pairs}"


def conv_output_size(
    n: IntOrPair,
    kernel: IntOrPair,
    padding: Padding = 0,
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
        padding: padding p added on *each* side; or per dimension a ``(before, after)`` pair,
            e.g. ``((0, 1), (0, 1))`` for 2-D; or ``"valid"`` / ``"same"`` (module docstring).
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
    ss = as_tuple(stride, "stride", ndim, op)
    ds = as_tuple(dilation, "dilation", ndim, op)
    pairs = padding_pairs(padding, ns, ks, ss, ds, op)
    pts = None if padding_total is None else as_tuple(padding_total, "padding_total", ndim, op)

    _check_sizes(ns, ks, ss, ds, op)
    for v in [side for pair in pairs for side in pair] if pts is None else pts:
        if v < 0:
            raise ShapeError(f"{op}: padding must not be negative, got {v}; use 0 for none.")

    spans = tuple(d * (k - 1) + 1 for k, d in zip(ks, ds, strict=True))  # reach of one window
    pads = tuple(map(sum, pairs)) if pts is None else pts  # total padding per dimension
    out = []
    for i in range(ndim):
        room = ns[i] + pads[i] - spans[i]  # positions left after the first window
        # PyTorch lets a ceil_mode pooling window hang up to s - 1 cells over the edge.
        if room < 0 and not (ceil_mode and room + ss[i] - 1 >= 0):
            kernel_text = f"kernel {_size_text(ks)}"
            if any(d != 1 for d in ds):
                kernel_text += f" with dilation {_size_text(ds)} (span {_size_text(spans)})"
            pad_text = _padding_text(pairs) if pts is None else f"total padding {_size_text(pts)}"
            raise ShapeError(
                f"{op}: input {'x'.join(map(str, ns))} with {kernel_text} and {pad_text} gives "
                f"an empty output ({ns[i]} - {spans[i]} + {pads[i]} + 1 = {room + 1}); "
                "use a smaller kernel or more padding."
            )
        size = (-(-room // ss[i]) if ceil_mode else room // ss[i]) + 1  # -(-a // b) = ceil
        if ceil_mode and pts is None and (size - 1) * ss[i] >= ns[i] + pairs[i][0]:
            size -= 1  # that last window would start in the right padding
        out.append(size)
    return out[0] if scalar else tuple(out)
