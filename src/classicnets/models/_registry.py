"""The model registry: ``register_model`` adds a builder, ``create_model`` calls it by name."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import ClassicnetsError, ShapeError, unknown_name
from .weights import load_weights

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model besides its builder."""

    name: str
    builder: Builder
    family: str
    year: int | None
    paper: str
    input_size: tuple[int, int, int]  # the native (C, H, W)
    num_classes: int  # the native number of classes
    tags: tuple[str, ...] = field(default_factory=tuple)
    min_image_size: int = 1  # the smallest image side the builder takes
    small_input_below: int | None = None  # images under this side get a small-input form


_MODELS: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    *,
    family: str,
    year: int | None = None,
    paper: str = "",
    input_size: tuple[int, int, int] = (3, 224, 224),
    num_classes: int = 1000,
    tags: tuple[str, ...] = (),
    min_image_size: int = 1,
    small_input_below: int | None = None,
) -> Callable[[Builder], Builder]:
    """Register a model builder under ``name``; a name can be registered only once.

    Args:
        name: the registry name, e.g. ``"lenet5"``.
        family: the architecture family, e.g. ``"LeNet"``.
        year: year of the paper.
        paper: short citation of the paper the architecture comes from.
        input_size: the native input (C, H, W) the paper uses.
        num_classes: the native number of classes.
        tags: free-form tags, e.g. ``("image",)`` or ``("sequence",)``.
        min_image_size: the smallest ``image_size`` the builder takes, for architectures whose
            strides only fit large images; :func:`create_model` refuses smaller ones.
        small_input_below: the image side under which the builder makes its small-input form
            (a CIFAR stem), so a summary can say why the counts differ from the paper's.

    Returns:
        A decorator that registers the builder and returns it unchanged.
    """

    def decorator(builder: Builder) -> Builder:
        if name in _MODELS:
            raise ValueError(f"Model '{name}' is already registered.")
        _MODELS[name] = ModelInfo(
            name,
            builder,
            family,
            year,
            paper,
            tuple(input_size),
            num_classes,
            tuple(tags),
            min_image_size,
            small_input_below,
        )
        return builder

    return decorator


def list_models(family: str | None = None) -> list[str]:
    """Names of the registered models, sorted; optionally only those of one family."""
    return sorted(n for n, i in _MODELS.items() if family is None or i.family == family)


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model; unknown names raise with suggestions."""
    try:
        return _MODELS[name]
    except KeyError:
        raise unknown_name("model", name, _MODELS) from None


def create_model(
    name: str,
    *,
    seed: int | None = None,
    weights: str | os.PathLike | Mapping[str, torch.Tensor] | None = None,
    weights_source: str = "auto",
    **kwargs,
) -> nn.Module:
    """Build a registered model by name.

    Args:
        name: a name from :func:`list_models`.
        seed: initialise the weights from this seed (the same seed gives the same weights,
            bit for bit, on one machine); the caller's random streams are left as they were.
            None draws from the global stream, as torch's builders do.
        weights: a ``.safetensors`` or torch ``.pth`` file (or a state dict) to load after
            building, in our layout or torchvision's or timm's (see :func:`load_weights`).
        weights_source: whose layout ``weights`` is in: ``"auto"``, ``"classicnets"``,
            ``"torchvision"`` or ``"timm"``.
        **kwargs: passed to the builder, typically ``num_classes``, ``in_channels`` and
            ``image_size``. Keywords the builder does not take are an error.

    Returns:
        The freshly initialised ``nn.Module``.

    Raises:
        ClassicnetsError: for an unknown name or keyword, fewer than one class, or weights
            for another architecture.
        ShapeError: for an ``image_size`` under the model's ``min_image_size``.
    """
    info = model_info(name)
    params = inspect.signature(info.builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in kwargs if k not in params and not takes_any]
    if unknown:
        accepted = ", ".join(p for p in params) or "none"
        raise ClassicnetsError(
            f"Model '{name}' does not take {', '.join(unknown)}; it accepts: {accepted}."
        )
    num_classes = kwargs.get("num_classes", 1)
    if isinstance(num_classes, int) and num_classes < 1:
        raise ClassicnetsError(
            f"Model '{name}' needs at least one class, got num_classes={num_classes}."
        )
    image_size = kwargs.get("image_size", info.min_image_size)
    if isinstance(image_size, int) and image_size < info.min_image_size:
        raise image_too_small(name, image_size, info.min_image_size)
    if seed is None:
        module = info.builder(**kwargs)
    else:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ClassicnetsError(f"The seed must be an integer, got {seed!r}.")
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            module = info.builder(**kwargs)
    # Remembered so a checkpoint can rebuild the same network by name (see train.checkpoint).
    module.classicnets_spec = {"name": name, "kwargs": dict(kwargs)}
    if weights is not None:
        load_weights(module, weights, source=weights_source)
    return module


def image_too_small(name: str, image_size: int, minimum: int) -> ShapeError:
    """The error for an image smaller than a model takes, naming the smallest size it takes."""
    return ShapeError(
        f"Model '{name}' takes images of at least {minimum}x{minimum} pixels, got "
        f"{image_size}x{image_size}; resize the images to {minimum}x{minimum} or larger."
    )


def small_input_note(name: str, size: int) -> str | None:
    """Why model ``name`` built for ``size`` px is not its paper's network, or None."""
    info = model_info(name)
    if info.small_input_below is None or size >= info.small_input_below:
        return None
    return (
        f"{name} below {info.small_input_below} px builds its small-input form (the CIFAR "
        "version of its family), so its layers and counts differ from the paper's network at "
        f"{info.input_size[-1]} px."
    )
