"""Classify image files with a trained model, prepared exactly as its training images were
(:func:`classicnets.data.preprocess.load_image`, the recipe its checkpoint records)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..data.preprocess import RECIPE, load_image
from ..errors import ClassicnetsError
from ..train.model import Model


def read_image(path: str, shape: Sequence[int]) -> torch.Tensor:
    """An image file as uint8 (C, H, W) for a model taking ``shape`` = (C, H, W)."""
    channels, height, width = shape
    if height != width:
        raise ClassicnetsError(f"Models here take square images; this one takes {height}x{width}.")
    image, _ = load_image(path, height, channels)
    return torch.from_numpy(image)


def predict_files(model: Model, paths: Sequence[str], top: int = 3) -> list[dict]:
    """Top-``top`` classes with probabilities for each image file.

    Raises:
        ClassicnetsError: ``top`` below 1, a checkpoint that records no input shape or another
            preparation than this version's, or a file that is missing or not an image (named).
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ClassicnetsError(f"--top must be a whole number of at least 1, got {top!r}.")
    if model.input_shape is None or len(model.input_shape) != 3:
        raise ClassicnetsError(
            "The checkpoint does not record the image shape it takes; cannot prepare images."
        )
    recipe = (model.preprocess or {}).get("recipe", RECIPE)
    if recipe != RECIPE:
        raise ClassicnetsError(
            f"The checkpoint prepares images as '{recipe}', which this version does not; "
            "predict with the version that trained it."
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
