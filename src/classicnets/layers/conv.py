"""Convolutional building blocks shared by the model zoo.

Blocks take their layer types as arguments (``norm_layer``, ``act_layer``, ``conv_block``) so a
variant changes one argument instead of copying a block: GoogLeNet's Inception module is the
BN-Inception one with ``conv_block`` lacking batch norm, VGG-BN is VGG with ``norm_layer`` set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]
ConvBlock = Callable[..., nn.Module]


class ConvBNAct(nn.Sequential):
    """``Conv2d``, then an optional normalisation layer, then an optional activation.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: an int or an ``(h, w)`` pair, e.g. ``(1, 7)`` for Inception-v3's
            factorised convolutions.
        stride: the convolution's stride.
        padding: padding on each side; ``None`` pads ``(k - 1) // 2 * dilation`` per dimension,
            which keeps the size at stride 1 for odd kernels.
        groups: channel groups (AlexNet's two GPU towers are ``groups=2``).
        dilation: kernel dilation.
        bias: whether the convolution has a bias; ``None`` means "only without a norm layer",
            since batch norm's shift makes a bias redundant.
        norm_layer: e.g. ``nn.BatchNorm2d``, or ``None`` for none.
        act_layer: e.g. ``nn.ReLU``, or ``None`` for a linear output.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 3,
        stride: int = 1,
        padding: int | Sequence[int] | None = None,
        *,
        groups: int = 1,
        dilation: int = 1,
        bias: bool | None = None,
        norm_layer: NormLayer | None = nn.BatchNorm2d,
        act_layer: ActLayer | None = nn.ReLU,
    ) -> None:
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if padding is None:
            padding = tuple((k - 1) // 2 * dilation for k in kernel)
        conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel,
            stride,
            padding,
            dilation=dilation,
            groups=groups,
            bias=norm_layer is None if bias is None else bias,
        )
        super().__init__()
        self.add_module("conv", conv)
        if norm_layer is not None:
            self.add_module("norm", norm_layer(out_channels))
        if act_layer is not None:
            self.add_module("act", act_layer())
        self.out_channels = out_channels


class TowerLocalResponseNorm(nn.LocalResponseNorm):
    """Local response normalisation within each of ``towers`` equal groups of channels, as on
    AlexNet's two GPUs: no map is normalised with the other tower's maps (with one tower, the
    plain ``nn.LocalResponseNorm``)."""

    def __init__(self, size: int, alpha: float, beta: float, k: float, towers: int = 1) -> None:
        super().__init__(size, alpha=alpha, beta=beta, k=k)
        self.towers = towers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = super().forward
        if self.towers == 1:
            return norm(x)
        return torch.cat([norm(part) for part in x.chunk(self.towers, dim=1)], dim=1)


def local_response_norm(
    size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0, towers: int = 1
) -> nn.LocalResponseNorm:
    """Local response normalisation with AlexNet's constants, in the paper's convention.

    Krizhevsky et al. (2012, Section 3.3) divide by ``(k + alpha * sum of squares) ** beta`` over
    ``size`` neighbouring channels; ``nn.LocalResponseNorm`` (like Caffe) divides ``alpha`` by
    ``size`` first, so it is given ``alpha * size`` here.

    Args:
        size: the number n of neighbouring channels summed over.
        alpha: the paper's alpha.
        beta: the exponent.
        k: the additive constant.
        towers: normalise within this many equal channel groups (AlexNet's two GPUs).

    Returns:
        The normalisation layer; it has no parameters.
    """
    return TowerLocalResponseNorm(size, alpha * size, beta, k, towers)


class Concat(nn.Module):
    """Named branches applied to the same input, their outputs concatenated on channels.

    Args:
        branches: ``{name: module}`` in output order; every branch must keep the spatial size
            the others give.
    """

    def __init__(self, branches: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.branches = nn.ModuleDict(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches.values()], dim=1)


def conv_chain(in_channels: int, *specs: tuple, conv_block: ConvBlock = ConvBNAct) -> nn.Sequential:
    """Convolutions one after another, written as the rows of a paper's figure.

    Args:
        in_channels: channels entering the first convolution.
        *specs: one tuple per convolution, ``(out, kernel[, stride[, padding]])``; a kernel
            may be ``(1, 7)``. Stride defaults to 1, padding to ``None`` ("same" at stride 1).
        conv_block: the block each tuple becomes, called as
            ``conv_block(in, out, kernel, stride, padding)``.

    Returns:
        A ``Sequential`` whose ``out_channels`` attribute is the last convolution's width.
    """
    layers = []
    for spec in specs:
        out, kernel, *rest = spec
        stride, padding = (*rest, None)[:2] if rest else (1, None)
        layers.append(conv_block(in_channels, out, kernel, stride, padding))
        in_channels = out
    chain = nn.Sequential(*layers)
    chain.out_channels = in_channels
    return chain


