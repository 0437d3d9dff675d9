"""What the explainer shows of a drawing: the drawing made into the model's input exactly as the
run's training images were made, every layer's output for it, and any convolution unit written
out as the sum the layer computed.

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

The layers run in float32 without autocast, so a unit's explained sum (in float64) matches the
layer's own output to about 1e-6.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..analysis.hooks import run_hooked
from ..data import ImageDataset, dataset_info
from ..errors import ClassicnetsError, UnknownNameError
from ..ops._windows import pad2d, windows2d
from ..ops.explain import format_number
from ..train import Model

MAX_SIDE = 2048  # a drawing larger than this is no canvas
MAX_CHANNELS = 32  # feature maps sent per layer: enough to see, small enough to send at once
DIGITS_BOX, DIGITS_BLOCK = 32, 4  # optdigits: 32x32 bitmaps, 4x4 blocks counted
MNIST_BOX, MNIST_SIDE = 20, 28  # MNIST: fitted into 20x20, centred by mass in 28x28
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU)
ACTIVATIONS += (nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.PReLU)


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


@dataclass
class LayerRecord:
    """One leaf layer's call: its output (batch dropped) and, for a convolution, its input
    and the name of the layer that made that input."""

    name: str
    module: nn.Module
    output: torch.Tensor
    input: torch.Tensor | None
    source: str | None


def run_layers(model: Model, x: torch.Tensor) -> tuple[torch.Tensor, list[LayerRecord]]:
    """Run ``x`` through the model's network in float32, recording every leaf layer's output.

    Returns:
        (class scores (classes,), the records in the order the layers ran).
    """
    module = model.module
    leaves = [(n, m) for n, m in module.named_modules() if n and not any(m.children())]
    made: dict[int, str] = {id(x): "input"}
    alive = [x]  # keeps the ids in ``made`` from being reused
    records: list[LayerRecord] = []
    scores: list[torch.Tensor] = []

    def hook(name: str, layer: nn.Module, inputs: tuple, output) -> None:
        if layer is module:
            scores.append(output[0] if isinstance(output, tuple) else output)
            return
        if not isinstance(output, torch.Tensor):
            return
        source = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        taker = made.get(id(source)) if source is not None else None
        keep = isinstance(layer, nn.Conv2d) and source is not None
        # Clones: an in-place activation after this layer would rewrite the tensor.
        records.append(
            LayerRecord(
                name,
                layer,
                output.detach()[0].float().cpu().clone(),
                source.detach()[0].float().cpu().clone() if keep else None,
                taker,
            )
        )
        made[id(output)] = name
        alive.append(output)

    with torch.autocast(x.device.type, enabled=False):
        run_hooked(
            module,
            x,
            label=f"model '{type(module).__name__}'",
            size_text="x".join(map(str, x.shape[1:])),
            hook=hook,
            modules=[*leaves, ("", module)],
        )
    return scores[0][0].float().cpu(), records


def _rounded(values: torch.Tensor, digits: int = 5) -> list:
    """A tensor as nested lists of floats with ``digits`` significant digits (smaller JSON)."""
    flat = [float(f"{v:.{digits}g}") for v in values.flatten().tolist()]
    return torch.tensor(flat, dtype=torch.float64).reshape(values.shape).tolist()


def layers_json(records: list[LayerRecord]) -> list[dict]:
    """Every layer's output as JSON: maps (C, H, W) for spatial layers (at most
    :data:`MAX_CHANNELS` channels), a vector otherwise; convolutions are marked explainable."""
    rows = []
    for record in records:
        out = record.output
        row = {
            "name": record.name,
            "type": type(record.module).__name__,
            "shape": list(out.shape),
            "explainable": isinstance(record.module, nn.Conv2d) and record.input is not None,
            "after": _explained_by(records, record),
        }
        if out.dim() == 3:
            row["maps"] = _rounded(out[:MAX_CHANNELS], 4)
            row["shown_channels"] = min(out.shape[0], MAX_CHANNELS)
        else:
            row["values"] = _rounded(out.flatten()[:4096], 4)
        row["min"], row["max"] = float(out.min()), float(out.max())
        rows.append(row)
    return rows


def _explained_by(records: list[LayerRecord], record: LayerRecord) -> str | None:
    """For an activation applied to a convolution's output: that convolution's name (a click
    on the activated map explains the unit under it)."""
    if not isinstance(record.module, ACTIVATIONS):
        return None
    before = next((r for r in records if r.name == record.source), None)
    if before is not None and isinstance(before.module, nn.Conv2d) and before.input is not None:
        return before.name
    return None


def _check_index(value: object, name: str, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ClassicnetsError(f"The field '{name}' must be a whole number from 0 to {size - 1}.")
    return value


def explain_unit(
    records: list[LayerRecord], layer: str, channel: object, y: object, x: object
) -> dict:
    """One output unit of a convolution written out: the window of the previous layer it reads,
    the kernel, their element-wise products, and their sum plus the bias, which is the unit's
    value before the activation function; beside it the value the layer itself computed.

    Raises:
        ClassicnetsError: an unknown layer, a layer that is no convolution, or an index off
            the map.
    """
    record = next((r for r in records if r.name == layer), None)
    if record is None:
        known = ", ".join(r.name for r in records if isinstance(r.module, nn.Conv2d))
        raise ClassicnetsError(f"The model has no layer {layer!r}; its convolutions are {known}.")
    conv = record.module
    if not isinstance(conv, nn.Conv2d) or record.input is None:
        raise ClassicnetsError(f"Layer {layer!r} is a {type(conv).__name__}, not a Conv2d.")
    if not isinstance(conv.padding, tuple) or conv.padding_mode != "zeros":
        raise ClassicnetsError(f"Layer {layer!r} pads in a way this explainer does not show.")
    c_out, height, width = record.output.shape
    o = _check_index(channel, "channel", c_out)
    i, j = _check_index(y, "y", height), _check_index(x, "x", width)
    group_size = conv.in_channels // conv.groups
    first = (o // (c_out // conv.groups)) * group_size  # the input channels of o's group
    (ph, pw), kernel = conv.padding, conv.kernel_size
    pads = (ph, ph, pw, pw)
    inputs = record.input[first : first + group_size].double()  # (c, H, W)
    window = windows2d(pad2d(inputs, pads, 0.0), kernel, conv.stride, conv.dilation)[:, i, j]
    # Which input cells the window reads: the same windows over a grid of cell numbers, with
    # -1 where the padding is.
    h_in, w_in = inputs.shape[-2:]
    cells = torch.arange(h_in * w_in, dtype=torch.float64).reshape(h_in, w_in)
    read = windows2d(pad2d(cells, pads, -1.0), kernel, conv.stride, conv.dilation)[i, j]
    weights = conv.weight.detach()[o].double().cpu()  # (c, k_h, k_w)
    products = window * weights
    bias = float(conv.bias.detach()[o]) if conv.bias is not None else 0.0
    total = float(products.sum()) + bias
    computed = float(record.output[o, i, j])
    activated = next((r for r in records if r.source == record.name and r is not record), None)
    after = None
    if activated is not None and isinstance(activated.module, ACTIVATIONS):
        after = {
            "layer": activated.name,
            "type": type(activated.module).__name__,
            "value": float(activated.output[o, i, j]),
        }
    positions = [
        [-1 if v < 0 else [int(v) // w_in, int(v) % w_in] for v in row] for row in read.tolist()
    ]
    return {
        "layer": layer,
        "channel": o,
        "y": i,
        "x": j,
        "source": record.source,
        "source_shape": list(record.input.shape),
        "input_channels": list(range(first, first + group_size)),
        "window": window.tolist(),
        "positions": positions,
        "kernel": weights.tolist(),
        "products": products.tolist(),
        "sum_products": float(products.sum()),
        "bias": bias,
        "pre_activation": total,
        "model_value": computed,
        "difference": abs(total - computed),
        "activation": after,
        "text": (
            f"{layer}[{o}, {i}, {j}] = Σ window × kernel + bias = "
            f"{format_number(float(products.sum()))} + {_signed(bias)} = {format_number(total)} "
            "(before the activation function)"
        ),
    }


def _signed(value: float) -> str:
    text = format_number(value)
    return f"({text})" if text.startswith("-") else text
