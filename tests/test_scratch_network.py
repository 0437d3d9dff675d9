"""Network.backward (Algorithm 4.1) against torch autograd to 1e-6 in float64, for random MLPs
(depths, activations, dropout with a fixed mask generator, batch norm) and small CNNs; the δ
recursion itself; the numerical gradient check; and layers that do not chain."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError, ShapeError, UnknownNameError
from classicnets.scratch.conv_layers import Conv2d, Pool2d
from classicnets.scratch.gradcheck import check_gradients, numerical_gradients
from classicnets.scratch.layers import (
    Act,
    BatchNorm,
    Dropout,
    Flatten,
    Linear,
    Maxout,
    MeanSquaredError,
    SoftmaxCrossEntropy,
)
from classicnets.scratch.network import Network, mlp, small_cnn

D = torch.float64
TOL = {"rtol": 1e-6, "atol": 1e-6}
TORCH_ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "elu": F.elu,
    "softplus": F.softplus,
    "gelu": F.gelu,
}


def _torch_outputs(net: Network, x: torch.Tensor, leaves: dict) -> list[torch.Tensor]:
    """Every layer's output computed by torch's own functions from the leaf copies of the
    network's parameters; dropout reuses the mask the hand-written pass drew."""
    outputs = []
    for layer in net.layers:
        p = {key: leaves[f"{layer.name}.{key}"] for key in layer.params}
        if isinstance(layer, Linear):
            x = F.linear(x, p["W"], p["b"])
        elif isinstance(layer, Maxout):
            x = F.linear(x, p["W"], p["b"]).view(len(x), layer.out_features, layer.k).amax(-1)
        elif isinstance(layer, Act):
            x = F.prelu(x, p["a"].reshape(1)) if layer.kind == "prelu" else TORCH_ACT[layer.kind](x)
        elif isinstance(layer, Dropout):
            x = x * layer.mask / (1 - layer.p)
        elif isinstance(layer, BatchNorm):
            x = F.batch_norm(x, None, None, p["gamma"], p["beta"], training=True, eps=layer.eps)
        elif isinstance(layer, Conv2d):
            x = F.conv2d(x, p["W"], p["b"], stride=layer.stride, padding=layer.padding)
        elif isinstance(layer, Pool2d):
            pool = F.max_pool2d if layer.mode == "max" else F.avg_pool2d
            x = pool(x, layer.kernel, layer.stride)
        elif isinstance(layer, Flatten):
            x = x.flatten(1)
        else:
            raise AssertionError(f"no torch replica for {layer!r}")
        x.retain_grad()
        outputs.append(x)
    return outputs


def _compare_with_autograd(net: Network, x: torch.Tensor, y: torch.Tensor) -> None:
    loss = net.loss(x, y)
    deltas = net.backward()
    leaves = {name: p.detach().clone().requires_grad_(True) for name, p in net.named_params()}
    x_leaf = x.clone().requires_grad_(True)
    outputs = _torch_outputs(net, x_leaf, leaves)
    expected = F.cross_entropy(outputs[-1], y)
    expected.backward()
    assert loss == pytest.approx(float(expected.detach()), rel=1e-10)
    for (name, _), grad in zip(net.named_params(), net.grads, strict=True):
        torch.testing.assert_close(grad, leaves[name].grad, **TOL, msg=name)
    # deltas[i] is ∂L/∂(output of layers[-1 - i]); the last one handed back is ∂L/∂x
    assert len(deltas) == len(net.layers)
    for delta, out in zip(deltas, reversed(outputs), strict=True):
        torch.testing.assert_close(delta, out.grad, **TOL)
    torch.testing.assert_close(net.input_delta, x_leaf.grad, **TOL)


def _batch(n: int, features: int, classes: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=g, dtype=D), torch.randint(
        0, classes, (n,), generator=g
    )


MLPS = [  # (sizes, activation, options)
    ([6, 5, 3], "relu", {}),
    ([6, 8, 7, 4], "sigmoid", {}),
    ([5, 6, 6, 6, 3], "tanh", {}),
    ([6, 5, 4, 3], "leaky_relu", {}),
    ([6, 5, 4, 3], "prelu", {}),
    ([6, 5, 4, 3], "elu", {}),
    ([6, 5, 3], "softplus", {}),
    ([6, 5, 4, 3], "gelu", {}),
    ([6, 5, 4, 3], "maxout", {"maxout_k": 3}),
    ([6, 9, 7, 3], "relu", {"dropout": 0.3}),
    ([6, 5, 4, 3], "tanh", {"batch_norm": True}),
    ([6, 8, 8, 3], "relu", {"dropout": 0.25, "batch_norm": True}),
    ([6, 5, 4, 3], "maxout", {"dropout": 0.2, "batch_norm": True}),
]


