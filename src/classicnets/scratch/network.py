"""A network as a list of hand-written layers, trained by backpropagation written out as the
error terms δ of Algorithm 4.1 (SGD-based backpropagation).

For a fully connected network with net inputs z_l = W_l a_{l−1} + b_l and activations
a_l = f_l(z_l), the algorithm computes, for every layer l from the output down,

    δ_L = ∂L/∂z_L = ŷ − y                     (softmax + cross-entropy; /N for a batch mean)
    δ_l = ∂L/∂z_l = f_l'(z_l) ⊙ (W_{l+1}ᵀ δ_{l+1})
    ∂L/∂W_l = δ_l a_{l−1}ᵀ,   ∂L/∂b_l = δ_l

Here each of those steps is one layer's ``backward``: a :class:`~.layers.Linear` layer turns
δ_{l+1} into W_{l+1}ᵀ δ_{l+1} (and stores ∂L/∂W, ∂L/∂b), the activation layer below multiplies
it by f_l'(z_l), giving δ_l. Convolutions, pooling, dropout and batch norm slot into the same
chain because each answers the same question: given ∂L/∂(my output), what is ∂L/∂(my input)?
"""

from __future__ import annotations

import torch

from ..errors import ClassicnetsError, ShapeError, unknown_name
from .activations import ACTIVATIONS
from .conv_layers import Conv2d, Pool2d
from .layers import (
    Act,
    BatchNorm,
    Dropout,
    Flatten,
    Layer,
    LayerMismatch,
    Linear,
    Maxout,
    SoftmaxCrossEntropy,
    describe_shape,
)

Tensor = torch.Tensor
ACTIVATION_NAMES = (*ACTIVATIONS, "maxout")


