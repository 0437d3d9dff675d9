"""The optimizers as their update equations, one small class each, no autograd.

Every class reads like the algorithm box of a textbook (and of ``torch.optim``'s docs, whose
conventions we follow so that both agree step by step): ``g`` is the gradient, ``t`` the step
counter starting at 1, ``v``/``s``/``m``/``u`` the running quantities, ``m_hat``/``v_hat`` their
bias-corrected forms. An optimizer holds the parameters; ``step(grads)`` updates them in place
from gradients given in the same order (a hand-written network's ``grads``). ``lr`` is a plain
attribute, so a schedule sets it before each step: ``opt.lr = schedule(t)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable

import torch
from torch import Tensor

from ..errors import ClassicnetsError, unknown_name
from .optimizer_base import Optimizer, _zeros


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay.

    ::

        g ← g + λθ                         (weight decay λ, when λ > 0)
        plain:     θ ← θ − η g
        momentum:  v ← μ v + g ;  θ ← θ − η v
        Nesterov:  v ← μ v + g ;  θ ← θ − η (g + μ v)

    The momentum form is the textbook ``v ← μv − η g; θ ← θ + v`` with the velocity measured in
    gradient units (v_here = −v_textbook / η): the same path while η is constant, and the form
    ``torch.optim.SGD`` uses. The Nesterov form is Sutskever et al.'s look-ahead gradient
    ``∇f(θ + μv)`` rewritten in terms of the current point (Bengio et al. 2013), again torch's.
    """

    default_lr = 0.01

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        *,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = self._rate("momentum", momentum)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ClassicnetsError(
                f"{type(self).__name__}: Nesterov momentum needs momentum > 0, got 0."
            )

    def update(self, theta: Tensor, g: Tensor, state: dict[str, Tensor]) -> None:
        eta, mu, lam = self.lr, self.momentum, self.weight_decay
        if lam:
            g = g + lam * theta
        if mu:
            v = state["v"] = mu * _zeros(state, "v", g) + g
            g = g + mu * v if self.nesterov else v
        theta.sub_(eta * g)


class Momentum(SGD):
    """SGD with (heavy-ball) momentum μ = 0.9 by default: ``v ← μv + g; θ ← θ − ηv``."""

    def __init__(self, params, lr: float = 0.01, *, momentum=0.9, weight_decay=0.0) -> None:
        super().__init__(params, lr, momentum=momentum, weight_decay=weight_decay)


