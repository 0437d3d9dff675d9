"""A residual connection around a block, with stochastic depth on the branch: shared by the
inverted residual (MobileNet v2/v3, EfficientNet's MBConv) and the Fused-MBConv.

:class:`StochasticDepth` (Huang et al. 2016, "Deep Networks with Stochastic Depth"): in
training, drop a residual branch with probability ``p`` and scale the kept ones by
``1 / (1 - p)``, so the expected output is unchanged; in evaluation it is the identity.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ClassicnetsError

__all__ = ["StochasticDepth", "Residual"]


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


class Residual(nn.Module):
    """``x + drop(block(x))`` when ``block`` keeps the shape (stride 1, as many channels out as
    in), else ``block(x)``; ``drop`` is stochastic depth with probability ``stochastic_depth``."""

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