@pytest.mark.parametrize("sizes, activation, options", MLPS, ids=lambda v: str(v))
def test_mlp_gradients_equal_autograds(sizes, activation, options):
    gen = torch.Generator().manual_seed(len(sizes))
    net = mlp(sizes, activation, generator=gen, dtype=D, **options)
    for p in net.params:  # non-zero biases and batch-norm shifts, so their gradients count
        p += 0.1 * torch.randn(p.shape, generator=gen, dtype=D)
    _compare_with_autograd(net, *_batch(10, sizes[0], sizes[-1]))


def test_one_mask_generator_gives_one_set_of_gradients():
    x, y = _batch(10, 6, 3)
    grads = []
    for _ in range(2):
        net = mlp([6, 9, 3], dropout=0.5, generator=torch.Generator().manual_seed(4), dtype=D)
        net.loss(x, y)
        net.backward()
        grads.append(net.grads)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_backward_is_the_delta_recursion_of_algorithm_4_1():
    net = mlp([6, 5, 4, 3], "sigmoid", generator=torch.Generator().manual_seed(2), dtype=D)
    x, y = _batch(7, 6, 3)
    net.loss(x, y)
    deltas = net.backward()
    linear1, sigmoid1, linear2, sigmoid2, linear3 = net.layers
    # δ of the output layer: (ŷ − y)/N
    probs = torch.softmax(net.forward(x), dim=1)
    torch.testing.assert_close(deltas[0], (probs - F.one_hot(y, 3).to(D)) / 7)
    # δ_l = f'(z_l) ⊙ (W_{l+1}ᵀ δ_{l+1}), rows of the batch; deltas[2] is δ at linear2's output
    a1 = torch.sigmoid(x @ linear1.params["W"].T + linear1.params["b"])
    a2 = torch.sigmoid(a1 @ linear2.params["W"].T + linear2.params["b"])
    delta2 = a2 * (1 - a2) * (deltas[0] @ linear3.params["W"])
    torch.testing.assert_close(deltas[1], deltas[0] @ linear3.params["W"])  # W₃ᵀ δ₃
    torch.testing.assert_close(deltas[2], delta2)
    torch.testing.assert_close(deltas[4], a1 * (1 - a1) * (delta2 @ linear2.params["W"]))
    # ∂L/∂W_l = δ_l a_{l−1}ᵀ, summed over the batch
    torch.testing.assert_close(linear3.grads["W"], deltas[0].T @ a2)
    torch.testing.assert_close(linear2.grads["W"], delta2.T @ a1)


def _tiny_cnn() -> Network:
    gen = torch.Generator().manual_seed(6)
    layers = [
        Conv2d(1, 3, 3, stride=2, padding=1, generator=gen, dtype=D),  # (3, 6, 6)
        Act("tanh"),
        Pool2d(2, mode="avg"),  # (3, 3, 3)
        Conv2d(3, 4, 2, generator=gen, dtype=D),  # (4, 2, 2)
        BatchNorm(4, dtype=D),
        Act("relu"),
        Pool2d(2, stride=1, mode="max"),  # (4, 1, 1)
        Flatten(),
        Linear(4, 3, generator=gen, dtype=D),
    ]
    return Network(layers, SoftmaxCrossEntropy(), input_shape=(1, 11, 11))


def test_small_cnn_gradients_equal_autograds():
    net = small_cnn(2, 8, 3, generator=torch.Generator().manual_seed(1), dtype=D)
    assert [layer.name for layer in net.layers] == [
        "conv1",
        "relu1",
        "maxpool1",
        "conv2",
        "relu2",
        "flatten1",
        "linear1",
    ]
    x = torch.randn(4, 2, 8, 8, generator=torch.Generator().manual_seed(2), dtype=D)
    _compare_with_autograd(net, x, torch.tensor([0, 2, 1, 2]))


def test_cnn_with_stride_padding_avg_pool_and_batch_norm():
    net = _tiny_cnn()
    for p in net.params:
        p += 0.1 * torch.randn(p.shape, generator=torch.Generator().manual_seed(3), dtype=D)
    x = torch.randn(5, 1, 11, 11, generator=torch.Generator().manual_seed(2), dtype=D)
    _compare_with_autograd(net, x, torch.tensor([0, 2, 1, 2, 1]))