class Network:
    """A list of layers and a loss.

    Args:
        layers: the layers, input first. Unnamed layers are named by kind and count
            (``linear1``, ``relu1``, ``linear2``, ...).
        loss: a loss object with ``forward(outputs, targets) -> float`` and ``backward()``
            (:class:`~.layers.SoftmaxCrossEntropy`, :class:`~.layers.MeanSquaredError`).
        input_shape: the shape of one example; when given, the layers are checked to chain.

    Raises:
        ShapeError: when ``input_shape`` is given and two neighbouring layers do not fit,
            naming both (``layer 2 (linear2) expects 64 features but layer 1 (relu1) gives
            128``).
    """

    def __init__(
        self, layers: list[Layer], loss, *, input_shape: tuple[int, ...] | None = None
    ) -> None:
        self.layers = list(layers)
        if not self.layers:
            raise ClassicnetsError("A network needs at least one layer.")
        self.loss_function = loss
        counts: dict[str, int] = {}
        for layer in self.layers:
            counts[layer.kind] = counts.get(layer.kind, 0) + 1
            if not layer.name:
                layer.name = f"{layer.kind}{counts[layer.kind]}"
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.output_shape = None if input_shape is None else self.check_chain(self.input_shape)

    def check_chain(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one output example, checking on the way that every layer fits.

        Raises:
            ShapeError: naming the layer that does not fit and the one that feeds it.
        """
        shape = tuple(input_shape)
        for i, layer in enumerate(self.layers, start=1):
            source = "the input" if i == 1 else f"layer {i - 1} ({self.layers[i - 2].name})"
            try:
                shape = layer.output_shape(shape)
            except LayerMismatch:
                raise ShapeError(
                    f"layer {i} ({layer.name}) expects {layer.expects()} but {source} gives "
                    f"{describe_shape(shape)}."
                ) from None
            except ShapeError as err:
                raise ShapeError(f"layer {i} ({layer.name}), fed by {source}: {err}") from None
        return shape

    def forward(self, x: Tensor, training: bool = True) -> Tensor:
        """The network's outputs (logits for a classifier), each layer remembering its input."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def loss(self, x: Tensor, y: Tensor, training: bool = True) -> float:
        """Forward the batch and return its mean loss; :meth:`backward` may follow."""
        return self.loss_function.forward(self.forward(x, training), y)

    def predict(self, x: Tensor) -> Tensor:
        """The class each example of ``x`` is given (inference mode: no dropout, running
        batch-norm statistics)."""
        return self.forward(x, training=False).argmax(dim=1)

    def backward(self) -> list[Tensor]:
        """Backpropagation (Algorithm 4.1): the δ of every layer, from the output to the input.

        Call after :meth:`loss`. The loss gives the δ of the output layer, ∂L/∂(logits): for
        softmax with cross-entropy (ŷ − y)/N, shape (N, classes). Then, layer by layer from the
        top, ``delta = layer.backward(delta)`` turns ∂L/∂(a layer's output) into ∂L/∂(its
        input) and fills the layer's ``grads``. For a Linear layer l+1 that step is
        δ ↦ W_{l+1}ᵀ δ_{l+1} (rows of a batch: δ W); for the activation below it,
        ↦ f'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1} = δ_l, the book's recursion.

        Returns:
            One tensor per layer, ``deltas[i]`` = ∂L/∂(output of ``layers[-1 - i]``), each
            shaped like that output; ``deltas[0]`` is the output layer's δ. For every Linear
            (or Conv2d) layer its entry is the book's δ_l = ∂L/∂z_l. ∂L/∂(input) is kept in
            :attr:`input_delta`.
        """
        delta = self.loss_function.backward()  # δ of the output layer: (N, classes)
        deltas = []
        for layer in reversed(self.layers):
            deltas.append(delta)  # ∂L/∂(this layer's output)
            delta = layer.backward(delta)  # ∂L/∂(this layer's input); fills layer.grads
        self.input_delta = delta  # ∂L/∂x, shaped like the input batch
        return deltas

    def named_params(self) -> list[tuple[str, Tensor]]:
        """``("linear1.W", tensor)``, ... for every parameter, input layer first."""
        return [(f"{l.name}.{key}", p) for l in self.layers for key, p in l.params.items()]  # noqa: E741

    @property
    def params(self) -> list[Tensor]:
        """Every parameter tensor, in the order of :meth:`named_params` (updated in place)."""
        return [p for _, p in self.named_params()]

    @property
    def grads(self) -> list[Tensor]:
        """The gradient of every parameter from the last :meth:`backward`, same order."""
        missing = [f"{l.name}.{k}" for l in self.layers for k in l.params if k not in l.grads]  # noqa: E741
        if missing:
            raise ClassicnetsError(
                f"No gradient yet for {', '.join(missing)}; call loss() and backward() first."
            )
        return [l.grads[key] for l in self.layers for key in l.params]  # noqa: E741

    def __repr__(self) -> str:
        inner = "\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Network(\n{inner}\n  loss={type(self.loss_function).__name__}\n)"


def mlp(
    sizes: list[int],
    activation: str = "relu",
    *,
    dropout: float = 0.0,
    batch_norm: bool = False,
    maxout_k: int = 2,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Network:
    """A fully connected classifier trained with softmax + cross-entropy.

    Each hidden layer is Linear → [BatchNorm] → activation → [Dropout]; with
    ``activation="maxout"`` it is Maxout (k = ``maxout_k`` pieces) → [BatchNorm] → [Dropout].
    The last layer is Linear, giving logits. Sigmoid and tanh layers start with Xavier
    weights, the others with He weights.

    Args:
        sizes: ``[inputs, hidden_1, ..., classes]``, at least two numbers.
        activation: a name from :data:`ACTIVATION_NAMES`.
        dropout: drop probability after each hidden layer (0 for none; inverted dropout).
        batch_norm: normalise each hidden layer's net input.
        maxout_k: pieces per Maxout unit.
        generator: the random source of weights and dropout masks.
        dtype: the parameters' dtype (float64 for gradient checks).

    Returns:
        The :class:`Network`, checked to chain for inputs of ``(sizes[0],)``.

    Raises:
        ClassicnetsError: fewer than two sizes, a size below 1, an unknown activation.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ClassicnetsError(
            f"mlp needs [inputs, hidden..., classes], whole numbers of at least 1, got {sizes}."
        )
    if activation not in ACTIVATION_NAMES:
        raise unknown_name("activation", activation, ACTIVATION_NAMES)
    init = "xavier" if activation in ("sigmoid", "tanh", "maxout") else "he"
    layers: list[Layer] = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        if activation == "maxout":
            layers.append(
                Maxout(fan_in, fan_out, maxout_k, init=init, generator=generator, dtype=dtype)
            )
        else:
            layers.append(Linear(fan_in, fan_out, init=init, generator=generator, dtype=dtype))
        if batch_norm:
            layers.append(BatchNorm(fan_out, dtype=dtype))
        if activation != "maxout":
            layers.append(Act(activation, dtype=dtype))
        if dropout:
            layers.append(Dropout(dropout, generator=generator))
    layers.append(Linear(sizes[-2], sizes[-1], init=init, generator=generator, dtype=dtype))
    return Network(layers, SoftmaxCrossEntropy(), input_shape=(sizes[0],))


def small_cnn(
    in_channels: int,
    image_size: int | tuple[int, int],
    num_classes: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Network:
    """A small convolutional classifier: conv 3×3 (8, padding 1) → ReLU → max pool 2 →
    conv 3×3 (16) → ReLU → flatten → linear, trained with softmax + cross-entropy.

    Args:
        in_channels: channels of the input images.
        image_size: their height and width (an int for square images), at least 6.
        num_classes: classes to tell apart.
        generator: the random source of the weights.
        dtype: the parameters' dtype.

    Returns:
        The :class:`Network`, checked to chain for images of (in_channels, H, W).
    """
    h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    conv_layers: list[Layer] = [
        Conv2d(in_channels, 8, 3, padding=1, generator=generator, dtype=dtype),
        Act("relu"),
        Pool2d(2, mode="max"),
        Conv2d(8, 16, 3, generator=generator, dtype=dtype),
        Act("relu"),
        Flatten(),
    ]
    features = Network(conv_layers, SoftmaxCrossEntropy(), input_shape=(in_channels, h, w))
    (flat,) = features.output_shape
    head = Linear(flat, num_classes, generator=generator, dtype=dtype)
    return Network([*conv_layers, head], SoftmaxCrossEntropy(), input_shape=(in_channels, h, w))
