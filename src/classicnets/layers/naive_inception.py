"""The naive Inception module (Szegedy et al. 2015, "Going Deeper with Convolutions", Figure 2a)
and what its 1x1 reductions save.

The naive module runs a 1x1, a 3x3 and a 5x5 convolution and a 3x3 max pooling side by side on
the same input and concatenates them. The pooling branch passes all input channels through, so
the output is always wider than the input, and the 3x3 and 5x5 convolutions read every input
channel: stacked, it blows up (the paper's Section 4). The dimension-reduced module (Figure 2b,
:class:`~classicnets.layers.conv.Inception`) puts 1x1 convolutions before the 3x3 and 5x5 and
after the pooling. :func:`inception_costs` counts both by arithmetic; :func:`conv_vs_inception`
sets the reduced module against one plain 3x3 or 5x5 convolution of the same output width.
"""

from __future__ import annotations

from torch import nn

from ..errors import ShapeError
from .conv import Concat, ConvBlock, ConvBNAct

BRANCH_KERNELS = {"b1x1": 1, "b3x3": 3, "b5x5": 5}


class NaiveInception(Concat):
    """The naive Inception module of GoogLeNet's Figure 2a: no 1x1 reductions.

    Four branches on the same input, concatenated on channels: a 1x1, a 3x3 and a 5x5
    convolution (padded to keep the size) and a 3x3/1 max pooling that passes the input through.

    Args:
        in_channels: input channels.
        ch1x1: output channels of the 1x1 convolution.
        ch3x3: output channels of the 3x3 convolution.
        ch5x5: output channels of the 5x5 convolution.
        conv_block: how each convolution is built, called ``conv_block(in, out, kernel)``;
            :class:`~classicnets.layers.conv.ConvBNAct` (conv, batch norm, ReLU) by default,
            a ``ConvBNAct`` with ``norm_layer=None`` for the paper's conv + ReLU.

    The output has ``ch1x1 + ch3x3 + ch5x5 + in_channels`` channels (``out_channels``).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3: int,
        ch5x5: int,
        *,
        conv_block: ConvBlock = ConvBNAct,
    ) -> None:
        _check_widths(
            {"in_channels": in_channels, "ch1x1": ch1x1, "ch3x3": ch3x3, "ch5x5": ch5x5},
            "NaiveInception",
        )
        widths = {"b1x1": ch1x1, "b3x3": ch3x3, "b5x5": ch5x5}
        branches: dict[str, nn.Module] = {
            name: conv_block(in_channels, widths[name], kernel)
            for name, kernel in BRANCH_KERNELS.items()
        }
        branches["pool"] = nn.MaxPool2d(3, stride=1, padding=1)  # (B, C_in, H, W)
        super().__init__(branches)
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels


def _check_widths(widths: dict[str, int], op: str) -> None:
    for name, value in widths.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ShapeError(f"{op}: {name} must be a positive integer, got {value!r}.")


def _conv(in_channels: int, out_channels: int, kernel: int, size: int, bias: bool) -> dict:
    """Parameters and MACs of a stride-1 "same" convolution on a size x size map."""
    weights = in_channels * out_channels * kernel * kernel
    # A bias adds parameters but no multiply-accumulate (analysis.summary's convention).
    return {"params": weights + (out_channels if bias else 0), "macs": weights * size * size}


def _total(branches: dict[str, dict], out_channels: int) -> dict:
    return {
        "params": sum(b["params"] for b in branches.values()),
        "macs": sum(b["macs"] for b in branches.values()),
        "out_channels": out_channels,
        "branches": branches,
    }


def inception_costs(
    in_channels: int,
    size: int,
    c1: int,
    c3: int,
    c5: int,
    pool_proj: int,
    c3_reduce: int,
    c5_reduce: int,
    *,
    bias: bool = False,
) -> dict[str, dict]:
    """Parameters and multiply-accumulates of the naive and the dimension-reduced Inception module.

    Every convolution is stride 1 with "same" padding on a ``size`` x ``size`` map, so each
    makes C_in·C_out·k² MACs per output pixel; pooling, batch norm, activations and biases make
    none (the convention of the paper's "ops" column and of :func:`classicnets.summary`).

    Args:
        in_channels: input channels.
        size: side of the (square) feature map.
        c1: "#1x1" of Table 1.
        c3: "#3x3".
        c5: "#5x5".
        pool_proj: "pool proj" (the reduced module only).
        c3_reduce: "#3x3 reduce" (the reduced module only).
        c5_reduce: "#5x5 reduce" (the reduced module only).
        bias: count one bias per output channel of every convolution.

    Returns:
        ``{"naive": ..., "reduced": ...}``, each ``{"params", "macs", "out_channels",
        "branches"}`` where ``branches`` maps the module's branch names (``b1x1``, ``b3x3``,
        ``b5x5``, ``pool``) to their ``{"params", "macs"}``.

    Raises:
        ShapeError: when a size or width is not a positive integer.

    Example:
        >>> costs = inception_costs(192, 28, 64, 128, 32, 32, 96, 16)  # inception (3a)
        >>> costs["reduced"]["params"], costs["reduced"]["macs"]
        (163328, 128049152)
    """
    widths = {"in_channels": in_channels, "size": size, "c1": c1, "c3": c3, "c5": c5}
    widths |= {"pool_proj": pool_proj, "c3_reduce": c3_reduce, "c5_reduce": c5_reduce}
    _check_widths(widths, "inception_costs")
    conv = {"size": size, "bias": bias}
    naive = {
        "b1x1": _conv(in_channels, c1, 1, **conv),
        "b3x3": _conv(in_channels, c3, 3, **conv),
        "b5x5": _conv(in_channels, c5, 5, **conv),
        "pool": {"params": 0, "macs": 0},
    }
    reduced = {
        "b1x1": _conv(in_channels, c1, 1, **conv),
        "b3x3": _add(_conv(in_channels, c3_reduce, 1, **conv), _conv(c3_reduce, c3, 3, **conv)),
        "b5x5": _add(_conv(in_channels, c5_reduce, 1, **conv), _conv(c5_reduce, c5, 5, **conv)),
        "pool": _conv(in_channels, pool_proj, 1, **conv),
    }
    return {
        "naive": _total(naive, c1 + c3 + c5 + in_channels),
        "reduced": _total(reduced, c1 + c3 + c5 + pool_proj),
    }


def _add(a: dict, b: dict) -> dict:
    return {key: a[key] + b[key] for key in a}


def conv_vs_inception(
    in_channels: int = 192,
    size: int = 28,
    c1: int = 64,
    c3: int = 128,
    c5: int = 32,
    pool_proj: int = 32,
    c3_reduce: int = 96,
    c5_reduce: int = 16,
    *,
    bias: bool = False,
) -> dict[str, dict]:
    """One Inception module against a single 3x3 or 5x5 convolution to the same output width.

    The defaults are GoogLeNet's inception (3a) (Table 1: 192 channels in at 28x28, 256 out);
    they give the course's comparison "Inception 0.16 M / 128 M, 3x3 0.44 M / 346 M, 5x5
    1.22 M / 963 M" (parameters / multiply-adds, weights only; the course cuts the digits off
    rather than rounding: 1,228,800 parameters are 1.22 M there).

    Args:
        in_channels, size, c1, c3, c5, pool_proj, c3_reduce, c5_reduce, bias: as
            :func:`inception_costs`.

    Returns:
        ``{"inception": ..., "conv3x3": ..., "conv5x5": ...}``, each ``{"params", "macs",
        "out_channels"}``; the plain convolutions go from ``in_channels`` to the module's
        ``c1 + c3 + c5 + pool_proj`` channels, stride 1, "same" padding.

    Example:
        >>> rows = conv_vs_inception()
        >>> [(r["params"], r["macs"]) for r in rows.values()]
        [(163328, 128049152), (442368, 346816512), (1228800, 963379200)]
    """
    costs = inception_costs(
        in_channels, size, c1, c3, c5, pool_proj, c3_reduce, c5_reduce, bias=bias
    )["reduced"]
    out = costs["out_channels"]
    rows = {"inception": {key: costs[key] for key in ("params", "macs", "out_channels")}}
    for kernel in (3, 5):
        rows[f"conv{kernel}x{kernel}"] = {
            **_conv(in_channels, out, kernel, size, bias),
            "out_channels": out,
        }
    return rows