def test_numerical_check_agrees_with_backprop():
    net = mlp(
        [4, 5, 4, 3],
        "tanh",
        dropout=0.3,
        batch_norm=True,
        dtype=D,
        generator=torch.Generator().manual_seed(0),
    )
    x, y = _batch(6, 4, 3)
    before = [b.clone() for layer in net.layers for b in layer.buffers.values()]
    assert check_gradients(net, x, y) < 1e-6
    after = [b for layer in net.layers for b in layer.buffers.values()]
    for a, b in zip(before, after, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # running statistics put back
    numerical = numerical_gradients(net, x, y)
    for grad, estimate in zip(net.grads, numerical, strict=True):
        torch.testing.assert_close(estimate, grad, rtol=1e-5, atol=1e-7)
    cnn = _tiny_cnn()
    assert check_gradients(cnn, torch.randn(3, 1, 11, 11, dtype=D), torch.tensor([0, 1, 2])) < 1e-6


def test_numerical_check_catches_a_wrong_backward():
    net = mlp([4, 5, 3], "sigmoid", generator=torch.Generator().manual_seed(0), dtype=D)
    net.layers[1].backward = lambda delta: delta  # forgets f'(z)
    assert check_gradients(net, *_batch(6, 4, 3)) > 0.1


def test_mse_network_gradients():
    gen = torch.Generator().manual_seed(8)
    layers = [
        Linear(3, 4, generator=gen, dtype=D),
        Act("tanh"),
        Linear(4, 2, generator=gen, dtype=D),
    ]
    net = Network(layers, MeanSquaredError(), input_shape=(3,))
    x = torch.randn(5, 3, generator=gen, dtype=D)
    target = torch.randn(5, 2, generator=gen, dtype=D)
    assert check_gradients(net, x, target) < 1e-6


def test_parameters_are_named_in_a_stable_order():
    net = mlp([4, 5, 3], "prelu", batch_norm=True)
    names = [name for name, _ in net.named_params()]
    assert names == [
        "linear1.W",
        "linear1.b",
        "batchnorm1.gamma",
        "batchnorm1.beta",
        "prelu1.a",
        "linear2.W",
        "linear2.b",
    ]
    assert net.params[0] is net.layers[0].params["W"]  # the optimizer updates the layer's own
    with pytest.raises(ClassicnetsError, match="No gradient yet for linear1.W"):
        _ = net.grads
    net.loss(torch.randn(3, 4), torch.tensor([0, 1, 2]))
    net.backward()
    assert [g.shape for g in net.grads] == [p.shape for p in net.params]
    assert net.predict(torch.randn(6, 4)).shape == (6,)


def test_layers_that_do_not_chain_are_named():
    layers = [Linear(4, 8), Act("relu"), Linear(6, 3)]
    with pytest.raises(ShapeError) as err:
        Network(layers, SoftmaxCrossEntropy(), input_shape=(4,))
    assert str(err.value) == "layer 3 (linear2) expects 6 features but layer 2 (relu1) gives 8."
    with pytest.raises(
        ShapeError, match=r"^layer 1 \(linear1\) expects 4 features but the input gives 5\.$"
    ):  # noqa: E501
        Network([Linear(4, 3)], SoftmaxCrossEntropy(), input_shape=(5,))


def test_convolutions_that_do_not_chain_are_named():
    conv = [Conv2d(1, 4, 3), Pool2d(2), Conv2d(3, 2, 3)]
    with pytest.raises(
        ShapeError,
        match=r"layer 3 \(conv2\) expects \(3, H, W\) images but "
        r"layer 2 \(maxpool1\) gives \(4, 5, 5\)\.",
    ):
        Network(conv, SoftmaxCrossEntropy(), input_shape=(1, 12, 12))
    with pytest.raises(
        ShapeError,
        match=r"layer 1 \(conv1\) expects \(1, H, W\) images but the "
        r"input gives 784\.",
    ):
        Network([Conv2d(1, 4, 3)], SoftmaxCrossEntropy(), input_shape=(784,))
    with pytest.raises(
        ShapeError,
        match=r"layer 3 \(linear1\) expects 99 features but layer 2 "
        r"\(flatten1\) gives 100\.",
    ):
        Network(
            [Conv2d(1, 4, 3), Flatten(), Linear(99, 2)],
            SoftmaxCrossEntropy(),
            input_shape=(1, 7, 7),
        )
    with pytest.raises(ShapeError, match=r"layer 2 \(conv2\), fed by layer 1 \(conv1\): .*empty"):
        Network([Conv2d(1, 2, 3), Conv2d(2, 2, 5)], SoftmaxCrossEntropy(), input_shape=(1, 5, 5))


def test_mlp_bad_input():
    with pytest.raises(UnknownNameError, match="Did you mean 'maxout'"):
        mlp([4, 3], "maxot")
    with pytest.raises(ClassicnetsError, match="mlp needs"):
        mlp([4])
    with pytest.raises(ClassicnetsError, match="k ≥ 2"):
        mlp([4, 5, 3], "maxout", maxout_k=1)
    with pytest.raises(ClassicnetsError, match=r"p must be in \[0, 1\)"):
        mlp([4, 5, 3], dropout=1.0)
    with pytest.raises(ShapeError):
        small_cnn(1, 4, 10)  # too small for the second convolution
