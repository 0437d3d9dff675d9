"""A 2-D convolution and a pooling layer whose backward passes are written out by hand.

The forward passes are :mod:`classicnets.ops` (pad, cut windows, multiply or reduce); the
backward passes are the two facts every course derives for a convolutional layer:

* the weight gradient is a correlation of the layer's input with its δ:
  ∂L/∂W[o, c, u, v] = Σ_{n,i,j} δ[n, o, i, j] · x_pad[n, c, i·s + u, j·s + v];
* the input gradient is a *full* convolution of δ with the kernel flipped (rotated 180°),
  after spreading δ out by the stride: each input pixel collects the δ of every output that
  saw it, weighted by the kernel entry that touched it.

Pooling has no weights; its backward hands each window's δ back to the cells of that window:
all of it to the winner for max pooling, an equal share to every cell for average pooling.
"""

from __future__ import annotations

import torch

from ..errors import ClassicnetsError, ShapeError
from ..ops import conv2d, conv_output_size
from ..ops._windows import pad2d, windows2d
from ..ops.pool import pool_windows
from ..ops.shapes import as_tuple
from .layers import Layer, init_weight

Tensor = torch.Tensor


def _check_images(layer: Layer, x: Tensor, channels: int | None) -> None:
    if x.dim() != 4:
        raise ShapeError(
            f"{layer.label} takes images (N, C, H, W), got a {x.dim()}-D tensor of shape "
            f"{tuple(x.shape)}; reshape flat inputs to images first."
        )
    if channels is not None and x.shape[1] != channels:
        raise ShapeError(
            f"{layer.label} takes {channels} input channels, got shape {tuple(x.shape)}."
        )


class Conv2d(Layer):
    """A convolutional layer: z = x ⋆ W + b (cross-correlation, as every framework computes it).

    Args:
        in_channels: channels of the input maps.
        out_channels: kernels, one output map each.
        kernel_size: k or (k_h, k_w).
        stride: s or (s_h, s_w).
        padding: zeros on each side, p or (p_h, p_w).
        init: ``"he"`` or ``"xavier"``, with fan-in C_in·k_h·k_w.
        generator: the random source of the initial weights.
        dtype: the dtype of the weights.
    """

    kind = "conv"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        *,
        init: str = "he",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel = as_tuple(kernel_size, "kernel size")
        self.stride = as_tuple(stride, "stride")
        self.padding = as_tuple(padding, "padding")
        kh, kw = self.kernel
        shape = (out_channels, in_channels, kh, kw)
        weight = init_weight(
            shape, in_channels * kh * kw, out_channels * kh * kw, init, generator, dtype
        )
        self.params = {"W": weight, "b": torch.zeros(out_channels, dtype=dtype)}

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        _check_images(self, x, self.in_channels)
        self.x = x  # (N, C_in, H, W)
        return conv2d(x, self.params["W"], self.params["b"], self.stride, self.padding)

    def backward(self, delta: Tensor) -> Tensor:
        # delta: (N, C_out, OH, OW) = ∂L/∂z
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        n, _, h, w = self.x.shape
        _, c_out, oh, ow = delta.shape
        x_pad = pad2d(self.x, (ph, ph, pw, pw), 0)  # (N, C_in, H + 2p_h, W + 2p_w)

        # Weight gradient: correlate the input with δ, window by window.
        windows = windows2d(x_pad, self.kernel, self.stride, (1, 1))  # (N, C_in, OH, OW, kh, kw)
        grad_w = torch.einsum("nohw,nchwuv->ocuv", delta, windows)  # (C_out, C_in, kh, kw)
        self.grads = {"W": grad_w, "b": delta.sum(dim=(0, 2, 3))}

        # Input gradient: a full convolution of δ with the flipped kernel.
        # 1. Spread δ out by the stride: s - 1 zeros between neighbouring outputs.
        spread = delta.new_zeros(n, c_out, (oh - 1) * sh + 1, (ow - 1) * sw + 1)
        spread[..., ::sh, ::sw] = delta
        # 2. Pad k - 1 zeros all round ("full"), plus the bottom rows / right columns of the
        #    padded input that no window reached (they get no gradient).
        missed_h = x_pad.shape[2] - ((oh - 1) * sh + kh)
        missed_w = x_pad.shape[3] - ((ow - 1) * sw + kw)
        spread = pad2d(spread, (kh - 1, kh - 1 + missed_h, kw - 1, kw - 1 + missed_w), 0)
        # 3. Correlate with the kernel rotated 180° and its channel axes swapped.
        flipped = self.params["W"].flip(2, 3).transpose(0, 1)  # (C_in, C_out, kh, kw)
        grad_x_pad = conv2d(spread, flipped)  # (N, C_in, H + 2p_h, W + 2p_w)
        return grad_x_pad[:, :, ph : ph + h, pw : pw + w]  # the padding's share is dropped

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = tuple(input_shape)
        if len(shape) != 3 or shape[0] != self.in_channels:
            raise self.mismatch(shape)
        oh, ow = conv_output_size(shape[1:], self.kernel, self.padding, self.stride)
        return (self.out_channels, oh, ow)

    def expects(self) -> str:
        return f"({self.in_channels}, H, W) images"


