"""Receptive field arithmetic: which input pixels each layer's output cell can see.

Walking the layers in order, with k_eff = d(k - 1) + 1 the span of a (dilated) kernel:

    jump  j_out = j_in · s                           distance between neighbouring cells, in pixels
    field r_out = r_in + (k_eff - 1) · j_in          side of the input patch one cell sees
    start c_out = c_in + ((k_eff - 1) / 2 - p) · j_in   input coordinate of the first cell's centre

(Dang Ha The Hien, "A guide to receptive field arithmetic for CNNs", 2017; Araujo, Norris & Sim,
"Computing receptive fields of convolutional neural networks", Distill 2019.) Coordinates here
are pixel indices, so the input's first pixel is centred at 0 and an output cell (i, j) looks at
the patch centred at (start_h + i·jump_h, start_w + j·jump_w).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ClassicnetsError, ShapeError
from .shapes import as_tuple, conv_output_size

Pair = tuple[int, int]


@dataclass(frozen=True)
class LayerField:
    """One layer of a :func:`receptive_field` walk.

    Attributes:
        name: the module's name in the model, e.g. ``"features.0"`` (``"input"`` for the input).
        layer: the module's class name, e.g. ``"Conv2d"``.
        output_shape: the output without the batch dimension, e.g. ``(6, 28, 28)``.
        receptive_field: (r_h, r_w) pixels of the input one output cell sees; None once the
            output has no spatial layout (after ``Flatten``).
        jump: (j_h, j_w) input pixels between neighbouring output cells; None likewise.
        start: (c_h, c_w) input coordinate of the centre of output cell (0, 0); None likewise.
    """

    name: str
    layer: str
    output_shape: tuple[int, ...]
    receptive_field: Pair | None
    jump: Pair | None
    start: tuple[float, float] | None


@dataclass(frozen=True)
class _Field:
    size: Pair
    rf: Pair
    jump: Pair
    start: tuple[float, float]

    def through(self, size: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair):
        spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
        return _Field(
            size=size,
            rf=tuple(r + (e - 1) * j for r, e, j in zip(self.rf, spans, self.jump, strict=True)),
            jump=tuple(j * s for j, s in zip(self.jump, stride, strict=True)),
            start=tuple(
                c + ((e - 1) / 2 - p) * j
                for c, e, p, j in zip(self.start, spans, padding, self.jump, strict=True)
            ),
        )


def _window(module: nn.Module, name: str, size_in: Pair, size_out: Pair):
    """(kernel, stride, padding, dilation, ceil_mode) of a sliding-window layer, else None."""
    if isinstance(module, nn.Conv2d):
        k, s, d = module.kernel_size, module.stride, module.dilation
        if isinstance(module.padding, str):  # "valid" or "same" (stride 1; extra pad goes right)
            same = module.padding == "same"
            p = tuple((di * (ki - 1)) // 2 if same else 0 for ki, di in zip(k, d, strict=True))
        else:
            p = module.padding
        return tuple(k), tuple(s), tuple(p), tuple(d), False
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        k = as_tuple(module.kernel_size, "kernel size")
        s = k if module.stride is None else as_tuple(module.stride, "stride")
        d = as_tuple(getattr(module, "dilation", 1), "dilation")
        return k, s, as_tuple(module.padding, "padding"), d, module.ceil_mode
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        if any(n % m for n, m in zip(size_in, size_out, strict=True)):
            raise ShapeError(
                f"receptive_field: {name} ({type(module).__name__}) pools {_hw(size_in)} to "
                f"{_hw(size_out)} with windows of unequal size; choose an input whose size "
                "is a multiple of the output's."
            )
        k = tuple(n // m for n, m in zip(size_in, size_out, strict=True))
        return k, k, (0, 0), (1, 1), False  # equal windows: kernel = stride = n / m
    return None


def _hw(size: Sequence[int]) -> str:
    return "x".join(map(str, size))


def _resolve(model: str | nn.Module, input_size: Sequence[int] | None):
    """The module to walk, its input (C, H, W), and how to name it in errors."""
    if isinstance(model, str):
        from ..models import create_model, model_info  # models import ops: import late

        info = model_info(model)
        size = info.input_size if input_size is None else tuple(input_size)
        kwargs = {}
        if input_size is not None and len(size) == 3:
            accepted = inspect.signature(info.builder).parameters
            if "in_channels" in accepted:
                kwargs["in_channels"] = size[0]
            if "image_size" in accepted and size[1] == size[2]:
                kwargs["image_size"] = size[1]
        module, label = create_model(model, **kwargs), f"model '{model}'"
    elif isinstance(model, nn.Module):
        if input_size is None:
            raise ClassicnetsError(
                "receptive_field: give input_size (C, H, W) for a module; only registered "
                "model names know their own."
            )
        module, label, size = model, type(model).__name__, tuple(input_size)
    else:
        raise ClassicnetsError(
            f"receptive_field: expected a model name or an nn.Module, got {type(model).__name__}."
        )
    if len(size) != 3 or not all(isinstance(v, int) and v > 0 for v in size):
        raise ShapeError(
            f"receptive_field: input_size must be three positive integers (C, H, W), got {size}."
        )
    return module, size, label


def receptive_field(
    model: str | nn.Module, input_size: Sequence[int] | None = None
) -> list[LayerField]:
    """Output shape, receptive field, jump and start of every layer of an image model.

    Runs one dummy image through the model and watches each leaf module in the order it runs:
    ``Conv2d`` and the pooling layers move the window arithmetic on; layers that keep the
    height and width (activations, normalisation, dropout) pass it through. A branching block
    (Inception, ResNet) joins its branches with the largest field seen so far. Once an output is
    no longer (N, C, H, W), e.g. after ``Flatten``, the spatial fields are None.

    Args:
        model: a registered model name (see ``list_models()``) or any ``nn.Module``,
            including ``nn.Sequential``.
        input_size: (C, H, W); defaults to a registered model's native size.

    Returns:
        One :class:`LayerField` for the input, then one per leaf layer call in forward order.

    Raises:
        ShapeError: when the input does not fit the model, or a layer changes the height or
            width in a way that is not a convolution or pooling window (e.g. ``Upsample``).

    Example:
        >>> stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))
        >>> receptive_field(stack, (1, 9, 9))[-1].receptive_field
        (5, 5)
    """
    module, size, label = _resolve(model, input_size)
    first = _Field(size=size[1:], rf=(1, 1), jump=(1, 1), start=(0.0, 0.0))
    rows = [LayerField("input", "", tuple(size), first.rf, first.jump, first.start)]
    floats = [t.dtype for t in module.parameters() if t.is_floating_point()]
    dummy = torch.zeros(1, *size, dtype=floats[0] if floats else torch.get_default_dtype())
    fields: dict[int, _Field] = {id(dummy): first}  # id of a tensor seen -> its field
    alive: list[torch.Tensor] = [dummy]  # keeps those tensors (and so their ids) alive
    widest: dict[tuple[int, ...], _Field] = {first.size: first}  # per height x width
    state = {"spatial": True}

    def hook(mod: nn.Module, inputs: tuple, output: object, name: str) -> None:
        kind = type(mod).__name__
        shape = tuple(output.shape[1:]) if isinstance(output, torch.Tensor) else ()
        if not (state["spatial"] and isinstance(output, torch.Tensor) and output.dim() == 4):
            state["spatial"] = False  # no (N, C, H, W) layout from here on
            rows.append(LayerField(name, kind, shape, None, None, None))
            return
        x = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        size_in, size_out = tuple(x.shape[-2:]) if x is not None else (), tuple(shape[-2:])
        field = fields.get(id(x))
        if field is None:
            # A tensor no layer made: the sum or concatenation of branches (ResNet, Inception,
            # DenseNet). It sees as far as its widest branch, the widest field of its size.
            field = widest.get(size_in)
            if field is None:
                seen = ", ".join(_hw(k) for k in widest)
                raise ShapeError(
                    f"receptive_field: {name} ({kind}) gets a {_hw(size_in)} input but the "
                    f"layers followed gave only {seen}; something outside nn.Module layers "
                    "changed the size, so the field cannot be followed."
                )
            fields[id(x)] = field  # later branches from the same tensor start where this did
            alive.append(x)
        window = _window(mod, name, size_in, size_out)
        if window is None:
            if size_out != size_in:
                raise ShapeError(
                    f"receptive_field: {name} ({kind}) maps {_hw(size_in)} to {_hw(size_out)} "
                    "but is not a Conv2d or pooling layer, so its receptive field is unknown."
                )
        else:
            kernel, stride, padding, dilation, ceil_mode = window
            expected = conv_output_size(size_in, kernel, padding, stride, dilation, ceil_mode)
            if expected != size_out:
                raise ShapeError(
                    f"receptive_field: {name} ({kind}) gave {_hw(size_out)} where its window "
                    f"arithmetic gives {_hw(expected)}; the field cannot be followed."
                )
            field = field.through(size_out, kernel, stride, padding, dilation)
        fields[id(output)] = field
        alive.append(output)
        best = widest.get(field.size)
        if best is None or field.rf[0] * field.rf[1] >= best.rf[0] * best.rf[1]:
            widest[field.size] = field
        rows.append(LayerField(name, kind, shape, field.rf, field.jump, field.start))

    leaves = [
        (n or type(m).__name__, m) for n, m in module.named_modules() if not any(m.children())
    ]
    handles = [
        m.register_forward_hook(lambda mod, i, o, name=n: hook(mod, i, o, name)) for n, m in leaves
    ]
    training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(dummy)
    except RuntimeError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ShapeError(f"{label} cannot take a {_hw(size)} input: {reason}") from None
    finally:
        for handle in handles:
            handle.remove()
        module.train(training)
    return rows
