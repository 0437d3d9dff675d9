"""SqueezeNet's Fire module (Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x
fewer parameters and <0.5MB model size", 2016, Figure 1).

A 1x1 "squeeze" convolution narrows the channels, then an "expand" layer of 1x1 and 3x3
convolutions side by side widens them again; the two expand outputs are concatenated. Every
convolution is followed by a ReLU and, as in the paper, there is no batch norm (``norm_layer``
can add one).
"""

from __future__ import annotations

import torch
from torch import nn

from .conv import ActLayer, Concat, ConvBNAct, NormLayer


class Fire(nn.Module):
    """squeeze 1x1 -> act, then ``cat(expand 1x1 -> act, expand 3x3 -> act)`` on channels.

    Args:
        in_channels: input channels.
        squeeze_channels: the paper's s1x1, the width of the squeeze layer.
        expand1x1_channels: e1x1, the 1x1 filters of the expand layer.
        expand3x3_channels: e3x3, the 3x3 filters of the expand layer (padded to keep the size).
        norm_layer: normalisation after each convolution; ``None`` (the paper) for none, the
            convolutions then have biases.
        act_layer: the activation after each convolution.
    """

    def __init__(
        self,
        in_channels: int,
        squeeze_channels: int,
        expand1x1_channels: int,
        expand3x3_channels: int,
        *,
        norm_layer: NormLayer | None = None,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        kwargs = {"norm_layer": norm_layer, "act_layer": act_layer}
        self.squeeze = ConvBNAct(in_channels, squeeze_channels, 1, **kwargs)
        self.expand = Concat(
            {
                "expand1x1": ConvBNAct(squeeze_channels, expand1x1_channels, 1, **kwargs),
                "expand3x3": ConvBNAct(squeeze_channels, expand3x3_channels, 3, **kwargs),
            }
        )
        self.out_channels = expand1x1_channels + expand3x3_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand(self.squeeze(x))  # (B, s1x1, H, W) -> (B, e1x1 + e3x3, H, W)
