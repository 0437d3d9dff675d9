"""How large each layer's gradient is in the first updates of training: the picture of the
vanishing gradient (Hochreiter 1991; Glorot & Bengio 2010), where a deep net of sigmoids
passes back to its first layers a gradient orders of magnitude smaller than its last ones get.

:class:`GradientNorms` watches any ``fit``; :func:`gradient_norms` trains a scratch copy of a
model for a few updates with it, leaving the model itself as it was. :func:`probe_fit`, the
scratch training, also serves the learning-rate range test (:mod:`.lr_find`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..errors import ClassicnetsError
from .callbacks import Callback

if TYPE_CHECKING:
    from .model import Model


def _check_steps(steps: Any, what: str = "steps", least: int = 1) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < least:
        raise ClassicnetsError(f"{what} must be a whole number of at least {least}, got {steps!r}.")


def parametrised_layers(module: nn.Module) -> list[tuple[str, nn.Module, list[nn.Parameter]]]:
    """``(path, module, its own trainable parameters)`` for every module that holds weights
    itself, in definition order; a parameter shared by two modules counts for the first."""
    seen: set[int] = set()
    layers = []
    for name, sub in module.named_modules():
        own = [p for p in sub.parameters(recurse=False) if p.requires_grad and id(p) not in seen]
        seen.update(id(p) for p in own)
        if own:
            layers.append((name or type(module).__name__, sub, own))
    return layers


class GradientNorms(Callback):
    """Record, for the first ``steps`` updates of a ``fit``, the L2 norm of each weighted
    layer's gradient (all its own parameters together) and the batch's loss.

    The gradients are read as back-propagation leaves them in each parameter, so they are the
    loss's own: before clipping (``grad_clip``), and with float16's loss scale divided out.
    Layers are listed in the order the first forward pass calls them, named by module path;
    a layer whose weights get no gradient in the first update (frozen, unused) is left out.

    Attributes:
        layers: the layers' module paths, in forward order.
        norms: one list per recorded update, one norm per layer.
        loss: the loss of each recorded update's batch.
    """

    def __init__(self, steps: int = 50) -> None:
        _check_steps(steps)
        self.steps = steps
        self.layers: list[str] = []
        self.norms: list[list[float]] = []
        self.loss: list[float] = []
        self._handles: list[Any] = []  # the gradient hooks, removed once the steps are in
        self._order_handles: list[Any] = []  # the forward-order hooks, for the first update
        self._called: list[str] = []  # first calls of the first forward pass
        self._sums: dict[str, torch.Tensor] = {}  # this update's squared norms, by layer
        self._scale = 1.0

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        self.layers, self.norms, self.loss, self._called = [], [], [], []
        self._watch()

    def _watch(self) -> None:
        self._defined = parametrised_layers(self.model.module)
        for name, module, params in self._defined:
            self._order_handles.append(module.register_forward_pre_hook(self._first_call(name)))
            for p in params:
                self._handles.append(p.register_post_accumulate_grad_hook(self._add_grad(name)))

    def _first_call(self, name: str):
        def hook(module, inputs):
            if name not in self._called:
                self._called.append(name)

        return hook

    def _add_grad(self, name: str):
        def hook(param):
            square = param.grad.detach().float().pow(2).sum()
            self._sums[name] = self._sums[name] + square if name in self._sums else square

        return hook

    def on_train_batch_begin(self, step: int) -> None:
        self._sums = {}
        scaler = self.model.parts.scaler if self.model.parts is not None else None
        # float16 back-propagates loss * scale; the scale of this update is the current one.
        self._scale = float(scaler.get_scale()) if scaler is not None else 1.0

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if not self._handles:
            return
        if not self.norms:  # the first update fixes the layers and their order
            called = set(self._called)
            rest = [name for name, _, _ in self._defined if name not in called]
            self.layers = [name for name in self._called + rest if name in self._sums]
            self._unwatch_order()
        zero = torch.zeros((), device=self.model.device)
        squares = torch.stack([self._sums.get(name, zero) for name in self.layers])
        self.norms.append((squares.sqrt() / self._scale).tolist())
        self.loss.append(float(logs["loss"]))
        if len(self.norms) >= self.steps:
            self._unwatch()

    def on_train_end(self, logs: dict[str, Any]) -> None:
        self._unwatch()

    def _unwatch_order(self) -> None:
        for handle in self._order_handles:
            handle.remove()
        self._order_handles = []

    def _unwatch(self) -> None:
        self._unwatch_order()
        for handle in self._handles:
            handle.remove()
        self._handles, self._sums = [], {}

    def result(self) -> dict[str, Any]:
        """``{"layers": [...], "norms": [[...], ...], "loss": [...]}`` (JSON-able)."""
        norms = [list(row) for row in self.norms]
        return {"layers": list(self.layers), "norms": norms, "loss": list(self.loss)}


class _StopAfter(Callback):
    """End ``fit`` after ``steps`` updates."""

    def __init__(self, steps: int) -> None:
        self.steps, self.done = steps, 0

    def on_train_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        self.done += 1
        if self.done >= self.steps:
            self.model.stop_training = True


def scratch_copy(model: Model) -> Model:
    """A deep copy of a compiled model (weights, optimizer and schedule state, normalisation)
    to train without touching the original; it runs eagerly, as compiling a probe of a few
    updates would cost more than the updates."""
    if model.config is None or model.parts is None:
        raise ClassicnetsError(
            "The model must be compiled first (model.compile(...)): the probe trains with its "
            "optimizer, loss and precision."
        )
    if model._loop is not None:
        raise ClassicnetsError("The model is in the middle of fit(); probe it before or after.")
    memo: dict[int, Any] = {}
    if model._forward is not model.module:  # torch.compile's wrapper is not copied
        memo[id(model._forward)] = None
    twin = copy.deepcopy(model, memo)
    twin._forward = twin.module
    return twin


def probe_fit(
    model: Model,
    data: Any,
    callbacks: Sequence[Callback],
    *,
    steps: int,
    batch_size: int = 64,
    seed: int = 0,
    guard: bool = True,
) -> Model:
    """Train a :func:`scratch_copy` of ``model`` for ``steps`` updates (over as many epochs
    as that takes) with ``callbacks``, and return the copy; ``model`` is left as it was.

    Args:
        model: a compiled model.
        data: what ``fit`` takes.
        callbacks: watch (or steer) the updates.
        steps: updates to train; a callback may stop sooner.
        batch_size: examples per update.
        seed: the data order and dropout of the probe.
        guard: stop on a diverging loss (see :class:`~.callbacks.TerminateOnDivergence`).
    """
    _check_steps(steps)
    twin = scratch_copy(model)
    twin.fit(
        data,
        epochs=steps,  # every epoch has at least one update; _StopAfter ends it in time
        batch_size=batch_size,
        callbacks=[*callbacks, _StopAfter(steps)],
        seed=seed,
        guard=guard,
    )
    return twin


def gradient_norms(
    model: Model, data: Any, *, steps: int = 50, batch_size: int = 64, seed: int = 0
) -> dict[str, Any]:
    """Per-layer gradient norms over the first ``steps`` updates of training a copy of
    ``model`` (its weights, optimizer and schedule as they are now) on ``data``; the model
    itself, its optimizer included, is left as it was.

    Args:
        model: a compiled :class:`~.model.Model` (a fresh one shows the gradients at
            initialisation in its first update).
        data: what ``fit`` takes: an ImageDataset, an ``(inputs, targets)`` pair, token ids...
        steps: updates to record.
        batch_size: examples per update.
        seed: the data order of the probe.

    Returns:
        ``{"layers": [module paths, in forward order], "norms": [[one per layer] per update],
        "loss": [one per update]}``; see :class:`GradientNorms`.
    """
    recorder = GradientNorms(steps)
    probe_fit(model, data, [recorder], steps=steps, batch_size=batch_size, seed=seed)
    result = recorder.result()
    if not result["layers"]:
        raise ClassicnetsError("The model has no trainable weights that receive a gradient.")
    return result
