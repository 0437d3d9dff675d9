"""A drawing made into the model's input exactly as the run's training images were made.

A drawing becomes an input in three steps, each the one the training images went through:

1. **The dataset's native form.** ``digits`` (UCI "optdigits", Alpaydin & Kaynak 1998) was made
   from 32x32 binary bitmaps of each digit, size-normalised so its longer side fills the box
   (every digit in the data spans all 8 rows; aspect kept) and centred, then cut into 4x4 blocks
   whose set pixels were counted (0..16); :mod:`classicnets.data.digits` scales the counts to
   ``round(count * 255 / 16)``. MNIST (LeCun et al. 1998) fitted each digit into 20x20, grey
   from antialiasing, and centred it in 28x28 by its centre of mass. Other datasets are no
   drawings; the canvas is scaled whole to their native size.
2. **The run's resize**: :meth:`~classicnets.data.ImageDataset.resized` to the side the model
   took (digits: 8 -> 28, bilinear), the very method the run's data went through.
3. **Normalisation**: :meth:`~classicnets.train.Model.prepare_inputs` with the training mean
   and standard deviation the checkpoint keeps.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

import numpy as np
import torch

from ..data import ImageDataset, dataset_info
from ..errors import ClassicnetsError, UnknownNameError
from ..train import Model

MAX_SIDE = 2048  # a drawing larger than this is no canvas
DIGITS_BOX, DIGITS_BLOCK = 32, 4  # optdigits: 32x32 bitmaps, 4x4 blocks counted
MNIST_BOX, MNIST_SIDE = 20, 28  # MNIST: fitted into 20x20, centred by mass in 28x28


def decode_drawing(text: object) -> np.ndarray:
    """A PNG (a ``data:image/png;base64,`` URL or bare base64) as ink in [0, 1], (H, W).

    Ink is brightness: the canvas draws white on black, as the digits are stored. A
    transparent pixel counts as no ink.

    Raises:
        ClassicnetsError: not base64, not an image, or an image of an unreasonable size.
    """
    from PIL import Image

    if not isinstance(text, str) or not text:
        raise ClassicnetsError("The field 'image' must be a PNG as a base64 data URL.")
    payload = text.split(",", 1)[1] if text.startswith("data:") else text
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ClassicnetsError("The field 'image' is not valid base64.") from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
                raise ClassicnetsError(
                    f"The image is {width}x{height} pixels; send at most {MAX_SIDE}x{MAX_SIDE}."
                )
            rgba = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0
    except ClassicnetsError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ClassicnetsError(
            f"The field 'image' cannot be read as an image ({type(err).__name__}); send a PNG."
        ) from None
    grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, as Pillow's "L"
    return grey * rgba[..., 3]  # composited over black


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels at least half inked, bottom/right exclusive."""
    rows = np.flatnonzero((ink >= 0.5).any(axis=1))
    cols = np.flatnonzero((ink >= 0.5).any(axis=0))
    if rows.size == 0:
        raise ClassicnetsError("The drawing is empty; draw something first.")
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _fit(ink: np.ndarray, side: int) -> np.ndarray:
    """The inked box scaled, aspect kept, so its longer side is ``side`` (area averaging)."""
    from PIL import Image

    top, bottom, left, right = _ink_box(ink)
    crop = ink[top:bottom, left:right]
    scale = side / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    image = Image.fromarray(crop.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BOX), dtype=np.float64)


def digits_form(ink: np.ndarray) -> np.ndarray:
    """A drawing as an optdigits image: uint8 (8, 8) with digits' values ``round(k * 255 / 16)``.

    The ink is size-normalised into a 32x32 bitmap (longer side 32, centred), made binary at
    half ink, and every 4x4 block's set pixels are counted, as the data set was made.
    """
    fitted = _fit(ink, DIGITS_BOX) >= 0.5  # the binary bitmap
    bitmap = np.zeros((DIGITS_BOX, DIGITS_BOX), dtype=np.int64)
    h, w = fitted.shape
    top, left = (DIGITS_BOX - h) // 2, (DIGITS_BOX - w) // 2
    bitmap[top : top + h, left : left + w] = fitted
    cells = DIGITS_BOX // DIGITS_BLOCK
    counts = bitmap.reshape(cells, DIGITS_BLOCK, cells, DIGITS_BLOCK).sum(axis=(1, 3))  # 0..16
    return np.round(counts * (255.0 / 16.0)).astype(np.uint8)  # as data/digits.py scales them


