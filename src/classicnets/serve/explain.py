"""What the explainer shows of a drawing (prepared by :mod:`.drawing`): every layer's output
for it, and any convolution unit written out as the sum the layer computed.

The layers run in float32 without autocast, so a unit's explained sum (in float64) matches the
layer's own output to about 1e-6.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..analysis.hooks import run_hooked
from ..errors import ClassicnetsError
from ..ops._windows import pad2d, windows2d
from ..ops.explain import format_number
from ..train import Model

MAX_CHANNELS = 32  # feature maps sent per layer: enough to see, small enough to send at once
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU)
ACTIVATIONS += (nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.PReLU)


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
