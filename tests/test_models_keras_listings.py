"""The two Keras listings (models/keras_listings.py): layer for layer as printed, no activation
where the listing has none, Keras's initialisation, and counts computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from _threads import one_thread  # noqa: F401  (autouse fixture)
from classicnets.errors import ShapeError
from classicnets.models import create_model, keras_listings, model_info  # noqa: F401

# Hand counts at 1x28x28, 10 classes: weights + biases of each layer, in order.
# lenet5_keras: valid 5x5 convolutions shrink 28 -> 24 -> (pool) 12 -> 8 -> (pool) 4, so Flatten
# gives 16 x 4 x 4 = 256 (the padded LeNet-5 keeps 28 and gets 400: 61,706 parameters).
#   conv1 6 x (1 x 25) + 6 = 156; conv2 16 x (6 x 25) + 16 = 2,416; dense1 256 x 120 + 120 =
#   30,840; dense2 120 x 84 + 84 = 10,164; dense3 84 x 10 + 10 = 850; total 44,426 (Keras's
#   count_params() of the listing gives the same).
# keras_cnn: 28 -> 26 -> 13 -> 11 -> 5, Flatten 50 x 5 x 5 = 1,250.
#   conv1 25 x 9 + 25 = 250; conv2 50 x (25 x 9) + 50 = 11,300; dense1 1,250 x 100 + 100 =
#   125,100; dense2 100 x 10 + 10 = 1,010; total 137,660.
COUNTS = {
    "lenet5_keras": ([156, 2_416, 30_840, 10_164, 850], 44_426),
    "keras_cnn": ([250, 11_300, 125_100, 1_010], 137_660),
}
LAYERS = {
    "lenet5_keras": (
        [("conv1", nn.Conv2d), ("relu1", nn.ReLU), ("pool1", nn.MaxPool2d),
         ("conv2", nn.Conv2d), ("pool2", nn.MaxPool2d)],
        [("flatten", nn.Flatten), ("dense1", nn.Linear), ("dense2", nn.Linear),
         ("dense3", nn.Linear)],
    ),
    "keras_cnn": (
        [("conv1", nn.Conv2d), ("pool1", nn.MaxPool2d), ("conv2", nn.Conv2d),
         ("pool2", nn.MaxPool2d)],
        [("flatten", nn.Flatten), ("dense1", nn.Linear), ("relu1", nn.ReLU),
         ("dense2", nn.Linear)],
    ),
}  # fmt: skip
SHAPES = {  # each stage's output (C, H, W), the lecture's and our hand arithmetic
    "lenet5_keras": {"conv1": (6, 24, 24), "pool1": (6, 12, 12), "conv2": (16, 8, 8),
                     "pool2": (16, 4, 4), "flatten": (256,)},
    "keras_cnn": {"conv1": (25, 26, 26), "pool1": (25, 13, 13), "conv2": (50, 11, 11),
                  "pool2": (50, 5, 5), "flatten": (1250,)},
}  # fmt: skip


def _reference(name: str, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The listing written out with torch.nn.functional, from the model's own weights."""
    f, h = model.features, model.head
    if name == "lenet5_keras":
        x = F.max_pool2d(F.relu(F.conv2d(x, f.conv1.weight, f.conv1.bias)), 2)
        x = F.max_pool2d(F.conv2d(x, f.conv2.weight, f.conv2.bias), 2).flatten(1)
        for dense in (h.dense1, h.dense2, h.dense3):  # no activation between them
            x = F.linear(x, dense.weight, dense.bias)
        return x
    x = F.max_pool2d(F.conv2d(x, f.conv1.weight, f.conv1.bias), 2)
    x = F.max_pool2d(F.conv2d(x, f.conv2.weight, f.conv2.bias), 2).flatten(1)
    return F.linear(
        F.relu(F.linear(x, h.dense1.weight, h.dense1.bias)), h.dense2.weight, h.dense2.bias
    )


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_parameter_counts_by_hand(name):
    model = create_model(name, seed=0)
    per_layer = [
        sum(p.numel() for p in m.parameters())
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    assert per_layer == COUNTS[name][0]
    assert sum(p.numel() for p in model.parameters()) == COUNTS[name][1] == sum(per_layer)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_the_exact_layer_sequence(name):
    model = create_model(name, seed=0)
    for part, expected in zip((model.features, model.head), LAYERS[name], strict=True):
        assert [(n, type(m)) for n, m in part.named_children()] == expected
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.padding == (0, 0) and c.stride == (1, 1) for c in convs)  # valid, as listed
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert all(p.kernel_size == 2 and p.stride == 2 for p in pools)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_stage_shapes_and_logits_match_the_listing_written_out(name):
    torch.manual_seed(0)
    model = create_model(name, seed=0).eval()
    seen: dict[str, tuple[int, ...]] = {}
    stages = dict(model.features.named_children()) | {"flatten": model.head.flatten}
    for stage in SHAPES[name]:
        stages[stage].register_forward_hook(
            lambda _m, _i, out, stage=stage: seen.update({stage: tuple(out.shape[1:])})
        )
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        out = model(x)
        expected = _reference(name, model, x)
    assert seen == SHAPES[name]
    assert out.shape == (3, 10)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    # logits, not probabilities: the listing's softmax is the loss's
    assert not torch.allclose(out.sum(1), torch.ones(3)) and (out < 0).any()


