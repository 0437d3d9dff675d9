"""The one way an image file becomes a network's input, for training on a folder of images
and for ``predict`` alike: decoded with Pillow, the shorter side scaled to ``size`` (bilinear)
and the centre cropped to a square, as RGB, or as one grey channel. A model trained on
pictures prepared one way and shown pictures prepared another sees other pixels (squashing a
non-square photo instead of cropping it moved them by 47/255 on average), so checkpoints record
this recipe (:data:`RECIPE`) and ``predict`` follows it.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..errors import ClassicnetsError, CorruptFileError

GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})
RECIPE = "pillow: shorter side to size (bilinear), centre crop; RGB, or grey channel"


def load_image(
    source: str | os.PathLike | bytes, size: int, channels: int = 3, name: str | None = None
) -> tuple[np.ndarray, bool]:
    """Decode one image file as uint8 ``(channels, size, size)``.

    Args:
        source: a path, or the file's bytes.
        size: the side of the square the image is scaled and centre-cropped to.
        channels: 3 for RGB; 1 for grey (a grey file's own values, a colour one's luma).
        name: how errors name the file (default: the path).

    Returns:
        The image, and whether the file was grey.

    Raises:
        ClassicnetsError: the file does not exist.
        CorruptFileError: it cannot be decoded as an image.
    """
    from PIL import Image, ImageOps

    if channels not in (1, 3):
        raise ClassicnetsError(f"Images are prepared with 1 or 3 channels, not {channels}.")
    name = name or str(source)
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise ClassicnetsError(f"Image {name} does not exist.")
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            image.draft(image.mode, (size, size))  # JPEG: decode at a reduced scale, far faster
            grey = image.mode in GREY_MODES
            image = image.convert("RGB")
            if image.size != (size, size):
                image = ImageOps.fit(image, (size, size), Image.Resampling.BILINEAR)
            rgb = np.asarray(image)
            if channels == 3:
                return np.array(rgb.transpose(2, 0, 1), order="C"), grey  # a writable copy
            plane = rgb[..., 0] if grey else np.asarray(image.convert("L"))
            return np.array(plane[None], order="C"), grey
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise CorruptFileError(
            f"Cannot read {name} as an image ({type(err).__name__}); give a PNG, JPEG or "
            "another image file."
        ) from None
