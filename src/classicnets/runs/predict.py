"""Classify image files with a trained model: read, convert to the model's channels and size,
normalise as in training, and return the most likely classes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import ClassicnetsError
from ..train.model import Model


def read_image(path: str | os.PathLike, shape: Sequence[int]) -> torch.Tensor:
    """Read an image file as uint8 (C, H, W) with ``shape``'s channels (grey or RGB) and size.

    Raises:
        ClassicnetsError: the file is missing or not an image.
    """
    from skimage import color, io, transform

    path = Path(path)
    if not path.is_file():
        raise ClassicnetsError(f"Image {path} does not exist.")
    try:
        image = io.imread(str(path))
    except Exception as err:  # skimage/imageio raise many types for unreadable files
        raise ClassicnetsError(f"Cannot read {path} as an image ({type(err).__name__}).") from None
    if image.ndim not in (2, 3) or image.size == 0:
        raise ClassicnetsError(f"{path} is not a 2-D image (array shape {image.shape}).")
    image = image.astype(np.float64)
    if image.max() > 1.0:
        image = image / (65535.0 if image.max() > 255 else 255.0)
    if image.ndim == 3 and image.shape[-1] == 4:
        image = image[..., :3]  # drop alpha
    channels, height, width = shape
    if channels == 1 and image.ndim == 3:
        image = color.rgb2gray(image)
    elif channels == 3 and image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = transform.resize(image, (height, width), anti_aliasing=True)
    image = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[None]
    else:
        image = image.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(image))


def predict_files(model: Model, paths: Sequence[str], top: int = 3) -> list[dict]:
    """Top-``top`` classes with probabilities for each image file."""
    if model.input_shape is None:
        raise ClassicnetsError(
            "The checkpoint does not record its input shape; cannot prepare images."
        )
    batch = torch.stack([read_image(p, model.input_shape) for p in paths])
    probs = torch.softmax(model.predict(batch), dim=-1)
    names = model.classes or tuple(str(i) for i in range(probs.shape[-1]))
    k = min(top, probs.shape[-1])
    values, indices = probs.topk(k, dim=-1)
    return [
        {"image": str(p), "top": [(names[i], float(v)) for v, i in zip(vs, ix, strict=True)]}
        for p, vs, ix in zip(paths, values.tolist(), indices.tolist(), strict=True)
    ]
