"""Channel shuffle and the units of ShuffleNet v1 and v2.

- :func:`channel_shuffle` (Zhang, Zhou, Lin & Sun, "ShuffleNet: An Extremely Efficient
  Convolutional Neural Network for Mobile Devices", 2017, Section 3.1 and Figure 1): reshape the
  channels to ``(g, C / g)``, transpose to ``(C / g, g)`` and flatten, so that the next grouped
  convolution sees channels from every group of the previous one.
- :class:`ShuffleV1Unit` (Zhang et al. 2017, Figure 2): a ResNet bottleneck whose 1x1
  convolutions are grouped, with a channel shuffle after the first and a depthwise 3x3 between.
- :class:`ShuffleV2Unit` (Ma, Zhang, Zheng & Sun, "ShuffleNet V2: Practical Guidelines for
  Efficient CNN Architecture Design", 2018, Figure 3c/d): split the channels in two halves, pass
  one through 1x1 -> depthwise 3x3 -> 1x1, concatenate, shuffle with two groups.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ShapeError
from .conv import ActLayer, ConvBNAct, NormLayer


def divisors(n: int) -> list[int]:
    """The positive divisors of ``n``, ascending: the group counts ``n`` channels allow."""
    return [d for d in range(1, n + 1) if n % d == 0]


def _listed(values: list[int]) -> str:
    text = [str(v) for v in values]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " or " + text[-1]


def check_groups(channels: int, groups: int, where: str) -> None:
    """Raise one sentence when ``groups`` does not divide ``channels``.

    Args:
        channels: the channels to split.
        groups: the number of groups asked for.
        where: what splits them, e.g. ``"ShuffleV1Unit bottleneck"``.

    Raises:
        ShapeError: naming the channels, the groups and the group counts that would work.
    """
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ShapeError(f"{where}: groups must be a positive integer, got {groups!r}.")
    if channels % groups:
        raise ShapeError(
            f"{where}: {channels} channels cannot be split into {groups} groups; the groups "
            f"must divide the channels: {_listed(divisors(channels))}."
        )


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` groups (Zhang et al. 2017, Figure 1c).

    Channel ``i * (C / g) + j`` (the ``j``-th channel of group ``i``) moves to ``j * g + i``:
    with 6 channels and 2 groups, ``[0, 1, 2, 3, 4, 5]`` becomes ``[0, 3, 1, 4, 2, 5]``. The
    shuffle with ``C / g`` groups undoes it.

    Args:
        x: a ``(B, C, H, W)`` tensor.
        groups: g, which must divide C.

    Returns:
        The shuffled tensor, of the same shape.

    Raises:
        ShapeError: when ``groups`` does not divide the channels.
    """
    batch, channels, height, width = x.shape
    check_groups(channels, groups, "channel_shuffle")
    x = x.reshape(batch, groups, channels // groups, height, width)  # (B, g, C / g, H, W)
    return x.transpose(1, 2).reshape(batch, channels, height, width)  # via (B, C / g, g, H, W)


def _check_stride(stride: int, in_channels: int, out_channels: int, where: str) -> None:
    if stride not in (1, 2):
        raise ShapeError(f"{where}: the stride must be 1 or 2, got {stride}.")
    if stride == 1 and in_channels != out_channels:
        raise ShapeError(
            f"{where}: a stride-1 unit adds its input back, so it needs as many output as input "
            f"channels, got {in_channels} in and {out_channels} out; use stride 2 to widen."
        )


class ShuffleV1Unit(nn.Module):
    """The ShuffleNet unit (Zhang et al. 2017, Figure 2b/c).

    ``1x1 GConv -> BN -> act -> shuffle -> 3x3 depthwise (stride s) -> BN -> 1x1 GConv -> BN``,
    then at stride 1 ``act(x + branch)``, at stride 2 ``act(cat(avgpool3x3/2(x), branch))``:
    the branch then makes ``out - in`` channels so the concatenation has ``out``.

    Args:
        in_channels: input channels.
        out_channels: output channels (the input's at stride 1).
        stride: 1, or 2 to halve the size and widen.
        groups: g, the groups of both 1x1 convolutions and of the shuffle.
        bottleneck: width of the depthwise convolution; ``out_channels // 4`` by default (the
            paper's "1/4 of the output channels").
        group_first: group the first 1x1 convolution; the paper's first unit of stage 2 does
            not (its 24 input channels are too few). The shuffle after it stays, a fixed
            permutation of the channels there (as in megvii's release).
        norm_layer: the normalisation after each convolution.
        act_layer: the activation.

    Raises:
        ShapeError: for a stride other than 1 or 2, a stride-1 unit that changes the width, a
            stride-2 unit that does not widen, or groups that do not divide the channels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        groups: int,
        bottleneck: int | None = None,
        group_first: bool = True,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        where = "ShuffleV1Unit"
        _check_stride(stride, in_channels, out_channels, where)
        branch_out = out_channels - in_channels if stride == 2 else out_channels
        if branch_out < 1:
            raise ShapeError(
                f"{where}: a stride-2 unit concatenates its input, so it needs more output than "
                f"input channels, got {in_channels} in and {out_channels} out."
            )
        bottleneck = out_channels // 4 if bottleneck is None else bottleneck
        first_groups = groups if group_first else 1
        check_groups(in_channels, first_groups, f"{where} input")
        check_groups(bottleneck, groups, f"{where} bottleneck")
        check_groups(branch_out, groups, f"{where} output")
        norm = {"norm_layer": norm_layer}
        self.groups = groups
        self.reduce = ConvBNAct(
            in_channels, bottleneck, 1, groups=first_groups, act_layer=act_layer, **norm
        )
        self.depthwise = ConvBNAct(
            bottleneck, bottleneck, 3, stride, groups=bottleneck, act_layer=None, **norm
        )
        self.expand = ConvBNAct(bottleneck, branch_out, 1, groups=groups, act_layer=None, **norm)
        self.shortcut = nn.AvgPool2d(3, 2, 1) if stride == 2 else nn.Identity()
        self.act = act_layer()
        self.stride = stride
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = channel_shuffle(self.reduce(x), self.groups)  # (B, bottleneck, H, W)
        branch = self.expand(self.depthwise(branch))  # (B, out - in or out, H / s, W / s)
        if self.stride == 1:
            return self.act(x + branch)
        return self.act(torch.cat([self.shortcut(x), branch], dim=1))  # (B, out, H / 2, W / 2)


class ShuffleV2Unit(nn.Module):
    """The ShuffleNet v2 unit (Ma et al. 2018, Figure 3c/d).

    At stride 1 the channels are split in two halves: the left one passes unchanged, the right
    one through ``1x1 -> BN -> act -> 3x3 depthwise -> BN -> 1x1 -> BN -> act``. At stride 2
    both branches see the whole input, and the left one becomes ``3x3 depthwise/2 -> BN -> 1x1
    -> BN -> act``. The halves are concatenated and shuffled with two groups.

    Args:
        in_channels: input channels.
        out_channels: output channels, even (the input's at stride 1).
        stride: 1, or 2 to halve the size.
        norm_layer: the normalisation after each convolution.
        act_layer: the activation.

    Raises:
        ShapeError: for a stride other than 1 or 2, a stride-1 unit that changes the width, or
            an odd number of channels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        where = "ShuffleV2Unit"
        _check_stride(stride, in_channels, out_channels, where)
        check_groups(out_channels, 2, f"{where} output (split in two halves)")
        half = out_channels // 2
        kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
        if stride == 2:
            self.left: nn.Module = nn.Sequential(
                ConvBNAct(
                    in_channels,
                    in_channels,
                    3,
                    stride,
                    groups=in_channels,
                    norm_layer=norm_layer,
                    act_layer=None,
                ),
                ConvBNAct(in_channels, half, 1, **kwargs),
            )
        else:
            self.left = nn.Identity()
        right_in = in_channels if stride == 2 else half
        self.right = nn.Sequential(
            ConvBNAct(right_in, half, 1, **kwargs),
            ConvBNAct(half, half, 3, stride, groups=half, norm_layer=norm_layer, act_layer=None),
            ConvBNAct(half, half, 1, **kwargs),
        )
        self.stride = stride
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            left, right = x.chunk(2, dim=1)  # (B, C / 2, H, W) each
            out = torch.cat([self.left(left), self.right(right)], dim=1)
        else:
            out = torch.cat([self.left(x), self.right(x)], dim=1)  # (B, out, H / 2, W / 2)
        return channel_shuffle(out, 2)
