"""The receptive field of every layer of a model: one example runs through it, and each
sliding-window layer moves the window arithmetic of :mod:`classicnets.ops.receptive` on."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ClassicnetsError, ShapeError
from ..models import create_model, model_info
from ..ops.receptive import Field, LayerField, hw_text, sliding_window
from ..ops.shapes import conv_output_size
from .hooks import run_hooked


def _resolve(model: str | nn.Module, input_size: Sequence[int] | None):
    """The module to walk, its input (C, H, W), and how to name it in errors."""
    if isinstance(model, str):
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


def _leaves(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules to watch: those without children, and blocks that say they keep every
    position's field (``keeps_receptive_field``: squeeze-and-excitation scales channels by a
    global summary, so its pooled insides are not followed), without their insides."""
    found, opaque = [], []
    for name, mod in module.named_modules():
        if any(name.startswith(prefix + ".") for prefix in opaque):
            continue
        if getattr(mod, "keeps_receptive_field", False):
            opaque.append(name)
            found.append((name, mod))
        elif not any(mod.children()):
            found.append((name, mod))
    return found


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
    first = Field(size=size[1:], rf=(1, 1), jump=(1, 1), start=(0.0, 0.0))
    rows = [LayerField("input", "", tuple(size), first.rf, first.jump, first.start)]
    floats = [t.dtype for t in module.parameters() if t.is_floating_point()]
    dummy = torch.zeros(1, *size, dtype=floats[0] if floats else torch.get_default_dtype())
    fields: dict[int, Field] = {id(dummy): first}  # id of a tensor seen -> its field
    alive: list[torch.Tensor] = [dummy]  # keeps those tensors (and so their ids) alive
    widest: dict[tuple[int, ...], Field] = {first.size: first}  # per height x width
    state = {"spatial": True}

    def hook(name: str, mod: nn.Module, inputs: tuple, output: object) -> None:
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
                seen = ", ".join(hw_text(k) for k in widest)
                raise ShapeError(
                    f"receptive_field: {name} ({kind}) gets a {hw_text(size_in)} input but the "
                    f"layers followed gave only {seen}; something outside nn.Module layers "
                    "changed the size, so the field cannot be followed."
                )
            fields[id(x)] = field  # later branches from the same tensor start where this did
            alive.append(x)
        window = sliding_window(mod, name, size_in, size_out)
        if window is None:
            if size_out != size_in:
                raise ShapeError(
                    f"receptive_field: {name} ({kind}) maps {hw_text(size_in)} to "
                    f"{hw_text(size_out)} but is not a Conv2d or pooling layer, so its receptive "
                    "field is unknown."
                )
        else:
            kernel, stride, padding, dilation, ceil_mode = window
            expected = conv_output_size(size_in, kernel, padding, stride, dilation, ceil_mode)
            if expected != size_out:
                raise ShapeError(
                    f"receptive_field: {name} ({kind}) gave {hw_text(size_out)} where its window "
                    f"arithmetic gives {hw_text(expected)}; the field cannot be followed."
                )
            field = field.through(size_out, kernel, stride, padding, dilation)
        fields[id(output)] = field
        alive.append(output)
        best = widest.get(field.size)
        if best is None or field.rf[0] * field.rf[1] >= best.rf[0] * best.rf[1]:
            widest[field.size] = field
        rows.append(LayerField(name, kind, shape, field.rf, field.jump, field.start))

    leaves = _leaves(module)
    run_hooked(module, dummy, label=label, size_text=hw_text(size), hook=hook, modules=leaves)
    return rows
