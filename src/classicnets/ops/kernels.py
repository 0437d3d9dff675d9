"""The classic hand-made 3×3 filters, by name, and a way to run one over a photo.

Before networks learned their kernels, image processing wrote them by hand; the first layer of a
trained CNN rediscovers many of them. Matrices are given as cross-correlation kernels (what a
convolutional layer computes), following Andrew Ng's Deep Learning Specialization (vertical edge,
Sobel) and Wikipedia's "Kernel (image processing)" table (sharpen, blurs, edge detection).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import ShapeError, unknown_name
from .conv import conv2d

# name: (what it does, the matrix as rows, the factor in front of it)
_KERNELS: dict[str, tuple[str, tuple[tuple[int, ...], ...], float]] = {
    "identity": ("leaves the image unchanged", ((0, 0, 0), (0, 1, 0), (0, 0, 0)), 1.0),
    "vertical_edge": (
        "bright-to-dark change from left to right",
        ((1, 0, -1), (1, 0, -1), (1, 0, -1)),
        1.0,
    ),
    "horizontal_edge": (
        "bright-to-dark change from top to bottom",
        ((1, 1, 1), (0, 0, 0), (-1, -1, -1)),
        1.0,
    ),
    "edge": (
        "edges in every direction (Laplacian-style, 8 neighbours)",
        ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)),
        1.0,
    ),
    "laplacian": (
        "the discrete Laplacian (4 neighbours)",
        ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
        1.0,
    ),
    "sharpen": ("the image plus its edges", ((0, -1, 0), (-1, 5, -1), (0, -1, 0)), 1.0),
    "box_blur": ("mean of the 3×3 neighbourhood", ((1, 1, 1), (1, 1, 1), (1, 1, 1)), 1 / 9),
    "gaussian_blur": (
        "weighted mean, the centre counting most (binomial approximation of a Gaussian)",
        ((1, 2, 1), (2, 4, 2), (1, 2, 1)),
        1 / 16,
    ),
    "sobel_x": (
        "smoothed horizontal gradient: vertical edges",
        ((1, 0, -1), (2, 0, -2), (1, 0, -1)),
        1.0,
    ),
    "sobel_y": (
        "smoothed vertical gradient: horizontal edges",
        ((1, 2, 1), (0, 0, 0), (-1, -2, -1)),
        1.0,
    ),
    "emboss": ("relief, as if lit from the top left", ((-2, -1, 0), (-1, 1, 1), (0, 1, 2)), 1.0),
}


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def list_kernels() -> list[str]:
    """Names of the classic kernels, sorted."""
    return sorted(_KERNELS)


def describe_kernel(name: str) -> str:
    """One line saying what the kernel ``name`` picks out or does to an image."""
    key = _key(name)
    if key not in _KERNELS:
        raise unknown_name("kernel", name, _KERNELS)
    return _KERNELS[key][0]


def get_kernel(name: str) -> torch.Tensor:
    """A fresh copy of the classic kernel called ``name``.

    Args:
        name: one of :func:`list_kernels` (case and ``-``/``_`` do not matter).

    Returns:
        A float32 tensor (3, 3).

    Raises:
        UnknownNameError: for a name that is not a classic kernel, suggesting the closest.
    """
    key = _key(name)
    if key not in _KERNELS:
        raise unknown_name("kernel", name, _KERNELS)
    _, rows, factor = _KERNELS[key]
    return torch.tensor(rows, dtype=torch.float32) * factor


def apply_kernel(
    image: np.ndarray | torch.Tensor | Sequence, kernel: str | torch.Tensor | Sequence
) -> torch.Tensor:
    """Cross-correlate an image with a kernel, each colour channel on its own (valid part).

    Args:
        image: (H, W) grey or (H, W, C) colour pixels, any numeric dtype; values are used as
            given (a uint8 photo stays on its 0..255 scale).
        kernel: a name from :func:`list_kernels` or a (k_h, k_w) matrix.

    Returns:
        float32 tensor (H - k_h + 1, W - k_w + 1), or (..., C) for a colour image.

    Raises:
        ShapeError: when the image is not 2-D or 3-D or is smaller than the kernel.
    """
    weight = get_kernel(kernel) if isinstance(kernel, str) else torch.as_tensor(kernel)
    weight = weight.to(torch.float32)
    if weight.dim() != 2:
        raise ShapeError(f"apply_kernel: kernel must be a matrix, got shape {tuple(weight.shape)}.")
    x = torch.as_tensor(np.asarray(image) if not isinstance(image, torch.Tensor) else image)
    if x.dim() not in (2, 3):
        raise ShapeError(
            f"apply_kernel: image must be (H, W) or (H, W, C), got shape {tuple(x.shape)}."
        )
    colour = x.dim() == 3
    x = x.to(torch.float32)
    x = x.permute(2, 0, 1) if colour else x[None]  # (C, H, W)
    c = x.shape[0]
    # One kernel per channel, each channel its own group: a depthwise convolution.
    y = conv2d(x[None], weight.expand(c, 1, *weight.shape), groups=c)[0]  # (C, H', W')
    return y.permute(1, 2, 0) if colour else y[0]