class Inception(Concat):
    """The Inception module of GoogLeNet (Szegedy et al. 2015, Figure 2b) and BN-Inception.

    Four branches: a 1x1 convolution; 1x1 then 3x3; 1x1 then 5x5 (or, with ``double_3x3``, two
    3x3 as in Ioffe & Szegedy 2015, Figure 5); 3x3 pooling then a 1x1 projection. The arguments
    are the columns of GoogLeNet's Table 1.

    Args:
        in_channels: input channels.
        ch1x1: "#1x1"; 0 leaves the branch out (BN-Inception's stride-2 modules).
        ch3x3red: "#3x3 reduce".
        ch3x3: "#3x3".
        ch5x5red: "#5x5 reduce" (or "double #3x3 reduce").
        ch5x5: "#5x5" (or "double #3x3").
        pool_proj: "pool proj"; 0 passes the pooled input through unprojected.
        conv_block: how each convolution is built, e.g. ``ConvBNAct`` without a norm layer.
        double_3x3: replace the 5x5 convolution by two 3x3 ones.
        pool: ``"max"`` or ``"avg"``.
        stride: 2 halves the size (BN-Inception's 3c and 4e).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        *,
        conv_block: ConvBlock = ConvBNAct,
        double_3x3: bool = False,
        pool: str = "max",
        stride: int = 1,
    ) -> None:
        wide = ((ch5x5, 3), (ch5x5, 3, stride, 1)) if double_3x3 else ((ch5x5, 5, stride, 2),)
        pooling = (nn.MaxPool2d if pool == "max" else nn.AvgPool2d)(3, stride, padding=1)
        branches: dict[str, nn.Module] = {}
        if ch1x1:
            branches["b1x1"] = conv_block(in_channels, ch1x1, 1)
        branches["b3x3"] = conv_chain(
            in_channels, (ch3x3red, 1), (ch3x3, 3, stride, 1), conv_block=conv_block
        )
        branches["b5x5"] = conv_chain(in_channels, (ch5x5red, 1), *wide, conv_block=conv_block)
        branches["pool"] = (
            nn.Sequential(pooling, conv_block(in_channels, pool_proj, 1)) if pool_proj else pooling
        )
        super().__init__(branches)
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + (pool_proj or in_channels)


class BasicBlock(nn.Module):
    """ResNet's two-3x3 residual block (He et al. 2016, Figure 2), for ResNet-18/34.

    The shortcut is the identity, or a 1x1 projection with batch norm where the stride or the
    width changes (the paper's option B).
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        out = width * self.expansion
        self.conv1 = ConvBNAct(
            in_channels, width, 3, stride, norm_layer=norm_layer, act_layer=act_layer
        )
        self.conv2 = ConvBNAct(width, out, 3, norm_layer=norm_layer, act_layer=None)
        self.shortcut = _shortcut(in_channels, out, stride, norm_layer)
        self.act = act_layer()
        self.out_channels = out

    def last_norm(self) -> nn.Module:
        """The batch norm closing the residual branch (zeroed by ``zero_init_residual``)."""
        return self.conv2.norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


class Bottleneck(nn.Module):
    """ResNet's 1x1-3x3-1x1 bottleneck block (He et al. 2016, Figure 5), for ResNet-50/101/152.

    The stride sits on the 3x3 convolution as in torchvision ("ResNet v1.5"); the paper strides
    the first 1x1, which has the same parameters but fewer multiply-adds.
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        out = width * self.expansion
        self.conv1 = ConvBNAct(in_channels, width, 1, norm_layer=norm_layer, act_layer=act_layer)
        self.conv2 = ConvBNAct(width, width, 3, stride, norm_layer=norm_layer, act_layer=act_layer)
        self.conv3 = ConvBNAct(width, out, 1, norm_layer=norm_layer, act_layer=None)
        self.shortcut = _shortcut(in_channels, out, stride, norm_layer)
        self.act = act_layer()
        self.out_channels = out

    def last_norm(self) -> nn.Module:
        """The batch norm closing the residual branch (zeroed by ``zero_init_residual``)."""
        return self.conv3.norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv3(self.conv2(self.conv1(x))) + self.shortcut(x))


def _shortcut(in_channels: int, out_channels: int, stride: int, norm_layer: NormLayer) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return ConvBNAct(in_channels, out_channels, 1, stride, norm_layer=norm_layer, act_layer=None)


class DenseLayer(nn.Module):
    """One DenseNet-BC layer (Huang et al. 2017, Section 3): BN-ReLU-Conv1x1 to ``bn_size *
    growth_rate`` channels, BN-ReLU-Conv3x3 to ``growth_rate``, concatenated to its input."""

    def __init__(
        self,
        in_channels: int,
        growth_rate: int,
        bn_size: int = 4,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        width = bn_size * growth_rate
        self.norm1 = norm_layer(in_channels)
        self.act1 = act_layer()
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.norm2 = norm_layer(width)
        self.act2 = act_layer()
        self.conv2 = nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)
        self.out_channels = in_channels + growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new = self.conv1(self.act1(self.norm1(x)))  # (B, bn_size * k, H, W)
        new = self.conv2(self.act2(self.norm2(new)))  # (B, k, H, W)
        return torch.cat([x, new], dim=1)  # (B, C + k, H, W)


class DenseBlock(nn.Sequential):
    """``num_layers`` dense layers; each sees the concatenation of all earlier outputs."""

    def __init__(
        self,
        num_layers: int,
        in_channels: int,
        growth_rate: int,
        bn_size: int = 4,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(
                in_channels, growth_rate, bn_size, norm_layer=norm_layer, act_layer=act_layer
            )
            self.add_module(f"layer{i + 1}", layer)
            in_channels = layer.out_channels
        self.out_channels = in_channels


class Transition(nn.Sequential):
    """DenseNet's transition between blocks: BN-ReLU-Conv1x1 (compression), 2x2 average pool."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        self.add_module("norm", norm_layer(in_channels))
        self.add_module("act", act_layer())
        self.add_module("conv", nn.Conv2d(in_channels, out_channels, 1, bias=False))
        self.add_module("pool", nn.AvgPool2d(2, 2))
        self.out_channels = out_channels
