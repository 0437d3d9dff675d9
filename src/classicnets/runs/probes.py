"""The pictures that need no run: the vanishing-gradient comparison of freshly initialised
models (``classicnets viz --compare``; a model is a registry name with builder arguments after
colons) and the learning-rate range test (``classicnets lr-find``)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ..errors import ClassicnetsError


def compare_gradients(
    models: Sequence[str],
    *,
    data: str = "digits",
    data_dir: str | None = None,
    steps: int = 50,
    seed: int = 0,
    out: str | os.PathLike = "gradients.png",
) -> tuple[Path, dict[str, dict]]:
    """The vanishing-gradient figure: the gradient norm of every layer of each freshly
    initialised model (same data, seed, optimizer: each model's recipe) over its first
    ``steps`` updates, in one picture. A model is a registry name, with builder arguments
    after colons: ``mlp:activation=sigmoid:hidden=32*9`` (see :func:`parse_model_spec`)."""
    from ..train.gradients import gradient_norms
    from ..viz.gradients import plot_gradient_norms
    from .config import ImageRunConfig
    from .image import build_for_data, load_splits

    if len(models) < 1:
        raise ClassicnetsError("--compare needs at least one model name.")
    path = png_path(out)
    results: dict[str, dict] = {}
    specs = [parse_model_spec(spec) for spec in models]  # all checked before any data is read
    for name, kwargs in specs:
        given = ImageRunConfig(model=name, data=data, data_dir=data_dir, seed=seed)
        config, _ = given.with_recipe()
        splits = load_splits(config)
        module, size, _ = build_for_data(name, splits.train, None, kwargs, seed)
        train = splits.train.resized(size)
        model = probe_model(module, config, train)
        results[_label(name, kwargs)] = gradient_norms(model, train, steps=steps, seed=seed)
    title = f"gradient norm per layer at initialisation, {data}, {steps} updates"
    return plot_gradient_norms(results, path, title), results


def png_path(out: str | os.PathLike) -> Path:
    """Where a picture goes, checked before anything is computed: a .png in a folder that
    exists."""
    path = Path(out)
    if path.suffix.lower() != ".png":
        raise ClassicnetsError(f"--out must name a .png file, got {out}.")
    if not path.parent.is_dir():
        raise ClassicnetsError(f"The folder of --out, {path.parent}, does not exist.")
    return path


def probe_model(module, config, train, mean=None, std=None):
    """``module`` in a trainer compiled with the run's optimizer and schedule (``config``, its
    recipe filled in) on the CPU in float32, for a probe of a few updates on ``train``; the
    normalisation is ``mean``/``std``, else the data's."""
    from ..train import Model

    config = dataclasses.replace(config, device="cpu", precision="fp32", compile=False)
    mean, std = (train.mean, train.std) if mean is None else (mean, std)
    model = Model(module, device="cpu", mean=mean, std=std)
    steps = -(-len(train) // config.batch_size)
    return model.compile(**(config.compile_options(steps) | {"channels_last": False}))


def parse_model_spec(spec: str) -> tuple[str, dict]:
    """``"mlp:activation=sigmoid:hidden=32*9"`` -> ``("mlp", {"activation": "sigmoid",
    "hidden": (32,) * 9})``: a registry name, then ``key=value`` builder arguments, each value a
    number, a word, or a comma-separated list whose items may repeat (``32*9``: nine 32s).

    Raises:
        ClassicnetsError: an unknown model (close names suggested), an argument its builder
            does not take (those it takes listed), or a part without ``=``.
    """
    import inspect

    from ..models import model_info

    name, *parts = spec.split(":")
    info = model_info(name)
    takes = set(inspect.signature(info.builder).parameters) - {"num_classes", "in_channels"}
    kwargs: dict = {}
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ClassicnetsError(f"'{part}' in '{spec}' is not KEY=VALUE (e.g. hidden=32*9).")
        if key not in takes:
            raise ClassicnetsError(
                f"{name}'s builder takes no argument '{key}'; it takes {', '.join(sorted(takes))}."
            )
        items: list = []
        for item in value.split(","):
            word, star, count = item.partition("*")
            repeat = int(count) if star and count.isdigit() else 1
            items += [_number(word)] * repeat
        kwargs[key] = tuple(items) if "," in value or "*" in value else items[0]
    return name, kwargs


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _label(name: str, kwargs: dict | None) -> str:
    from ..models import create_model

    act = dict(kwargs or {}).get("activation")
    depth = dict(kwargs or {}).get("hidden")
    label = f"{name}, {len(depth) + 1} layers" if isinstance(depth, tuple) else name
    if act is None:
        with torch.device("meta"):
            module = create_model(name)
        kinds = {type(m).__name__ for m in module.modules()}
        act = next((a for a in ("Sigmoid", "Tanh", "ReLU") if a in kinds), None)
    return f"{label} ({act.lower()})" if act else label


def find_lr(
    config,
    *,
    out: str | os.PathLike | None = None,
    steps: int = 100,
    start: float = 1e-7,
    end: float = 10.0,
    notify: Callable[[str], None] | None = None,
) -> tuple[Path, dict]:
    """The learning-rate range test (Smith) of ``config.model`` on ``config.data``, with the
    run's optimizer, batch size and precision (its recipe where not given): loss against a rate
    growing exponentially each update, on a copy of a fresh model; the picture and the result.
    """
    from ..train.lr_find import lr_range_test
    from ..viz.lr import plot_lr_find
    from .kinds import TASKS

    path = png_path(out if out is not None else f"lr-find-{config.model}-{config.data}.png")
    config, _ = config.with_recipe()
    prepared = TASKS[config.KIND].prepare(config, notify or (lambda _: None))
    model = prepared["model"]
    result = lr_range_test(
        model,
        prepared["train"],
        start=start,
        end=end,
        steps=steps,
        batch_size=config.batch_size,
        seed=config.seed,
    )
    title = f"{config.model} on {config.data}: the learning-rate range test ({config.optimizer})"
    return plot_lr_find(result, path, title), result
