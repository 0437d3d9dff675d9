"""A user's own network in a run: ``--module package.module:factory``.

The factory is any callable that returns an ``nn.Module``: a builder function, an
``nn.Module`` subclass, or another library's builder such as ``torchvision.models:resnet18``.
It gets the run's ``num_classes``, ``in_channels`` and ``image_size`` where its signature names
them; a factory taking only ``**kwargs`` (torchvision's and timm's builders) gets
``num_classes`` alone, the one keyword they all share. One forward pass on a batch of the run's
shape then checks that the network takes the data and gives one score per class.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import ClassicnetsError, closest_names

RUN_ARGUMENTS = ("num_classes", "in_channels", "image_size")


def _parse(spec: str) -> tuple[str, str]:
    module, _, attribute = spec.partition(":") if isinstance(spec, str) else ("", "", "")
    parts = [*module.split("."), *attribute.split(".")]
    if not module or not attribute or not all(p.isidentifier() for p in parts):
        raise ClassicnetsError(
            f"A custom module is written package.module:factory (e.g. mynets.small:build), "
            f"got {spec!r}."
        )
    return module, attribute


def import_factory(spec: str, *, search_path: Sequence[str | os.PathLike] = ()) -> Callable:
    """The callable that ``"package.module:factory"`` names (``factory`` may be dotted).

    Args:
        spec: ``package.module:factory``.
        search_path: folders put at the front of ``sys.path`` first (and left there, so the
            module's own imports keep working), as ``python -m`` does for the current folder.

    Raises:
        ClassicnetsError: for a malformed spec, a module that cannot be imported or fails
            while importing, a missing attribute or one that is not callable.
    """
    module_name, attribute = _parse(spec)
    for folder in reversed([os.fspath(f) for f in search_path]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise ClassicnetsError(
            f"Cannot import {module_name!r} for {spec!r} ({error}); put its folder on "
            "PYTHONPATH or run from the folder that holds it."
        ) from error
    except Exception as error:  # the user's module raised while being imported
        raise ClassicnetsError(
            f"Importing {module_name!r} for {spec!r} failed: {type(error).__name__}: {error}"
        ) from error
    where = module_name
    for part in attribute.split("."):
        if not hasattr(target, part):
            public = [n for n in dir(target) if not n.startswith("_")]
            hint = closest_names(part, public)
            suggestion = f"; did you mean {', '.join(hint)}?" if hint else "."
            raise ClassicnetsError(f"{where!r} has no attribute {part!r}{suggestion}")
        target, where = getattr(target, part), f"{where}.{part}"
    if not callable(target):
        raise ClassicnetsError(
            f"{spec!r} is an object of type {type(target).__name__}, not a function or class "
            "that builds a model."
        )
    return target


def factory_arguments(factory: Callable, values: dict[str, Any]) -> dict[str, Any]:
    """The run's ``values`` that ``factory`` takes by name (``num_classes`` alone for a factory
    that only has ``**kwargs``).

    Raises:
        ClassicnetsError: when the factory requires an argument the run cannot give.
    """
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # some builtins have no signature: give the class count
        return {"num_classes": values["num_classes"]}
    named = {k: v for k, v in values.items() if k in parameters}
    required = [
        name
        for name, p in parameters.items()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and name not in values
    ]
    if required:
        raise ClassicnetsError(
            f"{getattr(factory, '__qualname__', factory)} requires {', '.join(required)}, "
            f"which a run cannot give; it can give {', '.join(values)} (wrap the factory in one "
            "that fixes the rest)."
        )
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    if not named and takes_any:
        named = {"num_classes": values["num_classes"]}
    return named


def build_custom(
    spec: str,
    *,
    num_classes: int,
    in_channels: int,
    image_size: int,
    search_path: Sequence[str | os.PathLike] = (),
) -> nn.Module:
    """Build the network that ``spec``'s factory makes, for the run's data.

    Args:
        spec: ``package.module:factory``, see :func:`import_factory`.
        num_classes: classes of the data.
        in_channels: channels of an image.
        image_size: side of an image.
        search_path: folders to import from first (the CLI gives the current folder).

    Returns:
        The ``nn.Module``, checked to map a ``(2, in_channels, image_size, image_size)`` batch
        to ``(2, num_classes)`` scores.

    Raises:
        ClassicnetsError: for a bad spec, a module that cannot be imported, a missing
            attribute, a factory that fails, a result that is not an ``nn.Module`` or a
            network that does not fit the data.
    """
    factory = import_factory(spec, search_path=search_path)
    values = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size}
    kwargs = factory_arguments(factory, values)
    call = f"{spec}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    try:
        module = factory(**kwargs)
    except Exception as error:
        raise ClassicnetsError(f"{call} failed: {type(error).__name__}: {error}") from error
    if not isinstance(module, nn.Module):
        raise ClassicnetsError(f"{call} returned a {type(module).__name__}, not a torch.nn.Module.")
    _check_fits(module, call, in_channels, image_size, num_classes)
    return module


def _check_fits(module: nn.Module, call: str, channels: int, side: int, classes: int) -> None:
    """One eval-mode forward pass on zeros: the network takes the data and scores each class."""
    parameter = next(module.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    batch = torch.zeros(2, channels, side, side, device=device)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            output = module(batch)
    except Exception as error:
        raise ClassicnetsError(
            f"The network from {call} cannot take a batch of {channels}x{side}x{side} images: "
            f"{type(error).__name__}: {error}"
        ) from error
    finally:
        module.train(was_training)
    shape = tuple(output.shape) if isinstance(output, torch.Tensor) else None
    if shape != (2, classes):
        got = f"shape {shape}" if shape is not None else f"a {type(output).__name__}"
        raise ClassicnetsError(
            f"The network from {call} gives {got} for 2 images; a run needs (2, {classes}), "
            "one score per class."
        )
