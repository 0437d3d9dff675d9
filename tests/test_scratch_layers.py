"""Every hand-written layer's forward against torch's and its backward against autograd, to
1e-6 in float64: linear, each activation (PReLU's slope too), Maxout, the losses, dropout in
both conventions, batch norm in training and inference, Conv2d and Pool2d; and bad inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ClassicnetsError, ShapeError
from classicnets.scratch.activations import ACTIVATIONS
from classicnets.scratch.conv_layers import Conv2d, Pool2d
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

D = torch.float64
TOL = {"rtol": 1e-6, "atol": 1e-6}


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=D)


def _autograd(fn, delta, *tensors):
    """∂(Σ delta ⊙ fn(*tensors))/∂tensor for each tensor: the reference backward."""
    leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
    out = fn(*leaves)
    return out.detach(), torch.autograd.grad(out, leaves, delta)


def _check(layer, x, reference, names, training=True):
    """Forward equals ``reference(x, *params)``; backward's ∂L/∂x and grads equal autograd's."""
    out = layer.forward(x, training)
    delta = _randn(*out.shape, seed=7)
    expected, grads = _autograd(reference, delta, x, *[layer.params[n] for n in names])
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(layer.backward(delta), grads[0], **TOL)
    for name, grad in zip(names, grads[1:], strict=True):
        torch.testing.assert_close(layer.grads[name], grad, **TOL)
        assert layer.grads[name].shape == layer.params[name].shape


@pytest.mark.parametrize("init", ["he", "xavier"])
def test_linear(init):
    layer = Linear(5, 3, init=init, generator=torch.Generator().manual_seed(1), dtype=D)
    layer.params["b"] += _randn(3, seed=2)
    _check(layer, _randn(4, 5), F.linear, ["W", "b"])
    assert layer.output_shape((5,)) == (3,)


def test_initial_weights_have_the_promised_spread():
    he = Linear(400, 300, generator=torch.Generator().manual_seed(0)).params["W"]
    xavier = Linear(400, 300, init="xavier", generator=torch.Generator().manual_seed(0))
    assert float(he.std()) == pytest.approx((2 / 400) ** 0.5, rel=0.02)
    assert float(xavier.params["W"].std()) == pytest.approx((2 / 700) ** 0.5, rel=0.02)
    with pytest.raises(ClassicnetsError, match="init must be 'he' or 'xavier'"):
        Linear(2, 2, init="glorot")


TORCH_ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "elu": F.elu,
    "softplus": F.softplus,
    "gelu": F.gelu,
}


@pytest.mark.parametrize("name", sorted(TORCH_ACT))
def test_activation_layers(name):
    _check(Act(name), _randn(6, 4, 3), TORCH_ACT[name], [])


def test_prelu_learns_its_slope():
    layer = Act("prelu", a=0.3, dtype=D)
    assert set(ACTIVATIONS) == set(TORCH_ACT) | {"prelu"}
    _check(layer, _randn(5, 7), lambda x, a: F.prelu(x, a.reshape(1)), ["a"])
    assert layer.grads["a"].shape == ()


@pytest.mark.parametrize("k", [2, 3])
def test_maxout_layer(k):
    layer = Maxout(4, 3, k, generator=torch.Generator().manual_seed(k), dtype=D)
    layer.params["b"] += _randn(3 * k, seed=3)

    def reference(x, W, b):
        return F.linear(x, W, b).view(len(x), 3, k).max(dim=-1).values

    _check(layer, _randn(8, 4), reference, ["W", "b"])
    assert layer.output_shape((4,)) == (3,)


@pytest.mark.parametrize("k", [1, 0])
def test_maxout_layer_needs_two_pieces(k):
    with pytest.raises(ClassicnetsError, match=f"k ≥ 2 pieces per unit, got k={k}"):
        Maxout(4, 3, k)


def test_softmax_cross_entropy_gradient_is_probabilities_minus_targets():
    logits = _randn(6, 4) * 3
    labels = torch.tensor([0, 3, 1, 1, 2, 0])
    loss = SoftmaxCrossEntropy()
    leaf = logits.clone().requires_grad_(True)
    expected = F.cross_entropy(leaf, labels)
    (grad,) = torch.autograd.grad(expected, leaf)
    assert loss.forward(logits, labels) == pytest.approx(float(expected.detach()), rel=1e-12)
    torch.testing.assert_close(loss.backward(), grad, **TOL)
    onehot = F.one_hot(labels, 4).to(D)
    torch.testing.assert_close(loss.backward(), (torch.softmax(logits, 1) - onehot) / 6)
    # one-hot targets give the same; huge logits do not overflow
    assert loss.forward(logits, onehot) == pytest.approx(float(expected.detach()), rel=1e-12)
    assert loss.forward(logits * 1000, labels) == pytest.approx(
        float(F.cross_entropy(logits * 1000, labels)), rel=1e-12
    )


def test_mean_squared_error():
    outputs, targets = _randn(5, 3), _randn(5, 3, seed=1)
    loss = MeanSquaredError()
    leaf = outputs.clone().requires_grad_(True)
    expected = F.mse_loss(leaf, targets)
    (grad,) = torch.autograd.grad(expected, leaf)
    assert loss.forward(outputs, targets) == pytest.approx(float(expected.detach()), rel=1e-12)
    torch.testing.assert_close(loss.backward(), grad, **TOL)
    # integer labels become one-hot targets; one output per example stays 1-D
    labels = torch.tensor([2, 0, 1, 1, 0])
    assert loss.forward(outputs, labels) == pytest.approx(
        float(F.mse_loss(outputs, F.one_hot(labels, 3).to(D))), rel=1e-12
    )
    assert loss.forward(outputs[:, 0], targets[:, 0]) == pytest.approx(
        float(F.mse_loss(outputs[:, 0], targets[:, 0])), rel=1e-12
    )
    assert loss.backward().shape == (5,)


def test_losses_reject_bad_labels():
    with pytest.raises(ClassicnetsError, match=r"labels must lie in 0\.\.2, got 0\.\.3"):
        SoftmaxCrossEntropy().forward(_randn(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ShapeError, match="integer labels"):
        SoftmaxCrossEntropy().forward(_randn(2, 3), torch.tensor([0, 1, 2]))


@pytest.mark.parametrize("inverted", [True, False])
def test_dropout_uses_its_mask_in_forward_and_backward(inverted):
    p, x = 0.4, _randn(10, 6)
    layer = Dropout(p, inverted=inverted, generator=torch.Generator().manual_seed(5))
    mask = (torch.rand(x.shape, generator=torch.Generator().manual_seed(5), dtype=D) >= p).to(D)
    scale = mask / (1 - p) if inverted else mask
    out = layer.forward(x)
    torch.testing.assert_close(layer.mask, mask)  # the same generator draws the same mask
    delta = _randn(10, 6, seed=9)
    expected, (grad,) = _autograd(lambda t: t * scale, delta, x)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(layer.backward(delta), grad)
    # test time: nothing (inverted) or a scale by 1 - p (the original convention)
    test_scale = 1.0 if inverted else 1 - p
    torch.testing.assert_close(layer.forward(x, training=False), x * test_scale)
    torch.testing.assert_close(layer.backward(delta), delta * test_scale)


@pytest.mark.parametrize("inverted", [True, False])
def test_dropout_keeps_the_expected_activation(inverted):
    p, x = 0.3, torch.full((400_000,), 2.0, dtype=D)
    layer = Dropout(p, inverted=inverted, generator=torch.Generator().manual_seed(0))
    trained = float(layer.forward(x).mean())
    tested = float(layer.forward(x, training=False).mean())
    assert trained == pytest.approx(tested, rel=0.01)  # 5 standard errors is about 0.7 %
    assert float(layer.mask.mean()) == pytest.approx(1 - p, abs=0.005)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_dropout_probability_must_be_below_one(p):
    with pytest.raises(ClassicnetsError, match=r"p must be in \[0, 1\)"):
        Dropout(p)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5, 5)], ids=["features", "maps"])
def test_batch_norm_training_and_inference(shape):
    layer = BatchNorm(3, momentum=0.2, dtype=D)
    layer.params["gamma"] += _randn(3, seed=1)
    layer.params["beta"] += _randn(3, seed=2)
    x = _randn(*shape) * 2 + 1
    running_mean, running_var = torch.zeros(3, dtype=D), torch.ones(3, dtype=D)

    def training(t, gamma, beta):
        return F.batch_norm(t, running_mean, running_var, gamma, beta, True, 0.2, 1e-5)

    _check(layer, x, training, ["gamma", "beta"])
    torch.testing.assert_close(layer.running_mean, running_mean)  # torch updated its copies
    torch.testing.assert_close(layer.running_var, running_var)

    def inference(t, gamma, beta):
        return F.batch_norm(t, running_mean, running_var, gamma, beta, False, 0.2, 1e-5)

    _check(layer, x + 0.5, inference, ["gamma", "beta"], training=False)
    assert layer.output_shape(shape[1:]) == shape[1:]


def test_batch_norm_needs_two_values_per_feature():
    with pytest.raises(ShapeError, match="batch of at least 2"):
        BatchNorm(3).forward(torch.zeros(1, 3))
    BatchNorm(3).forward(torch.zeros(1, 3), training=False)  # inference is fine


def test_flatten():
    x = _randn(2, 3, 4, 5)
    layer = Flatten()
    _check(layer, x, lambda t: t.reshape(2, -1), [])
    assert layer.output_shape((3, 4, 5)) == (60,)


CONV_CASES = [  # (in, out, kernel, stride, padding, height, width)
    (2, 3, 3, 1, 0, 6, 6),
    (2, 3, 3, 1, 1, 6, 5),
    (1, 4, 3, 2, 1, 7, 7),
    (3, 2, 3, 2, 0, 8, 8),  # the last row and column are in no window
    (2, 2, (2, 3), (2, 1), (1, 0), 7, 6),
    (1, 2, 5, 3, 2, 9, 10),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "-".join(map(str, c)))
def test_conv2d(case):
    c_in, c_out, k, s, p, h, w = case
    layer = Conv2d(c_in, c_out, k, s, p, generator=torch.Generator().manual_seed(3), dtype=D)
    layer.params["b"] += _randn(c_out, seed=4)

    def reference(x, W, b):
        return F.conv2d(x, W, b, stride=s, padding=p)

    x = _randn(2, c_in, h, w)
    _check(layer, x, reference, ["W", "b"])
    assert layer.output_shape((c_in, h, w)) == tuple(reference(x, *layer.params.values()).shape[1:])


@pytest.mark.parametrize("shape", [(784,), (32, 784), (3, 8, 8)])
def test_conv2d_refuses_inputs_that_are_not_image_batches(shape):
    layer = Conv2d(3, 4, 3)
    with pytest.raises(ShapeError, match=rf"takes images \(N, C, H, W\), got a {len(shape)}-D"):
        layer.forward(torch.zeros(shape))
    with pytest.raises(ShapeError, match="takes 3 input channels"):
        layer.forward(torch.zeros(1, 2, 8, 8))


POOL_CASES = [("max", 2, None), ("avg", 2, None), ("max", 3, 2), ("avg", 3, 2), ("max", 2, 1)]


@pytest.mark.parametrize("mode, k, s", POOL_CASES)
def test_pool2d(mode, k, s):
    layer = Pool2d(k, s, mode)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    x = _randn(2, 3, 7, 6)
    _check(layer, x, lambda t: pool(t, k, s), [])
    assert layer.output_shape((3, 7, 6)) == tuple(pool(x, k, s).shape[1:])
    assert layer.kind == f"{mode}pool"


def test_pool2d_bad_input():
    with pytest.raises(ClassicnetsError, match="mode must be 'max' or 'avg', got 'min'"):
        Pool2d(2, mode="min")
    with pytest.raises(ShapeError, match="takes images"):
        Pool2d(2).forward(torch.zeros(4, 4))


def test_linear_refuses_a_batch_of_the_wrong_width():
    with pytest.raises(ShapeError, match=r"takes a batch \(N, 5\), got shape \(2, 4\)"):
        Linear(5, 3).forward(torch.zeros(2, 4))
