"""The feature maps of an image model, stage by stage, found by running it once.

A *stage* is one top-level child of the model's feature extractor whose output is a 4-D
``(N, C, H, W)`` tensor. The feature extractor is the ``features`` module of a model that answers
``forward_features`` (every registered image model keeps its trunk there, see
:class:`classicnets.models.ImageClassifier`), and the model itself otherwise (a hand-built
``nn.Sequential``). So VGG-16's stages are its thirteen convolutions and five poolings, ResNet's
``stem`` and ``layer1`` ... ``layer4``, and a model without spatial features (the MLP) has none.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ClassicnetsError, ShapeError
from .hooks import run_hooked


def feature_extractor(module: nn.Module) -> tuple[str, nn.Module]:
    """The part of ``module`` whose children are the stages, with its name inside ``module``.

    Args:
        module: an image model, or any ``nn.Module``.

    Returns:
        ``("features", module.features)`` for a model that answers ``forward_features`` and keeps
        its trunk in ``features``; ``("", module)`` otherwise.
    """
    trunk = getattr(module, "features", None)
    if callable(getattr(module, "forward_features", None)) and isinstance(trunk, nn.Module):
        for name, child in module.named_modules():
            if child is trunk:
                return name, trunk
    return "", module


def stage_modules(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The candidates for stages: the top-level children of :func:`feature_extractor`, named as
    in ``module.named_modules()`` (e.g. ``"features.layer1"``); an extractor without children is
    its own single candidate. Whether a candidate is a stage depends on its output being 4-D,
    which :func:`stage_outputs` finds out by running the model."""
    prefix, trunk = feature_extractor(module)
    children = list(trunk.named_children())
    if not children:
        return [(prefix, trunk)]
    return [(f"{prefix}.{name}" if prefix else name, child) for name, child in children]


def model_label(module: nn.Module) -> str:
    """How messages name ``module``: ``"model 'lenet5'"`` for a registered model, else its
    class name."""
    spec = getattr(module, "classicnets_spec", None)
    return f"model '{spec['name']}'" if spec else type(module).__name__


def as_batch(x: torch.Tensor, what: str = "x") -> torch.Tensor:
    """``x`` as an (N, C, H, W) float batch: one (C, H, W) image gains a batch dimension.

    Raises:
        ShapeError: for any other number of dimensions, or an integer tensor.
    """
    if not isinstance(x, torch.Tensor):
        raise ClassicnetsError(f"{what} must be a torch.Tensor, got {type(x).__name__}.")
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise ShapeError(
            f"{what} must be one image (C, H, W) or a batch (N, C, H, W), got shape "
            f"{tuple(x.shape)}."
        )
    if not x.is_floating_point():
        raise ClassicnetsError(
            f"{what} must be the normalised float input the model was trained on, got dtype "
            f"{x.dtype}; pass the uint8 pixels only as the image to display."
        )
    return x


def stage_outputs(module: nn.Module, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """The feature maps of every stage of ``module`` for ``x``, shallow to deep.

    The model runs once in eval mode without gradients (its training mode is restored after).
    Each output is copied as it is made, so a later in-place activation (``ReLU(inplace=True)``)
    does not change what is returned.

    Args:
        module: an image model (see the module docstring for what its stages are).
        x: the normalised input, (C, H, W) or (N, C, H, W).

    Returns:
        ``(name, maps)`` pairs in the order the stages run, ``maps`` of shape (N, C, H, W) and
        names as in ``module.named_modules()``; empty for a model without 4-D stages (an MLP).

    Raises:
        ShapeError: when ``x`` is not an image batch or the model cannot take it.
    """
    x = as_batch(x)
    found: dict[str, torch.Tensor] = {}  # insertion order is the order the stages ran

    def hook(name: str, _module: nn.Module, _inputs: tuple, output: object) -> None:
        if isinstance(output, torch.Tensor) and output.dim() == 4 and name not in found:
            found[name] = output.detach().clone()

    run_hooked(
        module,
        x,
        label=model_label(module),
        size_text="x".join(map(str, x.shape[1:])),
        hook=hook,
        modules=stage_modules(module),
    )
    return list(found.items())
