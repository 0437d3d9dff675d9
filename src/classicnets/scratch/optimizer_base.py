"""What every hand-written optimizer shares (the update rules are in :mod:`.optimizers`).

Every class reads like the algorithm box of a textbook (and of ``torch.optim``'s docs, whose
conventions we follow so that both agree step by step): ``g`` is the gradient, ``t`` the step
counter starting at 1, ``v``/``s``/``m``/``u`` the running quantities, ``m_hat``/``v_hat`` their
bias-corrected forms. An optimizer holds the parameters; ``step(grads)`` updates them in place
from gradients given in the same order (a hand-written network's ``grads``). ``lr`` is a plain
attribute, so a schedule sets it before each step: ``opt.lr = schedule(t)``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from typing import ClassVar

import torch
from torch import Tensor

from ..errors import ClassicnetsError, ShapeError


class Optimizer:
    """The common part: parameters, learning rate, step counter ``t`` and per-parameter state.

    Subclasses write only :meth:`update`, the equations for one parameter tensor.
    """

    default_lr: ClassVar[float] = 0.01

    def __init__(self, params: Iterable[Tensor], lr: float, weight_decay: float = 0.0) -> None:
        self.params: list[Tensor] = list(params)
        if not self.params or not all(isinstance(p, Tensor) for p in self.params):
            raise ClassicnetsError(
                f"{type(self).__name__}: params must be a non-empty list of tensors."
            )
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ClassicnetsError(
                f"{type(self).__name__}: the learning rate must be a number > 0, got {lr!r}."
            )
        self.lr = float(lr)
        self.weight_decay = self._positive("weight_decay", weight_decay, zero_ok=True)
        self.t = 0  # number of steps taken; the equations count from t = 1
        self.state: list[dict[str, Tensor]] = [{} for _ in self.params]

    # The settings' checks, each naming the optimizer and the bad value in one sentence.
    def _rate(self, name: str, value: float) -> float:
        """A decay rate (β, ρ, α, μ) in [0, 1): at 1 an average would never forget."""
        if not (isinstance(value, (int, float)) and 0 <= value < 1):
            raise ClassicnetsError(
                f"{type(self).__name__}: {name} must be in [0, 1), got {value!r}."
            )
        return float(value)

    def _positive(self, name: str, value: float, *, zero_ok: bool = False) -> float:
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        if not (ok and (value >= 0 if zero_ok else value > 0)):
            bound = ">= 0" if zero_ok else "> 0"
            raise ClassicnetsError(f"{type(self).__name__}: {name} must be {bound}, got {value!r}.")
        return float(value)

    def _betas(self, betas: tuple[float, float]) -> tuple[float, float]:
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ClassicnetsError(
                f"{type(self).__name__}: betas must be a pair (beta1, beta2), got {betas!r}."
            )
        return self._rate("beta1", betas[0]), self._rate("beta2", betas[1])

    def step(self, grads: Iterable[Tensor]) -> None:
        """Apply one update to every parameter, in place.

        Args:
            grads: dL/dθ for each parameter, in the order of ``params``, same shapes.
        """
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ShapeError(
                f"{type(self).__name__}.step got {len(grads)} gradients for "
                f"{len(self.params)} parameters; pass one gradient per parameter, in order."
            )
        for i, (theta, g) in enumerate(zip(self.params, grads, strict=True)):
            if g.shape != theta.shape:
                raise ShapeError(
                    f"{type(self).__name__}.step: gradient {i} has shape {tuple(g.shape)} "
                    f"but parameter {i} has shape {tuple(theta.shape)}."
                )
        self.t += 1
        # no_grad only so that a parameter which happens to require grad can be updated in place.
        with torch.no_grad():
            for theta, g, state in zip(self.params, grads, self.state, strict=True):
                self.update(theta, g.to(theta.dtype), state)

    def update(self, theta: Tensor, g: Tensor, state: dict[str, Tensor]) -> None:
        """Update one parameter ``theta`` in place from its gradient ``g`` (step ``self.t``)."""
        raise NotImplementedError

    def hyper_parameters(self) -> dict[str, object]:
        """The settings this optimizer was built with (besides ``params``)."""
        names = list(inspect.signature(type(self).__init__).parameters)[3:]  # after lr
        return {n: getattr(self, n) for n in names if hasattr(self, n)}

    def state_dict(self) -> dict[str, object]:
        """What the optimizer holds, for inspection: name, lr, t, settings, per-parameter state."""
        return {
            "optimizer": type(self).__name__,
            "lr": self.lr,
            "t": self.t,
            **self.hyper_parameters(),
            "state": [{k: v.clone() for k, v in s.items()} for s in self.state],
        }

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyper_parameters().items())
        return f"{type(self).__name__}(lr={self.lr!r}, {settings})"


def _zeros(state: dict[str, Tensor], key: str, like: Tensor) -> Tensor:
    if key not in state:
        state[key] = torch.zeros_like(like)
    return state[key]