class Pool2d(Layer):
    """Max or average pooling over k_h × k_w windows (no padding).

    Args:
        kernel_size: k or (k_h, k_w).
        stride: s or (s_h, s_w); the kernel size by default (windows side by side).
        mode: ``"max"`` or ``"avg"``.
    """

    def __init__(self, kernel_size, stride=None, mode: str = "max") -> None:
        super().__init__()
        if mode not in ("max", "avg"):
            raise ClassicnetsError(f"Pool2d mode must be 'max' or 'avg', got {mode!r}.")
        self.kernel = as_tuple(kernel_size, "kernel size", op="pool2d")
        self.stride = self.kernel if stride is None else as_tuple(stride, "stride", op="pool2d")
        self.mode = mode
        self.kind = f"{mode}pool"

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        _check_images(self, x, None)
        self.input_shape = x.shape  # (N, C, H, W)
        windows, _ = pool_windows(x, self.kernel, self.stride, 0, self.mode)
        # windows: (N, C, OH, OW, kh, kw)
        if self.mode == "avg":
            self.share = torch.full_like(windows, 1.0 / windows[0, 0, 0, 0].numel())
            return windows.mean(dim=(-2, -1))  # (N, C, OH, OW)
        flat = windows.flatten(-2)  # (N, C, OH, OW, kh·kw)
        best, winner = flat.max(dim=-1)
        # share: 1 at each window's winning cell, 0 elsewhere
        self.share = torch.zeros_like(flat).scatter_(-1, winner[..., None], 1.0)
        self.share = self.share.view(windows.shape)
        return best  # (N, C, OH, OW)

    def backward(self, delta: Tensor) -> Tensor:
        # delta: (N, C, OH, OW). Scatter each window's δ back onto the cells it covered; for
        # kernel offset (u, v) those cells form one strided slice, and overlapping windows add.
        (kh, kw), (sh, sw) = self.kernel, self.stride
        oh, ow = delta.shape[-2:]
        grad_x = delta.new_zeros(self.input_shape)  # (N, C, H, W)
        spread = self.share * delta[..., None, None]  # (N, C, OH, OW, kh, kw)
        for u in range(kh):
            for v in range(kw):
                rows = slice(u, u + (oh - 1) * sh + 1, sh)
                cols = slice(v, v + (ow - 1) * sw + 1, sw)
                grad_x[:, :, rows, cols] += spread[..., u, v]
        return grad_x

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise self.mismatch(shape)
        oh, ow = conv_output_size(shape[1:], self.kernel, 0, self.stride, op="pool2d")
        return (shape[0], oh, ow)

    def expects(self) -> str:
        return "(C, H, W) maps"
