"""Depthwise-separable and grouped convolutions by the numbers: what they cost and which input
channels each output sees, the arithmetic behind MobileNet and ShuffleNet.

A standard convolution with a D_K×D_K kernel from M to N channels that makes a D_F×D_F map costs
D_K²·M·N·D_F² multiply-adds. MobileNet (Howard et al., "MobileNets: Efficient Convolutional
Neural Networks for Mobile Vision Applications", 2017, section 3.1) factors it into a depthwise
convolution, one D_K×D_K filter per input channel (D_K²·M·D_F²), and a pointwise 1×1 convolution
that mixes the channels (M·N·D_F²): together 1/N + 1/D_K² of the standard cost. D_F is the side
of the *output* map (the paper assumes stride 1 with padding, so the input is the same size).

A grouped convolution (AlexNet's two GPUs, ResNeXt) splits the channels into g groups and
connects each output only to the inputs of its own group. Grouped convolutions stacked on each
other keep the groups apart forever; ShuffleNet (Zhang et al., "ShuffleNet: An Extremely
Efficient Convolutional Neural Network for Mobile Devices", 2018, Fig. 1) shuffles the channels
between them (reshape to (g, C/g), transpose, flatten) so that every group of the next layer
takes channels from every group of the last — when there are at least g channels per group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from ..errors import ShapeError
from .explain import format_number
from .shapes import _as_int


def _positive(value: object, name: str, op: str) -> int:
    count = _as_int(value)
    if count is None or count <= 0:
        raise ShapeError(f"{op}: {name} must be a positive integer, got {value!r}.")
    return count


@dataclass(frozen=True)
class SeparableCost:
    """Multiply-adds of a depthwise-separable convolution beside the standard one it replaces.

    Attributes:
        kernel, in_channels, out_channels, feature_size: D_K, M, N and D_F.
        depthwise: D_K²·M·D_F², one D_K×D_K filter per input channel.
        pointwise: M·N·D_F², the 1×1 convolution that mixes the channels.
        standard: D_K²·M·N·D_F², the standard convolution.
    """

    kernel: int
    in_channels: int
    out_channels: int
    feature_size: int
    depthwise: int
    pointwise: int
    standard: int

    @property
    def total(self) -> int:
        """Depthwise plus pointwise."""
        return self.depthwise + self.pointwise

    @property
    def ratio(self) -> Fraction:
        """Separable over standard, exactly 1/N + 1/D_K²."""
        return Fraction(self.total, self.standard)

    @property
    def saving(self) -> Fraction:
        """How many times fewer multiply-adds the separable convolution does (1 / ratio)."""
        return Fraction(self.standard, self.total)


def conv_cost(kernel: int, in_channels: int, out_channels: int, feature_size: int) -> int:
    """Multiply-adds of a standard convolution, D_K²·M·N·D_F² (Howard et al. 2017, section 3.1).

    Args:
        kernel: the kernel's side D_K.
        in_channels: input channels M.
        out_channels: output channels N.
        feature_size: the side D_F of the output feature map.

    Returns:
        The multiply-adds for one image.

    Raises:
        ShapeError: when a size is not a positive integer.
    """
    op = "conv_cost"
    k, m = _positive(kernel, "kernel size", op), _positive(in_channels, "in_channels", op)
    n, f = _positive(out_channels, "out_channels", op), _positive(feature_size, "feature size", op)
    return k * k * m * n * f * f


def separable_cost(
    kernel: int, in_channels: int, out_channels: int, feature_size: int
) -> SeparableCost:
    """Multiply-adds of a depthwise-separable convolution, D_K²·M·D_F² + M·N·D_F² (Howard et
    al. 2017, section 3.1), with its parts and the standard convolution's cost.

    Args:
        kernel, in_channels, out_channels, feature_size: D_K, M, N and D_F, as :func:`conv_cost`.

    Returns:
        A :class:`SeparableCost`; its ``ratio`` is 1/N + 1/D_K² exactly.

    Raises:
        ShapeError: when a size is not a positive integer.

    Example:
        >>> cost = separable_cost(3, 512, 512, 14)  # the paper's Table 3 layer
        >>> cost.standard, cost.total, cost.ratio
        (462422016, 52283392, Fraction(521, 4608))
    """
    op = "separable_cost"
    k, m = _positive(kernel, "kernel size", op), _positive(in_channels, "in_channels", op)
    n, f = _positive(out_channels, "out_channels", op), _positive(feature_size, "feature size", op)
    return SeparableCost(k, m, n, f, k * k * m * f * f, m * n * f * f, k * k * m * n * f * f)


def _divisors(value: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(value) + 1) if value % d == 0]
    return sorted(set(small) | {value // d for d in small})


def _groups(in_channels: object, out_channels: object, groups: object) -> tuple[int, int, int]:
    op = "grouped convolution"
    m, n = _positive(in_channels, "in_channels", op), _positive(out_channels, "out_channels", op)
    g = _positive(groups, "groups", op)
    if m % g or n % g:
        allowed = ", ".join(map(str, _divisors(math.gcd(m, n))))
        raise ShapeError(
            f"{op}: {g} groups do not divide both the {m} input and the {n} output channels; "
            f"allowed groups: {allowed}."
        )
    return m, n, g


def grouped_connections(in_channels: int, out_channels: int, groups: int) -> list[list[int]]:
    """The input channels each output channel of a grouped convolution sees.

    Output o belongs to group o // (N/g) and sees that group's M/g inputs, as
    ``nn.Conv2d(M, N, k, groups=g)`` computes (its weight is (N, M/g, k, k)).

    Args:
        in_channels: input channels M.
        out_channels: output channels N.
        groups: g, which must divide both.

    Returns:
        One sorted list of input channels per output channel.

    Raises:
        ShapeError: when a count is not a positive integer or g does not divide M and N.

    Example:
        >>> grouped_connections(4, 2, 2)
        [[0, 1], [2, 3]]
    """
    m, n, g = _groups(in_channels, out_channels, groups)
    per_in, per_out = m // g, n // g
    return [list(range(o // per_out * per_in, (o // per_out + 1) * per_in)) for o in range(n)]


def shuffle_order(channels: int, groups: int) -> list[int]:
    """The permutation of ShuffleNet's channel shuffle: position j afterwards holds the channel
    ``order[j]`` (reshape the channels to (g, C/g), transpose to (C/g, g), flatten).

    Raises:
        ShapeError: when a count is not a positive integer or g does not divide C.

    Example:
        >>> shuffle_order(6, 3)  # [[0, 1], [2, 3], [4, 5]] -> [[0, 2, 4], [1, 3, 5]]
        [0, 2, 4, 1, 3, 5]
    """
    op = "channel shuffle"
    c, g = _positive(channels, "channels", op), _positive(groups, "groups", op)
    if c % g:
        allowed = ", ".join(map(str, _divisors(c)))
        raise ShapeError(f"{op}: {g} groups do not divide {c} channels; allowed groups: {allowed}.")
    per = c // g
    return [b * per + a for a in range(per) for b in range(g)]  # row a, column b of (C/g, g)


def after_shuffle(
    in_channels: int,
    out_channels: int,
    groups: int,
    *,
    mid_channels: int | None = None,
    shuffle: bool = True,
) -> list[list[int]]:
    """The input channels each output of grouped conv -> channel shuffle -> grouped conv sees.

    Args:
        in_channels: channels into the first grouped convolution.
        out_channels: channels out of the second.
        groups: g, the groups of both convolutions and of the shuffle.
        mid_channels: channels between them (default: ``out_channels``).
        shuffle: shuffle between the two; without it every output sees only its own group.

    Returns:
        One sorted list of input channels per output channel of the second convolution.

    Raises:
        ShapeError: when a count is not a positive integer or g does not divide one of them.
    """
    mid = out_channels if mid_channels is None else mid_channels
    first = grouped_connections(in_channels, mid, groups)
    order = shuffle_order(mid, groups) if shuffle else list(range(mid))
    second = grouped_connections(mid, out_channels, groups)  # positions after the shuffle
    return [sorted({i for p in positions for i in first[order[p]]}) for positions in second]


def ranges(values: list[int]) -> str:
    """``[0, 1, 2, 5, 7, 8, 9]`` -> ``"0–2, 5, 7–9"``; two neighbours read ``"3, 4"``."""
    spans: list[list[int]] = []
    for v in sorted(values):
        if spans and v == spans[-1][1] + 1:
            spans[-1][1] = v
        else:
            spans.append([v, v])
    return ", ".join(
        str(a) if a == b else f"{a}, {b}" if b == a + 1 else f"{a}–{b}" for a, b in spans
    )


def explain_separable(
    kernel: int, in_channels: int, out_channels: int, feature_size: int
) -> list[str]:
    """The costs of :func:`separable_cost` written out, each formula with its numbers.

    Returns:
        Lines such as ``depthwise: D_K²·M·D_F² = 3²×512×14² = 903,168`` and
        ``= 1/N + 1/D_K² = 1/512 + 1/3² = 521/4608 ≈ 0.1131``.
    """
    c = separable_cost(kernel, in_channels, out_channels, feature_size)
    k, m, n, f = c.kernel, c.in_channels, c.out_channels, c.feature_size
    return [
        f"{k}×{k} convolution, {m} → {n} channels, {f}×{f} output: D_K={k}, M={m}, N={n}, D_F={f}",
        f"standard:  D_K²·M·N·D_F² = {k}²×{m}×{n}×{f}² = {c.standard:,} multiply-adds",
        f"depthwise: D_K²·M·D_F² = {k}²×{m}×{f}² = {c.depthwise:,}",
        f"pointwise: M·N·D_F² = {m}×{n}×{f}² = {c.pointwise:,}",
        f"separable: depthwise + pointwise = {c.depthwise:,} + {c.pointwise:,} = {c.total:,}",
        f"ratio: separable / standard = {c.total:,} / {c.standard:,}",
        f"     = 1/N + 1/D_K² = 1/{n} + 1/{k}² = {c.ratio} ≈ {format_number(float(c.ratio))}",
        f"the separable convolution does {format_number(float(c.saving))}× fewer multiply-adds",
    ]


def _see(first: int, last: int, noun: str) -> str:
    if first == last:
        return f"{noun} {first} sees"
    return f"{noun}s {ranges(list(range(first, last + 1)))} see"


def _runs(rows: list) -> list[tuple[int, int, object]]:
    """Consecutive equal rows as (first index, last index, row)."""
    runs: list[tuple[int, int, object]] = []
    for i, row in enumerate(rows):
        if runs and runs[-1][2] == row:
            runs[-1] = (runs[-1][0], i, row)
        else:
            runs.append((i, i, row))
    return runs


def _listing(values: list[int], limit: int = 16) -> str:
    shown = ", ".join(map(str, values[:limit]))
    return shown if len(values) <= limit else f"{shown}, … {values[-1]}"


def explain_groups(
    in_channels: int, out_channels: int, groups: int, *, shuffle: bool = False
) -> list[str]:
    """Which inputs each output sees, step by step: a grouped convolution M -> N, then a second
    N -> N, with ShuffleNet's channel shuffle between them or without.

    The channels shown are :func:`grouped_connections`', :func:`shuffle_order`'s and
    :func:`after_shuffle`'s, so the explanation cannot disagree with them.

    Returns:
        Lines such as ``outputs 0–1 see step-1 channels 0, 2 → inputs 0–3 (groups 0, 1)``.
    """
    first = grouped_connections(in_channels, out_channels, groups)
    m, n, g = in_channels, out_channels, groups
    seen = after_shuffle(m, n, g, shuffle=shuffle)
    order = shuffle_order(n, g) if shuffle else list(range(n))
    second = grouped_connections(n, n, g)

    def group_names(inputs: list[int]) -> str:
        found = sorted({i // (m // g) for i in inputs})
        return f"group {found[0]}" if len(found) == 1 else f"groups {ranges(found)}"

    in_groups = f"in {g} group" + ("s" if g > 1 else "")
    lines = [f"step 1, grouped convolution {m} → {n} {in_groups}:"]
    if g > 1:
        lines.append(f"  each output sees {m // g} of the {m} inputs: {g}× fewer multiply-adds")
    for a, b, inputs in _runs(first):
        lines.append(f"  {_see(a, b, 'output')} inputs {ranges(inputs)} ({group_names(inputs)})")
    last = "step 3" if shuffle else "step 2"
    if shuffle:
        lines.append(
            f"step 2, channel shuffle (reshape to {g}×{n // g}, transpose to {n // g}×{g}, "
            "flatten):"
        )
        lines.append(f"  new order: {_listing(order)}")
        lines.append(f"{last}, grouped convolution {n} → {n} {in_groups} on the shuffled channels:")
    else:
        lines.append(f"{last}, a second grouped convolution {n} → {n} {in_groups}, no shuffle:")
    # Each output of the last step: the step-1 channels it reads, and the inputs those saw.
    rows = [(sorted(order[p] for p in ps), s) for ps, s in zip(second, seen, strict=True)]
    for a, b, (channels, inputs) in _runs(rows):
        lines.append(
            f"  {_see(a, b, 'output')} step-1 channels {ranges(channels)} → inputs "
            f"{ranges(inputs)} ({group_names(inputs)})"
        )
    reached = {len({i // (m // g) for i in inputs}) for inputs in seen}
    if g == 1:
        lines.append("with one group every output sees every input: an ordinary convolution.")
    elif reached == {g}:
        lines.append(f"every output of {last} sees all {g} groups of the input.")
    elif not shuffle:
        lines.append(f"without a shuffle each output of {last} sees only its own group:")
        lines.append(f"  the {g} groups never exchange information.")
    else:
        lines.append(
            f"each output of {last} sees {ranges(sorted(reached))} of the {g} groups: the "
            f"{n // g} channels of its group"
        )
        lines.append(
            f"  come from {n // g} groups; {g * g} or more channels ({g} per group) reach every "
            "group."
        )
    return lines
