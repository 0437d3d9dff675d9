"""The DenseNet layer without a bottleneck and a dense block of them (Huang et al. 2017,
"Densely Connected Convolutional Networks", Section 3).

Each layer computes H_l = BN-ReLU-Conv3x3 with ``growth_rate`` (k) output channels and
concatenates them to everything before it, so layer l of a block that starts with k_0 channels
reads k_0 + k·(l − 1) channels and the block ends with k_0 + k·L. The paper's Figure 1 draws a
dense block with a growth rate of k = 4; :func:`dense_block_channels` lists the widths of such a
block. The DenseNet-BC layer, with a 1x1 bottleneck before the 3x3, is
:class:`~classicnets.layers.conv.DenseLayer`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ShapeError
from .conv import ActLayer, NormLayer


class PlainDenseLayer(nn.Module):
    """One dense layer without bottleneck: BN-ReLU-Conv3x3 to ``growth_rate`` channels,
    concatenated to its input.

    Args:
        in_channels: channels it reads (everything before it in the block).
        growth_rate: channels it adds, k.
        norm_layer: the normalisation, ``nn.BatchNorm2d`` by default.
        act_layer: the activation, ``nn.ReLU`` by default.

    Its submodules are ``norm``, ``act`` and ``conv`` (no bias: batch norm follows in the next
    layer), and ``out_channels`` is ``in_channels + growth_rate``.
    """

    def __init__(
        self,
        in_channels: int,
        growth_rate: int,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        _check_positive(in_channels=in_channels, growth_rate=growth_rate)
        self.norm = norm_layer(in_channels)
        self.act = act_layer()
        self.conv = nn.Conv2d(in_channels, growth_rate, 3, padding=1, bias=False)
        self.out_channels = in_channels + growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new = self.conv(self.act(self.norm(x)))  # (B, k, H, W)
        return torch.cat([x, new], dim=1)  # (B, C + k, H, W)


class PlainDenseBlock(nn.Sequential):
    """``num_layers`` :class:`PlainDenseLayer` one after another, named ``layer1``, ``layer2``, ...

    Args:
        num_layers: dense layers L.
        in_channels: channels entering the block, k_0.
        growth_rate: channels each layer adds, k.
        norm_layer: the normalisation.
        act_layer: the activation.

    ``out_channels`` is ``in_channels + num_layers * growth_rate``.
    """

    def __init__(
        self,
        num_layers: int,
        in_channels: int,
        growth_rate: int,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        _check_positive(num_layers=num_layers)
        for i in range(num_layers):
            layer = PlainDenseLayer(
                in_channels, growth_rate, norm_layer=norm_layer, act_layer=act_layer
            )
            self.add_module(f"layer{i + 1}", layer)
            in_channels = layer.out_channels
        self.out_channels = in_channels


def dense_block_channels(num_layers: int, in_channels: int, growth_rate: int) -> list[int]:
    """The channels entering each layer of a dense block, then the channels leaving it.

    Args:
        num_layers: dense layers L.
        in_channels: channels entering the block, k_0.
        growth_rate: channels each layer adds, k.

    Returns:
        ``[k_0, k_0 + k, ..., k_0 + L·k]`` (L + 1 numbers).

    Example:
        >>> dense_block_channels(5, 3, 4)  # five layers of growth 4 on an RGB input
        [3, 7, 11, 15, 19, 23]
    """
    _check_positive(num_layers=num_layers, in_channels=in_channels, growth_rate=growth_rate)
    return [in_channels + i * growth_rate for i in range(num_layers + 1)]


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ShapeError(f"A dense block's {name} must be a positive integer, got {value!r}.")
