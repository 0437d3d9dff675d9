"""Layers with a hand-written forward and backward pass (the losses are in :mod:`.losses`).

Every layer keeps what its forward pass saw and answers two questions in ``backward(delta)``:
given δ = ∂L/∂(its output), what is ∂L/∂(its input) (returned, handed to the layer below), and
what is ∂L/∂(each of its weights) (stored in ``grads``)? Chaining those answers from the loss
down to the input is backpropagation (:meth:`classicnets.scratch.network.Network.backward`).

Shapes: a batch of N examples; fully connected layers take (N, features), images are
(N, C, H, W). Parameters live in ``params`` and are updated in place by an optimizer.
"""

from __future__ import annotations

import math

import torch

from ..errors import ClassicnetsError, ShapeError
from .activations import check_hyper, check_pieces, get_activation, maxout, maxout_mask, prelu_da
from .losses import MeanSquaredError, SoftmaxCrossEntropy  # noqa: F401  (re-exported)

Tensor = torch.Tensor
INITS = ("he", "xavier")


class LayerMismatch(ShapeError):
    """A layer's input shape is not what the layer takes; the network names both layers."""


def describe_shape(shape: tuple[int, ...]) -> str:
    """``(128,)`` -> ``"128"``, ``(8, 12, 12)`` -> ``"(8, 12, 12)"``: what a layer gives."""
    shape = tuple(shape)
    return str(shape[0]) if len(shape) == 1 else str(shape)


