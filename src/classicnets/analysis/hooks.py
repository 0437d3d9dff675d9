"""One hook runner for everything that watches a model run: the summary (shapes, parameters,
MACs) and the receptive-field walk both push one example through a module with forward hooks
on its submodules, and both need the same care around it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from ..errors import ShapeError

PreHook = Callable[[str, nn.Module, tuple], None]
Hook = Callable[[str, nn.Module, tuple, Any], None]


def run_hooked(
    model: nn.Module,
    example: torch.Tensor | tuple[torch.Tensor, ...],
    *,
    label: str,
    size_text: str,
    hook: Hook,
    pre_hook: PreHook | None = None,
    modules: Iterable[tuple[str, nn.Module]] | None = None,
) -> None:
    """Run ``example`` through ``model`` once, in eval mode and without gradients, calling
    ``pre_hook(name, module, inputs)`` before and ``hook(name, module, inputs, output)`` after
    every call of each watched submodule.

    Args:
        model: the network; its training mode is restored afterwards, and every hook removed.
        example: the input batch, or a tuple of the inputs of a model that takes several (an
            encoder-decoder's source and target).
        label: how errors name the model, e.g. ``"model 'lenet5'"``.
        size_text: how errors name the input, e.g. ``"1x28x28"``.
        hook: called after each watched call.
        pre_hook: called before each watched call.
        modules: ``(name, module)`` pairs to watch; every module by default.

    Raises:
        ShapeError: the model cannot take the input (torch's first line of reason included).
    """
    watched = list(model.named_modules() if modules is None else modules)
    handles = []
    for name, module in watched:
        name = name or type(model).__name__
        if pre_hook is not None:
            handles.append(module.register_forward_pre_hook(lambda m, i, n=name: pre_hook(n, m, i)))
        handles.append(module.register_forward_hook(lambda m, i, o, n=name: hook(n, m, i, o)))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*example) if isinstance(example, tuple) else model(example)
    except RuntimeError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ShapeError(
            f"{label} cannot take a {size_text} input: {reason.rstrip('.')}."
        ) from None
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
