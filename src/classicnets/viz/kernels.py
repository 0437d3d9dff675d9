"""A grid of a photo and what each classic kernel makes of it (matplotlib, Agg, no pyplot)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ClassicnetsError
from ..ops.kernels import apply_kernel, get_kernel

PHOTOS = ("camera", "astronaut", "coins")  # shipped with scikit-image, no download needed
MAX_SIDE = 1024  # larger photos are shrunk first: the windows of a huge photo fill the memory


def load_photo(source: str) -> np.ndarray:
    """A built-in scikit-image photo by name, or an image file, as floats in [0, 1].

    Args:
        source: ``"camera"``, ``"astronaut"``, ``"coins"`` or the path of an image file.

    Returns:
        (H, W) grey or (H, W, 3) colour float64 array, at most :data:`MAX_SIDE` on its long side.

    Raises:
        ClassicnetsError: when the file does not exist or cannot be read as an image.
    """
    import skimage.data
    import skimage.io

    if source in PHOTOS:
        image = getattr(skimage.data, source)()
    else:
        if not os.path.isfile(source):
            raise ClassicnetsError(
                f"Image '{source}' is neither a built-in photo ({', '.join(PHOTOS)}) nor an "
                "existing file; give one of those names or the path of a PNG or JPEG file."
            )
        try:
            image = np.asarray(skimage.io.imread(source))
        except Exception as err:  # each image plugin fails in its own way
            raise ClassicnetsError(
                f"Cannot read '{source}' as an image ({type(err).__name__}); give a PNG or "
                "JPEG file."
            ) from None
    return _normalise(image, source)


def _normalise(image: np.ndarray, source: str) -> np.ndarray:
    if image.ndim == 3 and image.shape[-1] in (2, 4):
        image = image[..., :-1]  # drop the alpha channel
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3) or image.size == 0:
        raise ClassicnetsError(
            f"Image '{source}' has shape {image.shape}; expected a grey (H, W) or colour "
            "(H, W, 3) picture."
        )
    if np.issubdtype(image.dtype, np.integer):
        image = image / np.iinfo(image.dtype).max
    image = image.astype(np.float64)
    if image.max() > 1:
        image = image / image.max()
    if max(image.shape[:2]) > MAX_SIDE:
        from skimage.transform import rescale

        scale = MAX_SIDE / max(image.shape[:2])
        image = rescale(
            image, scale, anti_aliasing=True, channel_axis=2 if image.ndim == 3 else None
        )
    return image


def plot_kernel_grid(
    image: np.ndarray, names: Sequence[str], path: str | os.PathLike, title: str = ""
) -> Path:
    """Write a PNG grid: the photo, then the photo cross-correlated with each named kernel.

    Kernels whose weights sum to 1 (blurs, sharpen, emboss) keep the brightness and are shown
    clipped to [0, 1]; the others (edge detectors, summing to 0) are shown in grey around a
    mid-grey zero, white and black marking the two directions of an edge.

    Args:
        image: (H, W) or (H, W, 3) floats in [0, 1], e.g. from :func:`load_photo`.
        names: kernel names from :func:`classicnets.ops.list_kernels`.
        path: where to write the PNG; missing folders are created.
        title: an optional title over the grid.

    Returns:
        The path written.
    """
    from matplotlib.figure import Figure

    kernels = [(name, get_kernel(name)) for name in names]  # unknown names fail before drawing
    panels = 1 + len(kernels)
    cols = min(4, panels)
    rows = math.ceil(panels / cols)
    fig = Figure(figsize=(3.2 * cols, 3.3 * rows), constrained_layout=True)
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    grey = {"cmap": "gray"} if image.ndim == 2 else {}
    axes[0].imshow(image, vmin=0, vmax=1, **grey)
    axes[0].set_title("photo")
    for ax, (name, kernel) in zip(axes[1:], kernels, strict=False):
        result = apply_kernel(image, kernel).numpy()
        if abs(float(kernel.sum()) - 1) < 1e-6:
            ax.imshow(np.clip(result, 0, 1), vmin=0, vmax=1, **grey)
        else:
            response = result.mean(axis=-1) if result.ndim == 3 else result
            limit = float(np.percentile(np.abs(response), 99)) or 1.0
            ax.imshow(response, cmap="gray", vmin=-limit, vmax=limit)
        ax.set_title(name)
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    except (OSError, ValueError) as err:  # a read-only folder; a format matplotlib lacks
        reason = getattr(err, "strerror", None) or str(err).rstrip(".")
        raise ClassicnetsError(
            f"Cannot write '{path}': {reason}; give a writable .png path."
        ) from None
    return path
