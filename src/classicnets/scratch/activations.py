"""Activation functions and their derivatives, written out by hand.

Backpropagation needs, for every hidden layer, the derivative f'(z) of its activation at the
net input z (the δ recursion δ_l = f'(z_l) ⊙ (W_{l+1}ᵀ δ_{l+1})). Each entry here pairs a
function with that derivative as a formula, never through autograd, so a reader can check the
calculus line by line (the tests compare both against torch's autograd).

Two lessons live in these formulas. The sigmoid's derivative σ'(x) = σ(x)(1 − σ(x)) is at most
1/4 (at x = 0), so a gradient passing through ten sigmoid layers shrinks by at least 4¹⁰: the
vanishing gradient. ReLU's derivative is exactly 1 wherever the unit is active, and Maxout's is
1 for the winning piece, which is why they train deep networks that sigmoids cannot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from ..errors import ClassicnetsError, unknown_name

Tensor = torch.Tensor


@dataclass(frozen=True)
class Activation:
    """An element-wise activation and its derivative.

    Attributes:
        name: the registry name, e.g. ``"leaky_relu"``.
        f: ``f(x, **hp) -> Tensor``, the function applied element by element.
        df: ``df(x, **hp) -> Tensor``, its derivative with respect to ``x`` (same shape).
        hyper: the hyper-parameters it takes and their defaults, e.g. ``{"slope": 0.01}``;
            PReLU's ``a`` is listed too, but a layer learns it as a parameter.
        formula: the function as the course writes it, for plots and help text.
    """

    name: str
    f: Callable[..., Tensor]
    df: Callable[..., Tensor]
    hyper: Mapping[str, float] = field(default_factory=dict, compare=False)
    formula: str = ""

    def __call__(self, x: Tensor, **hp) -> Tensor:
        return self.f(x, **hp)


def _sigmoid(x: Tensor) -> Tensor:
    return 1.0 / (1.0 + torch.exp(-x))  # exp(1000) = inf gives 0, the right limit


def _sigmoid_df(x: Tensor) -> Tensor:
    s = _sigmoid(x)
    return s * (1.0 - s)  # at most 1/4, at x = 0


def _tanh_df(x: Tensor) -> Tensor:
    t = torch.tanh(x)
    return 1.0 - t * t


def _relu(x: Tensor) -> Tensor:
    return torch.where(x > 0, x, torch.zeros_like(x))


def _relu_df(x: Tensor) -> Tensor:
    return (x > 0).to(x.dtype)  # 0 at x = 0, the sub-gradient torch picks too


def _leaky_relu(x: Tensor, slope: float = 0.01) -> Tensor:
    return torch.where(x > 0, x, slope * x)


def _leaky_relu_df(x: Tensor, slope: float = 0.01) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, slope))


def _prelu(x: Tensor, a: float | Tensor = 0.25) -> Tensor:
    return torch.where(x > 0, x, a * x)


def _prelu_df(x: Tensor, a: float | Tensor = 0.25) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), a * torch.ones_like(x))


def prelu_da(x: Tensor) -> Tensor:
    """PReLU's derivative with respect to its learned slope ``a``: x where x ≤ 0, else 0."""
    return torch.where(x > 0, torch.zeros_like(x), x)


def _elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    # expm1 on the clamped input: no overflow for large positive x, which the branch discards.
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0.0)))


def _elu_df(x: Tensor, alpha: float = 1.0) -> Tensor:
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0.0)))


def _softplus(x: Tensor) -> Tensor:
    # log(1 + e^x) = max(x, 0) + log(1 + e^{-|x|}): never overflows.
    return torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-torch.abs(x)))


def _gelu(x: Tensor) -> Tensor:
    return x * _normal_cdf(x)


def _gelu_df(x: Tensor) -> Tensor:
    # d/dx [x Φ(x)] = Φ(x) + x φ(x), φ the standard normal density.
    density = torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return _normal_cdf(x) + x * density


def _normal_cdf(x: Tensor) -> Tensor:
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("sigmoid", _sigmoid, _sigmoid_df, {}, "σ(x) = 1 / (1 + e^(−x))"),
        Activation("tanh", torch.tanh, _tanh_df, {}, "tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x))"),
        Activation("relu", _relu, _relu_df, {}, "ReLU(x) = max(0, x)"),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_df, {"slope": 0.01}, "max(x, slope·x)"),
        Activation("prelu", _prelu, _prelu_df, {"a": 0.25}, "max(x, a·x), a learned"),
        Activation("elu", _elu, _elu_df, {"alpha": 1.0}, "x if x > 0 else α(e^x − 1)"),
        Activation("softplus", _softplus, _sigmoid, {}, "log(1 + e^x)"),
        Activation("gelu", _gelu, _gelu_df, {}, "x·Φ(x), Φ the normal CDF"),
    ]
}


def get_activation(name: str) -> Activation:
    """The activation called ``name``.

    Args:
        name: one of :data:`ACTIVATIONS` (``"sigmoid"``, ``"relu"``, ...).

    Returns:
        The :class:`Activation`.

    Raises:
        UnknownNameError: an unknown name; the message suggests the closest known ones.
    """
    if name not in ACTIVATIONS:
        raise unknown_name("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]


def check_hyper(activation: Activation, hp: Mapping[str, float]) -> dict[str, float]:
    """The activation's hyper-parameters: its defaults, overridden by ``hp``.

    Raises:
        ClassicnetsError: a name the activation does not take.
    """
    extra = sorted(set(hp) - set(activation.hyper))
    if extra:
        takes = ", ".join(activation.hyper) or "no hyper-parameters"
        raise ClassicnetsError(
            f"Activation '{activation.name}' takes {takes}, not {', '.join(extra)}."
        )
    return {**activation.hyper, **hp}


def check_pieces(k: int) -> None:
    """Raise unless ``k`` is a whole number of at least 2 (Maxout's pieces per unit)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ClassicnetsError(
            f"Maxout needs k ≥ 2 pieces per unit, got k={k!r}; with one piece it is a linear unit."
        )


def _groups(z: Tensor, k: int) -> Tensor:
    """``z`` (..., units·k) viewed as (..., units, k): unit j's pieces are z[..., jk : (j+1)k]."""
    check_pieces(k)
    if z.shape[-1] % k:
        raise ClassicnetsError(
            f"Maxout with k={k} needs a last dimension divisible by {k}, got {z.shape[-1]}."
        )
    return z.reshape(*z.shape[:-1], z.shape[-1] // k, k)


def maxout(z: Tensor, k: int) -> Tensor:
    """Maxout: each unit outputs the largest of its k linear pieces.

    Args:
        z: the pieces (..., units·k); unit j owns z[..., j·k : (j+1)·k].
        k: pieces per unit, at least 2.

    Returns:
        (..., units), h_j = max_i z[..., j·k + i].

    Raises:
        ClassicnetsError: k < 2, or a last dimension that k does not divide.
    """
    return _groups(z, k).max(dim=-1).values


def maxout_mask(z: Tensor, k: int) -> Tensor:
    """Maxout's derivative: ∂h_j/∂z is 1 for the winning piece of unit j and 0 for the others.

    Args:
        z: the pieces (..., units·k), as :func:`maxout` takes them.
        k: pieces per unit, at least 2.

    Returns:
        A 0/1 tensor shaped like ``z``; on a tie the first winner takes the gradient.
    """
    groups = _groups(z, k)  # (..., units, k)
    winner = groups.argmax(dim=-1, keepdim=True)  # (..., units, 1)
    mask = torch.zeros_like(groups).scatter_(-1, winner, 1.0)
    return mask.reshape(z.shape)