def test_no_activation_on_conv2_and_the_dense_layers_of_lenet5_keras():
    """From pool1 to the logits the listing is an affine map, a max pool and affine maps. A max
    pool picks the same cells when its input's varying part doubles (each channel's bias is one
    constant), so out(2z) - out(0) = 2 (out(z) - out(0)); with random biases, a ReLU (or any
    activation) anywhere there breaks this."""
    model = create_model("lenet5_keras", seed=0).eval()
    f, h = model.features, model.head
    after_pool1 = nn.Sequential(f.conv2, f.pool2, *h.children())
    torch.manual_seed(1)
    with torch.no_grad():
        for layer in (f.conv2, h.dense1, h.dense2, h.dense3):
            layer.bias.normal_()  # Keras's zero biases would hide a ReLU
        z = torch.rand(2, 6, 12, 12)
        zero = after_pool1(torch.zeros_like(z))
        one, two = after_pool1(z), after_pool1(2 * z)
        torch.testing.assert_close(two - zero, 2 * (one - zero), rtol=1e-4, atol=1e-5)
        with_relu = nn.Sequential(f.conv2, nn.ReLU(), f.pool2, *h.children())  # the check bites
        gap = (with_relu(2 * z) - with_relu(torch.zeros_like(z))) - 2 * (
            with_relu(z) - with_relu(torch.zeros_like(z))
        )
        assert gap.abs().max() > 1e-2


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_keras_default_initialisation(name):
    model = create_model(name, seed=3)
    for layer in (m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)):
        w = layer.weight
        receptive = w[0, 0].numel() if w.ndim == 4 else 1
        fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
        bound = math.sqrt(6 / (fan_in + fan_out))  # Glorot-uniform's limit
        assert w.abs().max() <= bound and w.abs().max() > 0.8 * bound
        assert torch.count_nonzero(layer.bias) == 0
    again = create_model(name, seed=3)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters(), strict=True)
    )


@pytest.mark.parametrize(("name", "smallest"), [("lenet5_keras", 16), ("keras_cnn", 10)])
def test_smallest_image_and_other_inputs(name, smallest):
    assert model_info(name).min_image_size == smallest
    model = create_model(name, num_classes=3, in_channels=3, image_size=smallest, seed=0)
    assert model(torch.rand(2, 3, smallest, smallest)).shape == (2, 3)
    with pytest.raises(ShapeError, match=f"at least {smallest}x{smallest}"):
        create_model(name, image_size=smallest - 1)
    model = create_model(name, image_size=32, seed=0)  # wider flatten at 32 px
    assert model(torch.rand(1, 1, 32, 32)).shape == (1, 10)
    model.reset_classifier(5)
    assert model.num_classes == 5 and model(torch.rand(1, 1, 32, 32)).shape == (1, 5)


def test_registry_entries_name_their_listing():
    lenet, cnn = model_info("lenet5_keras"), model_info("keras_cnn")
    assert (lenet.family, lenet.input_size, lenet.num_classes) == ("LeNet", (1, 28, 28), 10)
    assert "Keras listing" in lenet.paper and "LeCun" in lenet.paper
    assert cnn.family == "Keras listing" and "Hung-yi Lee" in cnn.paper
