"""The blocks of EfficientNet: stochastic depth, the MBConv and the Fused-MBConv.

- :class:`StochasticDepth` (Huang et al. 2016, "Deep Networks with Stochastic Depth"): in
  training, drop a residual branch with probability ``p`` and scale the kept ones by
  ``1 / (1 - p)``, so the expected output is unchanged; in evaluation it is the identity.
- :class:`MBConv` (Sandler et al. 2018's inverted residual with Hu et al. 2018's
  squeeze-and-excitation, as Tan & Le 2019 use it): a 1x1 expansion, a depthwise ``k x k``, SE,
  and a linear 1x1 projection, with a residual when the shape is kept.
- :class:`FusedMBConv` (Tan & Le 2021, "EfficientNetV2", Figure 2): one ``k x k`` convolution
  replaces the expansion and the depthwise one, which runs faster on accelerators in the early,
  wide-map stages.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ClassicnetsError
from .conv import ActLayer, ConvBNAct, NormLayer
from .mobile import SqueezeExcite, make_divisible

__all__ = ["StochasticDepth", "MBConv", "FusedMBConv"]


class StochasticDepth(nn.Module):
    """Drop the residual branch it wraps with probability ``p`` during training.

    Args:
        p: probability of dropping, in ``[0, 1]``.
        mode: ``"row"`` draws one keep-or-drop per sample (as EfficientNet), ``"batch"`` one
            for the whole batch.
    """

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ClassicnetsError(f"The stochastic depth probability must be in [0, 1], got {p}.")
        if mode not in ("row", "batch"):
            raise ClassicnetsError(
                f"The stochastic depth mode must be 'row' or 'batch', got {mode!r}."
            )
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1) if self.mode == "row" else (1,) * x.dim()
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            keep = keep / survival  # the expected output stays x
        return x * keep  # (B, C, H, W), whole samples zeroed

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"


class _Residual(nn.Module):
    """Shared by both blocks: ``x + drop(block(x))`` when the shape is kept, else ``block(x)``."""

    def __init__(
        self,
        block: nn.Module,
        in_channels: int,
        out_channels: int,
        stride: int,
        stochastic_depth: float,
    ) -> None:
        super().__init__()
        self.block = block
        self.use_residual = stride == 1 and in_channels == out_channels
        self.drop_path = StochasticDepth(stochastic_depth) if self.use_residual else nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)  # (B, out, H / stride, W / stride)
        return x + self.drop_path(out) if self.use_residual else out


class MBConv(_Residual):
    """The mobile inverted bottleneck with squeeze-and-excitation (Tan & Le 2019, Table 1).

    ``expand`` (1x1, skipped at ratio 1) - ``depthwise`` (``k x k``, strided) - ``se`` -
    ``project`` (1x1, no activation); the residual (with stochastic depth) when ``stride == 1``
    and ``in_channels == out_channels``. The SE bottleneck is ``max(1, in_channels * se_ratio)``
    wide, a fraction of the block's *input* channels as in torchvision and the TF release.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: the depthwise kernel (3 or 5).
        stride: the depthwise stride.
        expand_ratio: the expanded width is ``make_divisible(in_channels * expand_ratio, 8)``.
        se_ratio: the SE bottleneck's fraction of the input channels; 0 for no SE.
        stochastic_depth: the probability of dropping the residual branch in training.
        norm_layer: the normalisation after every convolution.
        act_layer: the activation (SiLU, "swish", in EfficientNet), also inside the SE.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: float = 6,
        *,
        se_ratio: float = 0.25,
        stochastic_depth: float = 0.0,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.SiLU,
    ) -> None:
        kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
        hidden = make_divisible(in_channels * expand_ratio, 8)
        block = nn.Sequential()
        if hidden != in_channels:
            block.add_module("expand", ConvBNAct(in_channels, hidden, 1, **kwargs))
        block.add_module(
            "depthwise", ConvBNAct(hidden, hidden, kernel_size, stride, groups=hidden, **kwargs)
        )
        if se_ratio > 0:
            squeeze = max(1, int(in_channels * se_ratio))
            block.add_module(
                "se", SqueezeExcite(hidden, squeeze, act_layer=act_layer, gate_layer=nn.Sigmoid)
            )
        block.add_module(
            "project", ConvBNAct(hidden, out_channels, 1, norm_layer=norm_layer, act_layer=None)
        )
        super().__init__(block, in_channels, out_channels, stride, stochastic_depth)


class FusedMBConv(_Residual):
    """The Fused-MBConv of EfficientNetV2 (Tan & Le 2021, Figure 2).

    A ``k x k`` strided convolution expands to ``make_divisible(in_channels * expand_ratio, 8)``
    channels (``fused``), then a linear 1x1 ``project`` maps to ``out_channels``. At ratio 1 the
    block is the single ``k x k`` convolution with its activation. No squeeze-and-excitation, as
    in the paper's Table 4 and torchvision.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: the fused convolution's kernel.
        stride: its stride.
        expand_ratio: the expansion of the fused convolution; 1 for none.
        stochastic_depth: the probability of dropping the residual branch in training.
        norm_layer: the normalisation after every convolution.
        act_layer: the activation after the fused convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: float = 4,
        *,
        stochastic_depth: float = 0.0,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.SiLU,
    ) -> None:
        kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
        hidden = make_divisible(in_channels * expand_ratio, 8)
        block = nn.Sequential()
        if hidden != in_channels:
            block.add_module("fused", ConvBNAct(in_channels, hidden, kernel_size, stride, **kwargs))
            block.add_module(
                "project", ConvBNAct(hidden, out_channels, 1, norm_layer=norm_layer, act_layer=None)
            )
        else:
            block.add_module(
                "fused", ConvBNAct(in_channels, out_channels, kernel_size, stride, **kwargs)
            )
        super().__init__(block, in_channels, out_channels, stride, stochastic_depth)