class Nesterov(SGD):
    """SGD with Nesterov momentum μ = 0.9 by default: ``v ← μv + g; θ ← θ − η(g + μv)``."""

    def __init__(self, params, lr: float = 0.01, *, momentum=0.9, weight_decay=0.0) -> None:
        super().__init__(params, lr, momentum=momentum, nesterov=True, weight_decay=weight_decay)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): each coordinate's step shrinks with its gradient history.

    ::

        g ← g + λθ                         (weight decay λ)
        η_t ← η / (1 + (t − 1) · lr_decay)
        s ← s + g²                         (s starts at initial_accumulator_value)
        θ ← θ − η_t g / (√s + ε)
    """

    default_lr = 0.01

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        *,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        lr_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.eps = self._positive("eps", eps)
        self.lr_decay = self._positive("lr_decay", lr_decay, zero_ok=True)
        self.initial_accumulator_value = self._positive(
            "initial_accumulator_value", initial_accumulator_value, zero_ok=True
        )

    def update(self, theta: Tensor, g: Tensor, state: dict[str, Tensor]) -> None:
        t, eps, lam = self.t, self.eps, self.weight_decay
        if lam:
            g = g + lam * theta
        eta_t = self.lr / (1 + (t - 1) * self.lr_decay)
        if "s" not in state:
            state["s"] = torch.full_like(theta, self.initial_accumulator_value)
        s = state["s"] = state["s"] + g**2
        theta.sub_(eta_t * g / (s.sqrt() + eps))


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e): Adagrad with a forgetting average of g².

    ::

        g ← g + λθ                         (weight decay λ)
        v ← α v + (1 − α) g²
        ṽ ← v − ḡ²,  ḡ ← α ḡ + (1 − α) g  (only when centered)
        plain:     θ ← θ − η g / (√ṽ + ε)
        momentum:  b ← μ b + g / (√ṽ + ε) ;  θ ← θ − η b
    """

    default_lr = 0.01

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.alpha = self._rate("alpha", alpha)
        self.eps = self._positive("eps", eps)
        self.momentum = self._rate("momentum", momentum)
        self.centered = bool(centered)

    def update(self, theta: Tensor, g: Tensor, state: dict[str, Tensor]) -> None:
        eta, alpha, eps, mu, lam = self.lr, self.alpha, self.eps, self.momentum, self.weight_decay
        if lam:
            g = g + lam * theta
        v = state["v"] = alpha * _zeros(state, "v", g) + (1 - alpha) * g**2
        v_tilde = v
        if self.centered:
            g_avg = state["g_avg"] = alpha * _zeros(state, "g_avg", g) + (1 - alpha) * g
            v_tilde = v - g_avg**2
        if mu:
            b = state["b"] = mu * _zeros(state, "b", g) + g / (v_tilde.sqrt() + eps)
            theta.sub_(eta * b)
        else:
            theta.sub_(eta * g / (v_tilde.sqrt() + eps))


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): the step's units come from a running average of past steps.

    ::

        g ← g + λθ                         (weight decay λ)
        v ← ρ v + (1 − ρ) g²
        Δθ ← √(u + ε) / √(v + ε) · g
        u ← ρ u + (1 − ρ) Δθ²
        θ ← θ − η Δθ                       (η = 1 in the paper, torch's default)
    """

    default_lr = 1.0

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1.0,
        *,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.rho = self._rate("rho", rho)
        self.eps = self._positive("eps", eps)

    def update(self, theta: Tensor, g: Tensor, state: dict[str, Tensor]) -> None:
        eta, rho, eps, lam = self.lr, self.rho, self.eps, self.weight_decay
        if lam:
            g = g + lam * theta
        v = state["v"] = rho * _zeros(state, "v", g) + (1 - rho) * g**2
        u = _zeros(state, "u", g)
        delta = (u + eps).sqrt() / (v + eps).sqrt() * g
        state["u"] = rho * u + (1 - rho) * delta**2
        theta.sub_(eta * delta)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): momentum on g and RMSprop on g², both bias-corrected.

    ::

        g ← g + λθ                         (L2 weight decay λ, added to the gradient)
        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        m̂ ← m / (1 − β₁ᵗ) ;  v̂ ← v / (1 − β₂ᵗ)
        θ ← θ − η m̂ / (√v̂ + ε)
    """

    default_lr = 1e-3

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.betas = self._betas(betas)
        self.eps = self._positive("eps", eps)

    def decay_weights(self, theta: Tensor, g: Tensor) -> Tensor:
        """Adam's L2 decay goes into the gradient; AdamW overrides this."""
        return g + self.weight_decay * theta if self.weight_decay else g

    def update(self, theta: Tensor, g: Tensor, state: dict[str, Tensor]) -> None:
        (beta1, beta2), eta, eps, t = self.betas, self.lr, self.eps, self.t
        g = self.decay_weights(theta, g)
        m = state["m"] = beta1 * _zeros(state, "m", g) + (1 - beta1) * g
        v = state["v"] = beta2 * _zeros(state, "v", g) + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        theta.sub_(eta * m_hat / (v_hat.sqrt() + eps))


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): Adam with the weight decay taken out of the gradient.

    ::

        θ ← θ − η λ θ                      (decoupled: it never meets m or v)
        then Adam's update with the raw gradient g
    """

    default_lr = 1e-3

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def decay_weights(self, theta: Tensor, g: Tensor) -> Tensor:
        theta.mul_(1 - self.lr * self.weight_decay)
        return g


class Nadam(Optimizer):
    """Nadam (Dozat 2016): Adam with Nesterov momentum, in torch's form with a μ schedule.

    ::

        g ← g + λθ                         (weight decay λ)
        μ_t ← β₁ (1 − ½ · 0.96^(t ψ))      (ψ = momentum_decay; μ warms up towards β₁)
        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        m̂ ← μ_{t+1} m / (1 − ∏_{i≤t+1} μ_i) + (1 − μ_t) g / (1 − ∏_{i≤t} μ_i)
        v̂ ← v / (1 − β₂ᵗ)
        θ ← θ − η m̂ / (√v̂ + ε)
    """

    default_lr = 2e-3

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 2e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.betas = self._betas(betas)
        self.eps = self._positive("eps", eps)
        self.momentum_decay = self._positive("momentum_decay", momentum_decay, zero_ok=True)

    def mu(self, t: int) -> float:
        """The momentum coefficient μ_t of step t."""
        return self.betas[0] * (1 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def update(self, theta: Tensor, g: Tensor, state: dict[str, Tensor]) -> None:
        (beta1, beta2), eta, eps, t, lam = self.betas, self.lr, self.eps, self.t, self.weight_decay
        if lam:
            g = g + lam * theta
        mu_t, mu_next = self.mu(t), self.mu(t + 1)
        if "mu_product" not in state:
            state["mu_product"] = torch.ones((), dtype=torch.float64)
        mu_product = state["mu_product"] = state["mu_product"] * mu_t  # ∏_{i≤t} μ_i
        m = state["m"] = beta1 * _zeros(state, "m", g) + (1 - beta1) * g
        v = state["v"] = beta2 * _zeros(state, "v", g) + (1 - beta2) * g**2
        prod_t = float(mu_product)
        m_hat = mu_next * m / (1 - prod_t * mu_next) + (1 - mu_t) * g / (1 - prod_t)
        v_hat = v / (1 - beta2**t)
        theta.sub_(eta * m_hat / (v_hat.sqrt() + eps))


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
    "adam": Adam,
    "nadam": Nadam,
    "adamw": AdamW,
}


def make_optimizer(
    name: str, params: Iterable[Tensor], lr: float | None = None, **hp: object
) -> Optimizer:
    """Build a registered optimizer by name.

    Args:
        name: one of :data:`OPTIMIZERS` (``"sgd"``, ``"momentum"``, ``"adam"``, ...).
        params: the tensors to update, in the order their gradients will come.
        lr: the learning rate; ``None`` takes the optimizer's usual default
            (0.01 for the SGD family, Adagrad and RMSprop, 1.0 for Adadelta, 1e-3 for Adam
            and AdamW, 2e-3 for Nadam: torch's defaults, except SGD's 1e-3).
        **hp: hyper-parameters of that optimizer (``momentum``, ``betas``, ``eps``, ...).

    Returns:
        The optimizer.
    """
    if name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, OPTIMIZERS)
    cls = OPTIMIZERS[name]
    allowed = list(inspect.signature(cls.__init__).parameters)[3:]
    for key in hp:
        if key not in allowed:
            raise ClassicnetsError(
                f"Optimizer '{name}' has no hyper-parameter '{key}'; it takes {', '.join(allowed)}."
            )
    return cls(params, cls.default_lr if lr is None else lr, **hp)
