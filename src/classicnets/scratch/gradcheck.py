"""The numerical gradient check: trust backpropagation only once finite differences agree.

For every weight θ the central difference (L(θ + ε) − L(θ − ε)) / 2ε approximates ∂L/∂θ with
an error of order ε². It costs two forward passes per weight, so it is for tiny networks and a
few examples, in float64 (in float32 the rounding of L swamps a difference of ε = 1e-6).

Two things must stay fixed while the weights are nudged: the dropout masks (each forward pass
would otherwise draw new ones) and batch norm's running statistics (each training forward pass
moves them); both are restored afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

from .layers import Dropout
from .network import Network

Tensor = torch.Tensor
NOISE_FLOOR = 1e-3  # gradient norms below this count as this small (see check_gradients)


@contextmanager
def _frozen(network: Network):
    """Reuse the current dropout masks and put the running statistics back on exit."""
    dropouts = [layer for layer in network.layers if isinstance(layer, Dropout)]
    saved = [(b, b.clone()) for layer in network.layers for b in layer.buffers.values()]
    for layer in dropouts:
        layer.reuse_mask = True
    try:
        yield
    finally:
        for layer in dropouts:
            layer.reuse_mask = False
        for buffer, value in saved:
            buffer.copy_(value)


def numerical_gradients(network: Network, x: Tensor, y: Tensor, eps: float = 1e-6) -> list[Tensor]:
    """∂L/∂θ for every parameter by central differences, in the order of ``network.params``.

    The loss is the training-mode one (batch statistics, dropout); the masks of dropout
    layers are drawn once, by a first forward pass, and then held fixed.

    Args:
        network: the network; its weights are nudged and put back exactly.
        x: a (small) batch of inputs.
        y: their labels or targets.
        eps: the step ε.

    Returns:
        One tensor per parameter, shaped like it.
    """
    with _frozen(network):
        network.loss(x, y, training=True)  # draws the dropout masks that stay fixed
        gradients = []
        for param in network.params:
            grad = torch.zeros_like(param)
            flat_param, flat_grad = param.view(-1), grad.view(-1)
            for i in range(flat_param.numel()):
                kept = flat_param[i].item()
                flat_param[i] = kept + eps
                above = network.loss(x, y, training=True)
                flat_param[i] = kept - eps
                below = network.loss(x, y, training=True)
                flat_param[i] = kept
                flat_grad[i] = (above - below) / (2 * eps)
            gradients.append(grad)
    return gradients


def check_gradients(network: Network, x: Tensor, y: Tensor, eps: float = 1e-6) -> float:
    """The largest relative error between backpropagation's and the numerical gradients.

    Per parameter tensor the error is ‖g_backprop − g_numerical‖ / max(‖g_backprop‖ +
    ‖g_numerical‖, 1e-3); the result is the worst one. The floor keeps a gradient that is zero
    in theory (a bias just before batch norm) from dividing the finite differences' rounding
    noise (~1e-10) by nothing. Below about 1e-6 in float64 the two agree; above 1e-3 backward
    is wrong somewhere.

    Args:
        network: the network; after the call its ``grads`` hold backpropagation's gradients.
        x: a (small) batch of inputs.
        y: their labels or targets.
        eps: the finite-difference step.

    Returns:
        The largest relative error over the parameter tensors.
    """
    numerical = numerical_gradients(network, x, y, eps)
    with _frozen(network):
        network.loss(x, y, training=True)  # the same fixed masks as the numerical pass
        network.backward()
    worst = 0.0
    for analytic, estimate in zip(network.grads, numerical, strict=True):
        scale = max(float(analytic.norm() + estimate.norm()), NOISE_FLOOR)
        worst = max(worst, float((analytic - estimate).norm()) / scale)
    return worst