class Layer:
    """The interface every hand-written layer answers.

    Attributes:
        name: e.g. ``"linear1"``; a :class:`~classicnets.scratch.network.Network` numbers the
            unnamed ones by kind.
        params: the learned tensors, e.g. ``{"W": (out, in), "b": (out,)}``; ``{}`` when none.
        grads: the same keys, filled by :meth:`backward`.
        buffers: state that is not learned by gradients (batch norm's running statistics).
    """

    kind = "layer"

    def __init__(self) -> None:
        self.name = ""
        self.params: dict[str, Tensor] = {}
        self.grads: dict[str, Tensor] = {}
        self.buffers: dict[str, Tensor] = {}

    @property
    def label(self) -> str:
        """How messages call the layer: its name, or its class before a network names it."""
        return self.name or type(self).__name__

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        """The layer's output for the batch ``x``; remembers what backward needs."""
        raise NotImplementedError

    def backward(self, delta: Tensor) -> Tensor:
        """Given δ = ∂L/∂(output), fill ``grads`` and return ∂L/∂(input) (shaped like x)."""
        raise NotImplementedError

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output shape of one example (no batch dimension); element-wise by default.

        Raises:
            ShapeError: when an example of ``input_shape`` does not fit the layer.
        """
        return tuple(input_shape)

    def expects(self) -> str:
        """What one example must look like, in words (for the error when layers do not chain)."""
        return "any shape"

    def mismatch(self, input_shape: tuple[int, ...]) -> LayerMismatch:
        return LayerMismatch(
            f"{self.label} expects {self.expects()} but gets {describe_shape(input_shape)}."
        )

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={tuple(v.shape)}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.label}{', ' + shapes if shapes else ''})"


def init_weight(
    shape: tuple[int, ...],
    fan_in: int,
    fan_out: int,
    init: str,
    generator: torch.Generator | None,
    dtype: torch.dtype,
) -> Tensor:
    """Gaussian weights: He (std √(2/fan_in), for ReLU-like units) or Xavier/Glorot
    (std √(2/(fan_in + fan_out)), for sigmoid and tanh), so activations neither blow up nor
    die out layer after layer."""
    if init not in INITS:
        raise ClassicnetsError(f"init must be 'he' or 'xavier', got {init!r}.")
    std = math.sqrt(2.0 / fan_in) if init == "he" else math.sqrt(2.0 / (fan_in + fan_out))
    return torch.randn(shape, generator=generator, dtype=dtype) * std


def _check_matrix(layer: Layer, x: Tensor, features: int) -> None:
    if x.dim() != 2 or x.shape[1] != features:
        raise ShapeError(
            f"{layer.label} takes a batch (N, {features}), got shape {tuple(x.shape)}; "
            "flatten images first."
        )


class Linear(Layer):
    """A fully connected layer z = x Wᵀ + b.

    Backward, with δ = ∂L/∂z (N, out): ∂L/∂W = δᵀ x, ∂L/∂b = Σ_n δ_n, ∂L/∂x = δ W, the
    "Wᵀ δ" of Algorithm 4.1 written for a batch of row vectors.
    """

    kind = "linear"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: str = "he",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        shape = (out_features, in_features)
        weight = init_weight(shape, in_features, out_features, init, generator, dtype)
        self.params = {"W": weight, "b": torch.zeros(out_features, dtype=dtype)}

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        _check_matrix(self, x, self.in_features)
        self.x = x  # (N, in)
        return x @ self.params["W"].T + self.params["b"]  # (N, out)

    def backward(self, delta: Tensor) -> Tensor:
        # delta: (N, out) = ∂L/∂z
        self.grads = {"W": delta.T @ self.x, "b": delta.sum(dim=0)}  # (out, in), (out,)
        return delta @ self.params["W"]  # (N, in) = ∂L/∂x

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(input_shape) != (self.in_features,):
            raise self.mismatch(input_shape)
        return (self.out_features,)

    def expects(self) -> str:
        return f"{self.in_features} features"


class Act(Layer):
    """An element-wise activation a = f(z); backward is δ_z = f'(z) ⊙ δ_a.

    PReLU learns its negative slope ``a`` (one scalar shared by all units, as in
    ``torch.nn.PReLU()``): ∂L/∂a = Σ δ_a ⊙ ∂f/∂a, with ∂f/∂a = z where z ≤ 0.

    Args:
        name: the activation, one of :data:`~classicnets.scratch.activations.ACTIVATIONS`.
        dtype: the dtype of PReLU's parameter.
        **hp: its hyper-parameters (``slope`` for leaky_relu, ``alpha`` for elu, ``a`` as
            PReLU's starting slope).
    """

    def __init__(self, name: str, *, dtype: torch.dtype = torch.float32, **hp: float) -> None:
        super().__init__()
        self.activation = get_activation(name)
        self.kind = name
        self.hp = check_hyper(self.activation, hp)
        if name == "prelu":
            self.params = {"a": torch.tensor(float(self.hp.pop("a")), dtype=dtype)}

    def _hp(self) -> dict:
        return {**self.hp, **self.params}  # PReLU: a comes from params, the learned value

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        self.z = x  # the net input, any shape; f'(z) is needed in backward
        return self.activation.f(x, **self._hp())  # same shape

    def backward(self, delta: Tensor) -> Tensor:
        if "a" in self.params:
            self.grads = {"a": (delta * prelu_da(self.z)).sum()}
        return self.activation.df(self.z, **self._hp()) * delta  # f'(z) ⊙ δ


class Maxout(Layer):
    """Maxout units: k linear pieces per unit, h_j = max_i (x W_{jk+i}ᵀ + b_{jk+i}).

    The weights hold all pieces: W (out·k, in), rows j·k ... j·k + k − 1 belonging to unit j.
    Backward routes each δ_j to the winning piece only, then on through the linear map.
    """

    kind = "maxout"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        k: int = 2,
        *,
        init: str = "xavier",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        check_pieces(k)
        self.in_features, self.out_features, self.k = in_features, out_features, k
        pieces = out_features * k
        self.params = {
            "W": init_weight(
                (pieces, in_features), in_features, out_features, init, generator, dtype
            ),
            "b": torch.zeros(pieces, dtype=dtype),
        }

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        _check_matrix(self, x, self.in_features)
        self.x = x  # (N, in)
        z = x @ self.params["W"].T + self.params["b"]  # (N, out·k)
        self.mask = maxout_mask(z, self.k)  # (N, out·k), 1 at each unit's winner
        return maxout(z, self.k)  # (N, out)

    def backward(self, delta: Tensor) -> Tensor:
        # delta (N, out) -> the pieces: (N, out·k), zero for every losing piece
        delta_z = self.mask * delta.repeat_interleave(self.k, dim=1)
        self.grads = {"W": delta_z.T @ self.x, "b": delta_z.sum(dim=0)}
        return delta_z @ self.params["W"]  # (N, in)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(input_shape) != (self.in_features,):
            raise self.mismatch(input_shape)
        return (self.out_features,)

    def expects(self) -> str:
        return f"{self.in_features} features"


class Dropout(Layer):
    """Dropout: during training each unit is kept with probability 1 − p.

    Two conventions keep the expected activation the same at training and test time:
    ``inverted=True`` (the modern one) scales the kept units by 1/(1 − p) while training and
    does nothing at test time; ``inverted=False`` (the original paper's) leaves the kept units
    alone while training and scales everything by (1 − p) at test time. Backward multiplies δ
    by exactly what forward multiplied x by.

    Args:
        p: the probability of dropping a unit, in [0, 1).
        inverted: which convention.
        generator: the random source of the masks (fix it for reproducible masks).
    """

    kind = "dropout"

    def __init__(
        self, p: float, *, inverted: bool = True, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ClassicnetsError(
                f"Dropout probability p must be in [0, 1), got {p!r}; p = 1 would drop every unit."
            )
        self.p, self.inverted, self.generator = float(p), inverted, generator
        self.mask: Tensor | None = None
        self.reuse_mask = False  # a gradient check needs the same mask on every forward

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        keep = 1.0 - self.p
        if not training:
            self.scale = torch.ones((), dtype=x.dtype) if self.inverted else keep
            return x * self.scale
        if not (self.reuse_mask and self.mask is not None and self.mask.shape == x.shape):
            draw = torch.rand(x.shape, generator=self.generator, dtype=x.dtype)
            self.mask = (draw >= self.p).to(x.dtype)  # 1 = kept, with probability 1 - p
        self.scale = self.mask / keep if self.inverted else self.mask
        return x * self.scale

    def backward(self, delta: Tensor) -> Tensor:
        return delta * self.scale


class BatchNorm(Layer):
    """Batch normalisation: y = γ · (x − μ) / √(σ² + ε) + β per feature (or per channel).

    Training uses the batch's mean μ and (biased) variance σ², over N for (N, F) inputs and
    over N, H, W for (N, C, H, W), and moves the running statistics towards them
    (running = (1 − momentum) · running + momentum · batch, the variance unbiased, as torch
    does). Inference uses the running statistics, so an example's output does not depend on
    its batch.

    Backward in training must account for μ and σ² depending on every example: with
    x̂ = (x − μ)/σ and g = γ δ, ∂L/∂x = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / σ.
    """

    kind = "batchnorm"

    def __init__(
        self,
        features: int,
        *,
        momentum: float = 0.1,
        eps: float = 1e-5,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.features, self.momentum, self.eps = features, momentum, eps
        self.params = {
            "gamma": torch.ones(features, dtype=dtype),
            "beta": torch.zeros(features, dtype=dtype),
        }
        self.running_mean = torch.zeros(features, dtype=dtype)
        self.running_var = torch.ones(features, dtype=dtype)
        self.buffers = {"running_mean": self.running_mean, "running_var": self.running_var}

    def _layout(self, x: Tensor) -> tuple[tuple[int, ...], list[int]]:
        """The dimensions to average over and the shape that lines a (F,) vector up with x."""
        if x.dim() not in (2, 4) or x.shape[1] != self.features:
            raise ShapeError(
                f"{self.label} takes (N, {self.features}) or (N, {self.features}, H, W), "
                f"got shape {tuple(x.shape)}."
            )
        dims = (0,) if x.dim() == 2 else (0, 2, 3)
        return dims, [1, self.features] + [1] * (x.dim() - 2)

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        dims, line = self._layout(x)
        self.training = training
        if training:
            count = x.numel() // self.features  # values per feature in this batch
            if count < 2:
                raise ShapeError(
                    f"{self.label} needs more than one value per feature to train, got shape "
                    f"{tuple(x.shape)}; use a batch of at least 2."
                )
            mean = x.mean(dim=dims)  # (F,)
            var = ((x - mean.view(line)) ** 2).mean(dim=dims)  # (F,), biased
            with torch.no_grad():  # in place, so anyone holding these tensors sees the update
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(
                    self.momentum * var * count / (count - 1)
                )
        else:
            mean, var = self.running_mean, self.running_var
        self.std = torch.sqrt(var + self.eps).view(line)
        self.x_hat = (x - mean.view(line)) / self.std  # shaped like x
        self.dims, self.line = dims, line
        return self.params["gamma"].view(line) * self.x_hat + self.params["beta"].view(line)

    def backward(self, delta: Tensor) -> Tensor:
        self.grads = {
            "gamma": (delta * self.x_hat).sum(dim=self.dims),
            "beta": delta.sum(dim=self.dims),
        }
        g = delta * self.params["gamma"].view(self.line)  # ∂L/∂x̂
        if not self.training:  # fixed statistics: a per-feature affine map
            return g / self.std
        mean_g = g.mean(dim=self.dims, keepdim=True)
        mean_gx = (g * self.x_hat).mean(dim=self.dims, keepdim=True)
        return (g - mean_g - self.x_hat * mean_gx) / self.std

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = tuple(input_shape)
        if len(shape) not in (1, 3) or shape[0] != self.features:
            raise self.mismatch(shape)
        return shape

    def expects(self) -> str:
        return f"{self.features} features or ({self.features}, H, W) maps"


class Flatten(Layer):
    """(N, C, H, W) -> (N, C·H·W), the bridge from convolutions to fully connected layers."""

    kind = "flatten"

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, delta: Tensor) -> Tensor:
        return delta.reshape(self.shape)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(input_shape),)