def mnist_form(ink: np.ndarray) -> np.ndarray:
    """A drawing as an MNIST image: uint8 (28, 28), fitted into 20x20 (grey from the area
    averaging) and placed so its centre of mass is the image's centre."""
    fitted = np.clip(_fit(ink, MNIST_BOX), 0.0, 1.0)
    ys, xs = np.indices(fitted.shape)
    mass = fitted.sum()
    cy, cx = (ys * fitted).sum() / mass, (xs * fitted).sum() / mass
    top, left = round(MNIST_SIDE / 2 - cy), round(MNIST_SIDE / 2 - cx)
    canvas = np.zeros((MNIST_SIDE, MNIST_SIDE))
    h, w = fitted.shape
    rows = slice(max(0, top), min(MNIST_SIDE, top + h))
    cols = slice(max(0, left), min(MNIST_SIDE, left + w))
    canvas[rows, cols] = fitted[
        rows.start - top : rows.stop - top, cols.start - left : cols.stop - left
    ]
    return np.round(canvas * 255.0).astype(np.uint8)


def scaled_form(ink: np.ndarray, side: int) -> np.ndarray:
    """The whole canvas scaled to ``side`` x ``side`` (for data that is not drawings)."""
    from PIL import Image

    image = Image.fromarray(ink.astype(np.float32), mode="F")
    small = np.asarray(image.resize((side, side), Image.Resampling.BOX), dtype=np.float64)
    return np.round(np.clip(small, 0.0, 1.0) * 255.0).astype(np.uint8)


@dataclass(frozen=True)
class Prepared:
    """A drawing on its way in: ``native`` uint8 (C, h, w) as the dataset stores images,
    ``raw`` uint8 (C, H, W) at the model's size, ``x`` the normalised batch of one."""

    native: torch.Tensor
    raw: torch.Tensor
    x: torch.Tensor


class DrawingRecipe:
    """How a drawing becomes this model's input; :attr:`text` says so in words.

    Args:
        model: the run's trained model (its input shape, mean and std).
        data: the dataset the run trained on (None for a lone checkpoint).
    """

    def __init__(self, model: Model, data: str | None) -> None:
        if model.input_shape is None or len(model.input_shape) != 3:
            raise ClassicnetsError(
                "The checkpoint does not record the image shape it takes; it cannot be served."
            )
        self.model = model
        self.data = data
        self.channels, side = model.input_shape[0], model.input_shape[-1]
        native = None
        try:
            info = dataset_info(data) if data else None
        except UnknownNameError:
            info = None
        if info is not None and "image_size" not in info.options:
            native = info.image_shape[-1]  # loaders that decode at a size give the model's
        self.native_side = native or side
        self.side = side
        if data == "digits":
            self.form = "digits"
            how = "fitted into 32x32, binarised, 4x4 blocks counted (0..16, shown x255/16)"
        elif data == "mnist":
            self.form = "mnist"
            how = "fitted into 20x20 and centred by mass in 28x28"
        else:
            self.form = "scaled"
            how = f"the canvas scaled to {self.native_side}x{self.native_side}"
        steps = [f"as {data or 'the data'} stores images: {how}"]
        if self.native_side != side:
            steps.append(f"resized {self.native_side} -> {side} as the run resized its data")
        steps.append("normalised with the training mean and std")
        self.text = "; ".join(steps) + "."

    def __call__(self, ink: np.ndarray) -> Prepared:
        if self.form == "digits":
            plane = digits_form(ink)
        elif self.form == "mnist":
            plane = mnist_form(ink)
        else:
            plane = scaled_form(ink, self.native_side)
        native = torch.from_numpy(plane)[None].repeat(self.channels, 1, 1)  # (C, h, w)
        one = ImageDataset(
            name=self.data or "drawing",
            split="drawing",
            images=native[None].contiguous(),
            labels=torch.zeros(1, dtype=torch.int64),
            classes=("drawing",),
            mean=tuple(self.model.mean or (0.0,) * self.channels),
            std=tuple(self.model.std or (1.0,) * self.channels),
        )
        raw = one.resized(self.side).images  # (1, C, H, W), the run's own resize
        x = self.model.prepare_inputs(raw).float().contiguous()
        return Prepared(native, raw[0], x)
