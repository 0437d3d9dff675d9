"""Cross-correlation and convolution of matrices, the way the textbooks define them.

Deep-learning "convolution" layers compute the cross-correlation X ⋆ K: slide K over X and at
each place sum the elementwise products. The signal-processing convolution X * K flips the
kernel first. These functions take matrices (lists, numpy arrays or tensors) and are thin,
readable doors onto :func:`classicnets.ops.conv2d`, which does the windowing.
"""

from __future__ import annotations

import torch

from ..errors import ShapeError
from .conv import conv2d
from .shapes import IntOrPair


def _tensor(value: object, name: str, ndim: int, layout: str, op: str) -> torch.Tensor:
    try:
        t = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ShapeError(f"{op}: {name} must be {layout} of numbers ({err}).") from None
    if t.dim() != ndim:
        hint = "; a 1-D signal goes to ops.corr1d (or ops.conv1d)" if t.dim() == 1 else ""
        raise ShapeError(f"{op}: {name} must be {layout}, got shape {tuple(t.shape)}{hint}.")
    return t


def corr2d(
    X: torch.Tensor, K: torch.Tensor, padding: IntOrPair = 0, stride: IntOrPair = 1
) -> torch.Tensor:
    """2-D cross-correlation of one channel: Y[i, j] = Σ_uv X[i·s + u, j·s + v] · K[u, v].

    Args:
        X: input matrix (h, w).
        K: kernel matrix (k_h, k_w).
        padding: zeros added around X, p or (p_h, p_w).
        stride: s or (s_h, s_w).

    Returns:
        Y (m_h, m_w) with m = floor((h + 2p - k) / s) + 1; integer inputs give integers.

    Example:
        >>> corr2d([[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[0, 1], [2, 3]]).tolist()
        [[19, 25], [37, 43]]
    """
    X = _tensor(X, "X", 2, "a matrix (h, w)", "corr2d")
    K = _tensor(K, "K", 2, "a matrix (k_h, k_w)", "corr2d")
    return conv2d(X[None, None], K[None, None], stride=stride, padding=padding)[0, 0]


def corr2d_multi_in(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Cross-correlation of a multi-channel input, summed over the channels.

    Args:
        X: input (c_i, h, w).
        K: one kernel per input channel, (c_i, k_h, k_w).

    Returns:
        Y (m_h, m_w) = Σ_c corr2d(X[c], K[c]).
    """
    X = _tensor(X, "X", 3, "(c_i, h, w)", "corr2d_multi_in")
    K = _tensor(K, "K", 3, "(c_i, k_h, k_w)", "corr2d_multi_in")
    return conv2d(X, K[None])[0]


def corr2d_multi_in_out(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Cross-correlation with several output channels, one multi-input kernel each.

    Args:
        X: input (c_i, h, w).
        K: kernels (c_o, c_i, k_h, k_w).

    Returns:
        Y (c_o, m_h, m_w) with Y[o] = corr2d_multi_in(X, K[o]).
    """
    X = _tensor(X, "X", 3, "(c_i, h, w)", "corr2d_multi_in_out")
    K = _tensor(K, "K", 4, "(c_o, c_i, k_h, k_w)", "corr2d_multi_in_out")
    return conv2d(X, K)


def convolve2d(
    X: torch.Tensor, K: torch.Tensor, padding: IntOrPair = 0, stride: IntOrPair = 1
) -> torch.Tensor:
    """True 2-D convolution (the signal-processing one), valid part.

    y_ij = Σ_uv w_uv · x_(i−u+1, j−v+1): the same as cross-correlating with K flipped both
    vertically and horizontally (``scipy.signal.convolve2d(X, K, mode="valid")``).

    Args:
        X: input matrix (h, w).
        K: kernel matrix (k_h, k_w).
        padding: zeros added around X, p or (p_h, p_w).
        stride: s or (s_h, s_w).

    Returns:
        Y (m_h, m_w), the same size as :func:`corr2d` gives.
    """
    K = _tensor(K, "K", 2, "a matrix (k_h, k_w)", "convolve2d")
    return corr2d(X, K.flip(0, 1), padding=padding, stride=stride)
