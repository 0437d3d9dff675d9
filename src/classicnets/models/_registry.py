"""The model registry: ``register_model`` adds a builder, ``create_model`` calls it by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from ..errors import ClassicnetsError, unknown_name

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

    Returns:
        A decorator that registers the builder and returns it unchanged.
    """

    def decorator(builder: Builder) -> Builder:
        if name in _MODELS:
            raise ValueError(f"Model '{name}' is already registered.")
        _MODELS[name] = ModelInfo(
            name, builder, family, year, paper, tuple(input_size), num_classes, tuple(tags)
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


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model by name.

    Args:
        name: a name from :func:`list_models`.
        **kwargs: passed to the builder, typically ``num_classes``, ``in_channels`` and
            ``image_size``. Keywords the builder does not take are an error.

    Returns:
        The freshly initialised ``nn.Module``.
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
    return info.builder(**kwargs)
